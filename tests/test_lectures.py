"""Lecture notebooks: the chapter and its exercise with solutions, executed, outputs kept."""

from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from tests.book import REPO

sys.path.insert(0, str(REPO / "scripts"))
from lectures import chapters, plain_markdown  # noqa: E402


def test_every_chapter_has_a_lecture_source():
    found = chapters()
    pages = sorted(p.name[:2] for p in (REPO / "book").glob("[0-9][0-9]-*.md"))
    assert list(found) == pages
    for page, exercise in found.values():
        assert page.stem == exercise.stem


def test_sphinx_markup_becomes_plain_markdown():
    text = ("(ch-x)=\n# Title\nSee {ref}`the chapter <ch-sgd>` and {ref}`ch-adaptive`, "
            "{cite:p}`kingma2015, reddi2018` and {download}`this <_generated/a.ipynb>`.")
    assert plain_markdown(text) == ("# Title\nSee the chapter and ch-adaptive, "
                                    "[kingma2015, reddi2018] and this.")


@pytest.mark.slow
def test_lecture_notebook_holds_solutions_run_with_their_outputs(tmp_path):
    run = subprocess.run([sys.executable, str(REPO / "scripts" / "lectures.py"), "01", "--slides",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    notebook = nbformat.read(tmp_path / "01-sgd.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code), "a cell did not run"
    sources = "\n".join(cell.source for cell in code)
    assert "### BEGIN SOLUTION" in sources and "NotImplementedError" not in sources
    outputs = [o for cell in code for o in cell.outputs]
    assert not any(o.output_type == "error" for o in outputs)
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # the page's figures
    verdicts = [o.text for o in outputs if o.output_type == "stream" and "✓" in o.text]
    assert len(verdicts) >= 4, "the hidden checks did not pass in the kernel"
    assert (tmp_path / "01-sgd.slides.html").read_text().count("<section") > 10
