"""Judge one check's recorded outputs against an answer key: the verdict, its credit and its
explanation for the student.

The same judgement serves the grader (:mod:`autograde.judge` builds the key from the
reference answers, outside the student's kernel) and the students' self-check
(:mod:`labkit.selfcheck` reads a key of practice inputs stored with the release). Nothing here
knows a reference answer: only the key's expected outputs.

**Credit per case.** A check's points are split over its cases: an answer right on ``k`` of
``n`` inputs earns ``k/n`` of them, rounded *down* to :data:`CREDIT_STEP` points (a check
declared ``all_or_nothing`` earns all or nothing). An experiment that reports a dict is judged
per key. A case earns nothing when the answer raised or returned ``None``; an answer that does
so on every case is "not implemented yet" and earns nothing in any of its checks, the
``no_mutation`` ones included (inputs are only judged on cases whose values came back).

**Hint levels** (the course setting ``DecideVerdicts.hints``): ``"diagnosis"`` names a
recognised mistake and describes the shape of the difference, ``"fix"`` also says how to fix
a cataloged mistake, ``"none"`` (exams) shows only input, expected, got and where they differ.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from labkit.checks import Case
from labkit.checks.compare import difference, summarize
from labkit.checks.diagnose import across_cases, locate, shape_of_difference
from labkit.checks.encoding import decode, encode

CREDIT_STEP = 0.25
"""Partial credit is rounded down to a multiple of this many points."""
HINT_LEVELS = ("diagnosis", "fix", "none")
SHOWN_FAILURES = 3
"""Failing cases shown in full in feedback; the others are listed by their input."""


@dataclass
class Verdict:
    """The outcome of one check on one submission.

    ``status`` is ``"passed"``, ``"partial"`` (some cases right), ``"failed"``,
    ``"not_implemented"`` (a stub: ``None`` or ``NotImplementedError`` everywhere) or
    ``"missing"`` (no record). ``failing`` lists the failing cases' indices and
    ``signature`` sums up how the first one failed, for grouping uncataloged failures."""

    check_id: str
    passed: bool
    weight: float
    message: str
    mistake: str | None = None
    cases_passed: int = 0
    cases_total: int = 0
    status: str = "failed"
    all_or_nothing: bool = False
    failing: list[int] = field(default_factory=list)
    signature: str = ""

    @property
    def credit(self) -> float:
        """Share of the check's points earned before rounding (0 to 1)."""
        if self.passed:
            return 1.0
        if self.all_or_nothing or not self.cases_total or self.status == "not_implemented":
            return 0.0
        return self.cases_passed / self.cases_total


def cell_score(verdicts: list[Verdict], points: float) -> float:
    """Points a test cell earns: its ``points`` split over its checks by weight, each check
    earning its credit rounded down to :data:`CREDIT_STEP` (full credit is never rounded)."""
    total = sum(v.weight for v in verdicts)
    score = 0.0
    for v in verdicts:
        share = points * v.weight / total if total else 0.0
        score += share if v.passed else math.floor(share * v.credit / CREDIT_STEP + 1e-9) \
            * CREDIT_STEP
    return round(min(score, points), 4)


@dataclass(frozen=True)
class _Unit:
    """One judged unit: a case (or one key of a reported dict) with both answers."""

    label: str
    wanted: Any
    got: Any
    error: str | None
    inputs: tuple
    case: Case


CRASHED = object()
"""A mistake's output on a case where that mistake raises: it matches nothing there."""


class Described(Protocol):
    """A cataloged mistake as the judge needs it: its name and what to tell the student."""

    name: str

    def describe(self, hints: str) -> str: ...


