"""The LMS round trip: a Canvas or Moodle bulk download in, the LMS's grade import out, due
dates and nbgrader's late penalties in between."""

from __future__ import annotations

import csv
import io
import warnings
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograde.cli import main
from autograde.course import Course
from autograde.lms import read_roster, unpack, write_grades
from tests.classes import write_submission
from tests.fixtures.sample_classes.ex01 import CLASS_01

ROSTER = """student,name,canvas_id,moodle_id,email,sis_user_id,sis_login_id,section
ada,"Lovelace, Ada",1001,501,ada@example.org,S1,ada,A
ben,"Franklin, Ben",1002,502,ben@example.org,S2,ben,A
cyd,"Charisse, Cyd",1003,503,cyd@example.org,S3,cyd,B
"""
NOTEBOOK = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def _zip(path: Path, entries: dict[str, tuple[bytes, tuple]]) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, (data, when) in entries.items():
            bundle.writestr(zipfile.ZipInfo(name, date_time=when), data)
    return path


@pytest.fixture
def roster(tmp_path) -> list[dict[str, str]]:
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    return read_roster(path)


def test_canvas_download_is_mapped_through_the_roster(tmp_path, roster):
    archive = _zip(tmp_path / "submissions.zip", {
        "lovelaceada_1001_90001_01-sgd.ipynb": (NOTEBOOK, (2027, 2, 1, 10, 0, 0)),
        # a resubmission: Canvas numbers the file; the newest one counts
        "franklinben_1002_90002_01-sgd.ipynb": (b"old", (2027, 2, 1, 9, 0, 0)),
        "franklinben_1002_90003_01-sgd-1.ipynb": (NOTEBOOK, (2027, 2, 1, 11, 0, 0)),
        "charissecyd_LATE_1003_90004_Untitled.ipynb": (NOTEBOOK, (2027, 2, 3, 8, 30, 0)),
        "charissecyd_LATE_1003_90004_notes.pdf": (b"%PDF", (2027, 2, 3, 8, 30, 0)),
        "strangerx_4242_90005_01-sgd.ipynb": (NOTEBOOK, (2027, 2, 1, 10, 0, 0)),
        "readme.txt": (b"hello", (2027, 2, 1, 10, 0, 0)),
    })
    unpacked = unpack(archive, "canvas", roster, "01-sgd", tmp_path / "inbox")
    assert unpacked.students == ["ada", "ben", "cyd"]
    assert unpacked.late == ["cyd"]
    assert (tmp_path / "inbox" / "ben" / "01-sgd.ipynb").read_bytes() == NOTEBOOK
    assert (tmp_path / "inbox" / "cyd" / "timestamp.txt").read_text() == "2027-02-03 08:30:00 UTC"
    reasons = "\n".join(unpacked.unmapped)
    assert "4242 is not in the roster" in reasons
    assert "readme.txt: not a canvas submission file name" in reasons
    assert "notes.pdf: not a notebook (cyd)" in reasons


def test_moodle_download_in_folders_or_flat(tmp_path, roster):
    archive = _zip(tmp_path / "moodle.zip", {
        "Ada Lovelace_501_assignsubmission_file_/01-sgd.ipynb": (NOTEBOOK, (2027, 2, 1, 10, 0, 0)),
        "Ben Franklin_502_assignsubmission_file_01-sgd.ipynb": (NOTEBOOK, (2027, 2, 1, 10, 5, 0)),
        "Cyd Charisse_503_assignsubmission_onlinetext_onlinetext.html": (b"<p>", (2027, 2, 1,
                                                                                 10, 0, 0)),
    })
    unpacked = unpack(archive, "moodle", roster, "01-sgd", tmp_path / "inbox")
    assert unpacked.students == ["ada", "ben"]
    assert any("not a notebook (cyd)" in line for line in unpacked.unmapped)


