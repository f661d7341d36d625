"""Launch buttons that open runnable notebooks, and the files they open, in the built site.

Jupyter Book's own launch buttons open a page's *source*, which for this book is a MyST ``.md``
file that Colab cannot run, and Binder would build the whole repository, reference answers
included. This extension points every launch button at the generated notebooks instead (the
chapter's, and on a chapter page its exercise's) and writes them, labkit's wheel and Binder's
environment into the site (see ``autograde/publish.py`` for the layout).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
from sphinx.application import Sphinx
from sphinx.util import logging as sphinx_logging

from autograde import publish

LOGGER = sphinx_logging.getLogger(__name__)
GENERATED = Path("book") / "_generated"
ICONS = {"Colab": "_static/images/logo_colab.png",
         "Binder": "_static/images/logo_binder.svg",
         "JupyterHub": "_static/images/logo_jupyterhub.svg"}


def _is_notebook_page(app: Sphinx, docname: str) -> bool:
    return "kernelspec" in app.env.metadata.get(docname, {})


def _exercise_of(app: Sphinx, docname: str) -> str | None:
    """``book/03-second-order`` → ``03-second-order`` when that exercise exists."""
    name = Path(docname).name
    released = Path(app.srcdir) / GENERATED / f"{name}.ipynb"
    return name if released.exists() else None


def launch_targets(app: Sphinx, docname: str) -> list[tuple[str, Path]]:
    """What a page's launch buttons open: the chapter, then its exercise if it has one."""
    targets = [("Chapter", publish.CHAPTER_NOTEBOOKS / f"{Path(docname).name}.ipynb")]
    exercise = _exercise_of(app, docname)
    if exercise:
        targets.append((f"Exercise {exercise[:2]}",
                        publish.EXERCISE_NOTEBOOKS / f"{exercise}.ipynb"))
    return targets


def _rewrite_launch_buttons(app: Sphinx, pagename: str, templatename: str, context: dict,
                            doctree) -> None:
    group = next((button for button in context.get("header_buttons", [])
                  if button.get("label") == "launch-buttons"), None)
    if group is None:
        return
    buttons = []
    for what, path in launch_targets(app, pagename):
        for service, url in publish.launch_urls(path).items():
            buttons.append({"type": "link", "text": f"{what} on {service}",
                            "tooltip": f"Open the {what.lower()} notebook on {service}",
                            "icon": ICONS[service], "url": url})
    group["buttons"] = buttons


def _write_site_files(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.name != "html":
        return
    out, src = Path(app.outdir), Path(app.srcdir)
    exercises = out / publish.EXERCISE_NOTEBOOKS
    exercises.mkdir(parents=True, exist_ok=True)
    for released in sorted((src / GENERATED).glob("*.ipynb")):
        shutil.copyfile(released, exercises / released.name)
    chapters = out / publish.CHAPTER_NOTEBOOKS
    chapters.mkdir(parents=True, exist_ok=True)
    for docname in sorted(app.env.found_docs):
        if _is_notebook_page(app, docname):
            notebook = publish.chapter_notebook(src / f"{docname}.md")
            nbformat.write(notebook, chapters / f"{Path(docname).name}.ipynb")
    wheel = publish.build_labkit_wheel(out / publish.PACKAGES)
    (out / "binder").mkdir(exist_ok=True)
    (out / "binder" / "requirements.txt").write_text(publish.binder_requirements(wheel))
    # GitHub Pages would hide folders starting with "_" (such as _static) from Jekyll.
    (out / ".nojekyll").touch()
    LOGGER.info(f"[student_launch] notebooks, {wheel.name} and binder/ written to the site")


def setup(app: Sphinx) -> dict:
    # After sphinx-book-theme has added its launch buttons (priority 501).
    app.connect("html-page-context", _rewrite_launch_buttons, priority=600)
    app.connect("build-finished", _write_site_files)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
