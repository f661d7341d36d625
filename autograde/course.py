"""A course directory and the commands an instructor runs on it, on top of nbgrader's API.

Layout (nbgrader's)::

    <course>/nbgrader_config.py       loads autograde/nbgrader_config.py
    <course>/gradebook.db
    <course>/source/<exercise>/<exercise>.ipynb      built from exercises/<exercise>/*.md
    <course>/release/<exercise>/<exercise>.ipynb     what students download
    <course>/submitted/<student>/<exercise>/<exercise>.ipynb
    <course>/autograded/…  <course>/feedback/…

The course directory holds a class's data, so it lives outside the repository by default.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograde.publish import exercise_ready_cells, exercise_setup_cell

REPO = Path(__file__).resolve().parent.parent
EXERCISES = REPO / "exercises"
CONFIG_FILE = Path(__file__).resolve().parent / "nbgrader_config.py"
MAX_SUBMISSION_BYTES = 20 * 2**20  # a notebook with its outputs cleared is far smaller


def exercise_ids() -> list[str]:
    """The exercises in the repository, in chapter order (``01-sgd``, ``02-momentum``, …)."""
    return sorted(p.name for p in EXERCISES.iterdir() if (p / f"{p.name}.md").exists())


def exercise_notebook(exercise: str) -> nbformat.NotebookNode:
    """The instructor's source notebook of ``exercise``, read from its MyST text file."""
    path = EXERCISES / exercise / f"{exercise}.md"
    if not path.exists():
        known = ", ".join(exercise_ids())
        raise FileNotFoundError(f"no exercise {exercise!r} (known: {known})")
    notebook = jupytext.read(path)
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    # Right below the title: the cell that makes labkit importable anywhere (a no-op here).
    notebook.cells.insert(1 if notebook.cells[0].cell_type == "markdown" else 0,
                          exercise_setup_cell())
    notebook.cells.extend(exercise_ready_cells(exercise))  # the students' self-check
    return notebook


@dataclass
class SubmissionResult:
    """The outcome of grading one student's submission of one exercise."""

    student: str
    score: float
    max_score: float
    ok: bool
    problems: list[str] = field(default_factory=list)


def _venv_on_path() -> None:
    """nbgrader runs its database migrations with the ``alembic`` command: make the tools of
    this interpreter's environment findable even when the environment is not activated."""
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


