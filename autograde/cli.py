"""``optbook-grade``: release exercises, grade a folder of submissions, feedback, export.

Examples::

    optbook-grade release 01-sgd --course ~/class
    optbook-grade grade 01-sgd --submissions ~/inbox/01 --course ~/class
    optbook-grade grade 01-sgd --student alice --course ~/class   # regrade one student
    optbook-grade feedback 01-sgd --course ~/class
    optbook-grade report 01-sgd --course ~/class
    optbook-grade export --course ~/class --to grades.csv
    optbook-grade collect 01-sgd --from canvas submissions.zip --roster roster.csv --course ~/class
    optbook-grade export --course ~/class --to canvas --roster roster.csv
    optbook-grade similar 01-sgd --course ~/class      # near-identical submissions
    optbook-grade validate 01-sgd        # the source must earn every autograded point
    optbook-grade check 01-sgd.ipynb     # a student's notebook: can it be graded, how does it fare?
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

from autograde.sandbox import SandboxUnavailableError

DEFAULT_COURSE = "course"


def _course(args):
    from autograde.course import Course

    return Course(args.course, cell_timeout=getattr(args, "timeout", None),
                  sandbox=not getattr(args, "no_sandbox", False))


def _exercises(names: list[str]) -> list[str]:
    from autograde.course import exercise_ids

    return exercise_ids() if names == ["all"] else names


def cmd_list(args) -> int:
    from autograde.course import exercise_ids

    print("\n".join(exercise_ids()))
    return 0


def cmd_release(args) -> int:
    course = _course(args)
    for exercise in _exercises(args.exercise):
        print(f"released {exercise}: {course.release(exercise)}")
    return 0


def print_summary(exercise: str, results) -> None:
    """One line per submission: score, and why points were lost when grading was cut short."""
    width = max([len(r.student) for r in results] + [7])
    print(f"\n{exercise}: {len(results)} submission(s)")
    print(f"{'student':<{width}}  {'score':>12}  notes")
    for r in results:
        notes = "; ".join(r.problems) if r.problems else "ok"
        print(f"{r.student:<{width}}  {r.score:>5.2f} / {r.max_score:<5.2f}  {notes}")


def cmd_grade(args) -> int:
    course = _course(args)
    if not course.layout.release(args.exercise).exists():
        course.release(args.exercise)
    notes = course.collect(args.exercise, args.submissions) if args.submissions else {}
    students = None
    if args.student:
        known = set(course.students(args.exercise))
        unknown = [s for s in args.student if s not in known]
        if unknown:
            print(f"error: no submission of {args.exercise} from {', '.join(unknown)} in "
                  f"{course.root / 'submitted'}", file=sys.stderr)
            return 2
        students = args.student
    try:
        results = course.grade(args.exercise, students, notes=notes, progress=not args.quiet,
                               workers=args.workers, scheduler=args.scheduler,
                               regrade=args.regrade or bool(args.student))
    except SandboxUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print_summary(args.exercise, results)
    return 0


def cmd_feedback(args) -> int:
    print(f"feedback written to {_course(args).feedback(args.exercise)}")
    return 0


def cmd_report(args) -> int:
    from autograde import report

    course = _course(args)
    path = report.write(report.build(course, args.exercise), course.layout.reports(args.exercise))
    print(path.read_text())
    print(f"report written to {path}")
    return 0


def cmd_collect(args) -> int:
    """Unpack an LMS bulk download into the course's submitted/ tree, mapped by the roster."""
    from autograde.lms import read_roster, unpack

    course = _course(args)
    if not course.layout.release(args.exercise).exists():
        course.release(args.exercise)
    with tempfile.TemporaryDirectory() as inbox:
        unpacked = unpack(args.archive, args.lms, read_roster(args.roster), args.exercise,
                          inbox)
        notes = course.collect(args.exercise, inbox)
    print(f"{args.exercise}: {len(unpacked.students)} submission(s) collected from "
          f"{args.archive} ({args.lms})")
    for student in unpacked.students:
        if notes.get(student):
            print(f"  {student}: {'; '.join(notes[student])}")
    if unpacked.late:
        print(f"  marked late by {args.lms}: {', '.join(unpacked.late)}")
    if unpacked.unmapped:
        print(f"{len(unpacked.unmapped)} file(s) not collected:")
        for line in unpacked.unmapped:
            print(f"  {line}")
    return 0


