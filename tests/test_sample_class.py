"""The sample classes: every student's exact points, recognised mistakes and clear reports."""

from __future__ import annotations

import csv

import pytest

from autograde.cli import print_summary
from tests.classes import SAMPLE_CLASSES

STUDENTS = [(ex, name) for ex, cls in SAMPLE_CLASSES.items() for name in cls]


@pytest.mark.slow
@pytest.mark.parametrize(("exercise", "student"), STUDENTS, ids=[f"{e}:{s}" for e, s in STUDENTS])
def test_exact_points_per_cell(graded, exercise, student):
    graded_class = graded[exercise]
    expected = graded_class.students[student]
    assert graded_class.cell_points(student) == expected.points
    result = graded_class.results[student]
    assert result.score == pytest.approx(sum(expected.points.values()))


@pytest.mark.slow
@pytest.mark.parametrize(("exercise", "student"), STUDENTS, ids=[f"{e}:{s}" for e, s in STUDENTS])
def test_mistakes_recognised_and_reported(graded, exercise, student):
    graded_class = graded[exercise]
    expected = graded_class.students[student]
    result = graded_class.results[student]
    if expected.file != "malformed":
        found = graded_class.recognised_mistakes(student)
        assert {k: found.get(k) for k in expected.mistakes} == expected.mistakes
    if expected.note:
        assert any(expected.note in problem for problem in result.problems), result.problems


@pytest.mark.slow
def test_summary_lists_every_student(graded, capsys):
    for exercise, graded_class in graded.items():
        if exercise not in SAMPLE_CLASSES:
            continue
        print_summary(exercise, list(graded_class.results.values()))
        out = capsys.readouterr().out
        for student in graded_class.students:
            assert student in out
        assert "not valid JSON" in out or exercise != "01-sgd"


@pytest.mark.slow
def test_feedback_teaches_without_leaking(graded):
    graded_class = graded["01-sgd"]
    feedback_root = graded_class.course.feedback("01-sgd")
    html = (feedback_root / "wrong_sign" / "01-sgd" / "01-sgd.html").read_text()
    assert "Likely mistake" in html and "uphill" in html
    assert "expected:" in html and "Failing input" in html and "largest difference" in html
    for leak in ("BEGIN HIDDEN TESTS", "check(&quot;sgd", 'check("sgd', "BEGIN SOLUTION",
                 "rng.permutation(n) if shuffle"):
        assert leak not in html, leak


@pytest.mark.slow
def test_grades_export_as_csv(graded, tmp_path):
    graded_class = graded["01-sgd"]
    rows = list(csv.DictReader(open(graded_class.course.export(tmp_path / "grades.csv"))))
    scores = {row["student_id"]: float(row["raw_score"]) for row in rows
              if row["assignment"] == "01-sgd"}
    for student, expected in graded_class.students.items():
        assert scores[student] == pytest.approx(sum(expected.points.values())), student


@pytest.mark.slow
def test_class_report_counts_scores_pass_rates_and_mistakes(graded):
    from autograde import report

    graded_class = graded["01-sgd"]
    built = report.build(graded_class.course, "01-sgd")
    students = graded_class.students
    assert built.scores == {s: pytest.approx(sum(st.points.values()))
                            for s, st in students.items()}
    full = sum(st.points["sgd_step_tests"] == 2 for st in students.values())
    assert built.pass_rates()["sgd_step_tests"] == pytest.approx(full / len(students))
    expected_mistakes = {}
    for st in students.values():
        for check, mistake in st.mistakes.items():
            expected_mistakes[(check, mistake)] = expected_mistakes.get((check, mistake), 0) + 1
    for key, count in expected_mistakes.items():
        assert built.mistakes[key] == count, key
    # Written answers are pending here (nbgrader scores an untouched answer 0 by itself):
    # shown as such, never averaged in as 0.
    assert built.manual["blank"] == 0
    assert all(points is None for s, points in built.manual.items() if s != "blank")
    assert built.auto_max == sum(built.cell_max.values()) < built.max_score
    for check, signature, group in built.uncataloged_groups():
        assert group and signature and check.startswith("sgd.")
    path = report.write(built, graded_class.course.root / "reports" / "01-sgd")
    text = path.read_text()
    assert "Most common recognised mistakes" in text and "uphill" in text
    assert f"of {built.auto_max:g}" in text and f"{len(students) - 1} pending" in text
    assert "Failures no cataloged mistake explains" in text
    assert (path.parent / "scores.png").stat().st_size > 1000
    assert (path.parent / "checks.png").stat().st_size > 1000
    page = (path.parent / "report.html").read_text()
    assert "<table>" in page and 'src="scores.png"' in page and 'src="checks.png"' in page
    assert "uphill" in page
