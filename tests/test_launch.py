"""Students start anywhere: labkit on its own, launch links that open runnable notebooks, and
those notebooks running in an environment that holds labkit and its dependencies only."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import nbformat
import pytest
from packaging.requirements import Requirement

from autograde import publish
from tests.book import REPO
from tests.fixtures.sample_classes import Student

LAUNCH_HOSTS = ("colab.research.google.com", "mybinder.org", "/hub/user-redirect/git-pull")


def test_labkit_imports_nothing_of_the_grader_or_the_answers():
    for path in sorted((REPO / "labkit").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for name in names:
                assert name.split(".")[0] not in ("autograde", "solutions"), (path, name)


def test_labkit_wheel_holds_labkit_and_declares_what_it_imports(tmp_path):
    wheel = publish.build_labkit_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = archive.read(f"labkit-{publish.labkit_version()}.dist-info/METADATA").decode()
    assert all(name.startswith(("labkit/", "labkit-")) for name in names), names
    assert "labkit/checks/sgd.py" in names
    declared = {Requirement(line.split(":", 1)[1]).name.lower()
                for line in meta.splitlines() if line.startswith("Requires-Dist:")}
    assert {"numpy", "matplotlib", "scikit-learn", "torch", "tqdm", "ipython"} <= declared


def test_setup_cell_installs_labkit_from_the_configured_repository():
    cell = publish.exercise_setup_cell()
    repo = publish.repository()
    assert repo.url in cell.source and f"@{repo.branch}#subdirectory=labkit" in cell.source
    assert cell.metadata["nbgrader"]["locked"] and not cell.metadata["nbgrader"]["grade"]
    config = (REPO / "_config.yml").read_text()
    assert config.count(repo.url) == 1  # named once, used everywhere
    assert "find_spec('labkit')" in cell.source  # a no-op where labkit is importable


# -- the built site --------------------------------------------------------------------------
def _launch_links(html: Path) -> dict[str, list[str]]:
    links = {}
    for page in sorted(html.rglob("*.html")):
        found = re.findall(r'href="([^"]+)"', page.read_text("utf8"))
        found = [link.replace("&amp;", "&") for link in found
                 if any(host in link for host in LAUNCH_HOSTS)]
        if found:
            links[page.relative_to(html).as_posix()] = found
    return links


def _site_path(link: str) -> str:
    """The path in the published site a launch link opens."""
    url = urlparse(link)
    if "colab" in url.netloc:
        return url.path.split(f"/blob/{publish.SITE_BRANCH}/", 1)[1]
    urlpath = parse_qs(url.query)["urlpath"][0].removeprefix("lab/tree/")
    if "git-pull" in url.path:
        urlpath = urlpath.split("/", 1)[1]  # nbgitpuller clones into a folder named as the repo
    else:
        assert f"/{publish.SITE_BRANCH}" in url.path, link
    return urlpath


@pytest.mark.slow
def test_every_launch_link_opens_a_notebook_in_the_site(built_book):
    links = _launch_links(built_book.html)
    chapters = [p for p in links if p.startswith("book/") and p[5:7].isdigit()]
    assert len(chapters) == 13, sorted(links)
    for page, page_links in links.items():
        opened = {_site_path(link) for link in page_links}
        for path in opened:
            target = built_book.html / path
            assert target.is_file() and path.endswith(".ipynb"), (page, path)
            notebook = nbformat.read(target, as_version=4)
            assert "setup" in notebook.cells[0].metadata.get("tags", []) or \
                "setup" in notebook.cells[1].metadata.get("tags", []), (page, path)
        stem = Path(page).stem
        if page in chapters:
            assert {f"notebooks/chapters/{stem}.ipynb",
                    f"notebooks/exercises/{stem}.ipynb"} == opened, page
            assert any("colab" in link for link in page_links)
            assert any("mybinder" in link for link in page_links)
    binder = (built_book.html / "binder" / "requirements.txt").read_text()
    wheel = f"packages/labkit-{publish.labkit_version()}-py3-none-any.whl"
    assert f"./{wheel}" in binder and (built_book.html / wheel).is_file()
    assert "optbook" not in binder.split("\n", 1)[1]  # labkit only, no reference answers


# -- a fresh environment with labkit only ---------------------------------------------------
def _closure(names: list[str]) -> set[str]:
    """The installed distributions ``names`` need, following their declared requirements."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        dist = metadata.distribution(name)
        key = dist.metadata["Name"].lower().replace("_", "-")
        if key in seen:
            continue
        seen.add(key)
        for line in dist.requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def _fresh_environment(root: Path, wheel: Path) -> Path:
    """A new virtual environment holding the labkit wheel, its declared dependencies and a
    Jupyter kernel, nothing else; installed offline (the dependencies are linked in from this
    environment, as a package index would provide them). Returns its Python."""
    subprocess.run([sys.executable, "-m", "venv", str(root)], check=True)
    python = root / "bin" / "python"
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_path("
                                "'purelib'))"], check=True, capture_output=True,
                               text=True).stdout.strip())
    with zipfile.ZipFile(wheel) as archive:
        meta = archive.read(f"labkit-{publish.labkit_version()}.dist-info/METADATA").decode()
    declared = [Requirement(line.split(":", 1)[1]).name for line in meta.splitlines()
                if line.startswith("Requires-Dist:")]
    for name in _closure(declared + ["ipykernel"]):
        dist = metadata.distribution(name)
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops:
            source = Path(dist.locate_file(top))
            if source.exists() and not (site / top).exists() and not top.endswith(".pth"):
                (site / top).symlink_to(source)
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
                    str(wheel)], check=True)
    check = subprocess.run([python, "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout  # every declared dependency is there
    return python


@pytest.mark.slow
def test_launched_exercises_run_in_an_environment_with_labkit_only(built_book, tmp_path):
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    from tests.classes import write_submission

    wheel = (built_book.html / publish.PACKAGES /
             f"labkit-{publish.labkit_version()}-py3-none-any.whl")
    python = _fresh_environment(tmp_path / "venv", wheel)
    work = tmp_path / "work"
    work.mkdir()
    clean_env = {"PYTHONPATH": "", "PYTHONNOUSERSITE": "1", "MPLBACKEND": "Agg"}
    probe = subprocess.run(
        [python, "-c", "import labkit, importlib.util as u; print(labkit.__file__, "
         "u.find_spec('solutions'), u.find_spec('autograde'))"],
        cwd=work, env={**os.environ, **clean_env}, capture_output=True, text=True, check=True)
    assert str(tmp_path / "venv") in probe.stdout and probe.stdout.split()[1:] == ["None"] * 2
    spec = tmp_path / "kernels" / "labkit-only"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "labkit only", "language": "python", "env": clean_env}))
    specs = KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])
    for released in sorted((built_book.html / publish.EXERCISE_NOTEBOOKS).glob("*.ipynb")):
        exercise = released.stem
        write_submission(released, exercise, Student(), work / exercise)
        notebook = nbformat.read(work / exercise / f"{exercise}.ipynb", as_version=4)
        manager = KernelManager(kernel_name="labkit-only", kernel_spec_manager=specs,
                                transport="ipc", ip=str(tmp_path / f"ipc-{exercise}"))
        try:
            NotebookClient(notebook, km=manager, timeout=300,
                           resources={"metadata": {"path": str(work / exercise)}}).execute()
        finally:
            if manager.has_kernel:
                manager.shutdown_kernel(now=True)
        ready = notebook.cells[-1]  # the self-check, from the labkit wheel's stored keys
        shown = "".join(o.get("data", {}).get("text/plain", "") + o.get("text", "")
                        for o in ready.outputs)
        assert "check_ready" in ready.source and "Ready: all" in shown, (exercise, shown)