@dataclass(frozen=True)
class AnswerKey:
    """What one check is judged against.

    ``wanted()`` gives the expected output of every case (computed on first use by the
    grader, stored by the self-check); ``aspect`` is ``"values"`` (compare outputs) or
    ``"inputs_untouched"`` (the answer left its arguments as they were); ``mistakes`` are the
    cataloged wrong answers and ``mistake_outputs(name)`` their outputs on the cases
    (``None`` for a mistake that has no reproducible answer)."""

    check_id: str
    cases: Sequence[Case]
    wanted: Callable[[], tuple]
    rtol: float = 1e-6
    atol: float = 1e-9
    check_dtype: bool = True
    weight: float = 1.0
    all_or_nothing: bool = False
    aspect: str = "values"
    mistakes: tuple[Described, ...] = ()
    mistake_outputs: Callable[[str], tuple | None] = lambda name: None
    inputs: str = "grader-chosen inputs"
    """What the cases are called in feedback."""


def _is_stub(result: dict, wanted: Any) -> bool:
    if "error" in result:
        return result["error"].startswith("NotImplementedError")
    return result.get("value") is None and wanted is not None


def is_reported(cases: list[Case]) -> bool:
    """A reported value (an experiment's result) rather than a function run on inputs."""
    return len(cases) == 1 and not cases[0].args


def _parts(wanted: Any, got: Any) -> list[tuple[str, Any, Any]] | None:
    """A reported value's separately credited parts: the keys of a dict, the items of a list
    or tuple, the rows of a 2-D array (one per run of an experiment). ``None`` when the
    value is one thing, or when ``got`` does not have the same parts."""
    if isinstance(wanted, dict) and len(wanted) > 1:
        if isinstance(got, dict) and set(got) == set(wanted):
            return [(f"[{key!r}]", wanted[key], got[key]) for key in wanted]
    elif isinstance(wanted, (list, tuple)) and len(wanted) > 1:
        if isinstance(got, (list, tuple)) and len(got) == len(wanted):
            return [(f"[{i}]", w, g) for i, (w, g) in enumerate(zip(wanted, got, strict=True))]
    elif isinstance(wanted, np.ndarray) and wanted.ndim == 2 and len(wanted) > 1:
        if isinstance(got, np.ndarray) and got.shape == wanted.shape:
            return [(f"[{i}]", w, g) for i, (w, g) in enumerate(zip(wanted, got, strict=True))]
    return None


def _units(cases: list[Case], wanted: tuple, got: list, errors: list) -> list[_Unit]:
    """The judged units: one per case, or one per part of a reported value."""
    parts = _parts(wanted[0], got[0]) if is_reported(cases) and errors[0] is None else None
    if parts is not None:
        return [_Unit(f"{cases[0].label}{where}", w, g, None, (), cases[0])
                for where, w, g in parts]
    return [_Unit(c.label, w, g, e, c.args, c)
            for c, w, g, e in zip(cases, wanted, got, errors, strict=True)]


