"""``optbook-grade check NOTEBOOK``: can this notebook be graded, and how will it fare?

For a student (or a teaching assistant helping one) before submitting: the notebook is run the
way the grader runs it — a fresh kernel, every cell in order, the grader's time limits — and
checked for what makes a submission lose points for reasons other than its answers: a renamed
file, deleted or duplicated cells, a cell that fails or runs too long, a function that is not
defined. Its last cell, the self-check (:func:`labkit.check_ready`), then says how the answers
fare on practice inputs with the grader's kind of feedback. No hidden test and no reference
answer is involved: this runs the student's notebook and labkit only.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from traitlets.config.loader import PyFileConfigLoader

from autograde.course import REPO, exercise_ids, exercise_notebook
from autograde.execute import GradingExecute
from autograde.publish import READY_CELL_ID


@dataclass
class NotebookCheck:
    """What :func:`check_notebook` found; ``ready`` when nothing stands in the way."""

    notebook: Path
    exercise: str | None = None
    problems: list[str] = field(default_factory=list)
    self_check: str = ""
    seconds: float = 0.0

    @property
    def ready(self) -> bool:
        return not self.problems and "Ready:" in self.self_check

    def report(self) -> str:
        lines = [f"{self.notebook.name}: " + ("ready to submit" if self.ready else
                                              "NOT ready to submit")]
        lines += [f"  ✗ {problem}" for problem in self.problems]
        if self.self_check:
            lines += ["", "Self-check (practice inputs, the grader's feedback):",
                      self.self_check]
        lines.append(f"\n(ran in {self.seconds:.1f} s in a fresh kernel)")
        return "\n".join(lines)


def grading_limits() -> tuple[int, int]:
    """The grader's seconds per cell and per notebook (``nbgrader_config.py``)."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "autograde")).load_config()
    per_cell = int(config.GradingExecute.get("timeout", 60))
    default = GradingExecute.class_traits()["notebook_timeout"].default_value
    return per_cell, int(config.GradingExecute.get("notebook_timeout", default))


def _grade_ids(notebook) -> list[str]:
    return [cell.metadata["nbgrader"]["grade_id"] for cell in notebook.cells
            if "grade_id" in cell.metadata.get("nbgrader", {})]


def _structure_problems(notebook, exercise: str) -> list[str]:
    wanted, found = _grade_ids(exercise_notebook(exercise)), _grade_ids(notebook)
    problems = []
    missing = [g for g in wanted if g not in found]
    if missing:
        problems.append(f"cells missing (deleted, or their metadata lost): {', '.join(missing)}"
                        " — the grader gives their points 0; start again from a fresh copy "
                        "and paste your answers in")
    doubled = sorted({g for g in found if found.count(g) > 1})
    if doubled:
        problems.append(f"cells copied: {', '.join(doubled)} — delete the copies (the grader "
                        "refuses duplicated cells)")
    return problems


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif output.output_type in ("execute_result", "display_data"):
            parts.append(output.get("data", {}).get("text/plain", ""))
        elif output.output_type == "error":
            parts.append(f"{output.ename}: {output.evalue}")
    return "".join(parts).strip()


def check_notebook(path: str | Path) -> NotebookCheck:
    """Run the notebook at ``path`` as the grader would and say what stands in the way."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    path = Path(path)
    result = NotebookCheck(path)
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:
        result.problems.append(f"not a readable notebook ({type(error).__name__}): the grader "
                               "cannot open it either")
        return result
    exercise = path.stem if path.stem in exercise_ids() else None
    if exercise is None:
        by_cells = [e for e in exercise_ids() if READY_CELL_ID in _grade_ids(notebook)
                    and any(e in cell.source for cell in notebook.cells[-1:])]
        exercise = by_cells[0] if by_cells else None
        result.problems.append(f"the file is named {path.name}; the grader looks for "
                               f"{exercise or 'NN-name'}.ipynb — rename it back")
    if exercise is None:
        return result
    result.exercise = exercise
    result.problems += _structure_problems(notebook, exercise)
    per_cell, per_notebook = grading_limits()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        for sibling in path.parent.iterdir():  # data files the notebook may read
            if sibling.is_file() and sibling.stat().st_size < 50_000_000 and sibling != path:
                shutil.copy(sibling, scratch)
        manager = KernelManager(kernel_name="python3", transport="ipc",
                                ip=str(Path(scratch) / ".kernel-ipc"))
        client = NotebookClient(notebook, km=manager, timeout=per_cell, allow_errors=True,
                                resources={"metadata": {"path": scratch}})
        try:
            client.execute()
        except CellTimeoutError:
            result.problems.append(f"a cell ran longer than the grader's {per_cell} s per cell")
        except DeadKernelError:
            result.problems.append("the kernel died while running the notebook (out of "
                                   "memory, or the code ended the process)")
        finally:
            if manager.has_kernel:
                manager.shutdown_kernel(now=True)
    result.seconds = time.perf_counter() - start
    if result.seconds > per_notebook:
        result.problems.append(f"the notebook took {result.seconds:.0f} s; the grader stops a "
                               f"notebook after {per_notebook} s")
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "a cell")
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if grade_id == READY_CELL_ID:
            result.self_check = _text(cell)
        elif errors and errors[0].ename == "NotImplementedError":
            result.problems.append(f"{grade_id}: not implemented yet (NotImplementedError)")
        elif errors:  # the first line says what failed; the self-check below says more
            first = next((line for line in errors[0].evalue.splitlines() if line.strip()), "")
            result.problems.append(f"{grade_id}: {errors[0].ename}: {first}"[:200])
    return result
