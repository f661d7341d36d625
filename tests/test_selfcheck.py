"""The students' self-check: stored keys up to date and free of graded outputs and reference
code, the grader's kind of feedback on practice inputs, and ``optbook-grade check``."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import nbformat
import pytest

from autograde.course import exercise_ids
from autograde.practice import PRACTICE, hidden_checks, practice_text
from autograde.references import base_check, expected
from labkit import check_ready
from labkit.checks import spec
from labkit.checks.compare import difference
from labkit.checks.encoding import decode
from tests.book import REPO

EXERCISES = exercise_ids()


def _numbers_apart(stored: Any, fresh: Any, where: str = "") -> list[str]:
    """Where two keys differ: exactly in their texts and structure, to 1e-9 in numbers
    (another CPU may round the last bits of a PyTorch result differently)."""
    if isinstance(stored, dict) and isinstance(fresh, dict) and "__ndarray__" in stored \
            and "__ndarray__" in fresh:
        apart = difference(decode(stored), decode(fresh), rtol=1e-9, atol=1e-12)
        return [f"{where}: {apart}"] if apart else []
    if isinstance(stored, dict) and isinstance(fresh, dict) and set(stored) == set(fresh):
        return [d for k in stored for d in _numbers_apart(stored[k], fresh[k], f"{where}.{k}")]
    if isinstance(stored, list) and isinstance(fresh, list) and len(stored) == len(fresh):
        return [d for i, (a, b) in enumerate(zip(stored, fresh, strict=True))
                for d in _numbers_apart(a, b, f"{where}[{i}]")]
    if isinstance(stored, float) and isinstance(fresh, float):
        return [] if math.isclose(stored, fresh, rel_tol=1e-9, abs_tol=1e-12) else [where]
    return [] if stored == fresh else [where]


@pytest.mark.parametrize("exercise", EXERCISES)
def test_stored_practice_keys_are_up_to_date(exercise):
    stored = json.loads((PRACTICE / f"{exercise}.json").read_text())
    apart = _numbers_apart(stored, json.loads(practice_text(exercise)))
    assert not apart, f"regenerate with: .venv/bin/python -m autograde.practice ({apart[:3]})"


def _reference_namespace(exercise: str) -> dict:
    """A notebook's variables as a correct solution leaves them."""
    names = {}
    for check_id, answer in hidden_checks(exercise):
        if answer.isidentifier():
            is_value = spec(base_check(check_id)).practice is None
            names[answer] = 1.0 if is_value else expected(check_id).reference_answer()
        else:  # a dict built from names in the cell (exercise 07's range test)
            for name in re.findall(r"\b([a-z_]\w*)\b(?!\s*[\"':])", answer):
                names.setdefault(name, 1.0)
    return names


@pytest.mark.parametrize("exercise", EXERCISES)
def test_the_reference_answers_are_ready(exercise):
    found = check_ready(exercise, _reference_namespace(exercise))
    assert found.ready, found.report()
    assert "Ready: all" in found.report()


def test_a_wrong_answer_gets_the_graders_feedback_on_practice_inputs():
    names = _reference_namespace("01-sgd")
    names["sgd_step"] = lambda x, dx, lr: x + lr * dx
    del names["gradient_descent"]
    found = check_ready("01-sgd", names)
    assert not found.ready and found.missing == ["gradient_descent"]
    failed = [v for v in found.verdicts if not v.passed]
    assert [v.check_id for v in failed] == ["sgd.sgd_step"]
    message = failed[0].message
    assert "practice inputs" in message and "grader-chosen" not in message
    assert "expected:" in message and "got:" in message
    assert "Likely mistake: uphill steps" in message
    assert "x − lr·dx" not in message  # the diagnosis, never the fix
    report = found.report()
    assert "Not ready" in report and "gradient_descent: not defined" in report


def test_a_crashing_answer_never_stops_the_notebook():
    names = _reference_namespace("02-momentum")
    names["momentum_step"] = lambda *args: 1 / 0
    names["MomentumSGD"] = 42  # not even a class
    found = check_ready("02-momentum", names)
    assert not found.ready
    assert any("ZeroDivisionError" in v.message for v in found.verdicts)


def _code(text: str) -> list[str]:
    """Substantial code lines (stripped; not comments, docstrings, signatures or imports)."""
    lines = []
    for line in text.splitlines():
        code = line.strip()
        if len(code) >= 25 and not code.startswith(("#", '"', "'", "def ", "class ", "from ",
                                                     "import ", "raise ", "return ")):
            lines.append(code)
    return lines


def _reference_pairs() -> set[tuple[str, str]]:
    """Every two consecutive code lines of the reference answers: a copied function shows
    up as such a pair, a shared idiom (one line) does not."""
    pairs = set()
    for path in sorted((REPO / "solutions").glob("*.py")):
        code = _code(path.read_text())
        pairs |= set(zip(code, code[1:], strict=False))
    return pairs


def test_labkit_and_the_stored_keys_hold_no_reference_code():
    reference = _reference_pairs()
    assert len(reference) > 300
    shipped = [p for p in (REPO / "labkit").rglob("*") if p.suffix in (".py", ".json")]
    for path in shipped:
        code = _code(path.read_text())
        leaked = set(zip(code, code[1:], strict=False)) & reference
        assert not leaked, (path, sorted(leaked)[:3])
    for path in sorted(PRACTICE.glob("*.json")):
        for entry in json.loads(path.read_text())["checks"]:
            assert set(entry) <= {"check", "answer", "kind", "aspect", "rtol", "atol",
                                  "check_dtype", "all_or_nothing", "wanted", "mistakes"}


def test_every_exercise_ends_with_the_self_check():
    from autograde.course import exercise_notebook

    for exercise in EXERCISES:
        last = exercise_notebook(exercise).cells[-1]
        assert last.source.endswith(f"check_ready({exercise!r})")
        assert last.metadata["nbgrader"]["locked"]


# -- optbook-grade check ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def released_01(tmp_path_factory):
    from autograde.course import Course

    course = Course(tmp_path_factory.mktemp("course"))
    return course.release("01-sgd")


@pytest.mark.slow
def test_check_passes_a_correct_notebook(released_01, tmp_path):
    from autograde.readiness import check_notebook
    from tests.classes import write_submission
    from tests.fixtures.sample_classes import Student

    write_submission(released_01, "01-sgd", Student(), tmp_path)
    result = check_notebook(tmp_path / "01-sgd.ipynb")
    assert result.ready, result.report()
    assert "Ready: all" in result.self_check


@pytest.mark.slow
def test_check_names_what_stands_in_the_way(released_01, tmp_path):
    from autograde.cli import main
    from autograde.readiness import check_notebook

    notebook = nbformat.read(released_01, as_version=4)
    notebook.cells = [c for c in notebook.cells
                      if c.metadata.get("nbgrader", {}).get("grade_id") != "written"]
    nbformat.write(notebook, tmp_path / "01-sgd (1).ipynb")
    result = check_notebook(tmp_path / "01-sgd (1).ipynb")
    report = result.report()
    assert not result.ready
    assert "rename it back" in report and "01-sgd.ipynb" in report
    assert "cells missing" in report and "written" in report
    assert "not implemented yet" in report
    assert "Not ready" in result.self_check  # the stubs, judged on practice inputs
    assert main(["check", str(tmp_path / "01-sgd (1).ipynb")]) == 1
