"""The answer keys of the students' self-check, stored with labkit (``labkit/practice/``).

For every check an exercise's hidden tests make, the self-check (:func:`labkit.check_ready`)
runs the student's answer on the check's *practice* inputs (``Spec.practice``: other inputs of
the same kinds as the grader's) and judges it with the grader's own judgement
(:func:`labkit.checks.judging.decide`) against a key written here: the reference's outputs on
those inputs, the tolerances, and what each cataloged mistake returns there, so that a likely
mistake is named as the grader would name it (at the ``diagnosis`` hint level, never the fix).
No reference code and no output on a graded input leaves the grader this way. An experiment's
reported value has no practice inputs: the self-check only sees that it is defined.

Regenerate after changing a reference, a practice input or a mistake (a test fails until
then)::

    .venv/bin/python -m autograde.practice
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

from autograde.course import EXERCISES, exercise_ids, exercise_notebook
from autograde.judge import judged_ids, outputs_on
from autograde.references import base_check, expected, resolve
from labkit import checks
from labkit.checks.judging import CRASHED

PRACTICE = Path(__file__).resolve().parent.parent / "labkit" / "practice"
HIDDEN = "### BEGIN HIDDEN TESTS"


def hidden_checks(exercise: str) -> list[tuple[str, str]]:
    """``(check id, answer expression)`` of every ``check(...)`` in the exercise's hidden
    tests, in notebook order (the expression is evaluated in the student's namespace)."""
    found = []
    for cell in exercise_notebook(exercise).cells:
        if cell.cell_type != "code" or HIDDEN not in cell.source:
            continue
        region = cell.source.split(HIDDEN, 1)[1].split("### END HIDDEN TESTS", 1)[0]
        for node in ast.walk(ast.parse(region)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check" \
                    and len(node.args) == 2 and isinstance(node.args[0], ast.Constant):
                found.append((node.args[0].value, ast.get_source_segment(region, node.args[1])))
    return found


def _key(check_id: str, answer: str) -> dict:
    exp, spec = expected(check_id), checks.spec(base_check(check_id))
    entry = {"check": check_id, "answer": answer}
    if spec.practice is None:
        return {**entry, "kind": "value"}
    cases = list(spec.practice())
    mistakes = []
    for mistake in exp.mistakes:
        outputs = None
        if mistake.answer is not None:
            outputs = [None if out is CRASHED else out for out in
                       outputs_on(spec, resolve(mistake.answer), cases, encoded=True)]
        mistakes.append({"name": mistake.name, "says": mistake.describe("diagnosis"),
                         "outputs": outputs})
    wanted = list(outputs_on(spec, exp.reference_answer(), cases, encoded=True))
    return {**entry, "kind": "call", "aspect": exp.aspect, "rtol": exp.rtol, "atol": exp.atol,
            "check_dtype": exp.check_dtype, "all_or_nothing": exp.all_or_nothing,
            "wanted": wanted, "mistakes": mistakes}


def practice_key(exercise: str) -> dict:
    """The self-check's key of one exercise (what ``labkit/practice/<exercise>.json`` holds)."""
    keys = [_key(judged, answer) for check_id, answer in hidden_checks(exercise)
            for judged in judged_ids(check_id)]
    return {"exercise": exercise, "checks": keys}


def practice_text(exercise: str) -> str:
    return json.dumps(practice_key(exercise), indent=1, sort_keys=True) + "\n"


def write_all() -> list[Path]:
    PRACTICE.mkdir(exist_ok=True)
    written = []
    for exercise in exercise_ids():
        path = PRACTICE / f"{exercise}.json"
        path.write_text(practice_text(exercise))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(f"wrote {path.relative_to(EXERCISES.parent)}", file=sys.stderr)
