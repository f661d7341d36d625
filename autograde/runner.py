"""Grade a class in parallel, resumably: workers execute, one process writes the gradebook.

Each submission goes through two stages:

1. **execute** (:func:`execute_submission`, in a worker process — a local process pool by
   default, or a Dask ``distributed`` cluster): nbgrader's sanitizing preprocessors (which only
   *read* the gradebook), the sandboxed kernel, the out-of-kernel verdicts. The executed
   notebook is written to ``<course>/.optbook/staged/<exercise>/<student>.ipynb``.
2. **record** (in the parent, one submission at a time): nbgrader's own ``autograde`` for that
   student with :class:`UsePrecomputed` in place of execution, so timestamps, late penalties,
   missing notebooks and scores are handled exactly as nbgrader does, and only one process ever
   writes the SQLite gradebook (no write can be lost to locking).

A finished submission leaves a marker holding the hash of the submitted file. Run the same
command again after a crash or ``kill -9`` and only unfinished (or resubmitted) work is done.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

STAGED = Path(".optbook") / "staged"
MARKER = ".optbook-graded"


def submission_digest(path: Path) -> str:
    """Hash of a submitted notebook (missing file → a fixed value)."""
    if not path.exists():
        return "missing"
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Executed:
    """What a worker sends back: where the executed notebook is, or why there is none."""

    student: str
    ok: bool
    seconds: float
    error: str = ""


def _sandbox_uid() -> int:
    """A user id per worker process, so each kernel's process limit is its own."""
    return 61000 + os.getpid() % 30000


def execute_submission(course_root: str, exercise: str, student: str,
                       cell_timeout: int | None = None, sandbox: bool = True) -> Executed:
    """Stage 1 for one submission (runs in a worker; never writes the gradebook)."""
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        IgnorePattern,
        LimitOutput,
        OverwriteKernelspec,
    )

    from autograde.course import Course
    from autograde.execute import GradingExecute
    from autograde.sanitize import CapOutputs, RestoreCells
    from autograde.verdicts import DecideVerdicts

    start = time.perf_counter()
    course = Course(course_root, cell_timeout=cell_timeout, sandbox=sandbox)
    config = course.config()
    config.GradingExecute.sandbox_uid = _sandbox_uid()
    submitted = course.root / "submitted" / student / exercise / f"{exercise}.ipynb"
    staged = course.root / STAGED / exercise / f"{student}.ipynb"
    staged.parent.mkdir(parents=True, exist_ok=True)
    try:
        notebook = nbformat.read(submitted, as_version=4)
    except Exception as error:  # malformed JSON, empty file, missing file
        return Executed(student, False, time.perf_counter() - start,
                        f"could not read the notebook: {type(error).__name__}")
    resources = {"unique_key": exercise,
                 "nbgrader": {"student": student, "assignment": exercise, "notebook": exercise,
                              "db_url": CourseDirectory(config=config).db_url},
                 "metadata": {"path": str(submitted.parent)}}
    steps = [ClearOutput, DeduplicateIds, OverwriteKernelspec, RestoreCells, CheckCellMetadata,
             GradingExecute, CapOutputs, IgnorePattern, DecideVerdicts, LimitOutput]
    try:
        for step in steps:
            notebook, resources = step(config=config)(notebook, resources)
    except Exception as error:
        return Executed(student, False, time.perf_counter() - start,
                        f"{type(error).__name__}: {error}"[:300])
    notebook.metadata.setdefault("optbook", {})["submission"] = submission_digest(submitted)
    nbformat.write(notebook, staged)
    return Executed(student, True, time.perf_counter() - start)


class UsePrecomputed(NbGraderPreprocessor):
    """Replace the submitted notebook with the one a worker sanitized and executed.

    It takes the place of nbgrader's sanitizing step (the worker did that) and refuses a
    staged notebook made from a different version of the submitted file.
    """

    staged_directory = Unicode("", help="Folder of executed notebooks, <student>.ipynb."
                               ).tag(config=True)

    def preprocess(self, nb, resources):
        student = resources["nbgrader"]["student"]
        path = Path(self.staged_directory) / f"{student}.ipynb"
        if not path.exists():
            raise RuntimeError(f"no executed notebook for {student}")
        executed = nbformat.read(path, as_version=4)
        submitted = Path(resources["metadata"]["path"]) / f"{resources['unique_key']}.ipynb"
        if executed.metadata.get("optbook", {}).get("submission") != submission_digest(
                submitted):
            raise RuntimeError("the executed notebook was made from another version of the "
                               "submission")
        return executed, resources


def _single_threaded_torch() -> None:
    """Pool initializer: a forked worker inherits the caller's PyTorch, but not the threads of
    its intra-op pool; if the caller had already run torch on several threads, the next
    parallel op in the worker would wait for them forever. One thread, as PyTorch's own
    DataLoader workers do, avoids that (and workers already fill the cores)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


def _local_pool(workers: int):
    from concurrent.futures import ProcessPoolExecutor, as_completed

    pool = ProcessPoolExecutor(max_workers=workers, initializer=_single_threaded_torch)

    def submit(*args):
        return pool.submit(execute_submission, *args)

    return pool, submit, as_completed


def _dask(address: str):
    from distributed import Client, as_completed

    client = Client(address)

    def submit(*args):
        return client.submit(execute_submission, *args, pure=False)

    return client, submit, as_completed


def grade_in_parallel(course, exercise: str, students: Iterable[str], *, workers: int,
                      scheduler: str | None = None, regrade: bool = False,
                      progress: Callable[[str], None] | None = None
                      ) -> tuple[list[str], dict[str, Executed]]:
    """Execute pending submissions in parallel and record each as soon as it is done.

    Returns the students whose submission was (re)graded now, and the workers' reports.
    """
    pending = [s for s in students if regrade or not course.is_graded(exercise, s)]
    reports: dict[str, Executed] = {}
    if not pending:
        return pending, reports
    engine, submit, as_completed = (_dask(scheduler) if scheduler
                                    else _local_pool(max(1, workers)))
    try:
        futures = [submit(str(course.root), exercise, student, course.cell_timeout,
                          course.sandbox) for student in pending]
        for future in as_completed(futures):
            report = future.result()
            reports[report.student] = report
            record(course, exercise, report)
            if progress:
                progress(report.student)
    finally:
        if scheduler:
            engine.close()
        else:
            engine.shutdown(cancel_futures=True)
    return pending, reports


def record(course, exercise: str, report: Executed) -> dict:
    """Stage 2: nbgrader's autograde with the executed notebook; then mark it graded."""
    staged = course.root / STAGED / exercise
    api = course.api(precomputed=staged)
    outcome = api.autograde(exercise, report.student, force=True, create=True)
    submitted = course.root / "submitted" / report.student / exercise / f"{exercise}.ipynb"
    marker = course.root / "autograded" / report.student / exercise / MARKER
    if outcome["success"] or not report.ok:  # a broken submission is graded too: with 0
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(submission_digest(submitted))
    (staged / f"{report.student}.ipynb").unlink(missing_ok=True)
    course.last_outcomes[report.student] = outcome
    return outcome
