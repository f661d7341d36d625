"""Parallel and resumable grading: same scores as one at a time, survives kill -9, Dask."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from autograde.course import Course
from tests.classes import write_submission
from tests.fixtures.sample_classes.ex01 import CLASS_01

REPO = Path(__file__).resolve().parent.parent
STUDENTS = ["correct", "wrong_sign", "in_place", "no_reshuffle", "critical_one_over_lambda",
            "blank"]


def _class(tmp_path: Path, names=STUDENTS) -> Course:
    warnings.filterwarnings("ignore", message=".*not in session.*")
    course = Course(tmp_path / "course", cell_timeout=10)
    release = course.release("01-sgd")
    inbox = tmp_path / "inbox"
    for name in names:
        write_submission(release, "01-sgd", CLASS_01[name], inbox / name)
    course.collect("01-sgd", inbox)
    return course


def _scores(course: Course, names=STUDENTS) -> dict[str, float]:
    return {name: course.score("01-sgd", name)[0] for name in names}


def _expected(names=STUDENTS) -> dict[str, float]:
    return {name: float(sum(CLASS_01[name].points.values())) for name in names}


@pytest.mark.slow
def test_one_worker_and_two_workers_give_the_same_scores(tmp_path):
    one = _class(tmp_path / "one")
    one.grade("01-sgd", workers=1)
    two = _class(tmp_path / "two")
    two.grade("01-sgd", workers=2)
    assert _scores(one) == _scores(two) == _expected()


@pytest.mark.slow
def test_a_killed_run_resumes_without_regrading_or_duplicates(tmp_path):
    course = _class(tmp_path)
    script = ("import sys, warnings; warnings.filterwarnings('ignore');"
              "from autograde.course import Course;"
              f"Course({str(course.root)!r}, cell_timeout=10).grade('01-sgd', workers=1)")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and sum(course.is_graded("01-sgd", s) for s in STUDENTS) < 2:
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)  # the whole run, workers and kernels included
    proc.wait()
    done_before = {s for s in STUDENTS if course.is_graded("01-sgd", s)}
    assert 2 <= len(done_before) < len(STUDENTS)
    markers = {s: (course.root / "autograded" / s / "01-sgd" / ".optbook-graded").stat().st_mtime
               for s in done_before}

    results = course.grade("01-sgd", workers=2)

    assert {r.student for r in results} == set(STUDENTS)
    assert _scores(course) == _expected()
    for student, mtime in markers.items():  # nothing graded before was graded again
        marker = course.root / "autograded" / student / "01-sgd" / ".optbook-graded"
        assert marker.stat().st_mtime == mtime
    from nbgrader.api import Gradebook

    with Gradebook(course.gradebook_url) as gradebook:
        submissions = gradebook.find_assignment("01-sgd").submissions
        assert sorted(s.student.id for s in submissions) == sorted(STUDENTS)


@pytest.mark.slow
def test_regrade_grades_again_and_a_changed_submission_is_regraded(tmp_path):
    names = ["correct", "blank"]
    course = _class(tmp_path, names)
    course.grade("01-sgd", workers=2)
    assert _scores(course, names) == _expected(names)
    # "blank" resubmits a correct notebook: only that one is graded again.
    release = course.root / "release" / "01-sgd" / "01-sgd.ipynb"
    write_submission(release, "01-sgd", CLASS_01["correct"], tmp_path / "resubmit" / "blank")
    course.collect("01-sgd", tmp_path / "resubmit")
    assert not course.is_graded("01-sgd", "blank") and course.is_graded("01-sgd", "correct")
    course.grade("01-sgd", workers=2)
    assert _scores(course, names) == {"correct": 10.0, "blank": 10.0}
    # grade --student regrades that student alone, even unchanged; a stranger is refused.
    from autograde.cli import main

    before = {s: course.layout.marker(s, "01-sgd").stat().st_mtime_ns for s in names}
    assert main(["grade", "01-sgd", "--student", "blank", "--quiet", "--course",
                 str(course.root)]) == 0
    after = {s: course.layout.marker(s, "01-sgd").stat().st_mtime_ns for s in names}
    assert after["blank"] > before["blank"] and after["correct"] == before["correct"]
    assert main(["grade", "01-sgd", "--student", "nobody", "--course", str(course.root)]) == 2


@pytest.mark.slow
def test_dask_local_cluster_grades_like_the_local_pool(tmp_path):
    from distributed import LocalCluster

    names = ["correct", "wrong_sign", "blank"]
    course = _class(tmp_path, names)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        course.grade("01-sgd", scheduler=cluster.scheduler_address)
    assert _scores(course, names) == _expected(names)


CALLER_RAN_TORCH_ON_THREADS = """
import sys, tempfile, warnings
from pathlib import Path
import torch
warnings.filterwarnings("ignore")
torch.set_num_threads(2)
(torch.randn(600, 600) @ torch.randn(600, 600)).sum().item()  # the caller's pool is live
from tests.classes import classes, grade_class
students = {"correct": classes()["11-stable-training"]["correct"]}
graded = grade_class(Path(sys.argv[1]), "11-stable-training", students)
print(sum(graded.cell_points("correct").values()))
"""


@pytest.mark.slow
def test_workers_survive_a_caller_that_ran_torch_on_several_threads(tmp_path):
    """Forked workers compute references with torch (exercise 11 trains a network): with the
    caller's intra-op threads not carried over by fork, this used to hang forever."""
    run = subprocess.run([sys.executable, "-c", CALLER_RAN_TORCH_ON_THREADS, str(tmp_path)],
                         capture_output=True, text=True, timeout=300, cwd=REPO,
                         env={**os.environ, "PYTHONPATH": str(REPO)})
    assert run.returncode == 0, run.stderr[-3000:]
    assert float(run.stdout.split()[-1]) == 11.0


@pytest.mark.slow
def test_grading_shows_figures_as_text_unless_asked_to_draw_them(tmp_path):
    """No check reads a figure: by default a graded kernel never draws one (a quarter of an
    honest exercise 01 run); ``render_figures`` brings the PNGs back."""
    import nbformat

    def outputs(course: Course) -> list:
        graded = nbformat.read(course.layout.autograded("correct", "01-sgd"), as_version=4)
        return [o for cell in graded.cells for o in cell.get("outputs", [])]

    plain = _class(tmp_path / "plain", ["correct"])
    plain.grade("01-sgd", workers=1)
    drawn = _class(tmp_path / "drawn", ["correct"])
    drawn.layout.config_stub.write_text(drawn.layout.config_stub.read_text()
                                        + "c.GradingExecute.render_figures = True\n")
    drawn.grade("01-sgd", workers=1)
    assert _scores(plain, ["correct"]) == _scores(drawn, ["correct"]) == _expected(["correct"])
    assert not any("image/png" in o.get("data", {}) for o in outputs(plain))
    assert any("<Figure size" in str(o.get("data", {}).get("text/plain", ""))
               for o in outputs(plain))
    assert any("image/png" in o.get("data", {}) for o in outputs(drawn))