def decide(key: AnswerKey, record: dict | None, hints: str = "diagnosis", *,
           carried_forward: Callable[[], tuple | None] | None = None,
           upstream: str = "") -> Verdict:
    """Judge one recorded check (``{"cases": [...]}`` as :func:`labkit.checks.check` records
    it) against ``key``; explain every failing case.

    ``upstream`` names the student's earlier checks that failed and that this one builds on;
    ``carried_forward()`` gives the expected outputs computed with those earlier functions'
    mistakes (carry-forward): a case consistent with them passes, so one bug costs its points
    once."""
    check_id, cases = key.check_id, key.cases
    fail = functools.partial(Verdict, check_id, False, key.weight, cases_total=len(cases),
                             all_or_nothing=key.all_or_nothing)
    if record is None:
        return fail(f"✗ {check_id}: no answer was recorded (the test cell stopped before "
                    "the check ran, or the check's output was removed).", status="missing",
                    failing=list(range(len(cases))), signature="no record")
    results = record.get("cases")
    if not isinstance(results, list) or len(results) != len(cases) \
            or not all(isinstance(r, dict) for r in results):
        return fail(f"✗ {check_id}: the record of this check is incomplete or was altered.",
                    signature="altered record")
    wanted = key.wanted()
    if all(_is_stub(r, w) for r, w in zip(results, wanted, strict=True)):
        how = "raises NotImplementedError" if "error" in results[0] else "returns None"
        return fail(f"✗ {check_id}: not implemented yet (it {how} on every input), so none "
                    "of its points can be given.", status="not_implemented",
                    failing=list(range(len(cases))), signature="not implemented")
    if key.aspect == "inputs_untouched":
        return _judge_untouched(key, results, wanted, hints, fail)
    got = [decode(r["value"]) if "value" in r else None for r in results]
    errors = [r.get("error") for r in results]
    units = _units(cases, wanted, got, errors)
    problems = [_problem(key, u) for u in units]
    passed = [p is None for p in problems]
    carried = None
    if not all(passed) and carried_forward is not None:
        alternative = carried_forward()
        if alternative is not None:
            carried = _units(cases, alternative, got, errors)
            if len(carried) == len(units):
                passed = [ok or _problem(key, c) is None
                          for ok, c in zip(passed, carried, strict=True)]
    k, n = sum(passed), len(units)
    if k == n:
        what = ("the reported value is within tolerance" if is_reported(cases) else
                f"all {n} {key.inputs} give the expected result")
        if carried is not None:
            what = (f"your answer is consistent with your own earlier functions, which "
                    f"failed {upstream}: that mistake is charged there, once")
        return Verdict(check_id, True, key.weight, f"✓ {check_id}: {what}.", cases_passed=k,
                       cases_total=n, status="passed", all_or_nothing=key.all_or_nothing)
    failing = [i for i, ok in enumerate(passed) if not ok]
    credit = ("no partial credit for this check" if key.all_or_nothing
              else f"credit for {k} of {n}")
    noun = "parts of the reported value" if is_reported(cases) else key.inputs
    lines = [f"✗ {check_id}: {k} of {n} {noun} give the expected result ({credit}); "
             f"tolerance: relative {key.rtol:g}, absolute {key.atol:g}."]
    shapes = []
    for shown, i in enumerate(failing):
        unit = units[i]
        if shown >= SHOWN_FAILURES:
            rest = [units[j].label for j in failing[shown:]]
            lines.append(f"  Also failing ({len(rest)} more): " + "; ".join(rest)[:600])
            break
        lines.append(f"  Failing input: {unit.label}")
        lines += _case_lines(key, unit, problems[i])
        shape = None if unit.error else shape_of_difference(
            unit.wanted, unit.got, unit.inputs, rtol=key.rtol, atol=key.atol)
        shapes.append(shape)
        if shape and hints != "none":
            lines.append(f"    diagnosis: {shape}")
    pattern = across_cases([u.case for u in units] if not is_reported(cases) else [],
                           passed, [u.got for u in units], [u.wanted for u in units])
    if pattern and hints != "none":
        lines.append(f"  Pattern: {pattern}")
    if upstream:
        lines.append(f"  Upstream: this uses your own functions, and {upstream} failed; the "
                     "difference may well come from there, so fix that check first.")
    mistake = _recognise(key, units, failing)
    if mistake is not None and hints != "none":
        lines.append(f"  Likely mistake: {mistake.describe(hints)}")
    first = units[failing[0]]
    signature = f"{first.label[:80]} | " + _normalised(shapes[0] or problems[failing[0]])
    return fail("\n".join(lines), mistake=mistake.name if mistake else None,
                cases_passed=k, cases_total=n, status="partial" if k else "failed",
                failing=failing, signature=signature)


def _problem(key: AnswerKey, unit: _Unit) -> str | None:
    """``None`` when the unit is right, else what is wrong with it."""
    if unit.error is not None:
        if unit.error.startswith("NotImplementedError"):
            return "not implemented yet (raised NotImplementedError)"
        return f"raised {unit.error}"
    return difference(unit.wanted, unit.got, rtol=key.rtol, atol=key.atol,
                      check_dtype=key.check_dtype)


def _case_lines(key: AnswerKey, unit: _Unit, problem: str) -> list[str]:
    lines = [f"    expected: {summarize(unit.wanted)}"]
    if unit.error is None:
        lines.append(f"    got:      {summarize(unit.got)}")
    lines.append(f"    problem:  {problem}")
    if unit.error is None:
        found = locate(unit.wanted, unit.got, key.rtol, key.atol)
        if found is not None:
            first, worst = found
            lines.append(f"    first difference:   {first}")
            if worst != first:
                lines.append(f"    largest difference: {worst}")
    return lines


