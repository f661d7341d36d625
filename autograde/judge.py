"""Judge one recorded check against the reference: the verdict, its credit, its explanation.

Pure Python and NumPy (no nbgrader), so the same judgement can run in the grading process
(:mod:`autograde.verdicts`) or, for trusted runs only, inside a kernel.

**Credit per case.** A check's points are split over its cases: an answer right on ``k`` of
``n`` grader-chosen inputs earns ``k/n`` of them, rounded *down* to :data:`CREDIT_STEP`
points (a check declared ``all_or_nothing`` earns all or nothing). An experiment that
reports a dict is judged per key. A case earns nothing when the answer raised or returned
``None``; an answer that does so on every case is "not implemented yet" and earns nothing in
any of its checks, the ``no_mutation`` ones included (inputs are only judged on cases whose
values came back).

**Hint levels** (the course setting ``DecideVerdicts.hints``): ``"diagnosis"`` names a
recognised mistake and describes the shape of the difference, ``"fix"`` also says how to fix
a cataloged mistake, ``"none"`` (exams) shows only input, expected, got and where they differ.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograde.compare import difference, summarize
from autograde.diagnose import across_cases, locate, shape_of_difference
from autograde.references import NO_MUTATION, Expected, base_check, expected, resolve
from labkit import checks
from labkit.checks.encoding import decode, encode

CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([\w.]+)["']""")
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


def checks_in(source: str) -> list[str]:
    """The check ids a test cell's source asks for, in order."""
    return CHECK_CALL.findall(source)


@dataclass(frozen=True)
class _Unit:
    """One judged unit: a case (or one key of a reported dict) with both answers."""

    label: str
    wanted: Any
    got: Any
    error: str | None
    inputs: tuple
    case: checks.Case


@functools.cache
def _outputs_of(check_id: str, which: str) -> tuple:
    """Outputs of the reference (``which="reference"``) or of a cataloged mistake."""
    spec, exp = checks.spec(base_check(check_id)), expected(check_id)
    answer = exp.reference_answer()
    if which != "reference":
        answer = resolve(next(m.answer for m in exp.mistakes if m.name == which))
    outputs = []
    with np.errstate(all="ignore"):  # cataloged mistakes may well overflow
        for case in spec.cases():
            try:
                out = spec.run(answer, case)
            except Exception:  # a mistake that crashes on some case just does not match there
                outputs.append(_CRASHED)
                continue
            outputs.append(decode(encode(out["value"])))  # same normal form as the student's
    return tuple(outputs)


_CRASHED = object()


def _is_stub(result: dict, wanted: Any) -> bool:
    if "error" in result:
        return result["error"].startswith("NotImplementedError")
    return result.get("value") is None and wanted is not None


def _reported(cases: list[checks.Case]) -> bool:
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


def _units(cases: list[checks.Case], wanted: tuple, got: list, errors: list) -> list[_Unit]:
    """The judged units: one per case, or one per part of a reported value."""
    parts = _parts(wanted[0], got[0]) if _reported(cases) and errors[0] is None else None
    if parts is not None:
        return [_Unit(f"{cases[0].label}{where}", w, g, None, (), cases[0])
                for where, w, g in parts]
    return [_Unit(c.label, w, g, e, c.args, c)
            for c, w, g, e in zip(cases, wanted, got, errors, strict=True)]


@functools.cache
def _carried_forward(check_id: str, variants: tuple[tuple[str, str], ...]) -> Any:
    """The check's expected outputs, one per case, when upstream functions hold cataloged
    mistakes (``variants``: pairs of argument name and mistake name)."""
    exp = expected(check_id)
    functions = {}
    for argument, mistake in variants:
        functions[argument] = _mistake_answer(exp.upstream[argument], mistake)
    alternative = exp.reference_with(**functions)
    spec = checks.spec(check_id)
    cases = list(spec.cases())
    if _reported(cases):
        return (decode(encode(alternative)),)
    with np.errstate(all="ignore"):
        return tuple(decode(encode(spec.run(alternative, case)["value"])) for case in cases)


def _upstream_failures(exp: Expected, upstream: dict[str, Verdict]) -> list[tuple[str, Verdict]]:
    """The upstream checks that failed, each as (argument, verdict); a function whose values
    passed but which changed its inputs in place counts by its ``no_mutation`` verdict."""
    failures = []
    for argument, cid in exp.upstream.items():
        for judged in (cid, cid + NO_MUTATION):
            if judged in upstream and not upstream[judged].passed:
                failures.append((argument, upstream[judged]))
                break
    return failures


def _mistake_answer(check_id: str, name: str) -> Any:
    """The answer of the cataloged mistake ``name`` of ``check_id`` or of its derived
    no-mutation check (whose ``in_place`` answer updates the inputs in place)."""
    candidates = [check_id] + ([check_id + NO_MUTATION] if expected(check_id).no_mutation
                               else [])
    for candidate in candidates:
        for mistake in expected(candidate).mistakes:
            if mistake.name == name and mistake.answer is not None:
                return mistake.answer
    raise LookupError(f"{check_id} has no cataloged mistake {name!r} with an answer")


