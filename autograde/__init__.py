"""The grading pipeline on top of nbgrader.

* ``references/`` — per exercise, what each hidden check expects: the reference answer from
  ``solutions/``, its tolerance, its weight and the catalog of recognisable mistakes.
* ``compare.py`` — compares a recorded answer with the reference's and says how it differs.
* ``verdicts.py`` — the nbgrader preprocessor that decides test cells *outside* the kernel.
* ``course.py`` / ``cli.py`` — release, grade, feedback and export commands.
"""
