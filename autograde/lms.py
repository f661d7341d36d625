"""The learning-management system's side of a course: bulk downloads in, grade imports out.

**In.** Canvas's and Moodle's "download all submissions" give one ZIP whose file names carry
the LMS's ids, not the course's student names. :func:`unpack` maps each file to a student
through the instructor's roster and writes the folder ``collect`` reads
(``<inbox>/<student>/<exercise>.ipynb``, with ``timestamp.txt`` from the ZIP entry's time, so
nbgrader's late penalties see when it was handed in), and lists what it could not map.

* Canvas: ``<name>[_LATE]_<user id>_<submission id>_<file name>``; a resubmission gets
  ``-1``, ``-2`` … before the file's extension.
* Moodle: ``<full name>_<participant id>_assignsubmission_file_<file name>``, or the same as
  a folder holding the files ("download submissions in folders").

**The roster** is a CSV with a ``student`` column (the course's name for the student, as in
nbgrader) and, as the LMS needs them, ``canvas_id`` (Canvas's user id), ``moodle_id`` (Moodle's
participant id), ``name``, ``email``, ``sis_user_id``, ``sis_login_id``, ``section``.

**Out.** :func:`write_grades` writes the LMS's import file from the gradebook's scores:

* Canvas's gradebook import: ``Student, ID, SIS User ID, SIS Login ID, Section`` then one
  column per exercise (Canvas creates an assignment for a column name it does not know; rename
  a column to ``<name> (<assignment id>)`` to fill an existing one), after a ``Points
  Possible`` row, as Canvas's own export has.
* Moodle's gradebook CSV import: ``Full name, Email address, ID number`` then per exercise its
  score and a ``<exercise> feedback`` column; at import, map ``Email address`` to the user and
  each score column to its grade item.
"""

from __future__ import annotations

import csv
import re
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

LMS = ("canvas", "moodle")
CANVAS_FILE = re.compile(r"^(?P<name>[^_/]+)(?P<late>_LATE)?_(?P<id>\d+)_(?P<submission>\d+)_"
                         r"(?P<file>.+)$")
MOODLE_FILE = re.compile(r"^(?P<name>[^/]+?)_(?P<id>\d+)_assignsubmission_[a-z]+_/?(?P<file>.*)$")
ROSTER_ID = {"canvas": "canvas_id", "moodle": "moodle_id"}
MAX_ENTRY_BYTES = 20 * 2**20  # as collect's limit: a notebook with outputs cleared is smaller


@dataclass
class Unpacked:
    """What :func:`unpack` did: the students written, and the entries it could not use."""

    students: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)  # "<entry>: why"
    late: list[str] = field(default_factory=list)  # students the LMS marked late


def read_roster(path: str | Path) -> list[dict[str, str]]:
    """The roster's rows (every column stripped); it must have a ``student`` column."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k}
                for row in csv.DictReader(handle)]
    if rows and "student" not in rows[0]:
        raise ValueError(f"the roster {path} has no 'student' column (columns: "
                         f"{', '.join(rows[0])})")
    return rows


def unpack(archive: str | Path, lms: str, roster: list[dict[str, str]], exercise: str,
           inbox: str | Path) -> Unpacked:
    """Write the notebooks of ``archive`` (an LMS bulk download) to ``inbox/<student>/``."""
    if lms not in LMS:
        raise ValueError(f"unknown LMS {lms!r}; expected one of {', '.join(LMS)}")
    key = ROSTER_ID[lms]
    by_id = {row[key]: row["student"] for row in roster if row.get(key)}
    if not by_id:
        raise ValueError(f"the roster has no {key!r} values, so no {lms} file can be mapped")
    pattern = CANVAS_FILE if lms == "canvas" else MOODLE_FILE
    result = Unpacked()
    chosen: dict[str, tuple[zipfile.ZipInfo, bool]] = {}
    with zipfile.ZipFile(archive) as bundle:
        for info in bundle.infolist():
            if info.is_dir():
                continue
            match = pattern.match(info.filename)
            if match is None:
                result.unmapped.append(f"{info.filename}: not a {lms} submission file name")
                continue
            student = by_id.get(match["id"])
            if student is None:
                result.unmapped.append(f"{info.filename}: {lms} id {match['id']} is not in "
                                       "the roster")
                continue
            if not match["file"].endswith(".ipynb"):
                result.unmapped.append(f"{info.filename}: not a notebook ({student})")
                continue
            if info.file_size > MAX_ENTRY_BYTES:
                result.unmapped.append(f"{info.filename}: {info.file_size / 2**20:.0f} MiB, "
                                       f"more than collect accepts ({student})")
                continue
            # Several notebooks from one student: the one named like the exercise, else the
            # newest (Canvas numbers resubmissions; Moodle keeps every file of the attempt).
            previous = chosen.get(student)
            named = _plain_name(match["file"]) == f"{exercise}.ipynb"
            if previous is None or (named, info.date_time) > (previous[1],
                                                              previous[0].date_time):
                chosen[student] = (info, named)
            if lms == "canvas" and match["late"] and student not in result.late:
                result.late.append(student)
        for student, (info, _) in sorted(chosen.items()):
            folder = Path(inbox) / student
            folder.mkdir(parents=True, exist_ok=True)
            with bundle.open(info) as source:
                (folder / f"{exercise}.ipynb").write_bytes(source.read(MAX_ENTRY_BYTES + 1))
            # A ZIP entry's time has no time zone; the LMSs' servers write UTC.
            stamp = datetime(*info.date_time, tzinfo=UTC)
            (folder / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S %Z"))
            result.students.append(student)
    return result


def _plain_name(name: str) -> str:
    """A Canvas file name without its resubmission number (``01-sgd-2.ipynb``)."""
    return re.sub(r"-\d+(\.ipynb)$", r"\1", Path(name).name)


def write_grades(lms: str, destination: str | Path, roster: list[dict[str, str]],
                 scores: dict[str, dict[str, float]], max_scores: dict[str, float],
                 notes: dict[str, dict[str, str]]) -> Path:
    """The import file for ``lms``: ``scores[exercise][student]`` for every roster student
    (one without a score gets 0); ``notes[exercise][student]`` goes where the LMS takes
    feedback."""
    exercises = sorted(max_scores)
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    with destination.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        if lms == "canvas":
            writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                             *exercises])
            writer.writerow(["Points Possible", "", "", "", "",
                             *(f"{max_scores[e]:g}" for e in exercises)])
            for row in roster:
                writer.writerow([row.get("name", row["student"]), row.get("canvas_id", ""),
                                 row.get("sis_user_id", ""), row.get("sis_login_id", ""),
                                 row.get("section", ""),
                                 *(_points(scores, e, row["student"]) for e in exercises)])
        elif lms == "moodle":
            writer.writerow(["Full name", "Email address", "ID number",
                             *(c for e in exercises for c in (e, f"{e} feedback"))])
            for row in roster:
                student = row["student"]
                writer.writerow([row.get("name", student), row.get("email", ""),
                                 row.get("sis_user_id", ""),
                                 *(c for e in exercises for c in (
                                     _points(scores, e, student),
                                     notes.get(e, {}).get(student, "")))])
        else:
            raise ValueError(f"unknown LMS {lms!r}; expected one of {', '.join(LMS)}")
    return destination


def _points(scores: dict[str, dict[str, float]], exercise: str, student: str) -> str:
    return f"{scores.get(exercise, {}).get(student, 0.0):g}"