def _normalised(text: str) -> str:
    """A failure's description with its numbers blanked, so like failures group together."""
    return re.sub(r"[-+]?\d[\d.eE+-]*", "#", text)[:120]


def _recognise(key: AnswerKey, units: list[_Unit], failing: list[int]):
    """The cataloged mistake that best explains the failing cases, if any explains most.

    Matching is approximate: a mistake is recognised when it reproduces the student's
    answer (to 4 digits) on at least three quarters of the failing cases (all of them when
    fewer than four fail), so the same idea written another way (real instead of integer
    division on some inputs, say) is still named, but a coincidence on one part is not."""
    if any(units[i].error for i in failing):
        return None
    rtol, atol = max(key.rtol, 1e-4), max(key.atol, 1e-8)
    best, best_share = None, 0.0
    for m in key.mistakes:
        outputs = key.mistake_outputs(m.name)
        if outputs is None or any(output is CRASHED for output in outputs):
            continue
        mistake_units = _units(key.cases, outputs, list(outputs), [None] * len(outputs))
        if len(mistake_units) != len(units):
            continue
        hits = sum(difference(mistake_units[i].wanted, units[i].got, rtol=rtol, atol=atol,
                              check_dtype=False) is None for i in failing)
        share = hits / len(failing)
        if share > best_share:
            best, best_share = m, share
    return best if best_share * len(failing) >= math.ceil(0.75 * len(failing)) else None


def _changed(case: Case, result: dict) -> list[str] | None:
    """Names of the arguments the answer changed (``None``: the record has no inputs)."""
    if "inputs" not in result:
        return None
    after = decode(result["inputs"])
    if not isinstance(after, list) or len(after) != len(case.args):
        return None
    before = decode(encode([None if callable(a) else a for a in case.args]))
    return [name for name, b, a in zip(case.names, before, after, strict=False)
            if b is not None and difference(b, a, rtol=0.0, atol=0.0, check_dtype=True)]


def _judge_untouched(key: AnswerKey, results: list, wanted: tuple, hints: str, fail) -> Verdict:
    """Inputs left unchanged, judged only on the cases where a value came back."""
    check_id, cases = key.check_id, key.cases
    lines, failing = [], []
    in_place = key.mistakes[0] if key.mistakes else None
    mutated = False
    for i, (case, result, w) in enumerate(zip(cases, results, wanted, strict=True)):
        if "error" in result or _is_stub(result, w):
            failing.append(i)
            why = f"raised {result['error']}" if "error" in result else "returned None"
            lines.append(f"  {case.label}: not judged, the function {why}")
            continue
        changed = _changed(case, result)
        if changed is None:
            return fail(f"✗ {check_id}: the record of this check is incomplete or was "
                        "altered.", signature="altered record")
        if changed:
            mutated = True
            failing.append(i)
            lines.append(f"  {case.label}: changed its input(s) {', '.join(changed)} in place")
    n = len(cases)
    passed = n - len(failing)
    if passed == n:
        return Verdict(check_id, True, key.weight, f"✓ {check_id}: inputs are left unchanged.",
                       cases_passed=n, cases_total=n, status="passed")
    head = (f"✗ {check_id}: inputs left unchanged on {passed} of {n} inputs (only inputs "
            "whose call returned a value can earn this).")
    if len(lines) > SHOWN_FAILURES + 1:
        lines = [*lines[:SHOWN_FAILURES], f"  … and {len(lines) - SHOWN_FAILURES} more inputs"]
    if mutated and in_place is not None and hints != "none":
        lines.append(f"  Likely mistake: {in_place.describe(hints)}")
    return fail("\n".join([head, *lines]),
                mistake=in_place.name if mutated and in_place else None, cases_passed=passed,
                status="partial" if passed else "failed", failing=failing,
                signature="changed inputs in place" if mutated else "no value returned")
