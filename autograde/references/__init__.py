"""What each hidden check expects. Lives with the grader, never in the student's kernel.

Every exercise module here defines ``EXPECTED: dict[check_id, Expected]``. An
:class:`Expected` names the reference answer from ``solutions/``, the tolerance, the weight of
the check inside its test cell, and a catalog of :class:`Mistake` s: wrong answers that
students typically write, run on the same inputs, so the grader can say which one it saw.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Mistake:
    """A typical wrong answer: ``answer`` reproduces it.

    ``hint`` says how to fix it (shown with the course setting ``hints = "fix"``);
    ``diagnosis`` names the mistake and its symptom without the fix (``hints =
    "diagnosis"``, the default); when empty, the mistake's name stands in for it."""

    name: str
    hint: str
    answer: Any
    diagnosis: str = ""

    def describe(self, hints: str) -> str:
        """The sentence shown for this mistake at hint level ``hints``."""
        if hints == "fix":
            return self.hint
        name = self.name.replace("_", " ")
        return self.diagnosis or f"the answer matches a known mistake: {name}."


@dataclass(frozen=True)
class Expected:
    """The grader's side of one check.

    Attributes:
        reference: the answer to run on the grader's cases (a function, class or value).
        aspect: ``"values"`` compares outputs; ``"inputs_untouched"`` passes when the answer
            left its arguments unchanged (and returned something for every case).
        weight: share of the test cell's points (cells split their points by weight).
        rtol, atol: tolerance of the value comparison.
        check_dtype: whether float32 where float64 was expected is a failure.
        mistakes: recognisable wrong answers, tried in order.
        all_or_nothing: no credit per case (for checks where partial credit would reward
            guessing, such as a yes/no classification).
        upstream: for an experiment that runs the student's own earlier functions, the
            argument names of ``reference_with`` mapped to those functions' check ids.
        reference_with: the experiment's expected value computed with given implementations
            of the upstream functions (keyword arguments named as in ``upstream``). When an
            upstream check failed with a recognised mistake, the experiment is also judged
            against ``reference_with(that mistake)``: one bug costs its points once.
    """

    reference: Any
    aspect: Literal["values", "inputs_untouched"] = "values"
    weight: float = 1.0
    rtol: float = 1e-6
    atol: float = 1e-9
    check_dtype: bool = True
    mistakes: tuple[Mistake, ...] = ()
    all_or_nothing: bool = False
    upstream: dict[str, str] = field(default_factory=dict)
    reference_with: Any = None


def optimizer_variant(optimizer: type, name: str, update: Callable, doc: str) -> type:
    """``optimizer`` from ``solutions/`` applying ``update`` instead of its functional rule.

    The book's optimizers call their rule through the class attribute ``update``; a typical
    mistake is that rule with one thing changed (a flag or a wrapper), not a copy of the class.
    """
    return type(name, (optimizer,), {"update": staticmethod(update), "__doc__": doc})


def expected(check_id: str) -> Expected:
    """The :class:`Expected` of ``check_id`` (``"<exercise module>.<name>"``)."""
    module = importlib.import_module(f"autograde.references.{check_id.split('.', 1)[0]}")
    try:
        return module.EXPECTED[check_id]
    except KeyError:
        raise KeyError(f"no reference registered for check {check_id!r}") from None
