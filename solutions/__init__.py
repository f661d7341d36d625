"""Reference implementations: the one place each update rule is written down.

Book pages import these for demos; the grader (outside the student's kernel) compares student
answers with them; ``tests/`` checks them against PyTorch and the published formulas.
Students never receive this package.
"""
