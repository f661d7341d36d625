"""The book as one PDF (`make pdf`): every chapter in order, math typeset, figures in."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.book import REPO, toc_files

pytestmark = pytest.mark.slow

PDF = REPO / "_build" / "html" / "optbook.pdf"


def page_title(page: str) -> str:
    """The page's first heading, as its source spells it."""
    for line in (REPO / f"{page}.md").read_text("utf8").splitlines():
        if line.startswith("# "):
            return line[2:].strip()
    raise AssertionError(f"{page} has no title")


@pytest.fixture(scope="module")
def pdf_text(built_book) -> list[str]:
    from pypdf import PdfReader

    assert built_book.pdf is not None, "the HTML build failed, so no PDF was printed"
    printed = built_book.pdf
    assert printed.returncode == 0, printed.stdout[-3000:] + printed.stderr[-3000:]
    return [page.extract_text() for page in PdfReader(PDF).pages]


def squash(text: str) -> str:
    """Words only, lower case: the PDF's text breaks lines and hyphenates where HTML did not."""
    return re.sub(r"[^a-z0-9]+", "", text.lower())


def test_pdf_holds_every_page_of_the_table_of_contents_in_order(pdf_text):
    assert 40 <= len(pdf_text) <= 600, len(pdf_text)
    text = squash("".join(pdf_text))
    position = 0
    for page in toc_files():
        title = squash(page_title(page))
        found = text.find(title, position)
        assert found >= 0, f"{page}'s title {page_title(page)!r} is missing or out of order"
        position = found + len(title)


def test_pdf_has_typeset_math_and_no_page_chrome(pdf_text):
    text = "\n".join(pdf_text)
    for raw in ("$$", "\\frac", "\\begin{", "\\mathbf", "\\nabla"):
        assert raw not in text, f"raw TeX {raw!r} in the PDF: MathJax did not typeset it"
    # The site's header, search box and navigation belong on screen, not on paper.
    for chrome in ("Skip to main content", "Ctrl+K", "Back to top"):
        assert chrome not in text, chrome


def test_pdf_carries_the_books_figures(built_book, pdf_text):
    from pypdf import PdfReader

    images = sum(len(page.images) for page in PdfReader(PDF).pages)
    single = (REPO / "_build" / "singlehtml" / "optbook.html").read_text("utf8")
    # The figures the executed pages drew (Sphinx copies them into _images/).
    figures = len(set(re.findall(r'<img[^>]+src="(_images/[^"]+)"', single)))
    assert figures >= 40, figures
    # Chromium embeds each distinct picture once; an image that failed to load prints as
    # nothing, so every distinct figure of the page must be in the PDF.
    assert images >= figures, (images, figures)


def test_landing_page_links_the_pdf(built_book):
    landing = built_book.html / "book" / "intro.html"
    links = re.findall(r'href="([^"]*optbook\.pdf)"', landing.read_text("utf8"))
    assert links, "the landing page does not link the PDF"
    for link in links:
        assert (landing.parent / link).resolve() == PDF.resolve() and PDF.exists(), link
    # The PDF itself does not link to a PDF of itself.
    single = (REPO / "_build" / "singlehtml" / "optbook.html").read_text("utf8")
    assert "optbook.pdf" not in single
    assert Path(PDF).stat().st_size < 60e6