def test_unpack_refuses_what_it_cannot_map(tmp_path, roster):
    archive = _zip(tmp_path / "a.zip", {})
    with pytest.raises(ValueError, match="unknown LMS 'blackboard'"):
        unpack(archive, "blackboard", roster, "01-sgd", tmp_path / "inbox")
    with pytest.raises(ValueError, match="no 'canvas_id' values"):
        unpack(archive, "canvas", [{"student": "ada"}], "01-sgd", tmp_path / "inbox")
    bad = tmp_path / "bad.csv"
    bad.write_text("name,email\nAda,ada@example.org\n")
    with pytest.raises(ValueError, match="no 'student' column"):
        read_roster(bad)


def test_grade_import_files_have_the_lms_columns_and_every_roster_student(tmp_path, roster):
    scores = {"01-sgd": {"ada": 9.5, "ben": 12.0}, "02-momentum": {"ada": 3.0}}
    max_scores = {"01-sgd": 12.0, "02-momentum": 10.0}
    notes = {"01-sgd": {"ben": "handed in 2 h 00 min after the due date"}}
    canvas = list(csv.reader(io.StringIO(write_grades(
        "canvas", tmp_path / "c.csv", roster, scores, max_scores, notes).read_text())))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                         "01-sgd", "02-momentum"]
    assert canvas[1][0] == "Points Possible" and canvas[1][5:] == ["12", "10"]
    assert canvas[2] == ["Lovelace, Ada", "1001", "S1", "ada", "A", "9.5", "3"]
    assert canvas[4] == ["Charisse, Cyd", "1003", "S3", "cyd", "B", "0", "0"]
    moodle = list(csv.DictReader(io.StringIO(write_grades(
        "moodle", tmp_path / "m.csv", roster, scores, max_scores, notes).read_text())))
    assert [row["Email address"] for row in moodle] == ["ada@example.org", "ben@example.org",
                                                       "cyd@example.org"]
    assert moodle[1]["01-sgd"] == "12"
    assert moodle[1]["01-sgd feedback"].startswith("handed in")


@pytest.mark.slow
def test_canvas_round_trip_with_a_due_date_and_a_late_penalty(tmp_path, roster, capsys):
    """Collect a Canvas download, grade with a due date and nbgrader's "zero" penalty, and
    export for Canvas: the late student's points are taken off and the summary says why."""
    warnings.filterwarnings("ignore", message=".*not in session.*")
    course = Course(tmp_path / "course", cell_timeout=20)
    course.layout.config_stub.write_text(
        course.layout.config_stub.read_text()
        + 'c.CourseDeadlines.due_dates = {"01-sgd": "2027-02-02 00:00:00 UTC"}\n'
        + 'c.LateSubmissionPlugin.penalty_method = "zero"\n')
    release = course.release("01-sgd")
    work = tmp_path / "work"
    write_submission(release, "01-sgd", CLASS_01["correct"], work / "ok")
    correct = (work / "ok" / "01-sgd.ipynb").read_bytes()
    archive = _zip(tmp_path / "submissions.zip", {
        "lovelaceada_1001_1_01-sgd.ipynb": (correct, (2027, 2, 1, 12, 0, 0)),
        "franklinben_LATE_1002_2_01-sgd.ipynb": (correct, (2027, 2, 2, 3, 0, 0)),
    })
    (tmp_path / "roster.csv").write_text(ROSTER)
    course_args = ["--course", str(course.root)]
    assert main(["collect", "01-sgd", "--from", "canvas", str(archive), "--roster",
                 str(tmp_path / "roster.csv"), *course_args]) == 0
    out = capsys.readouterr().out
    assert "2 submission(s) collected" in out and "marked late by canvas: ben" in out
    results = {r.student: r for r in course.grade("01-sgd")}
    full = sum(CLASS_01["correct"].points.values())
    assert results["ada"].score == full and not results["ada"].problems
    assert results["ben"].score == 0
    assert any("handed in 3 h 00 min after the due date (-" in p
               for p in results["ben"].problems), results["ben"].problems
    assert main(["export", "--to", "canvas", "--roster", str(tmp_path / "roster.csv"),
                 "--output", str(tmp_path / "canvas.csv"), *course_args]) == 0
    rows = list(csv.reader((tmp_path / "canvas.csv").open()))
    assert [row[5] for row in rows[2:]] == [f"{full:g}", "0", "0"]  # cyd never submitted
    assert nbformat.read(course.layout.autograded("ben", "01-sgd"), as_version=4).cells
