"""Build and grade classes of submissions (used by the round-trip and sample-class tests)."""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograde.course import Course, SubmissionResult, exercise_ids, exercise_notebook
from tests.fixtures.sample_classes import Student

SOLUTION_REGION = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n?", re.MULTILINE)


def sample_class(exercise: str) -> dict[str, Student] | None:
    """The sample class of ``exercise`` (``tests/fixtures/sample_classes/exNN.py``), if any."""
    try:
        module = importlib.import_module(f"tests.fixtures.sample_classes.ex{exercise[:2]}")
    except ModuleNotFoundError:
        return None
    return module.CLASS


SAMPLE_CLASSES: dict[str, dict[str, Student]] = {
    exercise: found for exercise in exercise_ids() if (found := sample_class(exercise))}


def classes() -> dict[str, dict[str, Student]]:
    """Every exercise's class: its sample class, or at least a correct and a blank student."""
    default = {"correct": Student(), "blank": Student(blank=True)}
    return {ex: sample_class(ex) or default for ex in exercise_ids()}


def reference_answers(exercise: str) -> dict[str, str]:
    """The source's answers as a student would type them (without the solution markers)."""
    answers = {}
    for cell in exercise_notebook(exercise).cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            answers[meta["grade_id"]] = SOLUTION_REGION.sub("", cell.source)
    return answers


def write_submission(release: Path, exercise: str, student: Student, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if student.file == "malformed":
        text = release.read_text()
        (folder / f"{exercise}.ipynb").write_text(text[: len(text) // 2])
        return
    notebook = nbformat.read(release, as_version=4)
    if not student.blank:
        answers = {**reference_answers(exercise), **student.cells}
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if cell.metadata.get("nbgrader", {}).get("solution") and grade_id in answers:
                cell.source = answers[grade_id]
    name = f"{exercise}.ipynb" if student.file == "notebook" else student.file
    nbformat.write(notebook, folder / name)


@dataclass
class GradedClass:
    course: Course
    exercise: str
    students: dict[str, Student]
    results: dict[str, SubmissionResult]

    def cell_points(self, student: str) -> dict[str, float]:
        """Autograded points per test cell (grade_id -> score) from the gradebook."""
        with Gradebook(self.course.gradebook_url) as gradebook:
            submission = gradebook.find_submission_notebook(self.exercise, self.exercise,
                                                            student)
            return {grade.name: float(grade.score) for grade in submission.grades
                    if grade.cell.cell_type == "code"}

    def autograded(self, student: str):
        path = (self.course.root / "autograded" / student / self.exercise
                / f"{self.exercise}.ipynb")
        return nbformat.read(path, as_version=4)

    def recognised_mistakes(self, student: str) -> dict[str, str]:
        found = {}
        for cell in self.autograded(student).cells:
            for verdict in cell.metadata.get("optbook", {}).get("verdicts", []):
                if verdict["mistake"]:
                    found[verdict["check_id"]] = verdict["mistake"]
        return found


def grade_class(root: Path, exercise: str, students: dict[str, Student],
                cell_timeout: int = 10, write=None) -> GradedClass:
    """Release ``exercise``, write every student's submission (with ``write`` when given,
    ``write(release, student, folder)``), collect and grade them all in one run."""
    course = Course(root / "course", cell_timeout=cell_timeout)
    release = course.release(exercise)
    inbox = root / "inbox" / exercise
    for name, student in students.items():
        if write is not None:
            write(release, student, inbox / name)
        else:
            write_submission(release, exercise, student, inbox / name)
    notes = course.collect(exercise, inbox)
    results = {r.student: r for r in course.grade(exercise, notes=notes)}
    return GradedClass(course, exercise, students, results)
