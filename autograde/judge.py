"""Judge one recorded check against the reference: the verdict and how to explain it.

Pure Python and NumPy (no nbgrader), so the same judgement can run in the grading process
(:mod:`autograde.verdicts`) or, for trusted runs only, inside a kernel.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from autograde.compare import difference, summarize
from autograde.references import Expected, expected
from labkit import checks
from labkit.checks.encoding import decode, encode

CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([\w.]+)["']""")


@dataclass
class Verdict:
    """The outcome of one check on one submission."""

    check_id: str
    passed: bool
    weight: float
    message: str
    mistake: str | None = None
    cases_passed: int = 0
    cases_total: int = 0


def checks_in(source: str) -> list[str]:
    """The check ids a test cell's source asks for, in order."""
    return CHECK_CALL.findall(source)


@functools.cache
def _outputs_of(check_id: str, which: str) -> tuple:
    """Outputs of the reference (``which="reference"``) or of a cataloged mistake."""
    spec, exp = checks.spec(check_id), expected(check_id)
    answer = exp.reference
    if which != "reference":
        answer = next(m.answer for m in exp.mistakes if m.name == which)
    outputs = []
    with np.errstate(all="ignore"):  # cataloged mistakes may well overflow
        for case in spec.cases():
            out = spec.run(answer, case)
            outputs.append(decode(encode(out["value"])))  # same normal form as the student's
    return tuple(outputs)


def _matches(exp: Expected, wanted: tuple, got: list) -> bool:
    return all(difference(w, g, rtol=exp.rtol, atol=exp.atol, check_dtype=exp.check_dtype)
               is None for w, g in zip(wanted, got, strict=True))


def judge(check_id: str, record: dict | None) -> Verdict:
    """Compare one recorded check with the reference; explain the first failure."""
    exp = expected(check_id)
    cases = list(checks.spec(check_id).cases())
    fail = functools.partial(Verdict, check_id, False, exp.weight, cases_total=len(cases))
    if record is None:
        return fail(f"✗ {check_id}: no answer was recorded (the test cell stopped before "
                    "the check ran, or the check's output was removed).")
    results = record.get("cases")
    if not isinstance(results, list) or len(results) != len(cases):
        return fail(f"✗ {check_id}: the record of this check is incomplete or was altered.")
    errors = [(i, r["error"]) for i, r in enumerate(results) if "error" in r]
    if exp.aspect == "inputs_untouched":
        return _judge_untouched(check_id, exp, cases, results, errors, fail)
    got = [decode(r["value"]) if "value" in r else None for r in results]
    wanted = _outputs_of(check_id, "reference")
    failures = []
    for i, (case, w, g) in enumerate(zip(cases, wanted, got, strict=True)):
        if "error" in results[i]:
            failures.append((case, w, None, f"raised {results[i]['error']}"))
            continue
        diff = difference(w, g, rtol=exp.rtol, atol=exp.atol, check_dtype=exp.check_dtype)
        if diff:
            failures.append((case, w, g, diff))
    passed = len(cases) - len(failures)
    if len(cases) == 1 and not cases[0].args:  # a reported value (an experiment's result)
        if not failures:
            return Verdict(check_id, True, exp.weight, f"✓ {check_id}: the reported value is "
                           "within tolerance.", cases_passed=1, cases_total=1)
        _, w, g, diff = failures[0]
        lines = [f"✗ {check_id}: the reported value is not within tolerance (relative "
                 f"{exp.rtol:g}, absolute {exp.atol:g}).", f"    got:      {summarize(g)}",
                 f"    problem:  {diff}"]
        mistake = _recognise(exp, check_id, got, errors, lines)
        return fail("\n".join(lines), mistake=mistake)
    if not failures:
        return Verdict(check_id, True, exp.weight,
                       f"✓ {check_id}: all {len(cases)} grader-chosen inputs give the "
                       "expected result.", cases_passed=passed, cases_total=len(cases))
    case, w, g, diff = failures[0]
    lines = [f"✗ {check_id}: {passed} of {len(cases)} grader-chosen inputs give the expected "
             "result.", f"  First failing input: {case.label}",
             f"    expected: {summarize(w)}"]
    if g is not None:
        lines.append(f"    got:      {summarize(g)}")
    lines.append(f"    problem:  {diff}")
    mistake = _recognise(exp, check_id, got, errors, lines)
    return fail("\n".join(lines), mistake=mistake, cases_passed=passed)


def _recognise(exp: Expected, check_id: str, got: list, errors: list,
               lines: list[str]) -> str | None:
    """Name the first cataloged mistake reproducing ``got``; append its hint to ``lines``."""
    if errors:
        return None
    for m in exp.mistakes:
        if m.answer is not None and _matches(exp, _outputs_of(check_id, m.name), got):
            lines.append(f"  Likely mistake: {m.hint}")
            return m.name
    return None


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


def _judge_untouched(check_id, exp, cases, results, errors, fail) -> Verdict:
    if errors:
        i, error = errors[0]
        return fail(f"✗ {check_id}: could not be checked, the function raised {error} on "
                    f"input {cases[i].label}.")
    for case, result in zip(cases, results, strict=True):
        changed = _changed(case, result)
        if changed is None:
            return fail(f"✗ {check_id}: the record of this check is incomplete or was "
                        "altered.")
        if changed:
            hint = exp.mistakes[0].hint if exp.mistakes else ""
            mistake = exp.mistakes[0].name if exp.mistakes else None
            return fail(f"✗ {check_id}: the function changed its input(s) {', '.join(changed)} "
                        f"in place (input: {case.label}).\n  Likely mistake: {hint}".rstrip(),
                        mistake=mistake)
    return Verdict(check_id, True, exp.weight, f"✓ {check_id}: inputs are left unchanged.",
                   cases_passed=len(cases), cases_total=len(cases))
