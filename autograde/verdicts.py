"""Decide hidden checks outside the student's kernel (DESIGN.md, principle 2).

After the submission has run, each autograded test cell holds the records that
:func:`labkit.checks.check` displayed. :class:`DecideVerdicts` (an nbgrader preprocessor that
runs in the grading process) reads the check ids from the cell's *source* (which nbgrader has
restored from the gradebook, so the student cannot edit it), regenerates the grader's inputs,
runs the reference from ``solutions/`` on them, compares, and rewrites the cell's outputs so
that nbgrader's own scoring (error → 0, a number → partial credit) gives the verdict's points.
"""

from __future__ import annotations

import functools
import re
from dataclasses import asdict, dataclass

import nbformat
import numpy as np
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool

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


def _judge_untouched(check_id, exp, cases, results, errors, fail) -> Verdict:
    if errors:
        i, error = errors[0]
        return fail(f"✗ {check_id}: could not be checked, the function raised {error} on "
                    f"input {cases[i].label}.")
    for case, result in zip(cases, results, strict=True):
        if result.get("mutated"):
            names = ", ".join(result["mutated"])
            hint = exp.mistakes[0].hint if exp.mistakes else ""
            mistake = exp.mistakes[0].name if exp.mistakes else None
            return fail(f"✗ {check_id}: the function changed its input(s) {names} in place "
                        f"(input: {case.label}).\n  Likely mistake: {hint}".rstrip(),
                        mistake=mistake)
    return Verdict(check_id, True, exp.weight, f"✓ {check_id}: inputs are left unchanged.",
                   cases_passed=len(cases), cases_total=len(cases))


def _judge_safely(check_id: str, record: dict | None) -> Verdict:
    """:func:`judge`, but a record that breaks the comparison fails only its own check."""
    try:
        return judge(check_id, record)
    except Exception as error:  # a malformed or hostile record: fail it, keep grading
        return Verdict(check_id, False, expected(check_id).weight,
                       f"✗ {check_id}: the recorded answer could not be compared "
                       f"({type(error).__name__}).")


def _stream(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=text + "\n")


class DecideVerdicts(NbGraderPreprocessor):
    """Rewrite autograded test cells' outputs from verdicts decided in the grading process.

    * stderr in a test cell becomes stdout, so a warning never costs a correct answer;
    * check records and any ``execute_result`` (which nbgrader would read as partial credit)
      are removed and replaced by the grader's messages;
    * all checks pass → full points; some → partial credit by weight; none → an error output.
    The verdicts are kept in ``cell.metadata.optbook`` for class reports.
    """

    stderr_is_harmless = Bool(
        True, help="Turn stderr output of test cells into stdout (warnings are not errors)."
    ).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not utils.is_grade(cell) or utils.is_solution(cell):
            return cell, resources
        ids = checks_in(cell.source)
        records: dict[str, list[dict]] = {}
        outputs = []
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if output.output_type in ("display_data", "execute_result") and checks.MIME in data:
                record = data[checks.MIME]
                key = record.get("check") if isinstance(record, dict) else None
                records.setdefault(str(key), []).append(record)
            elif output.output_type == "execute_result" and ids:
                continue  # only the grader may award partial credit
            elif output.output_type == "stream" and output.name == "stderr":
                if self.stderr_is_harmless:
                    output.name = "stdout"
                outputs.append(output)
            else:
                outputs.append(output)
        if not ids:
            cell.outputs = outputs
            return cell, resources
        verdicts = []
        for check_id in ids:
            found = records.get(check_id, [])
            if len(found) > 1:
                verdicts.append(Verdict(check_id, False, expected(check_id).weight,
                                        f"✗ {check_id}: recorded more than once; the record "
                                        "was tampered with."))
            else:
                verdicts.append(_judge_safely(check_id, found[0] if found else None))
        total = sum(v.weight for v in verdicts)
        earned = sum(v.weight for v in verdicts if v.passed)
        points = float(cell.metadata["nbgrader"]["points"])
        outputs.append(_stream("\n".join(v.message for v in verdicts)))
        if earned == 0:
            outputs.append(nbformat.v4.new_output(
                "error", ename="WrongAnswer",
                evalue=f"0 of {len(verdicts)} check(s) passed", traceback=[]))
        elif earned < total:
            score = round(points * earned / total, 4)
            outputs.append(nbformat.v4.new_output(
                "execute_result", data={"text/plain": repr(score)}, execution_count=None))
        cell.outputs = outputs
        cell.metadata["optbook"] = {"verdicts": [asdict(v) for v in verdicts]}
        return cell, resources
