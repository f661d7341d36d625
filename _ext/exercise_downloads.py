"""Generate every exercise's student notebook before the book is read, so chapter pages can
offer it with ``{download}`exercise notebook <_generated/NN-slug.ipynb>```.

The notebook is made exactly as an instructor releases it (``autograde.course.Course.release``:
nbgrader's generate_assignment, so no solutions and no hidden tests) in a throw-away course
directory. A notebook is regenerated only when its exercise source changed: the source's hash
is kept next to it.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging as sphinx_logging

LOGGER = sphinx_logging.getLogger(__name__)
GENERATED = Path("book") / "_generated"


def _digest(path: Path) -> str:
    """Of the exercise's source and of the cells the release adds to it (setup, self-check)."""
    from autograde.publish import exercise_ready_cells, exercise_setup_cell

    added = [exercise_setup_cell(), *exercise_ready_cells(path.stem)]
    return hashlib.sha256(path.read_bytes() + repr(added).encode()).hexdigest()


def generate(srcdir: Path) -> list[str]:
    """Write ``book/_generated/<exercise>.ipynb`` for every stale exercise; returns their ids."""
    from autograde.course import EXERCISES, Course, exercise_ids

    out = srcdir / GENERATED
    out.mkdir(parents=True, exist_ok=True)
    stale = []
    for exercise in exercise_ids():
        digest = _digest(EXERCISES / exercise / f"{exercise}.md")
        stamp = out / f"{exercise}.sha256"
        if (out / f"{exercise}.ipynb").exists() and stamp.exists() and \
                stamp.read_text() == digest:
            continue
        stale.append((exercise, digest))
    if stale:
        with tempfile.TemporaryDirectory() as course_dir:
            course = Course(course_dir)
            for exercise, digest in stale:
                shutil.copyfile(course.release(exercise), out / f"{exercise}.ipynb")
                (out / f"{exercise}.sha256").write_text(digest)
    return [exercise for exercise, _ in stale]


def _on_builder_inited(app: Sphinx) -> None:
    made = generate(Path(app.srcdir))
    if made:
        LOGGER.info(f"[exercise_downloads] released {len(made)} exercise notebook(s)")


def setup(app: Sphinx) -> dict:
    app.connect("builder-inited", _on_builder_inited)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