def decide_in_kernel(check_id: str, case_records: list[dict]) -> None:
    """The trusted in-kernel mode of ``labkit.checks.check`` (offered to labkit through the
    ``labkit.in_kernel_judge`` entry point): judge here, raise ``AssertionError`` on a failure."""
    verdicts = [judge(judged, {"cases": case_records}) for judged in judged_ids(check_id)]
    if not all(v.passed for v in verdicts):
        raise AssertionError("\n".join(v.message for v in verdicts))
    print("\n".join(v.message for v in verdicts))


def judged_ids(check_id: str) -> list[str]:
    """The checks one ``check(check_id, …)`` record is judged as: its values and, where the
    reference declares ``no_mutation``, whether the answer left its inputs unchanged."""
    derived = not check_id.endswith(NO_MUTATION) and expected(check_id).no_mutation
    return [check_id, check_id + NO_MUTATION] if derived else [check_id]


def judge(check_id: str, record: dict | None, hints: str = "diagnosis",
          upstream: dict[str, Verdict] | None = None) -> Verdict:
    """Compare one recorded check with the reference; explain every failing case.

    ``upstream`` holds the verdicts of the checks judged before this one in the same
    notebook: an experiment built on a function that failed its own check with a recognised
    mistake is judged against what that mistake gives as well (carry-forward)."""
    exp = expected(check_id)
    cases = list(checks.spec(base_check(check_id)).cases())
    fail = functools.partial(Verdict, check_id, False, exp.weight, cases_total=len(cases),
                             all_or_nothing=exp.all_or_nothing)
    if record is None:
        return fail(f"✗ {check_id}: no answer was recorded (the test cell stopped before "
                    "the check ran, or the check's output was removed).", status="missing",
                    failing=list(range(len(cases))), signature="no record")
    results = record.get("cases")
    if not isinstance(results, list) or len(results) != len(cases) \
            or not all(isinstance(r, dict) for r in results):
        return fail(f"✗ {check_id}: the record of this check is incomplete or was altered.",
                    signature="altered record")
    wanted = _outputs_of(base_check(check_id), "reference")
    if all(_is_stub(r, w) for r, w in zip(results, wanted, strict=True)):
        how = "raises NotImplementedError" if "error" in results[0] else "returns None"
        return fail(f"✗ {check_id}: not implemented yet (it {how} on every input), so none "
                    "of its points can be given.", status="not_implemented",
                    failing=list(range(len(cases))), signature="not implemented")
    if exp.aspect == "inputs_untouched":
        return _judge_untouched(check_id, exp, cases, results, wanted, hints, fail)
    got = [decode(r["value"]) if "value" in r else None for r in results]
    errors = [r.get("error") for r in results]
    units = _units(cases, wanted, got, errors)
    problems = [_problem(exp, u) for u in units]
    passed = [p is None for p in problems]
    failed_upstream = _upstream_failures(exp, upstream or {})
    carried = None
    if not all(passed) and failed_upstream and exp.reference_with is not None:
        variants = tuple((argument, v.mistake) for argument, v in failed_upstream if v.mistake)
        try:
            alternative = _carried_forward(check_id, variants) if variants else None
        except Exception:  # the mistake breaks the experiment itself: nothing to carry
            alternative = None
        if alternative is not None:
            carried = _units(cases, alternative, got, errors)
            if len(carried) == len(units):
                passed = [ok or _problem(exp, c) is None
                          for ok, c in zip(passed, carried, strict=True)]
    k, n = sum(passed), len(units)
    names = ", ".join(f"{v.check_id} ({argument})" for argument, v in failed_upstream)
    if k == n:
        what = ("the reported value is within tolerance" if _reported(cases) else
                f"all {n} grader-chosen inputs give the expected result")
        if carried is not None:
            what = (f"your answer is consistent with your own earlier functions, which "
                    f"failed {names}: that mistake is charged there, once")
        return Verdict(check_id, True, exp.weight, f"✓ {check_id}: {what}.", cases_passed=k,
                       cases_total=n, status="passed", all_or_nothing=exp.all_or_nothing)
    failing = [i for i, ok in enumerate(passed) if not ok]
    credit = ("no partial credit for this check" if exp.all_or_nothing
              else f"credit for {k} of {n}")
    noun = "parts of the reported value" if _reported(cases) else "grader-chosen inputs"
    lines = [f"✗ {check_id}: {k} of {n} {noun} give the expected result ({credit}); "
             f"tolerance: relative {exp.rtol:g}, absolute {exp.atol:g}."]
    shapes = []
    for shown, i in enumerate(failing):
        unit = units[i]
        if shown >= SHOWN_FAILURES:
            rest = [units[j].label for j in failing[shown:]]
            lines.append(f"  Also failing ({len(rest)} more): " + "; ".join(rest)[:600])
            break
        lines.append(f"  Failing input: {unit.label}")
        lines += _case_lines(exp, unit, problems[i])
        shape = None if unit.error else shape_of_difference(
            unit.wanted, unit.got, unit.inputs, rtol=exp.rtol, atol=exp.atol)
        shapes.append(shape)
        if shape and hints != "none":
            lines.append(f"    diagnosis: {shape}")
    pattern = across_cases([u.case for u in units] if not _reported(cases) else [],
                           passed, [u.got for u in units], [u.wanted for u in units])
    if pattern and hints != "none":
        lines.append(f"  Pattern: {pattern}")
    if failed_upstream:
        lines.append(f"  Upstream: this uses your own functions, and {names} failed; the "
                     "difference may well come from there, so fix that check first.")
    mistake = _recognise(exp, check_id, cases, units, failing, got)
    if mistake is not None and hints != "none":
        lines.append(f"  Likely mistake: {mistake.describe(hints)}")
    first = units[failing[0]]
    signature = f"{first.label[:80]} | " + _normalised(shapes[0] or problems[failing[0]])
    return fail("\n".join(lines), mistake=mistake.name if mistake else None,
                cases_passed=k, cases_total=n, status="partial" if k else "failed",
                failing=failing, signature=signature)


