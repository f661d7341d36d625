"""Decide hidden checks outside the student's kernel (DESIGN.md, principle 2).

After the submission has run, each autograded test cell holds the records that
:func:`labkit.checks.check` displayed. :class:`DecideVerdicts` (an nbgrader preprocessor that
runs in the grading process) reads the check ids from the cell's *source* (which nbgrader has
restored from the gradebook, so the student cannot edit it), regenerates the grader's inputs,
runs the reference from ``solutions/`` on them, compares, and rewrites the cell's outputs so
that nbgrader's own scoring (error → 0, a number → partial credit) gives the verdict's points.
"""

from __future__ import annotations

from dataclasses import asdict

import nbformat
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Enum

from autograde.judge import checks_in, judge, judged_ids
from autograde.references import expected
from labkit import checks
from labkit.checks.judging import HINT_LEVELS, Verdict, cell_score


def _judge_safely(check_id: str, record: dict | None, hints: str,
                  upstream: dict[str, Verdict]) -> Verdict:
    """:func:`judge`, but a record that breaks the comparison fails only its own check."""
    try:
        return judge(check_id, record, hints, upstream)
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
    * the points follow the verdicts alone (:func:`labkit.checks.judging.cell_score`: each check's
      share of the cell by weight, credit per case rounded down to a quarter point); no
      credit at all → an error output, nbgrader's zero. An in-kernel error (e.g. a visible assert
      the student disabled or failed) neither costs nor earns anything by itself, so
      monkeypatching the visible tests changes nothing.
    The verdicts are kept in ``cell.metadata.optbook`` for class reports.
    """

    stderr_is_harmless = Bool(
        True, help="Turn stderr output of test cells into stdout (warnings are not errors)."
    ).tag(config=True)

    hints = Enum(
        list(HINT_LEVELS), default_value="diagnosis",
        help="How much feedback reveals: 'diagnosis' names a recognised mistake and the shape "
             "of the difference, 'fix' also says how to fix a cataloged mistake, 'none' (exams) "
             "shows input, expected and got only."
    ).tag(config=True)

    def preprocess(self, nb, resources):
        self._judged: dict[str, Verdict] = {}  # earlier checks, for carry-forward
        return super().preprocess(nb, resources)

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
            elif output.output_type == "error" and ids:
                # The verdicts decide; an in-kernel error (a failed visible assert, say) is
                # reported without its traceback, which would quote the hidden test code.
                outputs.append(_stream(f"{output.ename}: {output.evalue}"[:2000]))
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
        for recorded_id in ids:
            found = records.get(recorded_id, [])
            for check_id in judged_ids(recorded_id):
                if len(found) > 1:
                    verdicts.append(Verdict(check_id, False, expected(check_id).weight,
                                            f"✗ {check_id}: recorded more than once; the "
                                            "record was tampered with."))
                else:
                    verdicts.append(_judge_safely(check_id, found[0] if found else None,
                                                  self.hints, self._judged))
                self._judged[check_id] = verdicts[-1]
        points = float(cell.metadata["nbgrader"]["points"])
        score = cell_score(verdicts, points)
        outputs.append(_stream("\n".join(v.message for v in verdicts)))
        if score == 0:
            outputs.append(nbformat.v4.new_output(
                "error", ename="WrongAnswer",
                evalue=f"0 of {points:g} points ({sum(v.passed for v in verdicts)} of "
                       f"{len(verdicts)} check(s) passed)", traceback=[]))
        elif score < points:
            outputs.append(nbformat.v4.new_output(
                "execute_result", data={"text/plain": repr(score)}, execution_count=None))
        cell.outputs = outputs
        cell.metadata["optbook"] = {"verdicts": [asdict(v) for v in verdicts]}
        return cell, resources
