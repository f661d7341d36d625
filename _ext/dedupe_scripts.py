"""Drop repeated inline ``<script>`` blocks from every page.

sphinx-thebe (loaded by Jupyter Book) adds an inline script declaring ``const THEBE_JS_URL``
during ``env-before-read-docs``; with Sphinx 7.4 that script reaches the page twice, and the
second ``const`` declaration is a SyntaxError in the browser console (the browser tests catch
it). Identical scripts are redundant by definition, so keeping the first is always safe.
"""

from __future__ import annotations

from sphinx.application import Sphinx


def _dedupe(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # What the page renders: the file (None and "" both mean inline) and the attributes
        # (an inline body is one of them); the priority only orders scripts.
        key = (str(getattr(script, "filename", script) or ""),
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", _dedupe, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
