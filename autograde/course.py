"""A course directory and the commands an instructor runs on it, on top of nbgrader's API.

The directory's layout (nbgrader's, plus the grader's own files) is :class:`autograde.layout.
Layout`. The course directory holds a class's data, so it lives outside the repository by
default.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import jupytext
import nbformat
from traitlets import Dict, Unicode
from traitlets.config import Config, Configurable

from autograde.layout import Layout, submission_digest
from autograde.publish import exercise_ready_cells, exercise_setup_cell
from autograde.runner import Executed, Job, UsePrecomputed, execute_all

REPO = Path(__file__).resolve().parent.parent
EXERCISES = REPO / "exercises"
MAX_SUBMISSION_BYTES = 20 * 2**20  # a notebook with its outputs cleared is far smaller
MIN_CELL_LIMIT = 500


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
    seconds: dict[str, float] = field(default_factory=dict)  # per stage, this run only


class CourseDeadlines(Configurable):
    """Due dates, set in the course's ``nbgrader_config.py``::

        c.CourseDeadlines.due_dates = {"01-sgd": "2027-02-01 23:59:00 Europe/Paris"}
        c.AssignLatePenalties.plugin_class = "nbgrader.plugins.SubMarks"  # 1 point per hour

    A submission's time is its ``timestamp.txt`` (``collect --from`` writes it from the LMS
    download); nbgrader's late-penalty plugin (``LateSubmissionPlugin``: none by default, or
    ``penalty_method = "zero"``; ``SubMarks``; or your own) decides the penalty."""

    due_dates = Dict(Unicode(), help="Exercise id -> due date (any format nbgrader parses, "
                     "e.g. '2027-02-01 23:59:00 UTC').").tag(config=True)


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
        self.layout = Layout(Path(root))
        self.root = self.layout.root
        self.layout.write_config_stub()
        self.cell_timeout = cell_timeout
        self.sandbox = sandbox

    # -- configuration -------------------------------------------------------------------
    def config(self) -> Config:
        """The course's nbgrader configuration with this run's options (see
        :meth:`autograde.layout.Layout.config`)."""
        return self.layout.config(cell_timeout=self.cell_timeout, sandbox=self.sandbox)

    def api(self, precomputed: Path | None = None):
        """nbgrader's API on this course; with ``precomputed``, autograde records notebooks
        that workers already executed instead of executing them (see autograde.runner)."""
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        from autograde.pipeline import RECORD

        config = self.config()
        if precomputed is not None:
            config.Autograde.sanitize_preprocessors = [UsePrecomputed]
            config.Autograde.autograde_preprocessors = RECORD
            config.UsePrecomputed.staged_directory = str(precomputed)
        return NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)

    @property
    def gradebook_url(self) -> str:
        return self.layout.gradebook_url

    # -- release ---------------------------------------------------------------------------
    def release(self, exercise: str) -> Path:
        """Write the source notebook and generate the student version (no solutions/hidden
        tests); returns the released notebook's path."""
        source = self.layout.source(exercise)
        source.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(exercise_notebook(exercise), source)
        result = self.api().generate_assignment(exercise, force=True, create=True)
        if not result["success"]:
            raise RuntimeError(f"releasing {exercise} failed:\n{result.get('error', '')}"
                               f"\n{result.get('log', '')}")
        self.apply_due_date(exercise)
        return self.layout.release(exercise)

    def apply_due_date(self, exercise: str) -> None:
        """Put the configured due date of ``exercise`` (if any) into the gradebook, where
        nbgrader's late penalties read it."""
        from nbgrader.api import Gradebook
        from nbgrader.utils import parse_utc

        due = CourseDeadlines(config=self.config()).due_dates.get(exercise)
        if due:
            with Gradebook(self.gradebook_url) as gradebook:
                gradebook.update_or_create_assignment(exercise, duedate=parse_utc(due))

    # -- collect ---------------------------------------------------------------------------
    def collect(self, exercise: str, submissions: str | Path) -> dict[str, list[str]]:
        """Copy ``<submissions>/<student>/`` into nbgrader's ``submitted/`` tree.

        Each student folder should contain ``<exercise>.ipynb`` (directly or in an
        ``<exercise>/`` subfolder). A folder with exactly one other notebook is accepted with a
        note (a renamed file); anything else is reported, and the student is still collected
        (graded 0 with the reason), so that no one goes missing from the grades. A notebook
        that is JSON but for a few bytes that are not UTF-8 is repaired with a note. Returns
        notes per student.
        """
        notes: dict[str, list[str]] = {}
        limit = self.cell_limit(exercise)
        for folder in sorted(Path(submissions).iterdir()):
            if not folder.is_dir() and not folder.is_symlink():
                continue
            student, wanted = folder.name, f"{exercise}.ipynb"
            notes[student] = []
            if folder.is_symlink():
                notes[student].append("the submission folder is a link, not a folder of the "
                                      "student's own; nothing was collected")
                found = None
            else:
                found = self._pick_notebook(folder, exercise, notes[student])
            target = self.layout.submitted(student, exercise).parent
            if target.exists():
                shutil.rmtree(target)
            target.mkdir(parents=True)
            if found is not None:
                content = _accepted_content(found.read_bytes(), limit, notes[student])
                if content is not None:
                    (target / wanted).write_bytes(content)
            stamp = folder / "timestamp.txt"  # when it was handed in (nbgrader's file)
            if not folder.is_symlink() and stamp.is_file() and not stamp.is_symlink():
                (target / stamp.name).write_text(stamp.read_text(errors="replace")[:100])
        return notes

    def cell_limit(self, exercise: str) -> int:
        """The most cells a submission may have: ten times the release's, and at least
        :data:`MIN_CELL_LIMIT` (scratch cells are welcome; ten thousand are not)."""
        release = self.layout.release(exercise)
        cells = len(nbformat.read(release, as_version=4).cells) if release.exists() else 0
        return max(MIN_CELL_LIMIT, 10 * cells)

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
        return self.layout.students(exercise)

    def grade(self, exercise: str, students: list[str] | None = None,
              notes: dict[str, list[str]] | None = None, progress: bool = False, *,
              workers: int | None = None, scheduler: str | None = None,
              regrade: bool = False) -> list[SubmissionResult]:
        """Autograde the submissions of ``exercise`` (see :mod:`autograde.runner`).

        Work runs in ``workers`` processes (default: one per core) or on the Dask cluster at
        ``scheduler``. Submissions graded earlier and unchanged since are skipped unless
        ``regrade``. A broken submission is reported, never fatal. Every graded submission
        leaves ``result.json`` beside its autograded notebook.
        """
        self.require_sandbox()
        self.apply_due_date(exercise)
        students = self.students(exercise) if students is None else students
        pending = [s for s in students if regrade or not self.is_graded(exercise, s)]
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(students), initial=len(students) - len(pending),
                       desc=f"grading {exercise}", unit="submission")
        jobs = [Job(str(self.root), exercise, student, self.cell_timeout, self.sandbox)
                for student in pending]
        shared = self._warm_up(exercise) if pending and not scheduler else 0.0
        outcomes: dict[str, tuple[Executed, dict]] = {}
        for report in execute_all(jobs, workers=workers or os.cpu_count() or 1,
                                  scheduler=scheduler):
            report.stages["shared set-up"] = shared / len(pending)  # this one's share
            outcomes[report.student] = (report, self.record(exercise, report))
            if bar:
                bar.update(1)
        if bar:
            bar.close()
        results = []
        for student in students:
            report, outcome = outcomes.get(student, (None, None))
            earlier = None if report is not None or student in (notes or {}) else (
                self.problems(exercise, student))  # not graded now: what it said then
            result = self._result(exercise, student, report, outcome,
                                  (notes or {}).get(student, earlier))
            if report is not None:
                write_result(self.layout.result(student, exercise), exercise, result,
                             self.layout.autograded(student, exercise),
                             self.cell_scores(exercise, student))
            results.append(result)
        return results

    def _warm_up(self, exercise: str) -> float:
        """The answer keys of the exercise's checks, computed here once before the workers
        fork (they inherit them); returns the seconds it took."""
        from nbgrader import utils

        from autograde.judge import checks_in, warm_up

        began = time.perf_counter()
        if not self.layout.source(exercise).exists():
            return 0.0
        source = nbformat.read(self.layout.source(exercise), as_version=4)
        warm_up([check_id for cell in source.cells if cell.cell_type == "code"
                 and utils.is_grade(cell) for check_id in checks_in(cell.source)])
        return time.perf_counter() - began

    def record(self, exercise: str, report: Executed) -> dict:
        """Stage 2: nbgrader's autograde with the executed notebook; then mark it graded.
        Returns nbgrader's outcome (``success``, ``log``, ``error``)."""
        from nbgrader.api import Gradebook

        began = time.perf_counter()
        staged = self.layout.staged(exercise, report.student)
        outcome = self.api(precomputed=staged.parent).autograde(
            exercise, report.student, force=True, create=True)
        if not outcome["success"]:
            # nbgrader skips a student without a notebook entirely; in the gradebook they
            # still count (a zero in every export), with the reason in result.json.
            with Gradebook(self.gradebook_url) as gradebook:
                gradebook.update_or_create_student(report.student)
        if outcome["success"] or not report.ok:  # a broken submission is graded too: with 0
            marker = self.layout.marker(report.student, exercise)
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.write_text(submission_digest(self.layout.submitted(report.student,
                                                                      exercise)))
        staged.unlink(missing_ok=True)
        report.stages["record"] = time.perf_counter() - began
        return outcome

    def _result(self, exercise: str, student: str, report: Executed | None,
                outcome: dict | None, notes: list[str] | None) -> SubmissionResult:
        problems = list(notes or [])
        problems += self._readability_problems(exercise, student)
        problems += self._execution_problems(exercise, student)
        if report is not None and not report.ok and not problems:
            problems.append(report.error)
        if outcome is not None and not outcome["success"] and not problems:
            problems.append(_failure_reason(outcome))
        late = self.lateness(exercise, student)
        if late:
            problems.append(late)
        score, max_score = self.score(exercise, student)
        ok = (outcome is None or outcome["success"]) and (report is None or report.ok)
        problems = list(dict.fromkeys(problems))  # a note said twice is said once
        return SubmissionResult(student, score, max_score, ok, problems,
                                dict(report.stages) if report is not None else {})

    def is_graded(self, exercise: str, student: str) -> bool:
        """Whether this exact submission has been graded and recorded already."""
        return self.layout.is_graded(student, exercise)

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
        path = self.layout.submitted(student, exercise)
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
        """What went wrong while the submission ran: timeouts, a dying kernel, and each
        resource limit it ran into (named once, with the first cell where it did)."""
        path = self.layout.autograded(student, exercise)
        if not path.exists():
            return []
        notebook = nbformat.read(path, as_version=4)
        limits = self._limits()
        problems, hit = [], {}
        for index, cell in enumerate(notebook.cells):
            where = cell.metadata.get("nbgrader", {}).get("grade_id", f"cell {index}")
            for output in cell.get("outputs", []):
                text = _output_text(output)
                for limit, signature in LIMIT_SIGNATURES.items():
                    if limit not in hit and signature.search(text):
                        hit[limit] = where
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
        left = int(notebook.metadata.get("optbook", {}).get("processes_left", 0))
        if left >= limits.processes // 2:  # no honest notebook leaves dozens behind
            hit.setdefault("process", "the notebook")
        for limit, where in hit.items():
            problems.append(f"{where} hit the {limit} limit ({_limit_value(limit, limits)})")
        if left and "process" in hit:
            problems.append(f"{left} processes it started were still running at the end; "
                            "they were killed")
        return problems

    def _limits(self):
        """The kernel's resource limits in force for this course."""
        from autograde.execute import GradingExecute

        return GradingExecute(config=self.config()).limits()

    def score(self, exercise: str, student: str) -> tuple[float, float]:
        """The score (late penalty taken off, as nbgrader's export does) and the maximum
        (all parts, manual ones included)."""
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.gradebook_url) as gradebook:
            assignment = gradebook.find_assignment(exercise)
            try:
                submission = gradebook.find_submission(exercise, student)
            except MissingEntry:
                return 0.0, float(assignment.max_score)
            penalty = float(submission.late_submission_penalty or 0.0)
            return max(0.0, float(submission.score) - penalty), float(assignment.max_score)

    def lateness(self, exercise: str, student: str) -> str | None:
        """How late the submission was and what it cost, or ``None`` when on time."""
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.gradebook_url) as gradebook:
            try:
                submission = gradebook.find_submission(exercise, student)
            except MissingEntry:
                return None
            late, penalty = submission.total_seconds_late, submission.late_submission_penalty
        if not late:
            return None
        hours, minutes = divmod(round(late / 60), 60)
        cost = (f"-{penalty:g} point(s) by the late-penalty plugin" if penalty
                else "no penalty configured")
        return f"handed in {hours} h {minutes:02d} min after the due date ({cost})"

    def cell_scores(self, exercise: str, student: str) -> dict[str, float]:
        """Points per graded cell as the gradebook holds them (late penalty not included)."""
        from nbgrader.api import Gradebook, MissingEntry

        with Gradebook(self.gradebook_url) as gradebook:
            try:
                notebook = gradebook.find_submission_notebook(exercise, exercise, student)
            except MissingEntry:
                return {}
            return {grade.name: float(grade.score) for grade in notebook.grades}

    # -- feedback and export ---------------------------------------------------------------
    def feedback(self, exercise: str) -> Path:
        """Write HTML feedback for every graded student under ``<course>/feedback``."""
        result = self.api().generate_feedback(exercise, force=True)
        if not result["success"]:
            raise RuntimeError(f"feedback failed:\n{result.get('error', '')}")
        return self.layout.feedback

    def export(self, destination: str | Path) -> Path:
        """Export all grades with nbgrader's CSV exporter, plus a ``notes`` column: why a
        submission lost points outside its answers (from each ``result.json``)."""
        import csv
        import io

        from nbgrader.api import Gradebook
        from nbgrader.plugins import CsvExportPlugin

        destination = Path(destination).resolve()
        plugin = CsvExportPlugin(config=self.config())
        plugin.to = str(destination)
        with Gradebook(self.gradebook_url) as gradebook:
            plugin.export(gradebook)
        rows = list(csv.DictReader(io.StringIO(destination.read_text(encoding="utf8"))))
        if rows:
            fields = [*rows[0].keys(), "notes"]
            with destination.open("w", newline="", encoding="utf8") as out:
                writer = csv.DictWriter(out, fields)
                writer.writeheader()
                for row in rows:
                    writer.writerow({**row, "notes": "; ".join(
                        self.problems(row["assignment"], row["student_id"]))})
        return destination

    def export_to_lms(self, lms: str, destination: str | Path,
                      roster: list[dict[str, str]]) -> Path:
        """Every exercise's scores for every roster student, in ``lms``'s import format
        (:func:`autograde.lms.write_grades`); the problems of each submission as feedback."""
        from nbgrader.api import Gradebook

        from autograde.lms import write_grades

        with Gradebook(self.gradebook_url) as gradebook:
            max_scores = {a.name: float(a.max_score) for a in gradebook.assignments}
        students = [row["student"] for row in roster]
        scores = {e: {s: self.score(e, s)[0] for s in students} for e in max_scores}
        notes = {e: {s: "; ".join(self.problems(e, s)) for s in students} for e in max_scores}
        return write_grades(lms, destination, roster, scores, max_scores, notes)

    def problems(self, exercise: str, student: str) -> list[str]:
        """The problems the last grading of this submission reported (its ``result.json``)."""
        path = self.layout.result(student, exercise)
        if not path.exists():
            return []
        try:
            return list(json.loads(path.read_text(encoding="utf8")).get("problems", []))
        except ValueError:
            return []


