"""Let Sphinx's ``singlehtml`` builder (the page ``make pdf`` prints) render this book.

Sphinx looks up a node's HTML visitor under the builder's name first and falls back to its
format (``html``) only when no extension registered anything for that name. sphinx-exercise
registers its nodes for ``singlehtml``, so the visitor sphinx-jupyterbook-latex gives its
``HiddenCellNode`` (the root page's table of contents) under ``html`` is never found there.
"""

from __future__ import annotations

from sphinx.application import Sphinx
from sphinx_jupyterbook_latex.nodes import HiddenCellNode, visit_HiddenCellNode


def setup(app: Sphinx) -> dict:
    app.add_node(HiddenCellNode, override=True, singlehtml=(visit_HiddenCellNode, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
