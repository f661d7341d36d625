"""Build the instructors' lecture notebooks: for every chapter, its page followed by its
exercise with the solutions filled in, executed, outputs included.

    python scripts/lectures.py                # all chapters -> _build/lectures/NN-slug.ipynb
    python scripts/lectures.py 04 07 --slides  # some chapters, plus reveal.js slide decks

The exercise's hidden checks are decided inside the kernel (``OPTBOOK_VERDICTS_IN_KERNEL``),
so the lecture shows the reference passing them; never grade students that way. Sphinx-only
markup (labels, citations, cross-references) is turned into plain Markdown so the notebook
reads well in Jupyter. Chapters run in parallel, one per core.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import jupytext
import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "_build" / "lectures"

_LABEL = re.compile(r"^\([\w-]+\)=\s*$\n?", re.MULTILINE)
_ROLE_WITH_TEXT = re.compile(r"\{(?:ref|doc|download|numref)\}`([^`<]*?)\s*<[^`>]*>`")
_ROLE = re.compile(r"\{(?:ref|doc|numref|download)\}`([^`]*)`")
_CITE = re.compile(r"\{cite(?::[pt])?\}`([^`]*)`")


def plain_markdown(text: str) -> str:
    """Sphinx/MyST-only markup as plain Markdown: labels dropped, roles reduced to their text,
    citations to their keys in brackets."""
    text = _LABEL.sub("", text)
    text = _ROLE_WITH_TEXT.sub(r"\1", text)
    text = _ROLE.sub(r"\1", text)
    return _CITE.sub(lambda m: "[" + ", ".join(k.strip() for k in m.group(1).split(",")) + "]",
                     text)


def chapters() -> dict[str, tuple[Path, Path]]:
    """``{"04": (book page, exercise source)}`` for every chapter that has both."""
    pages = {p.name[:2]: p for p in (REPO / "book").glob("[0-9][0-9]-*.md")}
    found = {}
    for number, page in sorted(pages.items()):
        exercises = sorted((REPO / "exercises").glob(f"{number}-*/{number}-*.md"))
        if exercises:
            found[number] = (page, exercises[0])
    return found


def lecture_notebook(page: Path, exercise: Path) -> nbformat.NotebookNode:
    """The page's cells, a divider, then the exercise's cells (solutions and hidden tests
    included), as one notebook."""
    new = nbformat.v4
    cells = []
    for cell in jupytext.read(page).cells:
        cells.append(new.new_markdown_cell(plain_markdown(cell.source))
                     if cell.cell_type == "markdown" else new.new_code_cell(cell.source))
    cells.append(new.new_markdown_cell(
        f"# Exercise {exercise.stem[:2]}, with solutions (instructor copy)\n\n"
        "Below: the graded exercise of this chapter with the reference answers filled in. "
        "Its hidden checks are decided in this kernel and print their verdicts."))
    for cell in jupytext.read(exercise).cells:
        cells.append(new.new_markdown_cell(cell.source) if cell.cell_type == "markdown"
                     else new.new_code_cell(cell.source))
    return new.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})


def mark_slides(notebook: nbformat.NotebookNode) -> None:
    """A new slide at every heading, code and figures as sub-slides of their text."""
    for cell in notebook.cells:
        heading = cell.cell_type == "markdown" and cell.source.lstrip().startswith("#")
        kind = "slide" if heading else "subslide" if cell.cell_type == "code" else "-"
        cell.metadata["slideshow"] = {"slide_type": kind}


def build(number: str, page: Path, exercise: Path, slides: bool = False, out: Path = OUT
          ) -> tuple[str, float]:
    start = time.perf_counter()
    notebook = lecture_notebook(page, exercise)
    os.environ["OPTBOOK_VERDICTS_IN_KERNEL"] = "1"
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(REPO / "book")}}).execute()
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{page.stem}.ipynb"
    nbformat.write(notebook, target)
    if slides:
        from nbconvert import SlidesExporter

        mark_slides(notebook)
        html, _ = SlidesExporter().from_notebook_node(notebook)
        (out / f"{page.stem}.slides.html").write_text(html)
    return str(target), time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="chapter numbers (default: all)")
    parser.add_argument("--slides", action="store_true", help="also export reveal.js slides")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=OUT, help=f"folder (default {OUT})")
    args = parser.parse_args(argv)
    available = chapters()
    wanted = [n.zfill(2) for n in args.chapters] or list(available)
    unknown = [n for n in wanted if n not in available]
    if unknown:
        parser.error(f"no chapter {', '.join(unknown)} (have {', '.join(available)})")
    failed = 0
    with ProcessPoolExecutor(max_workers=min(args.jobs, len(wanted))) as pool:
        futures = {n: pool.submit(build, n, *available[n], args.slides, args.out) for n in wanted}
        for number, future in futures.items():
            try:
                path, seconds = future.result()
                print(f"{number}: {path} ({seconds:.1f} s)")
            except Exception as error:  # report every chapter, then fail
                failed += 1
                print(f"{number}: FAILED — {type(error).__name__}: {str(error)[-2000:]}",
                      file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
