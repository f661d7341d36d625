"""The whole book as one PDF, printed by the Chromium the browser tests use.

Sphinx's ``singlehtml`` builder puts every page of the table of contents on one HTML page
(reusing the execution cache of ``make book``, so nothing runs twice); Chromium loads it from
a local server, waits until MathJax has typeset every formula and every figure has loaded,
and prints it. The PDF lands in the HTML site (``_build/html/optbook.pdf``), where the
landing page links it.

    .venv/bin/python scripts/pdf.py            # after (or without) `make book`
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import os
import shutil
import subprocess
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
SINGLE = REPO / "_build" / "singlehtml"
PDF = REPO / "_build" / "html" / "optbook.pdf"

# Resolves once MathJax has typeset the page and every image has decoded (a figure that is
# still loading would print as an empty box).
READY = """
const done = arguments[arguments.length - 1];
const math = window.MathJax && MathJax.startup ? MathJax.startup.promise : Promise.resolve();
const images = Array.from(document.images, img => img.decode().catch(() => null));
math.then(() => Promise.all(images)).then(() => done(document.images.length), e => done(String(e)));
"""


def build_single_page() -> Path:
    """One HTML page holding the whole book, built by Sphinx's ``singlehtml`` builder.

    The builder writes it as the root page of ``_toc.yml`` (``book/intro.html``) but with
    every link relative to the output folder, so it is copied there; its links into itself
    become plain anchors, which Chromium turns into links inside the PDF."""
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    env = {**os.environ, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    subprocess.run([str(jupyter_book), "build", str(REPO), "--builder", "singlehtml", "-W",
                    "-n", "--keep-going"],
                   check=True, env=env)
    root = yaml.safe_load((REPO / "_toc.yml").read_text())["root"]
    page = (SINGLE / f"{root}.html").read_text(encoding="utf8")
    book = SINGLE / "optbook.html"
    book.write_text(page.replace(f'href="{root}.html#', 'href="#'), encoding="utf8")
    return book


@contextmanager
def serve(folder: Path):
    """``folder`` over HTTP on a free local port (MathJax's fonts do not load from file://)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the stdlib's name)
        pass


# A4 with 1.5 cm margins, in the inches DevTools counts in; at 85 % a 100-column code line
# fits the text column, as it does on screen at 1280 px.
PAGE = {"paperWidth": 21.0 / 2.54, "paperHeight": 29.7 / 2.54, "scale": 0.85,
        "marginTop": 1.5 / 2.54, "marginBottom": 1.5 / 2.54, "marginLeft": 1.5 / 2.54,
        "marginRight": 1.5 / 2.54, "printBackground": True}


def print_to_pdf(url: str, target: Path, *, timeout: float = 300.0) -> int:
    """Print the page at ``url`` to ``target``; returns how many figures it holds.

    DevTools' ``Page.printToPDF`` directly: WebDriver's own print command gives the renderer
    ten seconds, and laying out a few hundred pages takes longer on two cores."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    # The system's driver: Selenium's own manager would try to download one.
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        driver.set_script_timeout(timeout)
        driver.set_page_load_timeout(timeout)
        driver.get(url)
        figures = driver.execute_async_script(READY)
        if not isinstance(figures, int):
            raise RuntimeError(f"the page did not finish rendering: {figures}")
        printed = driver.execute_cdp_cmd("Page.printToPDF", PAGE)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(printed["data"]))
        return figures
    finally:
        driver.quit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", type=Path, default=PDF, help=f"default: {PDF}")
    args = parser.parse_args()
    index = build_single_page()
    with serve(SINGLE) as site:
        figures = print_to_pdf(site + index.name, args.output)
    size = args.output.stat().st_size / 1e6
    print(f"wrote {args.output} ({size:.1f} MB, {figures} figures)")


if __name__ == "__main__":
    main()
