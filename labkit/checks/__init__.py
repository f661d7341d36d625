"""Hidden tests call :func:`check`; the grader, outside the student's kernel, decides.

``check("sgd.sgd_step", sgd_step)`` runs the student's object on inputs the grader chose (the
*cases* of that check, generated from fixed seeds) and displays the outputs as one record of
MIME type :data:`MIME`. Nothing is compared here: the grading process regenerates the same
cases, runs the reference implementation from ``solutions/`` on them and compares (see
``autograde/verdicts.py``). Tampering with NumPy, builtins or this module inside the kernel
therefore cannot turn a wrong answer into a right one.

Each exercise has a module here (``labkit/checks/<exercise>.py``) that registers its specs; a
check id is ``"<module>.<name>"``.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from labkit.checks.encoding import decode, encode

__all__ = ["MIME", "Case", "Spec", "check", "spec", "register", "call", "call_keeping_inputs",
           "value", "decode"]

MIME = "application/vnd.optbook.check+json"
RECORD_VERSION = 1


@dataclass(frozen=True)
class Case:
    """One input chosen by the grader: positional ``args``, their ``names`` and a short label.

    Write cases with named arguments, in the order of the function's parameters:
    ``Case.of("x of shape (3,), lr=0.1", x=x, dx=dx, lr=0.1)``. The answer is called
    positionally, so a student may name the parameters differently."""

    args: tuple
    names: tuple[str, ...] = ()
    label: str = ""

    @classmethod
    def of(cls, label: str, /, **arguments: Any) -> Case:
        """A case from its label and its arguments by name."""
        return cls(tuple(arguments.values()), tuple(arguments), label)


@dataclass(frozen=True)
class Spec:
    """How to exercise an answer: the cases and how to run an answer on one case.

    ``run(answer, case)`` returns a dict whose ``"value"`` is compared with the reference's;
    an ``"inputs"`` key records the arguments as the answer left them.

    ``practice`` gives the inputs of the students' self-check (``labkit.check_ready``): other
    inputs of the same kinds as the grader's, whose expected outputs the release stores
    (``labkit/practice/``), so that a student sees the grader's kind of feedback before
    submitting without ever seeing a graded input's expected output.
    """

    check_id: str
    cases: Callable[[], Sequence[Case]]
    run: Callable[[Any, Case], dict]
    description: str = ""
    extra: dict = field(default_factory=dict)
    practice: Callable[[], Sequence[Case]] | None = None


_REGISTRY: dict[str, Spec] = {}


def register(spec_: Spec) -> Spec:
    """Add ``spec_`` to the registry (called at import time by the exercise modules)."""
    _REGISTRY[spec_.check_id] = spec_
    return spec_


def spec(check_id: str) -> Spec:
    """The :class:`Spec` registered under ``check_id`` (importing its exercise module)."""
    module = check_id.split(".", 1)[0]
    if check_id not in _REGISTRY:
        importlib.import_module(f"labkit.checks.{module}")
    if check_id not in _REGISTRY:
        raise KeyError(f"unknown check id {check_id!r}")
    return _REGISTRY[check_id]


def call(answer: Callable, case: Case) -> dict:
    """Run a function on a copy of the case's arguments."""
    return {"value": answer(*copy.deepcopy(case.args))}


def call_keeping_inputs(answer: Callable, case: Case) -> dict:
    """Run a function on a copy of the arguments and record them as they are afterwards.

    Whether they changed is decided by the grader, against inputs it regenerates itself
    (a kernel could lie about a comparison made here). Functions are not recorded."""
    args = copy.deepcopy(case.args)
    result = answer(*args)
    return {"value": result, "inputs": [None if callable(a) else a for a in args]}


def value(answer: Any, case: Case) -> dict:
    """For a reported number (an experiment's result): the value itself."""
    return {"value": answer}


def run_cases(spec_: Spec, answer: Any, cases: Sequence[Case] | None = None) -> list[dict]:
    """Run ``answer`` on every case of ``spec_`` (or on ``cases``); exceptions become per-case
    error records."""
    results = []
    for case in spec_.cases() if cases is None else cases:
        try:
            out = spec_.run(answer, case)
            results.append({key: encode(item) for key, item in out.items()})
        except Exception as error:  # the student's bug, recorded for the grader
            message = f"{type(error).__name__}: {error}"
            results.append({"error": message[:500]})
    return results


IN_KERNEL_VERDICTS = "OPTBOOK_VERDICTS_IN_KERNEL"
"""Set this environment variable to ``1`` to decide checks inside the kernel instead (for
plain ``nbgrader autograde`` or ``nbgrader validate`` on a trusted machine where ``solutions``
can be imported). Such verdicts can be faked by the code under test: never grade students so."""

JUDGE_ENTRY_POINT = "labkit.in_kernel_judge"
"""The entry-point group through which the grader's distribution offers its in-kernel judge,
a function ``(check_id, case_records) -> None`` that raises ``AssertionError`` on a failure.
labkit itself imports nothing of the grader."""


def _in_kernel_judge() -> Callable[[str, list[dict]], None]:
    from importlib.metadata import entry_points

    found = entry_points(group=JUDGE_ENTRY_POINT)
    if not found:
        raise RuntimeError(f"{IN_KERNEL_VERDICTS}=1 needs the grader installed (the optbook "
                           f"distribution offers the {JUDGE_ENTRY_POINT!r} entry point)")
    return next(iter(found)).load()


def check(check_id: str, answer: Any) -> None:
    """Record ``answer``'s outputs on the grader's inputs for ``check_id`` (see module doc)."""
    import os

    from IPython.display import display

    spec_ = spec(check_id)
    results = run_cases(spec_, answer)
    record = {"version": RECORD_VERSION, "check": check_id, "cases": results}
    if os.environ.get(IN_KERNEL_VERDICTS) == "1":
        _in_kernel_judge()(check_id, results)
        return
    text = f"{check_id}: outputs on {len(results)} grader-chosen inputs recorded for grading"
    display({MIME: record, "text/plain": text}, raw=True)
