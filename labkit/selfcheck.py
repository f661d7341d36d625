"""The students' self-check: how the grader will judge your answers, before you submit.

The last cell of every released exercise calls :func:`check_ready`. For each check the
grader makes, it runs your function on *practice* inputs (of the same kinds as the grader's
hidden ones, never the same) and judges the outputs with the grader's own judgement
(:func:`labkit.checks.judging.decide`) against the expected outputs stored with labkit
(``labkit/practice/<exercise>.json``, written by the grader's ``autograde.practice``): the
same "expected / got / diagnosis / likely mistake" feedback, partial credit included. An
experiment's value is only checked for being there. It holds no reference code and no
expected output of a graded input, so passing it is a good sign, not a promise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from labkit.checks import run_cases, spec
from labkit.checks.encoding import decode
from labkit.checks.judging import CRASHED, AnswerKey, Verdict, decide


@dataclass(frozen=True)
class _StoredMistake:
    name: str
    says: str

    def describe(self, hints: str) -> str:
        return self.says


@dataclass
class Readiness:
    """What :func:`check_ready` found: ``ready`` when every check passed on its practice
    inputs and every answer is defined."""

    exercise: str
    verdicts: list[Verdict] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return not self.missing and all(v.passed for v in self.verdicts)

    def report(self) -> str:
        lines = [v.message for v in self.verdicts]
        lines += [f"✗ {name}: not defined — run its cell (or Restart & Run All)."
                  for name in self.missing]
        failed = sum(not v.passed for v in self.verdicts) + len(self.missing)
        total = len(self.verdicts) + len(self.missing)
        if failed:
            lines.append(f"\nNot ready: {failed} of {total} checks fail on practice inputs. The "
                         "grader judges its own inputs the same way. Fix the first failure "
                         "first: a later function that calls an earlier one may fail only "
                         "because of it (the grader charges such a bug once).")
        else:
            lines.append(f"\nReady: all {total} checks pass on practice inputs. Before you "
                         "submit: Kernel → Restart & Run All, keep the file name "
                         f"{self.exercise}.ipynb, and do not delete or copy cells.")
        return "\n".join(lines)

    def __repr__(self) -> str:  # shown as the cell's result in a notebook
        return self.report()


def practice_key(exercise: str) -> dict:
    """The stored key of ``exercise`` (see the module doc)."""
    path = resources.files("labkit") / "practice" / f"{exercise}.json"
    return json.loads(path.read_text())


def _answer_key(entry: dict, practice_cases: list) -> AnswerKey:
    mistakes = tuple(_StoredMistake(m["name"], m["says"]) for m in entry["mistakes"])
    outputs = {m["name"]: m["outputs"] for m in entry["mistakes"]}

    def mistake_outputs(name: str) -> tuple | None:
        stored = outputs.get(name)
        return None if stored is None else tuple(
            CRASHED if out is None else decode(out) for out in stored)

    wanted = tuple(decode(out) for out in entry["wanted"])
    return AnswerKey(entry["check"], practice_cases, lambda: wanted, rtol=entry["rtol"],
                     atol=entry["atol"], check_dtype=entry["check_dtype"],
                     all_or_nothing=entry["all_or_nothing"], aspect=entry["aspect"],
                     mistakes=mistakes, mistake_outputs=mistake_outputs,
                     inputs="practice inputs")


def _namespace() -> dict:
    """The notebook's variables (the caller's globals outside IPython)."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    if shell is not None:
        return shell.user_ns
    import inspect

    return inspect.stack()[2].frame.f_globals


def check_ready(exercise: str, namespace: dict | None = None) -> Readiness:
    """Judge this notebook's answers on practice inputs, as the grader will judge them."""
    names = _namespace() if namespace is None else namespace
    found = Readiness(exercise)
    recorded: dict[str, list] = {}
    for entry in practice_key(exercise)["checks"]:
        base = entry["check"].removesuffix(".no_mutation")
        try:
            answer: Any = eval(entry["answer"], dict(names))  # a name, or a dict of names
        except NameError:
            if entry["answer"] not in found.missing:
                found.missing.append(entry["answer"])
            continue
        if entry["kind"] == "value":
            if answer is None:
                found.missing.append(entry["answer"])
            continue
        try:
            practice = list(spec(base).practice())
            if base not in recorded:  # one run serves a check and its no_mutation check
                recorded[base] = run_cases(spec(base), answer, practice)
            verdict = decide(_answer_key(entry, practice), {"cases": recorded[base]})
        except Exception as error:  # never stop the notebook: say what could not be judged
            verdict = Verdict(entry["check"], False, 1.0, f"✗ {entry['check']}: could not be "
                              f"judged here ({type(error).__name__}: {error}).")
        found.verdicts.append(verdict)
    return found
