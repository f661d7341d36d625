"""The red-team corpus graded in one run: exact points, clear messages, nothing escapes.

One module-scoped fixture releases exercise 01, writes every submission of
:data:`tests.fixtures.redteam.CORPUS` (the control student ``honest`` among them) and grades
them all in a single ``Course.grade`` call with a 10 s cell limit, as an instructor would.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograde.course import Course
from tests.classes import GradedClass
from tests.fixtures.redteam import (
    CORPUS,
    COURSE,
    COURSE_TARGETS,
    CROSS_STUDENT,
    EXERCISE,
    FLOODS,
    HOST_FILES,
    KNOWN_LIMITS,
    MAX_NOTEBOOK_BYTES,
    Hostile,
    write,
)
from tests.fixtures.sample_classes.ex01 import EX01_FULL

MAX_SCORE = 12.0  # 10 autograded points and the hand-graded written answer
REQUIRED = (  # the issue's list: each kind of attack has at least one entry of this name
    "honest", "infinite_loop", "memory_bomb_growing", "memory_bomb_numpy", "fork_bomb",
    "os_exit", "sys_exit_in_function", "raise_system_exit", "segfault", "deleted_test_cell",
    "duplicated_test_cell", "retyped_test_cell", "emptied_test_cells_wrong_answer",
    "malformed_json", "empty_file", "wrong_file_name", "megabytes_of_output",
    "writes_outside_scratch", "network", "reads_course_files", "imports_solutions",
    "patches_numpy_testing", "patches_builtins", "forges_check_records", "forges_run_cases",
    "forges_encoder", "always_equal_object", "nan_outputs", "float32", "wrong_shape",
    "mutates_inputs", "correct_with_warnings", "ignores_interrupts",
    "fake_outputs_wrong_answer", "deletes_names", "slow_but_correct")


@dataclass
class Graded(GradedClass):
    seconds: float = 0.0
    digests_before: dict[str, str] | None = None


def _digests(course: Path) -> dict[str, str]:
    """Hashes of the files students must not change: submissions and the source."""
    files = [*(course / "submitted").rglob("*.ipynb"), *(course / "source").rglob("*.ipynb"),
             course / "nbgrader_config.py"]
    return {str(p.relative_to(course)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files}


def grade(root: Path, students: dict[str, Hostile], workers: int | None = None) -> Graded:
    """Release, write every submission, collect and grade them all in one run."""
    warnings.filterwarnings("ignore", message=".*not in session.*")
    course = Course(root / "course", cell_timeout=10)
    release = course.release(EXERCISE)
    inbox = root / "inbox"
    for name, student in students.items():
        write(release, student, inbox / name, course.root)
    notes = course.collect(EXERCISE, inbox)
    before = _digests(course.root)
    start = time.perf_counter()
    results = course.grade(EXERCISE, notes=notes, workers=workers)
    seconds = time.perf_counter() - start
    return Graded(course, EXERCISE, students, {r.student: r for r in results}, seconds, before)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Graded:
    for path in HOST_FILES:
        Path(path).unlink(missing_ok=True)
    graded = grade(tmp_path_factory.mktemp("redteam"), CORPUS)
    print(f"\nred-team corpus: {len(CORPUS)} submissions graded in {graded.seconds:.0f} s")
    return graded


def _outputs(graded: GradedClass, student: str) -> str:
    """Every output of the autograded notebook, as text."""
    texts = []
    for cell in graded.autograded(student).cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                texts.append(output.text)
            elif output.output_type == "error":
                texts.append(f"{output.ename}: {output.evalue}")
            else:
                texts.append(str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


def _cell_points(graded: GradedClass, student: str) -> dict[str, float]:
    """Points per test cell; a student nbgrader has no notebook for has none anywhere."""
    from nbgrader.api import MissingEntry

    try:
        return graded.cell_points(student)
    except MissingEntry:
        return dict.fromkeys(EX01_FULL, 0)


def test_corpus_is_large_and_covers_the_issue():
    assert len(CORPUS) >= 30
    assert not set(REQUIRED) - set(CORPUS)
    assert set(KNOWN_LIMITS) <= set(CORPUS)
    assert set(FLOODS) <= set(CORPUS)
    for name, student in CORPUS.items():
        assert set(student.points) == set(EX01_FULL), name


@pytest.mark.slow
@pytest.mark.parametrize("student", [
    pytest.param(s, marks=pytest.mark.xfail(reason=KNOWN_LIMITS[s], strict=True,
                                            raises=AssertionError))
    if s in KNOWN_LIMITS else s for s in CORPUS])
def test_exact_points(corpus, student):
    expected = CORPUS[student].points
    result = corpus.results[student]
    assert _cell_points(corpus, student) == expected, result.problems
    assert result.score == pytest.approx(sum(expected.values()))
    assert result.max_score == MAX_SCORE  # no submission changes what the exercise is worth


@pytest.mark.slow
def test_control_student_keeps_full_points(corpus):
    """Graded beside every hostile submission, the honest one loses nothing."""
    assert corpus.cell_points("honest") == EX01_FULL
    assert corpus.results["honest"].score == 10
    assert corpus.results["honest"].ok and not corpus.results["honest"].problems


@pytest.mark.slow
def test_run_completes_for_every_submission(corpus):
    assert set(corpus.results) == set(CORPUS)
    for student in CORPUS:
        assert corpus.course.is_graded(EXERCISE, student), student
    for student, result in corpus.results.items():
        if not result.ok:  # a submission that could not be graded says why
            assert result.problems, student


@pytest.mark.slow
@pytest.mark.parametrize("student", [s for s, h in CORPUS.items() if h.note])
def test_failures_are_explained(corpus, student):
    problems = corpus.results[student].problems
    assert any(CORPUS[student].note in p for p in problems), problems


@pytest.mark.slow
@pytest.mark.parametrize("student", [s for s, h in CORPUS.items() if h.message])
def test_feedback_says_what_went_wrong(corpus, student):
    assert CORPUS[student].message in _outputs(corpus, student)


@pytest.mark.slow
@pytest.mark.parametrize("student", [s for s, h in CORPUS.items()
                                     if h.must_print or h.never_in_output])
def test_sandbox_blocks_the_attempt(corpus, student):
    """The attempts ran (their evidence is in the outputs) and every one of them failed."""
    outputs = _outputs(corpus, student)
    course = str(corpus.course.root)
    for evidence in CORPUS[student].must_print:
        assert evidence.replace(COURSE, course) in outputs, evidence
    for secret in CORPUS[student].never_in_output:
        assert secret not in outputs


@pytest.mark.slow
def test_nothing_written_outside_the_sandbox(corpus):
    for path in HOST_FILES:
        assert not Path(path).exists(), path
    root = corpus.course.root
    assert not (root / "optbook-pwned.txt").exists()
    assert _digests(root) == corpus.digests_before  # submissions and source untouched
    for target in COURSE_TARGETS:
        path = root / target
        if path.is_file() and path.suffix != ".db":
            assert b"pwned" not in path.read_bytes(), target


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
    left = list(Path(tempfile.gettempdir()).glob("optbook-*"))
    assert not left, left


@pytest.mark.slow
@pytest.mark.parametrize("student", FLOODS)
def test_output_flood_is_cut(corpus, student):
    """Megabytes printed by a submission do not end up in the graded notebook."""
    path = corpus.course.root / "autograded" / student / EXERCISE / f"{EXERCISE}.ipynb"
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES


@pytest.mark.slow
def test_summary_lists_every_student(corpus, capsys):
    from autograde.cli import print_summary

    print_summary(EXERCISE, list(corpus.results.values()))
    out = capsys.readouterr().out
    for student in CORPUS:
        assert student in out


@pytest.mark.slow
@pytest.mark.parametrize("student", [s for s, h in CORPUS.items() if h.limit])
def test_summary_names_the_limit_hit(corpus, student):
    """A submission stopped by a resource limit is not "ok": the summary names the limit."""
    problems = corpus.results[student].problems
    assert any(f"hit the {CORPUS[student].limit} limit" in p for p in problems), problems


@pytest.mark.slow
def test_no_limit_is_named_for_submissions_that_hit_none(corpus):
    quiet = [s for s, h in CORPUS.items() if not h.limit and s not in FLOODS]
    named = {s: p for s in quiet for p in corpus.results[s].problems if " limit (" in p}
    assert not named, named


@pytest.mark.slow
def test_every_collected_student_is_exported_with_the_reason(corpus, tmp_path):
    import csv

    rows = {row["student_id"]: row for row in csv.DictReader(
        corpus.course.export(tmp_path / "grades.csv").open(encoding="utf8"))}
    assert set(rows) == set(CORPUS)
    for student, hostile in CORPUS.items():
        if hostile.note:
            assert hostile.note in rows[student]["notes"], (student, rows[student]["notes"])


@pytest.mark.slow
def test_every_graded_submission_leaves_a_machine_readable_result(corpus):
    import json

    for student in CORPUS:
        result = json.loads(corpus.course.layout.result(student, EXERCISE).read_text())
        assert result["score"] == pytest.approx(corpus.results[student].score), student
        assert result["problems"] == corpus.results[student].problems
        earned = {cell["cell"]: cell["points"] for cell in result["cells"]}
        if earned:  # a notebook that ran: points per test cell as the gradebook has them
            assert {k: v for k, v in earned.items() if k in EX01_FULL} == _cell_points(
                corpus, student), student
    honest = json.loads(corpus.course.layout.result("honest", EXERCISE).read_text())
    checks = [check for cell in honest["cells"] for check in cell["checks"]]
    assert checks and all(c["passed"] and c["cases_passed"] == c["cases_total"]
                          for c in checks)


@pytest.mark.slow
def test_time_limits_bound_the_run(corpus):
    """The runaway entries cost their time limits, not more: the run stays short."""
    assert corpus.seconds < 600, corpus.seconds


@pytest.mark.slow
def test_no_submission_reaches_the_next_one(tmp_path):
    """One worker grades a hijacker and then two honest students: all keep every point."""
    graded = grade(tmp_path, CROSS_STUDENT, workers=1)
    assert set(graded.results) == set(CROSS_STUDENT)  # the run completes
    for student, expected in CROSS_STUDENT.items():
        assert _cell_points(graded, student) == expected.points, (
            student, graded.results[student].problems)
