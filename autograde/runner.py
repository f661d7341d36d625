"""Grade a class in parallel, resumably: workers execute, one process writes the gradebook.

Each submission goes through the two halves of the pipeline (:mod:`autograde.pipeline`):

1. **execute** (:func:`execute_submission`, in a worker process — a local process pool by
   default, or a Dask ``distributed`` cluster): ``SANITIZE + EXECUTE`` (the sanitizing steps
   only *read* the gradebook), the sandboxed kernel, the out-of-kernel verdicts. The executed
   notebook is handed over in ``Layout.staged``; the worker returns an :class:`Executed`.
2. **record** (``RECORD``, in the caller, one submission at a time: see
   :meth:`autograde.course.Course.record`): nbgrader's own ``autograde`` for that student with
   :class:`UsePrecomputed` in place of sanitizing and execution, so timestamps, late
   penalties, missing notebooks and scores are handled exactly as nbgrader does, and only one
   process ever writes the SQLite gradebook (no write can be lost to locking).

A finished submission leaves a marker holding the hash of the submitted file. Run the same
command again after a crash or ``kill -9`` and only unfinished (or resubmitted) work is done.

This module is the worker pool: it takes submissions and returns their outcomes; it knows
nothing of the course object that records them.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograde.layout import Layout, submission_digest


@dataclass(frozen=True)
class Job:
    """One submission to execute, and the options of this grading run."""

    course_root: str
    exercise: str
    student: str
    cell_timeout: int | None = None
    sandbox: bool = True


@dataclass
class Executed:
    """What a worker sends back: where the executed notebook is, or why there is none, and
    how long each stage took (seconds, by stage name)."""

    student: str
    ok: bool
    seconds: float
    error: str = ""
    stages: dict[str, float] = field(default_factory=dict)


def _sandbox_uid() -> int:
    """A user id per worker process, so each kernel's process limit is its own."""
    return 61000 + os.getpid() % 30000


def execute_submission(job: Job) -> Executed:
    """Stage 1 for one submission (runs in a worker; never writes the gradebook)."""
    from nbgrader.coursedir import CourseDirectory

    from autograde.execute import GradingExecute
    from autograde.pipeline import EXECUTE, SANITIZE

    start = time.perf_counter()
    layout = Layout(Path(job.course_root))
    config = layout.config(cell_timeout=job.cell_timeout, sandbox=job.sandbox)
    config.GradingExecute.sandbox_uid = _sandbox_uid()
    submitted = layout.submitted(job.student, job.exercise)
    staged = layout.staged(job.exercise, job.student)
    staged.parent.mkdir(parents=True, exist_ok=True)
    stages: dict[str, float] = {}

    def failed(error: str) -> Executed:
        return Executed(job.student, False, time.perf_counter() - start, error, stages)

    try:
        notebook = nbformat.read(submitted, as_version=4)
    except Exception as error:  # malformed JSON, empty file, missing file
        return failed(f"could not read the notebook: {type(error).__name__}")
    resources = {"unique_key": job.exercise,
                 "nbgrader": {"student": job.student, "assignment": job.exercise,
                              "notebook": job.exercise,
                              "db_url": CourseDirectory(config=config).db_url},
                 "metadata": {"path": str(submitted.parent)}}
    stages["set-up"] = time.perf_counter() - start
    try:
        for step in SANITIZE + EXECUTE:
            began = time.perf_counter()
            notebook, resources = step(config=config)(notebook, resources)
            name = "sanitize" if step in SANITIZE else step.__name__
            stages[name] = stages.get(name, 0.0) + time.perf_counter() - began
    except Exception as error:
        return failed(f"{type(error).__name__}: {error}"[:300])
    if GradingExecute.__name__ in stages:  # its kernel's time, split by whose cells ran
        for name, seconds in resources.get("optbook_cell_seconds", {}).items():
            stages[name] = seconds
            stages[GradingExecute.__name__] -= seconds
    began = time.perf_counter()
    notebook.metadata.setdefault("optbook", {})["submission"] = submission_digest(submitted)
    nbformat.write(notebook, staged)
    stages["hand-over"] = time.perf_counter() - began
    return Executed(job.student, True, time.perf_counter() - start, "", stages)


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
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    # Forked, so that workers inherit what the caller computed for all of them (the answer
    # keys: Course._warm_up) instead of each recomputing it.
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_single_threaded_torch,
                               mp_context=multiprocessing.get_context("fork"))
    return pool, lambda job: pool.submit(execute_submission, job), as_completed


def _dask(address: str):
    from distributed import Client, as_completed

    client = Client(address)
    return client, lambda job: client.submit(execute_submission, job, pure=False), as_completed


def execute_all(jobs: Iterable[Job], *, workers: int, scheduler: str | None = None
                ) -> Iterator[Executed]:
    """Execute ``jobs`` in ``workers`` local processes (or on the Dask cluster at
    ``scheduler``), yielding each outcome as soon as it is done."""
    jobs = list(jobs)
    if not jobs:
        return
    engine, submit, as_completed = (_dask(scheduler) if scheduler
                                    else _local_pool(max(1, workers)))
    try:
        for future in as_completed([submit(job) for job in jobs]):
            yield future.result()
    finally:
        if scheduler:
            engine.close()
        else:
            engine.shutdown(cancel_futures=True)