def cmd_similar(args) -> int:
    """List pairs of submissions whose own code is near-identical (autograde/similar.py)."""
    from autograde.similar import similar_pairs

    course = _course(args)
    submissions = {s: course.layout.submitted(s, args.exercise)
                   for s in course.students(args.exercise)
                   if course.layout.submitted(s, args.exercise).exists()}
    pairs = similar_pairs(course.layout.release(args.exercise), submissions,
                          threshold=args.threshold, min_shared=args.min_lines)
    print(f"{args.exercise}: {len(submissions)} submissions, {len(pairs)} pair(s) at or above "
          f"{args.threshold:.0%} of their own code shared (names, comments and formatting "
          "aside; the release's lines excluded)")
    for pair in pairs:
        print(f"\n{pair.first} ~ {pair.second}: {pair.similarity:.0%}, "
              f"{len(pair.shared)} shared lines")
        for line in pair.shared[:args.show]:
            print(f"    {line}")
        if len(pair.shared) > args.show:
            print(f"    … {len(pair.shared) - args.show} more")
    return 0


def cmd_export(args) -> int:
    course = _course(args)
    if args.to == "csv" or args.to.endswith(".csv"):  # nbgrader's CSV (a path: the old form)
        output = args.output or (args.to if args.to.endswith(".csv") else "grades.csv")
        print(f"grades exported to {course.export(output)}")
        return 0
    if not args.roster:
        print(f"error: --to {args.to} needs --roster (the LMS's ids of the students)",
              file=sys.stderr)
        return 2
    from autograde.lms import read_roster

    output = args.output or f"{args.to}-grades.csv"
    path = course.export_to_lms(args.to, output, read_roster(args.roster))
    print(f"grades exported for {args.to} to {path}")
    return 0


def cmd_validate(args) -> int:
    """Grade each exercise's own source notebook as if it were a submission."""
    import nbformat

    from autograde.course import Course, exercise_notebook

    failures = 0
    for exercise in _exercises(args.exercise):
        with tempfile.TemporaryDirectory() as tmp:
            course = Course(Path(tmp) / "course", cell_timeout=args.timeout)
            course.release(exercise)
            inbox = Path(tmp) / "inbox" / "instructor"
            inbox.mkdir(parents=True)
            nbformat.write(exercise_notebook(exercise), inbox / f"{exercise}.ipynb")
            result = course.grade(exercise, notes=course.collect(exercise, inbox.parent))[0]
            manual = _manual_points(course, exercise)
            full = abs(result.score - (result.max_score - manual)) < 1e-9
            failures += not full
            status = "ok" if full else "FAILED"
            print(f"{exercise}: {status} — source scores {result.score:g} of "
                  f"{result.max_score - manual:g} autograded points ({manual:g} graded by hand)")
    return 1 if failures else 0


def cmd_check(args) -> int:
    """Run students' notebooks as the grader would; say what stands in the way of grading."""
    from autograde.readiness import check_notebook

    results = [check_notebook(path) for path in args.notebook]
    print("\n\n".join(result.report() for result in results))
    return 0 if all(result.ready for result in results) else 1


