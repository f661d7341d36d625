"""Number each chapter's check-yourself questions by chapter: Question 3.1, 3.2, ...

sphinx-exercise numbers its ``exercise`` directives through the whole book (Exercise 4, 5, ...
in chapter 3), beside the chapter's graded "Exercise 03": two numbering schemes on one page.
The book calls the short questions *questions* (``numfig_format`` in ``_config.yml``) and this
extension renumbers them within their chapter, so "Exercise NN" only ever means the graded
notebook of chapter NN and "Question N.k" the k-th question of chapter N.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx


def _renumber(app: Sphinx, env) -> list[str]:
    renumbered = []
    for docname, numbers in env.toc_fignumbers.items():
        chapter = Path(docname).name[:2]
        questions = numbers.get("exercise")
        if not questions or not chapter.isdigit():
            continue
        in_order = sorted(questions, key=lambda ident: questions[ident])
        wanted = {ident: (int(chapter), k) for k, ident in enumerate(in_order, start=1)}
        if wanted != questions:
            numbers["exercise"] = wanted
            renumbered.append(docname)
    return renumbered


def setup(app: Sphinx) -> dict:
    # After Sphinx's own numbering of enumerable nodes (the toctree collector's handler of the
    # same event, priority 500), before any page is resolved and written.
    app.connect("env-get-updated", _renumber, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
