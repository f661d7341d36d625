"""A class report for one exercise: pass rates, a score histogram, the common mistakes.

Everything comes from the course directory: scores from nbgrader's gradebook, per-check
verdicts and recognised mistakes from the ``optbook`` metadata that
:class:`autograde.verdicts.DecideVerdicts` left in each autograded notebook.

Means and the histogram are over *autograded* points; written answers are shown as graded
(with their mean) or pending, never counted as 0 while pending. Failures that match no
cataloged mistake are grouped by check, failing case and the shape of the failure, so an
instructor sees which uncataloged mistakes are common and can add them to the catalog.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograde.references import expected


@dataclass
class ClassReport:
    exercise: str
    scores: dict[str, float]
    max_score: float
    cell_points: dict[str, list[float]] = field(default_factory=dict)  # grade_id -> per student
    cell_max: dict[str, float] = field(default_factory=dict)
    check_results: dict[str, list[bool]] = field(default_factory=lambda: defaultdict(list))
    mistakes: Counter = field(default_factory=Counter)  # (check_id, mistake) -> count
    manual_max: float = 0.0
    manual: dict[str, float | None] = field(default_factory=dict)  # None: not graded yet
    uncataloged: dict[tuple[str, str], list[str]] = field(
        default_factory=lambda: defaultdict(list))  # (check, signature) -> students
    problems: dict[str, list[str]] = field(default_factory=dict)  # student -> why, if any

    @property
    def auto_max(self) -> float:
        return sum(self.cell_max.values())

    def uncataloged_groups(self, limit: int = 10) -> list[tuple[str, str, list[str]]]:
        """The largest groups of failures that no cataloged mistake explains."""
        groups = sorted(self.uncataloged.items(), key=lambda item: (-len(item[1]), item[0]))
        return [(check, signature, students) for (check, signature), students in
                groups[:limit]]

    def pass_rates(self) -> dict[str, float]:
        """Share of students with full points, per autograded test cell."""
        return {cell: sum(p == self.cell_max[cell] for p in points) / len(points)
                for cell, points in self.cell_points.items() if points}

    def check_pass_rates(self) -> dict[str, float]:
        return {check: sum(r) / len(r) for check, r in self.check_results.items() if r}


def build(course, exercise: str) -> ClassReport:
    """Collect the report's numbers from ``course`` (an :class:`autograde.course.Course`)."""
    from nbgrader.api import Gradebook

    students = course.students(exercise)
    report = ClassReport(exercise, {}, 0.0)
    with Gradebook(course.gradebook_url) as gradebook:
        assignment = gradebook.find_assignment(exercise)
        report.max_score = float(assignment.max_score)
        for notebook in assignment.notebooks:
            for cell in notebook.grade_cells:
                if cell.cell_type == "code":
                    report.cell_max[cell.name] = float(cell.max_score)
                    report.cell_points[cell.name] = []
                else:
                    report.manual_max += float(cell.max_score)
        for student in students:
            try:
                submission = gradebook.find_submission_notebook(exercise, exercise, student)
            except Exception:  # never graded (e.g. unreadable): zero everywhere
                for cell in report.cell_points:
                    report.cell_points[cell].append(0.0)
                report.scores[student], report.manual[student] = 0.0, None
                continue
            by_cell = {g.name: float(g.score) for g in submission.grades}
            for cell in report.cell_points:
                report.cell_points[cell].append(by_cell.get(cell, 0.0))
            report.scores[student] = sum(by_cell.get(cell, 0.0) for cell in report.cell_max)
            written = [g for g in submission.grades if g.name not in report.cell_max]
            pending = any(g.manual_score is None and g.auto_score is None for g in written)
            report.manual[student] = None if pending or not written else sum(
                float(g.score) for g in written)
    report.problems = {s: why for s in students if (why := course.problems(exercise, s))}
    for student in students:
        path = course.layout.autograded(student, exercise)
        if not path.exists():
            continue
        for cell in nbformat.read(path, as_version=4).cells:
            for verdict in cell.metadata.get("optbook", {}).get("verdicts", []):
                report.check_results[verdict["check_id"]].append(bool(verdict["passed"]))
                if verdict.get("mistake"):
                    report.mistakes[(verdict["check_id"], verdict["mistake"])] += 1
                elif not verdict["passed"] and verdict.get("status") in ("failed", "partial"):
                    key = (verdict["check_id"], verdict.get("signature", ""))
                    report.uncataloged[key].append(student)
    return report


