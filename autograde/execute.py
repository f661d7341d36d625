"""Run a submission: nbgrader's ``Execute``, made to survive a kernel that dies.

Stock nbgrader abandons the whole submission when the kernel dies (``os._exit``, a crash,
the memory limit), so parts that had already passed score nothing. Here the cell that killed
the kernel and every code cell after it get an error output that says so; the cells before it
keep their results and their points.
"""

from __future__ import annotations

import nbformat
from nbclient.exceptions import DeadKernelError
from nbgrader.preprocessors import Execute


def _error(ename: str, evalue: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=[
        f"{ename}: {evalue}"])


class GradingExecute(Execute):
    """nbgrader's ``Execute`` that records a dead kernel instead of aborting the notebook."""

    def preprocess(self, nb, resources=None, km=None):
        self._kernel_died_at = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._kernel_died_at is not None:
            cell.outputs = [_error("KernelDied", "not run: the kernel had died in an earlier "
                                   "cell")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._kernel_died_at = index
            self.log.warning("kernel died in cell %d", index)
            cell.outputs = list(cell.get("outputs", [])) + [_error(
                "KernelDied", "the kernel died while running this cell (os._exit, a crash, or "
                "a resource limit); later cells were not run")]
            return cell, resources
