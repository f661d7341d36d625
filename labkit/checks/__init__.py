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

import numpy as np

from labkit.checks.encoding import decode, encode

__all__ = ["MIME", "Case", "Spec", "check", "spec", "register", "call", "value", "decode"]

MIME = "application/vnd.optbook.check+json"
RECORD_VERSION = 1


@dataclass(frozen=True)
class Case:
    """One input chosen by the grader: positional ``args``, their ``names`` and a short label."""

    args: tuple
    names: tuple[str, ...] = ()
    label: str = ""


@dataclass(frozen=True)
class Spec:
    """How to exercise an answer: the cases and how to run an answer on one case.

    ``run(answer, case)`` returns a dict whose ``"value"`` is compared with the reference's;
    other keys (``"mutated"``) describe side effects.
    """

    check_id: str
    cases: Callable[[], Sequence[Case]]
    run: Callable[[Any, Case], dict]
    description: str = ""
    extra: dict = field(default_factory=dict)


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


def _same(a: Any, b: Any) -> bool:
    """Structural equality used to detect in-place mutation of inputs."""
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    if type(a).__module__ == "torch" and hasattr(a, "detach"):
        import torch

        return bool(torch.equal(a, b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if callable(a):
        return True
    return bool(a == b)


def call(answer: Callable, case: Case) -> dict:
    """Run a function on a copy of the case's arguments; report which arguments it changed."""
    args = copy.deepcopy(case.args)
    result = answer(*args)
    mutated = [name for name, before, after in zip(case.names, case.args, args, strict=False)
               if not _same(before, after)]
    return {"value": result, "mutated": mutated}


def value(answer: Any, case: Case) -> dict:
    """For a reported number (an experiment's result): the value itself."""
    return {"value": answer, "mutated": []}


def run_cases(spec_: Spec, answer: Any) -> list[dict]:
    """Run ``answer`` on every case of ``spec_``; exceptions become per-case error records."""
    results = []
    for case in spec_.cases():
        try:
            out = spec_.run(answer, case)
            results.append({"value": encode(out["value"]), "mutated": list(out["mutated"])})
        except Exception as error:  # the student's bug, recorded for the grader
            message = f"{type(error).__name__}: {error}"
            results.append({"error": message[:500]})
    return results


IN_KERNEL_VERDICTS = "OPTBOOK_VERDICTS_IN_KERNEL"
"""Set this environment variable to ``1`` to decide checks inside the kernel instead (for
plain ``nbgrader autograde`` or ``nbgrader validate`` on a trusted machine where ``solutions``
can be imported). Such verdicts can be faked by the code under test: never grade students so."""


def check(check_id: str, answer: Any) -> None:
    """Record ``answer``'s outputs on the grader's inputs for ``check_id`` (see module doc)."""
    import os

    from IPython.display import display

    spec_ = spec(check_id)
    results = run_cases(spec_, answer)
    record = {"version": RECORD_VERSION, "check": check_id, "cases": results}
    if os.environ.get(IN_KERNEL_VERDICTS) == "1":
        from autograde.judge import judge

        verdict = judge(check_id, {"cases": results})
        if not verdict.passed:
            raise AssertionError(verdict.message)
        print(verdict.message)
        return
    text = f"{check_id}: outputs on {len(results)} grader-chosen inputs recorded for grading"
    display({MIME: record, "text/plain": text}, raw=True)