def _manual_points(course, exercise: str) -> float:
    from nbgrader.api import Gradebook

    with Gradebook(course.gradebook_url) as gradebook:
        notebooks = gradebook.find_assignment(exercise).notebooks
        return float(sum(cell.max_score for nb in notebooks for cell in nb.grade_cells
                         if cell.cell_type == "markdown"))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optbook-grade", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func, help_: str, exercise: str | None = None):
        p = sub.add_parser(name, help=help_, description=help_)
        if exercise == "many":
            p.add_argument("exercise", nargs="+", help="exercise id(s), e.g. 01-sgd, or 'all'")
        elif exercise == "one":
            p.add_argument("exercise", help="exercise id, e.g. 01-sgd")
        if name != "list":
            p.add_argument("--course", default=DEFAULT_COURSE,
                           help="nbgrader course directory (default: ./course)")
        p.set_defaults(func=func)
        return p

    add("list", cmd_list, "list the exercises in this repository")
    add("release", cmd_release, "generate the student version of exercises", "many")
    grade = add("grade", cmd_grade, "autograde a folder of submissions", "one")
    grade.add_argument("--submissions", help="folder with one subfolder per student holding "
                       "<exercise>.ipynb (default: what is already in <course>/submitted)")
    grade.add_argument("--timeout", type=int, default=None,
                       help="seconds a single cell may run (default from nbgrader_config.py)")
    grade.add_argument("--quiet", action="store_true", help="no progress bar")
    grade.add_argument("--workers", type=int, default=None,
                       help="parallel worker processes (default: one per core)")
    grade.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="hand the work to a Dask distributed scheduler (e.g. "
                       "tcp://host:8786); its workers must see the course directory")
    grade.add_argument("--regrade", action="store_true",
                       help="grade again submissions that were already graded and unchanged")
    grade.add_argument("--student", action="append", metavar="NAME",
                       help="grade only this student, again even if unchanged (repeatable)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run student code without bubblewrap (unsafe; for machines "
                       "where the sandbox cannot run)")
    add("feedback", cmd_feedback, "write HTML feedback for graded submissions", "one")
    add("report", cmd_report, "class report: pass rates, score histogram, common mistakes",
        "one")
    collect = add("collect", cmd_collect, "collect an LMS bulk download (Canvas, Moodle) "
                  "into the course, mapping its file names to students by a roster", "one")
    collect.add_argument("--from", dest="lms", required=True, choices=["canvas", "moodle"],
                         help="the LMS that made the download")
    collect.add_argument("archive", help="the ZIP of all submissions")
    collect.add_argument("--roster", required=True, help="CSV with a 'student' column and "
                         "the LMS's ids (canvas_id or moodle_id); see autograde/lms.py")
    similar = add("similar", cmd_similar, "pairs of submissions whose own code is "
                  "near-identical (for a person to look at)", "one")
    similar.add_argument("--threshold", type=float, default=0.8,
                         help="share of distinct normalised lines in common (default 0.8)")
    similar.add_argument("--min-lines", type=int, default=6,
                         help="fewest shared lines worth reporting (default 6)")
    similar.add_argument("--show", type=int, default=12, help="shared lines shown per pair")
    export = add("export", cmd_export, "export all grades: nbgrader's CSV (with a notes "
                 "column), or an LMS's grade-import file")
    export.add_argument("--to", default="csv", help="csv (default), canvas or moodle; a "
                        "file name ending in .csv writes nbgrader's CSV there")
    export.add_argument("--output", help="file to write (default: grades.csv or "
                        "<lms>-grades.csv)")
    export.add_argument("--roster", help="the roster CSV (needed for canvas and moodle)")
    validate = add("validate", cmd_validate, "check that each exercise's source notebook "
                   "earns every autograded point", "many")
    validate.add_argument("--timeout", type=int, default=None)
    check = sub.add_parser(
        "check", help="run a student's notebook as the grader would and self-check it",
        description=cmd_check.__doc__)
    check.add_argument("notebook", nargs="+", help="the notebook(s), e.g. 01-sgd.ipynb")
    check.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    # nbgrader's SQLAlchemy usage warns on every run; the warnings say nothing to the user.
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
