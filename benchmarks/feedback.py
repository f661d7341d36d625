"""How well the grader names and scores the tests' mistake corpus (the sample classes).

Every sample class (``tests/fixtures/sample_classes/exNN.py``) is one student per realistic
wrong answer, each with the diagnosis it must get and the partial score it deserves. This
grades them all, as ``make test`` does, and prints per exercise and in total:

* named: the share of wrong submissions whose cataloged mistakes are all recognised;
* diagnosed: the share of failed checks that get a diagnosis (a cataloged mistake or a shape
  of the difference), with or without a catalog entry;
* fair: the share of submissions whose score is within a quarter point of the intended one;
* seconds per submission (wall clock, all workers).

    .venv/bin/python benchmarks/feedback.py [--exercise 04 ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.classes import SAMPLE_CLASSES, grade_class  # noqa: E402


def _diagnosed(graded, student: str) -> tuple[int, int]:
    """(failed checks with a diagnosis, failed checks) in one autograded notebook."""
    failed = named = 0
    for cell in graded.autograded(student).cells:
        for verdict in cell.metadata.get("optbook", {}).get("verdicts", []):
            if verdict["passed"] or verdict.get("status") in ("missing", "not_implemented"):
                continue
            failed += 1
            named += bool(verdict.get("mistake")) or any(
                tag in verdict["message"] for tag in ("diagnosis:", "Pattern:", "changed its"))
    return named, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exercise", nargs="*", default=[], help="exercise numbers (01 ...)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    root = Path(tempfile.mkdtemp(prefix="feedback-bench-"))
    rows, totals = [], [0] * 7
    start_all = time.perf_counter()
    for exercise, students in SAMPLE_CLASSES.items():
        if args.exercise and exercise[:2] not in args.exercise:
            continue
        start = time.perf_counter()
        graded = grade_class(root, exercise, students)
        seconds = time.perf_counter() - start
        wrong = {name: s for name, s in students.items() if s.mistakes}
        named = sum(graded.recognised_mistakes(name).items() >= s.mistakes.items()
                    for name, s in wrong.items())
        scored = [name for name, s in students.items() if s.points]
        fair = sum(abs(graded.results[name].score - sum(students[name].points.values()))
                   <= 0.25 for name in scored)
        diagnosed = [_diagnosed(graded, name) for name, s in students.items()
                     if s.file != "malformed" and not s.blank]
        counts = (named, len(wrong), fair, len(scored), sum(d[0] for d in diagnosed),
                  sum(d[1] for d in diagnosed), len(students))
        totals = [t + c for t, c in zip(totals, counts, strict=True)]
        rows.append((exercise, *counts, seconds))
    print(f"{'exercise':<20} {'named':>10} {'diagnosed':>12} {'fair':>10} {'s/submission':>13}")
    for exercise, named, wrong, fair, scored, diag, failed, n, seconds in rows:
        print(f"{exercise:<20} {named:>4}/{wrong:<5} {diag:>5}/{failed:<6} {fair:>4}/{scored:<5} "
              f"{seconds / n:>13.2f}")
    named, wrong, fair, scored, diag, failed, n = totals
    elapsed = time.perf_counter() - start_all
    print(f"\nmistakes named: {named}/{wrong} = {named / max(wrong, 1):.0%}; failed checks "
          f"with a diagnosis: {diag}/{failed} = {diag / max(failed, 1):.0%}; scores within a "
          f"quarter point of the intended: {fair}/{scored} = {fair / max(scored, 1):.0%}; "
          f"{elapsed / max(n, 1):.2f} s per submission ({n} submissions, {elapsed:.0f} s)")


if __name__ == "__main__":
    main()
