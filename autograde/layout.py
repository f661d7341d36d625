"""Where a course directory keeps what: nbgrader's layout plus the grader's own files.

::

    <course>/nbgrader_config.py       loads autograde/nbgrader_config.py
    <course>/gradebook.db
    <course>/source/<exercise>/<exercise>.ipynb      built from exercises/<exercise>/*.md
    <course>/release/<exercise>/<exercise>.ipynb     what students download
    <course>/submitted/<student>/<exercise>/<exercise>.ipynb
    <course>/autograded/<student>/<exercise>/<exercise>.ipynb   executed and judged
    <course>/autograded/<student>/<exercise>/result.json        the same, for programs
    <course>/autograded/<student>/<exercise>/.optbook-graded    hash of what was graded
    <course>/.optbook/staged/<exercise>/<student>.ipynb         a worker's hand-over
    <course>/feedback/…  <course>/reports/<exercise>/…

Every module that needs one of these paths asks this one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = Path(__file__).resolve().parent / "nbgrader_config.py"
MARKER = ".optbook-graded"
RESULT = "result.json"


def submission_digest(path: Path) -> str:
    """Hash of a submitted notebook (missing file → a fixed value)."""
    if not path.exists():
        return "missing"
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass(frozen=True)
class Layout:
    """The paths of one course directory."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root).resolve())

    @property
    def config_stub(self) -> Path:
        return self.root / "nbgrader_config.py"

    @property
    def gradebook_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    @property
    def feedback(self) -> Path:
        return self.root / "feedback"

    def source(self, exercise: str) -> Path:
        return self.root / "source" / exercise / f"{exercise}.ipynb"

    def release(self, exercise: str) -> Path:
        return self.root / "release" / exercise / f"{exercise}.ipynb"

    def submitted(self, student: str, exercise: str) -> Path:
        return self.root / "submitted" / student / exercise / f"{exercise}.ipynb"

    def autograded(self, student: str, exercise: str) -> Path:
        return self.root / "autograded" / student / exercise / f"{exercise}.ipynb"

    def marker(self, student: str, exercise: str) -> Path:
        return self.autograded(student, exercise).with_name(MARKER)

    def result(self, student: str, exercise: str) -> Path:
        return self.autograded(student, exercise).with_name(RESULT)

    def staged(self, exercise: str, student: str | None = None) -> Path:
        """The workers' hand-over folder for ``exercise`` (or one student's notebook in it)."""
        folder = self.root / ".optbook" / "staged" / exercise
        return folder if student is None else folder / f"{student}.ipynb"

    def reports(self, exercise: str) -> Path:
        return self.root / "reports" / exercise

    def students(self, exercise: str) -> list[str]:
        """Students with a submission folder for ``exercise`` (empty or not)."""
        submitted = self.root / "submitted"
        if not submitted.exists():
            return []
        return sorted(p.name for p in submitted.iterdir() if (p / exercise).is_dir())

    def is_graded(self, student: str, exercise: str) -> bool:
        """Whether this exact submission has been graded and recorded already."""
        marker = self.marker(student, exercise)
        return marker.exists() and marker.read_text() == submission_digest(
            self.submitted(student, exercise))

    def write_config_stub(self) -> None:
        """A one-line ``nbgrader_config.py`` loading this book's settings, unless the course
        has its own (so plain ``nbgrader`` commands work in the course directory too)."""
        if not self.config_stub.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            self.config_stub.write_text(f"load_subconfig({str(CONFIG_FILE)!r})\n")

    def config(self, *, cell_timeout: int | None = None, sandbox: bool = True) -> Config:
        """The course's ``nbgrader_config.py`` (which loads this book's settings first, so a
        course can override them, e.g. ``c.DecideVerdicts.hints = "none"`` for an exam),
        with this run's options on top."""
        self.write_config_stub()
        config = PyFileConfigLoader(self.config_stub.name, path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        if cell_timeout is not None:
            config.GradingExecute.timeout = cell_timeout
        if not sandbox:
            config.GradingExecute.sandbox = False
        return config