class Course:
    """An nbgrader course directory driven through :class:`nbgrader.apps.NbGraderAPI`."""

    def __init__(self, root: str | Path, *, cell_timeout: int | None = None,
                 sandbox: bool = True) -> None:
        _venv_on_path()
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        config_stub = self.root / "nbgrader_config.py"
        if not config_stub.exists():
            config_stub.write_text(f"load_subconfig({str(CONFIG_FILE)!r})\n")
        self.cell_timeout = cell_timeout
        self.sandbox = sandbox
        self.last_outcomes: dict[str, dict] = {}

    # -- configuration -------------------------------------------------------------------
    def config(self) -> Config:
        """The course's ``nbgrader_config.py`` (which loads this book's settings first, so a
        course can override them, e.g. ``c.DecideVerdicts.hints = "none"`` for an exam)."""
        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        if self.cell_timeout is not None:
            config.GradingExecute.timeout = self.cell_timeout
        if not self.sandbox:
            config.GradingExecute.sandbox = False
        return config

    def api(self, precomputed: Path | None = None):
        """nbgrader's API on this course; with ``precomputed``, autograde records notebooks
        that workers already executed instead of executing them (see autograde.runner)."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.preprocessors import AssignLatePenalties, CheckCellMetadata, SaveAutoGrades

        from autograde.runner import UsePrecomputed

        config = self.config()
        if precomputed is not None:
            config.Autograde.sanitize_preprocessors = [UsePrecomputed]
            config.Autograde.autograde_preprocessors = [
                SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
            config.UsePrecomputed.staged_directory = str(precomputed)
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    @property
    def gradebook_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    # -- release ---------------------------------------------------------------------------
    def release(self, exercise: str) -> Path:
        """Write the source notebook and generate the student version (no solutions/hidden
        tests); returns the released notebook's path."""
        source_dir = self.root / "source" / exercise
        source_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(exercise_notebook(exercise), source_dir / f"{exercise}.ipynb")
        result = self.api().generate_assignment(exercise, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"releasing {exercise} failed:\n{result.get('error', '')}"
                               f"\n{result.get('log', '')}")
        return self.root / "release" / exercise / f"{exercise}.ipynb"

    # -- collect ---------------------------------------------------------------------------
    def collect(self, exercise: str, submissions: str | Path) -> dict[str, list[str]]:
        """Copy ``<submissions>/<student>/`` into nbgrader's ``submitted/`` tree.

        Each student folder should contain ``<exercise>.ipynb`` (directly or in an
        ``<exercise>/`` subfolder). A folder with exactly one other notebook is accepted with a
        note (a renamed file); anything else is reported. Returns notes per student.
        """
        notes: dict[str, list[str]] = {}
        for folder in sorted(Path(submissions).iterdir()):
            if not folder.is_dir() or folder.is_symlink():
                continue
            student, wanted = folder.name, f"{exercise}.ipynb"
            notes[student] = []
            found = self._pick_notebook(folder, exercise, notes[student])
            target = self.root / "submitted" / student / exercise
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            if found is not None:
                shutil.copyfile(found, target / wanted, follow_symlinks=False)
        return notes

    @staticmethod
    def _pick_notebook(folder: Path, exercise: str, notes: list[str]) -> Path | None:
        """The student's notebook: a regular file of a sane size, never a link."""
        wanted = f"{exercise}.ipynb"
        notebooks = sorted(Path(root) / name for root, _, names in os.walk(folder)
                           for name in names if name.endswith(".ipynb"))
        candidates = [folder / wanted, folder / exercise / wanted]
        found = next((p for p in candidates if p in notebooks), None)
        if found is None and len(notebooks) == 1:
            found = notebooks[0]
            notes.append(f"the notebook was named {found.name!r}, not {wanted!r}; graded it "
                         "anyway")
        if found is None:
            notes.append(f"no notebook named {wanted!r} was submitted")
            return None
        info = found.lstat()
        if not stat.S_ISREG(info.st_mode):
            notes.append(f"{found.name!r} is a link or a special file, not a notebook; "
                         "submit the notebook file itself")
            return None
        if info.st_size > MAX_SUBMISSION_BYTES:
            notes.append(f"{found.name!r} is {info.st_size / 2**20:.0f} MiB, more than the "
                         f"{MAX_SUBMISSION_BYTES / 2**20:.0f} MiB accepted; clear its outputs "
                         "and submit it again")
            return None
        return found

    # -- grade -----------------------------------------------------------------------------
    def students(self, exercise: str) -> list[str]:
        submitted = self.root / "submitted"
        if not submitted.exists():
            return []
        return sorted(p.name for p in submitted.iterdir() if (p / exercise).is_dir())

    def grade(self, exercise: str, students: list[str] | None = None,
              notes: dict[str, list[str]] | None = None, progress: bool = False, *,
              workers: int | None = None, scheduler: str | None = None,
              regrade: bool = False) -> list[SubmissionResult]:
        """Autograde the submissions of ``exercise`` (see :mod:`autograde.runner`).

        Work runs in ``workers`` processes (default: one per core) or on the Dask cluster at
        ``scheduler``. Submissions graded earlier and unchanged since are skipped unless
        ``regrade``. A broken submission is reported, never fatal.
        """
        from autograde.runner import grade_in_parallel

        self.require_sandbox()
        students = self.students(exercise) if students is None else students
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(students), desc=f"grading {exercise}", unit="submission")
            bar.update(sum(self.is_graded(exercise, s) for s in students) if not regrade else 0)
        _, reports = grade_in_parallel(
            self, exercise, students, workers=workers or os.cpu_count() or 1,
            scheduler=scheduler, regrade=regrade,
            progress=(lambda _: bar.update(1)) if bar else None)
        if bar:
            bar.close()
        results = []
        for student in students:
            problems = list((notes or {}).get(student, []))
            problems += self._readability_problems(exercise, student)
            problems += self._execution_problems(exercise, student)
            outcome = self.last_outcomes.get(student)
            report = reports.get(student)
            if report is not None and not report.ok and not problems:
                problems.append(report.error)
            if outcome is not None and not outcome["success"] and not problems:
                problems.append(_failure_reason(outcome))
            score, max_score = self.score(exercise, student)
            ok = (outcome is None or outcome["success"]) and (report is None or report.ok)
            results.append(SubmissionResult(student, score, max_score, ok, problems))
        return results

    def is_graded(self, exercise: str, student: str) -> bool:
        """Whether this exact submission has been graded and recorded already."""
        from autograde.runner import MARKER, submission_digest

        marker = self.root / "autograded" / student / exercise / MARKER
        submitted = self.root / "submitted" / student / exercise / f"{exercise}.ipynb"
        return marker.exists() and marker.read_text() == submission_digest(submitted)

    def require_sandbox(self) -> None:
        """Refuse to grade unsandboxed unless the instructor opted out explicitly."""
        from autograde.sandbox import SandboxUnavailableError, check_available

        reason = check_available() if self.sandbox else None
        if reason is not None:
            raise SandboxUnavailableError(
                f"refusing to grade: student code must run sandboxed, but {reason}. Install "
                "it, or pass --no-sandbox to grade without isolation (student code could then "
                "read the solutions and the gradebook).")

    def _readability_problems(self, exercise: str, student: str) -> list[str]:
        path = self.root / "submitted" / student / exercise / f"{exercise}.ipynb"
        if not path.exists():
            return []
        try:
            nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
        except (json.JSONDecodeError, UnicodeDecodeError, nbformat.reader.NotJSONError) as error:
            return [f"the notebook file is not valid JSON ({type(error).__name__}); "
                    "it could not be opened, so every part scores 0"]
        except Exception as error:
            return [f"the notebook could not be read: {error}"]
        return []

    def _execution_problems(self, exercise: str, student: str) -> list[str]:
        """What went wrong while the submission ran: timeouts and a dying kernel."""
        path = self.root / "autograded" / student / exercise / f"{exercise}.ipynb"
        if not path.exists():
            return []
        problems = []
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            where = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
            for output in cell.get("outputs", []):
                # Test cells carry their errors as text (see DecideVerdicts).
                if output.output_type == "error":
                    ename, evalue = output.ename, output.evalue
                elif output.output_type == "stream" and ": " in output.text:
                    ename, _, evalue = output.text.partition(": ")
                else:
                    continue
                if ename == "KernelDied" and "earlier" not in evalue:
                    problems.append(f"{where}: {evalue.strip()}")
                elif ename in ("CellTimeoutError", "TimeoutError"):
                    problems.append(f"{where} ran past the time limit and was stopped")
        return problems

    def score(self, exercise: str, student: str) -> tuple[float, float]:
        """The autograded score and the maximum (all parts, manual ones included)."""
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.gradebook_url) as gradebook:
            assignment = gradebook.find_assignment(exercise)
            try:
                submission = gradebook.find_submission(exercise, student)
            except MissingEntry:
                return 0.0, float(assignment.max_score)
            return float(submission.score), float(assignment.max_score)

    # -- feedback and export ---------------------------------------------------------------
    def feedback(self, exercise: str) -> Path:
        """Write HTML feedback for every graded student under ``<course>/feedback``."""
        result = self.api().generate_feedback(exercise, force=True)
        if not result["success"]:
            raise RuntimeError(f"feedback failed:\n{result.get('error', '')}")
        return self.root / "feedback"

    def export(self, destination: str | Path) -> Path:
        """Export all grades with nbgrader's CSV exporter."""
        from nbgrader.api import Gradebook
        from nbgrader.plugins import CsvExportPlugin

        destination = Path(destination).resolve()
        plugin = CsvExportPlugin(config=self.config())
        plugin.to = str(destination)
        with Gradebook(self.gradebook_url) as gradebook:
            plugin.export(gradebook)
        return destination


def _failure_reason(outcome: dict) -> str:
    """The most telling line of a failed nbgrader run, for the per-submission summary."""
    text = (outcome.get("log", "") + "\n" + outcome.get("error", "")).strip()
    for marker in ("NotJSONError", "JSONDecodeError", "DeadKernelError", "Kernel died",
                   "CellTimeoutError", "No submitted file"):
        if marker in text:
            return f"grading stopped: {marker}"
    last = [line for line in text.splitlines() if line.strip()]
    return "grading failed: " + (last[-1][:200] if last else "unknown error")