def _hint(check_id: str, mistake: str) -> str:
    try:
        return next(m.hint for m in expected(check_id).mistakes if m.name == mistake)
    except (KeyError, StopIteration):
        return ""


def write(report: ClassReport, folder: Path) -> Path:
    """Write ``report.md``, the same as one HTML page (``report.html``) and its pictures
    (``scores.png``, ``checks.png``) into ``folder``; return the Markdown file."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    scores = list(report.scores.values())
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bins = [x - 0.25 for x in range(int(report.auto_max) + 2)]
    ax.hist(scores, bins=bins, color="#4c72b0", edgecolor="white")
    ax.set_xlabel(f"autograded points (out of {report.auto_max:g}; written answers apart)")
    ax.set_ylabel("students")
    ax.set_title(f"{report.exercise}: autograded scores ({len(scores)} submissions)")
    fig.tight_layout()
    fig.savefig(folder / "scores.png", dpi=120)
    plt.close(fig)
    rates = sorted(report.check_pass_rates().items())
    fig, ax = plt.subplots(figsize=(6, 0.6 + 0.28 * max(1, len(rates))))
    ax.barh([c for c, _ in rates][::-1], [100 * r for _, r in rates][::-1], color="#55a868")
    ax.set_xlim(0, 100)
    ax.set_xlabel("students who pass the check (%)")
    ax.set_title(f"{report.exercise}: pass rate per hidden check")
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(folder / "checks.png", dpi=120)
    plt.close(fig)

    mean = sum(scores) / len(scores) if scores else 0.0
    graded = [m for m in report.manual.values() if m is not None]
    written = (f"written answers ({report.manual_max:g} points): {len(graded)} graded"
               + (f" (mean {sum(graded) / len(graded):.2f})" if graded else "")
               + f", {len(report.manual) - len(graded)} pending" if report.manual_max else
               "no written answers")
    lines = [f"# Class report: {report.exercise}", "",
             f"{len(scores)} submissions; mean autograded score {mean:.2f} of "
             f"{report.auto_max:g}; {written}.", "",
             "![score histogram](scores.png)", "", "![pass rate per check](checks.png)", "",
             "## Test cells", "",
             "| test cell | points | full marks | mean points |", "|---|---:|---:|---:|"]
    rates = report.pass_rates()
    for cell, points in report.cell_points.items():
        avg = sum(points) / len(points) if points else 0.0
        lines.append(f"| {cell} | {report.cell_max[cell]:g} | {rates.get(cell, 0):.0%} | "
                     f"{avg:.2f} |")
    lines += ["", "## Hidden checks", "", "| check | passed |", "|---|---:|"]
    for check, rate in sorted(report.check_pass_rates().items()):
        lines.append(f"| {check} | {rate:.0%} |")
    lines += ["", "## Most common recognised mistakes", ""]
    if report.mistakes:
        lines += ["| check | mistake | students | what it means |", "|---|---|---:|---|"]
        for (check, mistake), count in report.mistakes.most_common():
            lines.append(f"| {check} | {mistake} | {count} | {_hint(check, mistake)} |")
    else:
        lines.append("None recognised.")
    lines += ["", "## Failures no cataloged mistake explains", ""]
    groups = report.uncataloged_groups()
    if groups:
        lines += ["Grouped by check, first failing input and the shape of the failure; a large "
                  "group is a mistake worth adding to the catalog.", "",
                  "| check | students | how it fails | example |", "|---|---:|---|---|"]
        for check, signature, students in groups:
            lines.append(f"| {check} | {len(students)} | {signature.replace('|', '/')} | "
                         f"{students[0]} |")
    else:
        lines.append("None.")
    lines += ["", "## Submissions with problems", ""]
    if report.problems:
        lines += ["| student | score | why |", "|---|---:|---|"]
        for student, why in sorted(report.problems.items()):
            lines.append(f"| {student} | {report.scores.get(student, 0.0):g} | "
                         + "; ".join(why).replace("|", "/") + " |")
    else:
        lines.append("None.")
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    _write_html(path, folder / "report.html", report.exercise)
    return path


def _write_html(markdown: Path, target: Path, exercise: str) -> None:
    """The report as one page a browser opens (the pictures beside it)."""
    from html import escape

    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(markdown.read_text())
    target.write_text(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Class report: {escape(exercise)}</title><style>"
        "body{font-family:sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}"
        "img{max-width:100%}</style></head><body>\n" + body + "</body></html>\n",
        encoding="utf8")
