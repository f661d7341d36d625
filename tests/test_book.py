"""The book builds with Sphinx warnings as errors, every page executes, and every chapter
offers its student notebook — without solutions or hidden tests."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from autograde.course import exercise_notebook
from tests.book import REPO, chapter_pages, executed_notebook, toc_files


@pytest.mark.slow
def test_book_builds_without_warnings_and_executes_every_page(built_book):
    build = built_book.process
    assert build.returncode == 0, build.stdout[-6000:] + build.stderr[-3000:]
    for page in toc_files():
        assert (built_book.html / f"{page}.html").exists(), page
    # Every code page ran: the build's cached notebook holds outputs and no error or stderr.
    for page in toc_files():
        path = REPO / f"{page}.md"
        has_code = "```{code-cell}" in path.read_text()
        notebook = executed_notebook(page)
        assert (notebook is not None) == has_code, f"{page} was not executed"
        if notebook is None:
            continue
        outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
        assert outputs, f"{page} has no outputs"
        assert not any(o.output_type == "error" for o in outputs), page
        assert not any(o.get("name") == "stderr" for o in outputs), page


@pytest.mark.slow
def test_build_log_has_one_line_per_executed_page_and_no_kernel_chatter(built_book):
    log = built_book.process.stdout + built_book.process.stderr
    assert "IPKernelApp" not in log and "without encryption" not in log
    pages = re.findall(r"\[parallel_execution\] (\S+\.md): (?:executed|failed) in", log)
    total = re.search(r"\[parallel_execution\] executed (\d+) page", log)
    if total:  # nothing is printed when every page came from the cache
        assert len(pages) == len(set(pages)) >= int(total.group(1))


@pytest.mark.slow
@pytest.mark.parametrize("page", chapter_pages())
def test_one_exercise_numbering_questions_by_chapter(built_book, page):
    html = (built_book.html / f"{page}.html").read_text("utf8")
    text = re.sub(r"<[^>]+>", " ", html)
    chapter = int(Path(page).name[:2])
    exercises = set(re.findall(r"\bExercise (\d+(?:\.\d+)?)\b", text))
    assert exercises <= {f"{chapter:02d}"}, exercises  # only the graded notebook
    questions = re.findall(r"\bQuestion (\d+)\.(\d+)\b", text)
    assert questions, page
    assert {int(c) for c, _ in questions} == {chapter}
    assert sorted({int(k) for _, k in questions}) == list(range(1, len(set(questions)) + 1))


def _download_link(html: str, exercise: str) -> str | None:
    found = re.search(rf'href="(\.\./_downloads/[0-9a-f]+/{re.escape(exercise)}\.ipynb)"', html)
    return found.group(1) if found else None


@pytest.mark.slow
@pytest.mark.parametrize("page", chapter_pages())
def test_chapter_links_its_student_notebook_without_solutions(built_book, page):
    exercise = next(d.name for d in (REPO / "exercises").iterdir()
                    if d.name[:2] == Path(page).name[:2])
    html_path = built_book.html / f"{page}.html"
    link = _download_link(html_path.read_text(), exercise)
    assert link, f"{page} does not link the student notebook of {exercise}"
    released = nbformat.read(html_path.parent / link, as_version=4)
    text = "\n".join(cell.source for cell in released.cells if cell.cell_type == "code")
    assert "YOUR CODE HERE" in text
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "check("):
        assert marker not in text, (page, marker)
    # Not one line of a reference answer survives (blank and trivial lines aside).
    source = exercise_notebook(exercise)
    for cell in source.cells:
        if not cell.metadata.get("nbgrader", {}).get("solution") or cell.cell_type != "code":
            continue
        region = re.search(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", cell.source, re.S)
        for line in (region.group(1).splitlines() if region else []):
            assert len(line.strip()) <= 25 or line.strip() not in text, (page, line)


def test_every_toc_entry_exists_and_chapters_have_exercises():
    for page in toc_files():
        assert (REPO / f"{page}.md").exists(), page
    for page in chapter_pages():
        number = Path(page).name[:2]
        assert any(d.name.startswith(number) for d in (REPO / "exercises").iterdir()), page


def test_every_chapter_with_an_exercise_is_in_the_table_of_contents():
    listed = {Path(page).name for page in toc_files()}
    for page in (REPO / "book").glob("[0-9][0-9]-*.md"):
        assert page.stem in listed, f"{page.name} is not in _toc.yml"
