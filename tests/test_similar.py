"""optbook-grade similar: copied code is found through renaming and reformatting; code that
only shares what the release gave out, or what everyone writes alike, is not."""

from __future__ import annotations

import warnings

import nbformat
import pytest

from autograde.cli import main
from autograde.course import Course
from autograde.similar import normalised_lines, similar_pairs
from tests.classes import write_submission
from tests.fixtures.sample_classes import Student
from tests.fixtures.sample_classes.ex01 import CLASS_01

TRAIN = '''def train_softmax(X, y, batch_size, lr, epochs, seed):
    """My own training loop."""
    W = np.zeros((X.shape[1] + 1, 10))
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        for batch in minibatches(len(y), batch_size, rng):
            loss, grad = softmax_regression(W, X[batch], y[batch])
            W = sgd_step(W, grad, lr)
        losses.append(softmax_regression(W, X, y)[0])
    return np.array(losses)
'''
# The same code, renamed, recommented and reformatted.
DISGUISED = '''def train_softmax(X, y, batch_size, lr, epochs, seed):
    # totally different work
    weights = np.zeros( (X.shape[1]+1, 10) )
    generator = np.random.default_rng(seed)
    history = [ ]
    for _ in range(epochs):
        for idx in minibatches(len(y), batch_size, generator):
            value, g = softmax_regression(weights, X[idx], y[idx])
            weights = sgd_step(weights, g, lr)
        history.append(softmax_regression(weights, X, y)[0])
    return np.array(history)
'''
# Written independently: another loop, other statements.
OWN = '''def train_softmax(X, y, batch_size, lr, epochs, seed):
    rng = np.random.default_rng(seed)
    W = np.zeros((X.shape[1] + 1, 10))
    out = np.empty(epochs)
    for epoch in range(epochs):
        batches = minibatches(len(y), batch_size, rng)
        for b in batches:
            W = W - lr * softmax_regression(W, X[b], y[b])[1]
        out[epoch] = softmax_regression(W, X, y)[0]
    return out
'''


def test_normalising_ignores_names_comments_docstrings_and_layout():
    assert [n for n, _ in normalised_lines(TRAIN)] == [n for n, _ in normalised_lines(DISGUISED)]
    assert [n for n, _ in normalised_lines(TRAIN)] != [n for n, _ in normalised_lines(OWN)]
    assert normalised_lines("x = (1 +\n") == [("x = (1 +", "x = (1 +")]  # not Python


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    warnings.filterwarnings("ignore", message=".*not in session.*")
    root = tmp_path_factory.mktemp("similar")
    course = Course(root / "course")
    release = course.release("01-sgd")
    answers = {"copier_a": TRAIN, "copier_b": DISGUISED, "independent": OWN}
    for name, code in answers.items():
        write_submission(release, "01-sgd", Student(cells={"train_softmax": code}),
                         root / "inbox" / name)
    for name in ("correct", "blank"):  # the reference answers; the release untouched
        write_submission(release, "01-sgd", CLASS_01[name], root / "inbox" / name)
    write_submission(release, "01-sgd", CLASS_01["blank"], root / "inbox" / "blank_too")
    course.collect("01-sgd", root / "inbox")
    return course


def test_copied_pair_is_listed_with_its_shared_lines(course):
    submissions = {s: course.layout.submitted(s, "01-sgd") for s in course.students("01-sgd")}
    pairs = similar_pairs(course.layout.release("01-sgd"), submissions)
    named = {(p.first, p.second): p for p in pairs}
    assert ("copier_a", "copier_b") in named
    copied = named[("copier_a", "copier_b")]
    assert copied.similarity >= 0.8
    assert "W = sgd_step(W, grad, lr)" in copied.shared
    # Two untouched releases share nothing of their own; the independent answer is apart.
    assert ("blank", "blank_too") not in named
    assert not any("independent" in (p.first, p.second) for p in pairs)


def test_similar_command_prints_the_pairs(course, capsys):
    assert main(["similar", "01-sgd", "--course", str(course.root)]) == 0
    out = capsys.readouterr().out
    assert "copier_a ~ copier_b" in out and "shared lines" in out
    assert "independent" not in out.split("pair(s)")[1]


def test_unreadable_submission_is_skipped(course, tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{")
    good = course.layout.submitted("copier_a", "01-sgd")
    pairs = similar_pairs(course.layout.release("01-sgd"), {"a": good, "b": broken})
    assert pairs == []
    assert nbformat.read(good, as_version=4).cells
