"""Execute the book's notebook pages in parallel before Sphinx reads them.

myst-nb's ``cache`` mode executes each page when Sphinx reaches it, one after another. This
extension registers every page of the table of contents in the same jupyter-cache project
(read exactly as myst-nb reads them, so the hashes match) and lets jupyter-cache's
``local-parallel`` executor run the pages that are not cached yet over a pool of one process
per core, printing one line per page as it finishes. Sphinx then finds every page in the
cache. A page that fails here is simply not cached: myst-nb executes it again while reading
and reports the error as usual.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

from jupyter_cache.executors.basic import ExecutionWorkerLocalMProc, JupyterExecutorLocalMproc
from jupyter_cache.executors.utils import single_nb_execution
from jupyter_client.manager import AsyncKernelManager
from sphinx.application import Sphinx
from sphinx.util import logging as sphinx_logging
from traitlets import default

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




class IPCKernelManager(AsyncKernelManager):
    """Page kernels over IPC sockets with a prefix of their own each (ipykernel warns about
    every kernel over plain TCP, and parallel workers must not share socket names)."""

    @default("transport")
    def _transport_default(self):
        return "ipc"

    @default("ip")
    def _ip_default(self):  # the socket files' prefix; jupyter_client removes them at shutdown
        return str(Path(tempfile.gettempdir()) / f"jb-page-kernel-{uuid.uuid4().hex[:12]}")


class PageWorker(ExecutionWorkerLocalMProc):
    """jupyter-cache's worker, printing one line per page as it finishes."""

    def log_info(self, msg: str) -> None:  # the line comes from execute, with the time
        pass

    @staticmethod
    def execute(project_nb, data):
        result = single_nb_execution(project_nb.nb, cwd=str(Path(project_nb.uri).parent),
                                     timeout=data.timeout, allow_errors=data.allow_errors,
                                     kernel_manager_class=IPCKernelManager)
        status = "failed" if result.err else "executed"
        print(f"[parallel_execution] {Path(project_nb.uri).name}: {status} in "
              f"{result.time:.1f} s", file=sys.stderr, flush=True)
        return result


class PageExecutor(JupyterExecutorLocalMproc):
    """jupyter-cache's ``local-parallel`` executor with :class:`PageWorker`."""

    _EXECUTION_WORKER = PageWorker


def execute_pages(app: Sphinx) -> None:
    if app.config.nb_execution_mode != "cache" or not app.config.parallel_execution:
        return
    if os.environ.get("OPTBOOK_PARALLEL_EXECUTION") == "0":  # the build benchmark's baseline
        return
    from jupyter_cache import get_cache

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
    result = PageExecutor(cache, logger=quiet).run_and_cache(
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
