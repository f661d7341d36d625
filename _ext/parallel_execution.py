"""Execute the book's notebook pages in parallel before Sphinx reads them.

myst-nb's ``cache`` mode executes each page when Sphinx reaches it, one after another. This
extension registers every page of the table of contents in the same jupyter-cache project
(read exactly as myst-nb reads them, so the hashes match) and lets jupyter-cache's
``local-parallel`` executor run the pages that are not cached yet over a pool of one process
per core. Sphinx then finds every page in the cache. A page that fails here is simply not
cached: myst-nb executes it again while reading and reports the error as usual.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging as sphinx_logging

LOGGER = sphinx_logging.getLogger(__name__)
READ_DATA = {"name": "myst_nb_md", "type": "plugin"}  # myst-nb's own reader for MyST notebooks


def _pages(app: Sphinx) -> list[Path]:
    """The MyST notebook sources among the documents Sphinx will read."""
    from myst_nb.core.read import is_myst_markdown_notebook

    pages = []
    for docname in sorted(app.env.found_docs):
        path = Path(app.env.doc2path(docname))
        if path.suffix == ".md" and is_myst_markdown_notebook(path.read_text("utf8")):
            pages.append(path)
    return pages


def execute_pages(app: Sphinx) -> None:
    if app.config.nb_execution_mode != "cache" or not app.config.parallel_execution:
        return
    if os.environ.get("OPTBOOK_PARALLEL_EXECUTION") == "0":  # the build benchmark's baseline
        return
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    cache_path = app.config.nb_execution_cache_path or str(Path(app.outdir).parent /
                                                             ".jupyter_cache")
    cache = get_cache(cache_path)
    uris = []
    for path in _pages(app):
        record = cache.add_nb_to_project(str(path), read_data=READ_DATA)
        uris.append(record.uri)
    if not cache.list_unexecuted(uris):
        return
    start = time.perf_counter()
    quiet = logging.getLogger("jupyter_cache.parallel")
    quiet.setLevel(logging.WARNING)
    result = load_executor("local-parallel", cache, logger=quiet).run_and_cache(
        filter_uris=uris, timeout=app.config.nb_execution_timeout,
        allow_errors=app.config.nb_execution_allow_errors)
    LOGGER.info(f"[parallel_execution] executed {len(result.succeeded)} page(s) in "
                f"{time.perf_counter() - start:.1f} s; {len(result.excepted) + len(result.errored)}"
                " left for myst-nb to execute and report")


def setup(app: Sphinx) -> dict:
    app.add_config_value("parallel_execution", True, "env")
    # After the environment knows the documents, before any of them is read.
    app.connect("env-before-read-docs", lambda app, env, docnames: execute_pages(app))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
