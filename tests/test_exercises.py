"""Round trips of every exercise and the structure every exercise must follow."""

from __future__ import annotations

import re

import nbformat
import pytest

from autograde.course import exercise_ids, exercise_notebook
from autograde.judge import checks_in
from autograde.references import expected
from labkit import checks

EXERCISES = exercise_ids()


def _cells(exercise):
    for cell in exercise_notebook(exercise).cells:
        yield cell, cell.metadata.get("nbgrader", {})


@pytest.mark.parametrize("exercise", EXERCISES)
def test_every_autograded_cell_has_a_hidden_check_with_a_reference(exercise):
    """Principle 2: no test cell may rest on in-kernel asserts alone."""
    test_cells = [c for c, m in _cells(exercise)
                  if m.get("grade") and not m.get("solution") and c.cell_type == "code"]
    assert test_cells
    for cell in test_cells:
        ids = checks_in(cell.source)
        assert ids, f"{cell.metadata['nbgrader']['grade_id']} has no hidden check"
        hidden = cell.source.split("### BEGIN HIDDEN TESTS", 1)
        assert len(hidden) == 2 and all(i in hidden[1] for i in ids), "checks must be hidden"
        for check_id in ids:
            assert checks.spec(check_id).cases(), check_id
            assert expected(check_id).reference_answer() is not None, check_id


@pytest.mark.parametrize("exercise", EXERCISES)
def test_exercise_has_parts_an_experiment_and_a_written_question(exercise):
    metas = [m for _, m in _cells(exercise)]
    graded_code = [m for m in metas if m.get("grade") and not m.get("solution")]
    written = [m for m in metas if m.get("grade") and m.get("solution")]
    assert len(graded_code) >= 4 and written
    ids = {m["grade_id"] for m in metas if m}
    assert len(ids) == len([m for m in metas if m]), "grade ids must be unique"


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES)
def test_source_scores_full_and_release_scores_zero(graded, exercise):
    graded_class = graded[exercise]
    correct = graded_class.cell_points("correct")
    blank = graded_class.cell_points("blank")
    with_points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
                   for c, m in _cells(exercise)
                   if m.get("grade") and not m.get("solution")}
    assert correct == {k: float(v) for k, v in with_points.items()}
    assert set(blank) == set(with_points) and not any(blank.values())


@pytest.mark.slow
@pytest.mark.parametrize("exercise", EXERCISES)
def test_release_holds_no_solution_and_no_hidden_test(graded, exercise):
    release = graded[exercise].course.root / "release" / exercise / f"{exercise}.ipynb"
    text = release.read_text()
    for marker in ("BEGIN SOLUTION", "BEGIN HIDDEN TESTS", "Model answer"):
        assert marker not in text
    # The exercise's fixed problem is imported from labkit.checks.<topic>; no check is run.
    source = "\n".join(cell.source for cell in nbformat.read(release, as_version=4).cells)
    assert not checks_in(source) and not re.search(r"import check\b", source)


@pytest.mark.parametrize("exercise", EXERCISES)
def test_each_topic_has_one_name_across_the_three_layers(exercise):
    """A check id's topic names the kernel's cases, the grader's references and the reference
    implementations alike: labkit/checks/T.py, autograde/references/T.py, solutions/T.py."""
    import importlib

    topics = {check_id.split(".", 1)[0] for cell, _ in _cells(exercise)
              for check_id in checks_in(cell.source)}
    assert len(topics) == 1, topics
    (topic,) = topics
    for package in ("labkit.checks", "autograde.references", "solutions"):
        importlib.import_module(f"{package}.{topic}")


def test_practice_cases_are_not_graded_cases():
    """Every function or class check has 2 or 3 practice inputs (the students' self-check),
    none of them a graded input, each small and accepted by the reference."""
    import importlib
    import json
    import pkgutil
    import re

    from labkit.checks.encoding import encode

    for module in pkgutil.iter_modules(checks.__path__):
        importlib.import_module(f"labkit.checks.{module.name}")

    def key(case):
        # A function argument encodes as its repr; drop the address, which differs between
        # two generations of the same case, so that only the other arguments tell cases apart.
        return re.sub(r" at 0x[0-9a-fA-F]+", "", json.dumps(encode(case.args), sort_keys=True))

    with_practice = 0
    for check_id, spec_ in sorted(checks._REGISTRY.items()):
        if spec_.run is checks.value:
            continue
        assert spec_.practice is not None, f"{check_id} has no practice cases"
        practice = list(spec_.practice())
        assert 2 <= len(practice) <= 3, (check_id, len(practice))
        graded = {key(case) for case in spec_.cases()}
        reference = expected(check_id).reference_answer()
        for case in practice:
            assert key(case) not in graded, f"{check_id}: practice case {case.label!r} is graded"
            out = spec_.run(reference, case)
            size = len(json.dumps({k: encode(v) for k, v in out.items()}, sort_keys=True))
            assert size < 20_000, (check_id, case.label, size)
        with_practice += 1
    assert with_practice
