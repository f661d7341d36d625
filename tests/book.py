"""Build the book the way `make book` does (its PDF included), and read its table of contents."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
HTML = REPO / "_build" / "html"


@dataclass
class BuiltBook:
    html: Path
    process: subprocess.CompletedProcess
    pdf: subprocess.CompletedProcess | None  # `make pdf`'s run, when the HTML build succeeded


def toc_files() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def chapter_pages() -> list[str]:
    """Numbered chapter pages of the table of contents (``book/04-adaptive``, …)."""
    return [page for page in toc_files() if Path(page).name[:2].isdigit()]


def build_book() -> BuiltBook:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    process = subprocess.run(
        [str(jupyter_book), "build", str(REPO), "--builder", "html", "-W", "-n",
         "--keep-going"], capture_output=True, text=True, env=env, timeout=1500)
    pdf = None
    if process.returncode == 0:
        pdf = subprocess.run([sys.executable, str(REPO / "scripts" / "pdf.py")],
                             capture_output=True, text=True, env=env, timeout=900)
    return BuiltBook(HTML, process, pdf)


def executed_notebook(page: str):
    """The page as executed for the book: read as myst-nb reads it, with the outputs the
    build cached (``None`` for a page without code, or one missing from the cache)."""
    from jupyter_cache import get_cache
    from myst_nb.core.read import is_myst_markdown_notebook, myst_nb_reader_plugin

    path = REPO / f"{page}.md"
    if not is_myst_markdown_notebook(path.read_text("utf8")):
        return None
    notebook = myst_nb_reader_plugin(str(path))
    if not any(cell.cell_type == "code" for cell in notebook.cells):
        return None
    cache = get_cache(str(REPO / "_build" / ".jupyter_cache"))
    try:
        return cache.merge_match_into_notebook(notebook)[1]
    except KeyError:
        return None