def _accepted_content(content: bytes, cell_limit: int, notes: list[str]) -> bytes | None:
    """The bytes to grade: as submitted, or with undecodable bytes replaced (U+FFFD) when
    that makes it a readable notebook; ``None`` for a notebook refused for its cell count.
    What is not JSON at all is kept as it is, to be reported when it is graded."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = content.decode("utf-8", errors="replace")
        bad = text.count("\ufffd") - content.count("\ufffd".encode())
        try:
            json.loads(text)
        except ValueError:
            return content
        notes.append(f"repaired: {bad} byte(s) that are not UTF-8 were replaced by '\ufffd' "
                     "(check the cells that show it); the notebook was graded")
        content = text.encode("utf-8")
    try:
        cells = json.loads(text).get("cells", [])
    except (ValueError, AttributeError):
        return content
    if isinstance(cells, list) and len(cells) > cell_limit:
        notes.append(f"refused: the notebook has {len(cells):,} cells, more than the "
                     f"{cell_limit:,} a submission of this exercise may have; delete the "
                     "extra cells and submit it again")
        return None
    return content


# How each sandbox limit shows in a cell's output (error, traceback text or the grader's own
# note); see autograde/sandbox.py for the limits and autograde/sanitize.py for the output cap.
LIMIT_SIGNATURES = {
    "memory": re.compile(r"MemoryError|Unable to allocate|Cannot allocate memory|"
                         r"DefaultCPUAllocator: can't allocate"),
    "file-size": re.compile(r"\[Errno 27\]|File too large"),
    "disk": re.compile(r"\[Errno 28\]|No space left on device|Disk quota exceeded"),
    "process": re.compile(r"BlockingIOError: \[Errno 11\]|Resource temporarily unavailable|"
                          r"can't start new thread"),
    "output": re.compile(r"… output cut: |bytes of output removed \(limit: "),
}


def _output_text(output) -> str:
    if output.output_type == "error":
        return f"{output.get('ename', '')}: {output.get('evalue', '')}"
    if output.output_type == "stream":
        return output.text if isinstance(output.text, str) else "".join(output.text)
    return str(output.get("data", {}).get("text/plain", ""))


def _limit_value(limit: str, limits) -> str:
    gib = 2**30
    return {"memory": f"{limits.memory_bytes / gib:g} GiB of address space",
            "file-size": f"{limits.file_bytes / 2**20:g} MiB per file",
            "disk": "the scratch folder's space",
            "process": f"{limits.processes} processes",
            "output": "see the note in that cell"}[limit]


def _failure_reason(outcome: dict) -> str:
    """The most telling line of a failed nbgrader run, for the per-submission summary."""
    text = (outcome.get("log", "") + "\n" + outcome.get("error", "")).strip()
    for marker in ("NotJSONError", "JSONDecodeError", "DeadKernelError", "Kernel died",
                   "CellTimeoutError", "No submitted file"):
        if marker in text:
            return f"grading stopped: {marker}"
    last = [line for line in text.splitlines() if line.strip()]
    return "grading failed: " + (last[-1][:200] if last else "unknown error")


def write_result(path: Path, exercise: str, result: SubmissionResult, autograded: Path,
                 cell_scores: dict[str, float]) -> None:
    """The graded submission for programs: score, problems, and per graded cell its points
    and every check's verdict (cases passed, the mistake named), read from the autograded
    notebook where :class:`autograde.verdicts.DecideVerdicts` left them."""
    cells = []
    if autograded.exists():
        from nbgrader import utils

        for cell in nbformat.read(autograded, as_version=4).cells:
            if not utils.is_grade(cell) or utils.is_solution(cell):
                continue
            verdicts = cell.metadata.get("optbook", {}).get("verdicts", [])
            grade_id = cell.metadata["nbgrader"]["grade_id"]
            cells.append({
                "cell": grade_id, "points": cell_scores.get(grade_id, 0.0),
                "max_points": float(cell.metadata["nbgrader"]["points"]),
                "checks": [{key: verdict.get(key) for key in (
                    "check_id", "passed", "status", "cases_passed", "cases_total", "mistake",
                    "failing")} for verdict in verdicts]})
    record = {"exercise": exercise, **asdict(result), "cells": cells}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf8")
