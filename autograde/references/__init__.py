"""What each hidden check expects. Lives with the grader, never in the student's kernel.

Every exercise module here defines ``EXPECTED: dict[check_id, Expected]``. An
:class:`Expected` names the reference answer from ``solutions/``, the tolerance, the weight of
the check inside its test cell, and a catalog of :class:`Mistake` s: wrong answers that
students typically write, run on the same inputs, so the grader can say which one it saw.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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
        reference: the answer to run on the grader's cases (a function or class), or an
            experiment's expected value, usually as :class:`Computed`.
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
        reference_with: the experiment's expected value (or the checked function) computed
            with given implementations of the upstream functions (keyword arguments named as
            in ``upstream``). When an upstream check failed with a recognised mistake, the
            experiment is also judged against ``reference_with(that mistake)``: one bug
            costs its points once.
        no_mutation: when nonzero, the same record also yields the check
            ``"<check id>.no_mutation"`` of this weight: the answer left its arguments as
            they were (the kernel side records them with ``call_keeping_inputs``).
        in_place_hint: how to fix an in-place change, for that check.
        in_place_answer: a version of the answer that updates its inputs in place, so that
            experiments built on a student's in-place function can be carried forward.
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
    no_mutation: float = 0.0
    in_place_hint: str = ("an input array was changed in place (x -= …, v *= …); build new "
                          "arrays and return them.")
    in_place_answer: Any = None

    def reference_answer(self) -> Any:
        """What the grader runs on its cases (an experiment's value computed now if need be)."""
        return resolve(self.reference)


class Computed:
    """An experiment's value (expected, or a mistake's), computed the first time a grading
    run needs it rather than when the catalog is imported: ``Computed(run, stopper=late)``
    stands for ``run(stopper=late)``."""

    def __init__(self, experiment: Callable[..., Any], **arguments: Any) -> None:
        self.experiment, self.arguments = experiment, arguments
        self._value: Any = _NOT_YET

    def value(self) -> Any:
        if self._value is _NOT_YET:
            self._value = self.experiment(**self.arguments)
        return self._value


_NOT_YET = object()


def resolve(answer: Any) -> Any:
    """``answer`` itself, or the value of a :class:`Computed` experiment."""
    return answer.value() if isinstance(answer, Computed) else answer


def optimizer_variant(optimizer: type, name: str, update: Callable, doc: str) -> type:
    """``optimizer`` from ``solutions/`` applying ``update`` instead of its functional rule.

    The book's optimizers call their rule through the class attribute ``update``; a typical
    mistake is that rule with one thing changed (a flag or a wrapper), not a copy of the class.
    """
    return type(name, (optimizer,), {"update": staticmethod(update), "__doc__": doc})


NO_MUTATION = ".no_mutation"
"""Suffix of the check derived from a value check whose ``Expected.no_mutation`` is set."""


def base_check(check_id: str) -> str:
    """The value check a derived ``…no_mutation`` check is judged from (else ``check_id``)."""
    return check_id.removesuffix(NO_MUTATION)


def expected(check_id: str) -> Expected:
    """The :class:`Expected` of ``check_id`` (``"<exercise module>.<name>"``); for
    ``"<id>.no_mutation"``, the property check derived from ``<id>``'s declaration."""
    base = base_check(check_id)
    module = importlib.import_module(f"autograde.references.{base.split('.', 1)[0]}")
    exp = module.EXPECTED.get(base)
    if exp is None or (base != check_id and not exp.no_mutation):
        raise KeyError(f"no reference registered for check {check_id!r}")
    if base == check_id:
        return exp
    in_place = Mistake("in_place", exp.in_place_hint, exp.in_place_answer, diagnosis=(
        "the function wrote into its arguments, so the caller's arrays changed too."))
    return replace(exp, aspect="inputs_untouched", weight=exp.no_mutation, no_mutation=0.0,
                   mistakes=(in_place,), upstream={}, reference_with=None)
