"""The red-team corpus graded in one run: exact points, clear messages, nothing escapes."""

from __future__ import annotations

import warnings
from pathlib import Path

import nbformat
import pytest

from tests.classes import GradedClass, grade_class, write_submission
from tests.fixtures.redteam import CORPUS, HOST_FILES, Hostile

EXERCISE = "01-sgd"


def _write(release: Path, student: Hostile, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if student.raw is not None:
        (folder / f"{EXERCISE}.ipynb").write_bytes(student.raw)
        return
    write_submission(release, EXERCISE, student, folder)
    if student.edit is not None:
        path = folder / f"{EXERCISE}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        student.edit(notebook)
        nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> GradedClass:
    warnings.filterwarnings("ignore", message=".*not in session.*")
    for path in HOST_FILES:
        Path(path).unlink(missing_ok=True)
    root = tmp_path_factory.mktemp("redteam")
    return grade_class(root, EXERCISE, CORPUS, cell_timeout=10, write=_write)


def test_corpus_is_large_enough():
    assert len(CORPUS) >= 30


@pytest.mark.slow
@pytest.mark.parametrize("student", list(CORPUS))
def test_exact_points(corpus, student):
    expected = CORPUS[student].points
    assert corpus.cell_points(student) == expected
    assert corpus.results[student].score == pytest.approx(sum(expected.values()))


@pytest.mark.slow
@pytest.mark.parametrize("student", [s for s, h in CORPUS.items() if h.note])
def test_failures_are_explained(corpus, student):
    problems = corpus.results[student].problems
    assert any(CORPUS[student].note in p for p in problems), problems


@pytest.mark.slow
@pytest.mark.parametrize("student", [s for s, h in CORPUS.items() if h.never_in_output])
def test_nothing_leaks_into_the_sandbox(corpus, student):
    outputs = [str(o) for cell in corpus.autograded(student).cells
               for o in cell.get("outputs", [])]
    assert outputs  # the attempts ran and printed what they got
    for secret in CORPUS[student].never_in_output:
        assert not any(secret in text for text in outputs)


@pytest.mark.slow
def test_nothing_written_outside_the_sandbox(corpus):
    for path in HOST_FILES:
        assert not Path(path).exists(), path


@pytest.mark.slow
def test_no_sandboxed_process_outlives_grading(corpus):
    leftovers = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                uid = entry.stat().st_uid
            except OSError:
                continue
            if 60000 <= uid < 100000:
                leftovers.append(entry.name)
    assert not leftovers


@pytest.mark.slow
def test_no_scratch_folder_outlives_grading(corpus):
    """Scratch folders hold students' notebooks: all are deleted when grading ends."""
    import tempfile

    left = list(Path(tempfile.gettempdir()).glob("optbook-*"))
    assert not left, left


@pytest.mark.slow
def test_failed_checks_say_what_was_expected_and_what_came_back(corpus):
    outputs = nbformat.writes(corpus.autograded("nan_outputs"))
    assert "NaN" in outputs and "First failing input" in outputs
    outputs = nbformat.writes(corpus.autograded("always_equal_object"))
    assert "Liar" in outputs
    outputs = nbformat.writes(corpus.autograded("forges_check_records"))
    assert "more than once" in outputs
