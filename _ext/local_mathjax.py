"""Serve MathJax from the book itself instead of a CDN, so the math renders offline (in a
classroom without internet, in the browser tests, from a downloaded copy of the site).

MathJax 3 comes from the pinned PyPI package ``django-static-mathjax`` (a plain copy of
MathJax's ``es5`` build; Django is not needed). Only what the ``tex-chtml`` component loads is
copied into ``_static/mathjax``: the component, the CommonHTML fonts and the TeX extensions it
may autoload.
"""

from __future__ import annotations

import shutil
from importlib.util import find_spec
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config

PARTS = ["tex-chtml.js", "output/chtml/fonts/woff-v2", "input/tex/extensions", "a11y", "ui"]


def _mathjax_es5() -> Path:
    spec = find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("MathJax is missing: install the pinned requirements (make env)")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"


def _copy(app: Sphinx, config: Config) -> None:
    source = _mathjax_es5()
    target = Path(app.outdir).parent / "mathjax_static"
    for part in PARTS:
        src, dst = source / part, target / "mathjax" / part
        if dst.exists() or not src.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst)
        else:
            shutil.copyfile(src, dst)
    config.html_static_path = [*config.html_static_path, str(target)]
    config.mathjax_path = "mathjax/tex-chtml.js"


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _copy, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
