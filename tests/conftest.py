"""Shared fixtures: one graded class per exercise for the whole test session."""

from __future__ import annotations

import warnings

import pytest

from tests.classes import GradedClass, classes, grade_class


@pytest.fixture(scope="session")
def graded(tmp_path_factory) -> dict[str, GradedClass]:
    """Every exercise released and its class graded once (the slow part of the suite)."""
    warnings.filterwarnings("ignore", message=".*not in session.*")
    root = tmp_path_factory.mktemp("classes")
    return {exercise: grade_class(root, exercise, students)
            for exercise, students in classes().items()}


@pytest.fixture(scope="session")
def built_book():
    """The book built once per session (the command `make book` runs), as its HTML folder
    and the build's process result."""
    from tests.book import build_book

    return build_book()