def _problem(exp: Expected, unit: _Unit) -> str | None:
    """``None`` when the unit is right, else what is wrong with it."""
    if unit.error is not None:
        if unit.error.startswith("NotImplementedError"):
            return "not implemented yet (raised NotImplementedError)"
        return f"raised {unit.error}"
    return difference(unit.wanted, unit.got, rtol=exp.rtol, atol=exp.atol,
                      check_dtype=exp.check_dtype)


def _case_lines(exp: Expected, unit: _Unit, problem: str) -> list[str]:
    lines = [f"    expected: {summarize(unit.wanted)}"]
    if unit.error is None:
        lines.append(f"    got:      {summarize(unit.got)}")
    lines.append(f"    problem:  {problem}")
    if unit.error is None:
        found = locate(unit.wanted, unit.got, exp.rtol, exp.atol)
        if found is not None:
            first, worst = found
            lines.append(f"    first difference:   {first}")
            if worst != first:
                lines.append(f"    largest difference: {worst}")
    return lines


def _normalised(text: str) -> str:
    """A failure's description with its numbers blanked, so like failures group together."""
    return re.sub(r"[-+]?\d[\d.eE+-]*", "#", text)[:120]


def _recognise(exp: Expected, check_id: str, cases: list[checks.Case], units: list[_Unit],
               failing: list[int], got: list):
    """The cataloged mistake that best explains the failing cases, if any explains most.

    Matching is approximate: a mistake is recognised when it reproduces the student's
    answer (to 4 digits) on at least three quarters of the failing cases (all of them when
    fewer than four fail), so the same idea written another way (real instead of integer
    division on some inputs, say) is still named, but a coincidence on one part is not."""
    if any(units[i].error for i in failing):
        return None
    rtol, atol = max(exp.rtol, 1e-4), max(exp.atol, 1e-8)
    best, best_share = None, 0.0
    for m in exp.mistakes:
        if m.answer is None:
            continue
        outputs = _outputs_of(check_id, m.name)
        if any(output is _CRASHED for output in outputs):
            continue
        mistake_units = _units(cases, outputs, list(outputs), [None] * len(outputs))
        if len(mistake_units) != len(units):
            continue
        hits = sum(difference(mistake_units[i].wanted, units[i].got, rtol=rtol, atol=atol,
                              check_dtype=False) is None for i in failing)
        share = hits / len(failing)
        if share > best_share:
            best, best_share = m, share
    return best if best_share * len(failing) >= math.ceil(0.75 * len(failing)) else None


def _changed(case: checks.Case, result: dict) -> list[str] | None:
    """Names of the arguments the answer changed (``None``: the record has no inputs)."""
    if "inputs" not in result:
        return None
    after = decode(result["inputs"])
    if not isinstance(after, list) or len(after) != len(case.args):
        return None
    before = decode(encode([None if callable(a) else a for a in case.args]))
    return [name for name, b, a in zip(case.names, before, after, strict=False)
            if b is not None and difference(b, a, rtol=0.0, atol=0.0, check_dtype=True)]


def _judge_untouched(check_id, exp, cases, results, wanted, hints, fail) -> Verdict:
    """Inputs left unchanged, judged only on the cases where a value came back."""
    lines, failing = [], []
    in_place = exp.mistakes[0] if exp.mistakes else None
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
        return Verdict(check_id, True, exp.weight, f"✓ {check_id}: inputs are left unchanged.",
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
