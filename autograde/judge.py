"""Judge one recorded check against the reference answer, in the grading process.

The judgement itself (credit per case, stubs, hint levels, the explanation of every failing
case) is :func:`labkit.checks.judging.decide`, which compares against an answer key; this
module builds that key from the catalog in :mod:`autograde.references` (the reference's
outputs on the grader's cases, the cataloged mistakes' outputs, all computed on first use)
and adds carry-forward: an experiment built on an earlier function that failed with a
recognised mistake is also judged against what that mistake gives.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np

from autograde.references import NO_MUTATION, Expected, base_check, expected, resolve
from labkit import checks
from labkit.checks.encoding import decode, encode
from labkit.checks.judging import CRASHED, AnswerKey, Verdict, decide, is_reported

CHECK_CALL = re.compile(r"""\bcheck\(\s*["']([\w.]+)["']""")


def checks_in(source: str) -> list[str]:
    """The check ids a test cell's source asks for, in order."""
    return CHECK_CALL.findall(source)


def outputs_on(spec: checks.Spec, answer: Any, cases: list[checks.Case], *,
               encoded: bool = False) -> tuple:
    """``answer``'s outputs on ``cases`` in the normal form of a student's recorded values,
    or as recorded (``encoded``, JSON); :data:`CRASHED` where it raises."""
    outputs = []
    with np.errstate(all="ignore"):  # cataloged mistakes may well overflow
        for case in cases:
            try:
                out = spec.run(answer, case)
            except Exception:  # a mistake that crashes on some case just does not match there
                outputs.append(CRASHED)
                continue
            outputs.append(encode(out["value"]) if encoded else decode(encode(out["value"])))
    return tuple(outputs)


@functools.cache
def _outputs_of(check_id: str, which: str) -> tuple:
    """Outputs of the reference (``which="reference"``) or of a cataloged mistake on the
    grader's cases."""
    spec, exp = checks.spec(base_check(check_id)), expected(check_id)
    answer = exp.reference_answer()
    if which != "reference":
        answer = resolve(next(m.answer for m in exp.mistakes if m.name == which))
    return outputs_on(spec, answer, list(spec.cases()))


def _mistake_outputs(check_id: str, name: str) -> tuple | None:
    mistake = next(m for m in expected(check_id).mistakes if m.name == name)
    return None if mistake.answer is None else _outputs_of(check_id, name)


def warm_up(check_ids: list[str]) -> None:
    """Compute the keys every submission is judged against (the reference's outputs and
    every cataloged mistake's on the grader's cases) once, in this process: grading workers
    forked afterwards inherit them instead of each computing its own."""
    for check_id in check_ids:
        for judged in judged_ids(check_id):
            try:
                _outputs_of(base_check(judged), "reference")
                for mistake in expected(judged).mistakes:
                    _mistake_outputs(judged, mistake.name)
            except Exception:  # a key that cannot be computed fails where it is needed
                continue


def answer_key(check_id: str) -> AnswerKey:
    """The key the grader judges ``check_id`` against: its cases and tolerances, the
    reference's outputs and the cataloged mistakes' (each computed when first needed)."""
    exp = expected(check_id)
    return AnswerKey(
        check_id, list(checks.spec(base_check(check_id)).cases()),
        functools.partial(_outputs_of, base_check(check_id), "reference"),
        rtol=exp.rtol, atol=exp.atol, check_dtype=exp.check_dtype, weight=exp.weight,
        all_or_nothing=exp.all_or_nothing, aspect=exp.aspect, mistakes=exp.mistakes,
        mistake_outputs=functools.partial(_mistake_outputs, check_id))


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
    if is_reported(cases):
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
    failed_upstream = _upstream_failures(exp, upstream or {})
    variants = tuple((argument, v.mistake) for argument, v in failed_upstream if v.mistake)

    def carried_forward() -> tuple | None:
        try:
            return _carried_forward(check_id, variants)
        except Exception:  # the mistake breaks the experiment itself: nothing to carry
            return None

    names = ", ".join(f"{v.check_id} ({argument})" for argument, v in failed_upstream)
    usable = failed_upstream and variants and exp.reference_with is not None
    return decide(answer_key(check_id), record, hints,
                  carried_forward=carried_forward if usable else None, upstream=names)
