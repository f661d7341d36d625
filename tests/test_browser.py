"""The built book in headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
Selenium; nothing is downloaded): no console errors, every formula rendered by the book's own
MathJax, every image loaded, every internal link and anchor resolving, and the navigation
reaching every page. Screenshots of two pages are kept in ``_build/test-artifacts/``."""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

from tests.book import REPO, chapter_pages, toc_files

ARTIFACTS = REPO / "_build" / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                       reason="needs Debian's chromium and chromium-driver (make env installs "
                       "them as root)"),
]

# Text that MathJax would have replaced: \( … \), \[ … \], $$, or a TeX command left behind.
RAW_MATH = re.compile(r"\\\(|\\\)|\\\[|\\\]|\$\$|\\(frac|eta|nabla|sqrt|mathbb|lambda)\b")
# A Markdown table that was printed as text instead of rendered.
RAW_TABLE = re.compile(r"\|\s*-{3,}\s*\|")

VISIBLE_TEXT = """
const clone = document.querySelector('main').cloneNode(true);
clone.querySelectorAll('pre, code, script, style, mjx-container, .highlight, .output')
     .forEach(e => e.remove());
return clone.textContent;
"""

PROSE_AND_OUTPUTS = """
const clone = document.querySelector('main').cloneNode(true);
clone.querySelectorAll('pre, code, script, style, .highlight').forEach(e => e.remove());
return clone.innerText || clone.textContent;
"""

WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!window.MathJax) { done('no-mathjax'); return; }
const ready = () => MathJax.startup.promise.then(() => done('ok'), e => done('error: ' + e));
if (MathJax.startup && MathJax.startup.promise) { ready(); }
else { window.addEventListener('load', () => setTimeout(ready, 0)); }
"""


@pytest.fixture(scope="module")
def site(built_book):
    assert built_book.process.returncode == 0, "the book did not build"
    handler = functools.partial(_QuietHandler, directory=str(built_book.html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output readable
        pass


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1600"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_script_timeout(60)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _load(browser, url: str) -> str:
    browser.get(url)
    return browser.execute_async_script(WAIT_FOR_MATHJAX)


@pytest.mark.parametrize("page", toc_files())
def test_page_renders_without_errors(site, browser, page):
    mathjax = _load(browser, urljoin(site, f"{page}.html"))
    assert not mathjax.startswith("error"), mathjax
    errors = [entry["message"] for entry in browser.get_log("browser")
              if entry["level"] == "SEVERE"]
    assert not errors, errors
    text = browser.execute_script(VISIBLE_TEXT)
    raw = sorted({m.group(0) for m in RAW_MATH.finditer(text)})
    assert not raw, f"unrendered math on {page}: {raw}"
    assert not RAW_TABLE.search(browser.execute_script(PROSE_AND_OUTPUTS)), \
        f"a Markdown table on {page} was not rendered"
    assert not browser.find_elements("css selector", "mjx-merror"), "a MathJax error"
    broken = browser.execute_script(
        "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.src)")
    assert not broken, broken
    if page in (chapter_pages()[:1] + ["book/cheatsheet"]):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(ARTIFACTS / f"{Path(page).name}.png"))


def test_math_is_typeset_by_the_books_own_mathjax(site, browser):
    assert _load(browser, urljoin(site, "book/04-adaptive.html")) == "ok"
    source = browser.execute_script(
        "return [...document.scripts].map(s => s.src).find(s => s.includes('tex-chtml'))")
    assert source.startswith(site), f"MathJax loaded from {source}, not from the book"
    assert len(browser.find_elements("css selector", "mjx-container")) > 10


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if attrs.get("id"):
            self.ids.add(attrs["id"])


@functools.cache
def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text(encoding="utf8"))
    return parser


def test_every_internal_link_and_anchor_resolves(built_book):
    html = built_book.html
    broken = []
    for page in toc_files():
        source = html / f"{page}.html"
        for href in _parse(source).hrefs:
            url = urlparse(href)
            if url.scheme or href.startswith(("mailto:", "javascript:")):
                continue
            target = (source.parent / url.path).resolve() if url.path else source
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                broken.append(f"{page}: {href}")
            elif url.fragment and target.suffix == ".html" and \
                    url.fragment not in _parse(target).ids:
                broken.append(f"{page}: {href} (no such anchor)")
    assert not broken, broken


def test_navigation_reaches_every_page(site, browser):
    browser.get(urljoin(site, "index.html"))
    start = browser.current_url
    seen, queue = set(), [start]
    while queue:
        url = queue.pop()
        path = urlparse(url).path
        if path in seen:
            continue
        seen.add(path)
        browser.get(url)
        for link in browser.find_elements("css selector", "nav.bd-docs-nav a, .bd-sidebar a"):
            href = link.get_attribute("href") or ""
            if href.startswith(site) and href.split("#")[0].endswith(".html"):
                queue.append(href.split("#")[0])
    reached = {path.lstrip("/").removesuffix(".html") for path in seen}
    missing = [page for page in toc_files() if page not in reached]
    assert not missing, f"not reachable from the navigation: {missing}"


OVERFLOW = """
const scrolls = e => { for (; e && e !== document.body; e = e.parentElement) {
  if (['auto', 'scroll'].includes(getComputedStyle(e).overflowX)) return true; } return false; };
const report = {page: document.documentElement.scrollWidth - window.innerWidth,
                cut_code: [], stuck: []};
document.querySelectorAll('div.cell_input pre').forEach(p => {
  if (p.scrollWidth > p.clientWidth + 1)
    report.cut_code.push(p.textContent.split('\\n').sort((a, b) => b.length - a.length)[0]);
});
document.querySelectorAll('main pre, main table').forEach(e => {
  const box = e.tagName === 'TABLE' ? e.parentElement : e;
  if (e.scrollWidth > box.clientWidth + 1 && !scrolls(box)) report.stuck.push(e.tagName);
});
return report;
"""


@pytest.mark.parametrize("page", toc_files())
def test_code_fits_at_1280_px_and_scrolls_on_a_phone(site, browser, page):
    try:
        browser.set_window_size(1280, 1600)
        _load(browser, urljoin(site, f"{page}.html"))
        wide = browser.execute_script(OVERFLOW)
        assert not wide["cut_code"], f"code lines cut at 1280 px: {wide['cut_code'][:3]}"
        assert wide["page"] <= 0 and not wide["stuck"], wide
        browser.set_window_size(390, 844)  # Chromium keeps at least 500 px
        _load(browser, urljoin(site, f"{page}.html"))
        narrow = browser.execute_script(OVERFLOW)
        assert narrow["page"] <= 0, "the page itself scrolls sideways on a phone"
        assert not narrow["stuck"], f"{narrow['stuck']} overflow without a scroll bar"
    finally:
        browser.set_window_size(1280, 1600)
