"""The book builds with Sphinx warnings as errors, and every page executes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent


def _toc_files() -> list[str]:
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


@pytest.mark.slow
def test_book_builds_without_warnings_and_executes_every_page():
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    build = subprocess.run(
        [str(jupyter_book), "build", str(REPO), "--builder", "html", "-W", "-n",
         "--keep-going"], capture_output=True, text=True, env=env, timeout=1200)
    assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-3000:]
    html = REPO / "_build" / "html"
    for page in _toc_files():
        assert (html / f"{page}.html").exists(), page
    # Every code page ran: its executed notebook holds outputs and no error.
    executed = REPO / "_build" / "jupyter_execute"
    for page in _toc_files():
        notebook = executed / f"{page}.ipynb"
        if not notebook.exists():  # pages without code cells are not executed
            continue
        cells = json.loads(notebook.read_text())["cells"]
        outputs = [o for c in cells if c["cell_type"] == "code" for o in c.get("outputs", [])]
        assert not any(o["output_type"] == "error" for o in outputs), page
        assert not any(o.get("name") == "stderr" for o in outputs), page


def test_every_toc_entry_exists_and_chapters_have_exercises():
    for page in _toc_files():
        assert (REPO / f"{page}.md").exists(), page
    chapter_pages = [p for p in _toc_files() if Path(p).name[:2].isdigit()]
    for page in chapter_pages:
        number = Path(page).name[:2]
        assert any(d.name.startswith(number) for d in (REPO / "exercises").iterdir()), page
