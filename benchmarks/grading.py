"""Grade one generated class with stock ``nbgrader autograde`` and with ``optbook-grade``.

Both run on this machine, in this one run, on the same submissions of exercise 01-sgd (a mix
of correct and typically wrong answers). Stock nbgrader decides the hidden checks inside the
kernel (``OPTBOOK_VERDICTS_IN_KERNEL=1``, unsandboxed, one submission at a time); ours runs
sandboxed kernels in parallel and decides outside them. Prints wall times, the ratio, score
agreement on the honest submissions, and the per-submission cost against the floor (a bare
kernel start plus ``import torch``) and where one submission's time goes, stage by stage.

    .venv/bin/python benchmarks/grading.py --students 60
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograde.course import Course  # noqa: E402
from tests.classes import write_submission  # noqa: E402
from tests.fixtures.sample_classes.ex01 import CLASS_01  # noqa: E402

HONEST = ["correct", "wrong_sign", "lr_twice", "no_reshuffle", "with_replacement",
          "critical_one_over_lambda", "in_place", "blank"]
STOCK_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "optbook"
c.Execute.timeout = 60
"""


def floor_seconds(repeat: int = 3) -> float:
    """A fresh kernel that imports torch, through nbclient: the cost of any kernel-per-
    submission grader before it runs a single line of the student's notebook."""
    import nbformat
    from nbclient import NotebookClient

    times = []
    for _ in range(repeat):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import torch")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                     "language": "python"}
        start = time.perf_counter()
        NotebookClient(nb, timeout=60).execute()
        times.append(time.perf_counter() - start)
    return min(times)


def make_class(root: Path, n: int) -> tuple[Course, dict[str, str]]:
    course = Course(root / "ours")
    release = course.release("01-sgd")
    kinds = {}
    for i in range(n):
        kind = HONEST[i % len(HONEST)]
        name = f"s{i:03d}_{kind}"
        kinds[name] = kind
        write_submission(release, "01-sgd", CLASS_01[kind], root / "inbox" / name)
    course.collect("01-sgd", root / "inbox")
    return course, kinds


def stock_course(ours: Course, root: Path) -> Path:
    stock = root / "stock"
    for part in ("source", "release", "submitted"):
        shutil.copytree(ours.root / part, stock / part)
    shutil.copy(ours.root / "gradebook.db", stock / "gradebook.db")
    (stock / "nbgrader_config.py").write_text(STOCK_CONFIG)
    return stock


def stock_scores(stock: Path, students) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{stock / 'gradebook.db'}") as gradebook:
        return {s: float(gradebook.find_submission("01-sgd", s).score) for s in students}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        course, kinds = make_class(root, args.students)
        stock = stock_course(course, root)
        floor = floor_seconds()

        env = {**os.environ, "OPTBOOK_VERDICTS_IN_KERNEL": "1"}
        start = time.perf_counter()
        subprocess.run([str(Path(sys.executable).with_name("nbgrader")), "autograde", "01-sgd",
                        "--force"], cwd=stock, env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        stock_wall = time.perf_counter() - start

        start = time.perf_counter()
        results = course.grade("01-sgd", workers=args.workers)
        ours_wall = time.perf_counter() - start
        start = time.perf_counter()
        course.feedback("01-sgd")
        feedback_wall = time.perf_counter() - start

        ours = {s: course.score("01-sgd", s)[0] for s in kinds}
        theirs = stock_scores(stock, kinds)
        # Stock nbgrader has no partial credit within a cell, so compare where none is due.
        comparable = [s for s, kind in kinds.items()
                      if all(p in (0, 2) for p in CLASS_01[kind].points.values())]
        agree = sum(ours[s] == theirs[s] for s in comparable)

    n = args.students
    print(f"class: {n} submissions of 01-sgd, {len(set(kinds.values()))} kinds of answer; "
          f"{os.cpu_count()} cores, {args.workers} workers")
    print(f"floor (fresh kernel + import torch):        {floor:6.2f} s")
    print(f"stock nbgrader autograde:      {stock_wall:7.1f} s  {stock_wall / n:6.2f} s/submission")
    print(f"optbook-grade (sandboxed):     {ours_wall:7.1f} s  {ours_wall / n:6.2f} s/submission"
          f"  ({ours_wall * args.workers / n:.2f} worker-s/submission)")
    print(f"speed-up (stock / ours):       {stock_wall / ours_wall:7.2f}x")
    print(f"identical scores on comparable honest submissions: {agree} / {len(comparable)}")
    print_breakdown(results, ours_wall * args.workers / n, feedback_wall / n)


# The stages of one submission (autograde/runner.py, Course.record), in the order they run;
# the kernel's time is split into the student's own cells and the test cells (where the
# student's functions run on the grader's cases) — neither is the grader's overhead.
STAGES = [("shared set-up", "answer keys computed once per run (its share)"),
          ("set-up", "read the config and the notebook"),
          ("sanitize", "restore graded cells from the gradebook"),
          ("GradingExecute", "kernel: fork, start, connect, shut down"),
          ("student's cells", "the student's own cells"),
          ("test cells", "test cells: the student's code on the grader's cases"),
          ("CapOutputs", "cap outputs"), ("IgnorePattern", "drop noise"),
          ("DecideVerdicts", "decide the hidden checks (references)"),
          ("LimitOutput", "limit tracebacks"), ("hand-over", "write the executed notebook"),
          ("record", "record in the gradebook (parent, one at a time)")]
STUDENT_STAGES = ("student's cells", "test cells")


def print_breakdown(results, worker_seconds: float, feedback: float) -> None:
    """Mean seconds per submission and stage; what is left of the worker-seconds is the
    pool's own (queueing, pickling, process start) and the parent's summary."""
    n = len(results)
    mean = {name: sum(r.seconds.get(name, 0.0) for r in results) / n for name, _ in STAGES}
    print(f"\nper submission, mean of {n} (seconds):")
    for name, what in STAGES:
        print(f"  {what:58s} {mean[name]:6.3f}")
    staged = sum(mean.values())
    student = sum(mean[name] for name in STUDENT_STAGES)
    rest = worker_seconds - staged
    print(f"  {'pool and summary (worker-seconds not in a stage)':58s} {rest:6.3f}")
    print(f"  {'feedback (optbook-grade feedback, per submission)':58s} {feedback:6.3f}")
    print(f"  {'-- the student code (own cells + test cells)':58s} {student:6.3f}")
    print(f"  {'-- the grader own cost, worker-seconds beyond the student code':58s} "
          f"{worker_seconds - student:6.3f}   (goal <= 0.5)")


if __name__ == "__main__":
    main()
