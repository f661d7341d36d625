"""Make a submitted notebook gradable whatever the student did to its cells and outputs.

nbgrader's ``OverwriteCells`` restores edited graded cells from the gradebook, but a few edits
make it raise, and then the whole submission scores 0 although some answers were right:

* a graded cell whose ``solution`` or ``grade`` flag was flipped ("Inconsistent checksums");
* a graded cell the student made up (an unknown ``grade_id``) or one whose ``nbgrader``
  metadata DeduplicateIds emptied (a ``KeyError``);
* a deleted graded cell whose neighbour in the source notebook is a plain locked cell, or was
  deleted too (a ``KeyError`` in ``add_missing_grade_cells``).

:class:`RestoreCells` handles all of them: every cell the gradebook knows gets its metadata back
from the source, unknown graded cells become ordinary cells (they earn nothing), and a missing
graded cell goes back after the nearest earlier source cell that is still there.

:class:`CapOutputs` bounds what a submission can print: nbgrader's ``LimitOutput`` counts
lines, so a few megabyte-long lines, or one huge display, would end up in the graded notebook
and in the student's feedback.
"""

from __future__ import annotations

import json

import nbformat
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import NbGraderPreprocessor, OverwriteCells
from traitlets import Int

from labkit.checks import MIME


class RestoreCells(OverwriteCells):
    """``OverwriteCells`` that survives any change to the notebook's graded cells."""

    def preprocess_cell(self, cell, resources, cell_index):
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            return cell, resources
        grade_id = meta.get("grade_id")
        if not grade_id:  # emptied by DeduplicateIds (a copied cell), or never named
            del cell.metadata["nbgrader"]
            return cell, resources
        ids = (grade_id, self.notebook_id, self.assignment_id)
        try:
            self.gradebook.find_source_cell(*ids)
        except MissingEntry:  # a cell the student marked graded: it earns nothing
            self.log.warning("Cell %r is not in the source notebook; grading it as plain",
                             grade_id)
            del cell.metadata["nbgrader"]
            return cell, resources
        # The flags come from the source, so the checksum re-check below holds.
        meta["grade"] = self._exists(self.gradebook.find_graded_cell, ids)
        meta["solution"] = self._exists(self.gradebook.find_solution_cell, ids)
        meta.setdefault("points", 0)
        return super().preprocess_cell(cell, resources, cell_index)

    @staticmethod
    def _exists(find, ids) -> bool:
        try:
            find(*ids)
        except MissingEntry:
            return False
        return True

    def add_missing_grade_cells(self, nb, resources):
        """Put each deleted graded cell back after the nearest earlier source cell present."""
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in source_nb.source_cells]
        sources = {cell.name: cell for cell in source_nb.source_cells}
        solutions = {cell.name for cell in source_nb.solution_cells}
        for grade_cell in source_nb.grade_cells:
            present = {c.metadata.get("nbgrader", {}).get("grade_id"): i
                       for i, c in enumerate(nb.cells)}
            if grade_cell.name in present:
                continue
            self.log.warning("Graded cell %r is missing; adding it back", grade_cell.name)
            cell = self.missing_cell_transform(sources[grade_cell.name], grade_cell.max_score,
                                               is_solution=grade_cell.name in solutions)
            earlier = order[:order.index(grade_cell.name)]
            at = next((present[name] + 1 for name in reversed(earlier) if name in present), 0)
            nb.cells.insert(at, cell)
        return nb, resources


def _size(output) -> int:
    return len(json.dumps(output, default=str))


def _note(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=text)


class CapOutputs(NbGraderPreprocessor):
    """Bound the bytes of outputs: per output, per cell and per notebook.

    A stream output keeps its beginning and an error its name and message; any other output
    over the limit is replaced by a note. Records of hidden checks are left whole:
    :class:`autograde.verdicts.DecideVerdicts` reads and then removes them.
    """

    max_output_bytes = Int(100_000, help="Largest single output kept.").tag(config=True)
    max_cell_bytes = Int(300_000, help="Output bytes kept per cell.").tag(config=True)
    max_notebook_bytes = Int(2_000_000, help="Output bytes kept per notebook."
                             ).tag(config=True)

    def preprocess(self, nb, resources):
        self._left = self.max_notebook_bytes
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        budget = min(self.max_cell_bytes, self._left)
        kept, dropped = [], 0
        for output in cell.get("outputs", []):
            if MIME in output.get("data", {}):
                kept.append(output)
                continue
            room = min(self.max_output_bytes, budget)
            size = _size(output)
            if size > room and output.output_type == "stream" and room > 200:
                text = output.text if isinstance(output.text, str) else "".join(output.text)
                output.text = (text[: room - 200] + f"\n… output cut: {size:,} bytes, more "
                               f"than the {room:,} kept\n")
                size = _size(output)
            if size > room and output.output_type == "error":  # keep the error, not its bulk
                evalue = str(output.get("evalue", ""))[:1000]
                output = nbformat.v4.new_output("error", ename=str(output.get("ename"))[:200],
                                                evalue=evalue, traceback=[evalue])
                size = _size(output)
            if size > room:
                dropped += size
                continue
            budget -= size
            kept.append(output)
        if dropped:
            kept.append(_note(f"… {dropped:,} bytes of output removed (limit: "
                              f"{self.max_output_bytes:,} per output, {self.max_cell_bytes:,} "
                              f"per cell, {self.max_notebook_bytes:,} per notebook)\n"))
        self._left -= min(self.max_cell_bytes, self._left) - budget
        cell.outputs = kept
        return cell, resources

