"""What the book publishes for students to start anywhere: where labkit is installed from, the
setup cell that installs it, the chapter notebooks, the labkit wheel and Binder's environment.

Everything here derives from the one ``repository`` entry of ``_config.yml`` (a fork that
publishes its own copy changes only that), and everything a launch button opens lies in the
built site (``_build/html``, published as the branch ``SITE_BRANCH``):

    notebooks/exercises/NN-name.ipynb   the released exercise (no solutions, no hidden tests)
    notebooks/chapters/NN-name.ipynb    the chapter itself, as a notebook without outputs
    packages/labkit-X-py3-none-any.whl  the students' package
    binder/requirements.txt             Binder's environment: that wheel and its dependencies

An exercise needs only labkit; a chapter also imports the reference answers of ``solutions``
(the book teaches with them), so a chapter notebook's setup cell installs the book's own
distribution instead. Binder's environment holds labkit only.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import jupytext
import nbformat
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK_CONFIG = ROOT / "_config.yml"
LABKIT = ROOT / "labkit"
SITE_BRANCH = "gh-pages"
"""The branch the built site is published to; launch links open notebooks on it."""
EXERCISE_NOTEBOOKS = Path("notebooks") / "exercises"
CHAPTER_NOTEBOOKS = Path("notebooks") / "chapters"
PACKAGES = Path("packages")
SETUP_CELL_ID = "setup"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


@dataclass(frozen=True)
class Repository:
    """The public repository the book is built from (``repository`` in ``_config.yml``)."""

    url: str
    branch: str

    @property
    def github(self) -> tuple[str, str]:
        """``(owner, name)`` of a GitHub repository."""
        owner, name = self.url.removesuffix(".git").rstrip("/").split("github.com/")[1] \
            .split("/")[:2]
        return owner, name

    def requirement(self, distribution: str, subdirectory: str = "") -> str:
        """A pip requirement that installs ``distribution`` from this repository's branch."""
        where = f"#subdirectory={subdirectory}" if subdirectory else ""
        return f"{distribution} @ git+{self.url}@{self.branch}{where}"


@cache
def repository() -> Repository:
    """The book's repository, read once from ``_config.yml``."""
    config = yaml.safe_load(BOOK_CONFIG.read_text())["repository"]
    return Repository(config["url"].rstrip("/"), config.get("branch", "main"))


def labkit_version() -> str:
    """labkit's version, read from its source (without importing a possibly other copy)."""
    for line in (LABKIT / "__init__.py").read_text().splitlines():
        if line.startswith("__version__"):
            return line.split("=", 1)[1].strip().strip("\"'")
    raise LookupError("labkit/__init__.py declares no __version__")


def _setup_source(module: str, requirement: str, what: str) -> str:
    return (
        f"# Setup: installs {what} where it is missing (Colab, a bare Jupyter); does nothing\n"
        "# where it is already installed. Leave this cell as it is and run it first.\n"
        "import importlib.util\n\n"
        f"if importlib.util.find_spec({module!r}) is None:\n"
        f"    %pip install --quiet \"{requirement}\"\n"
    )


def exercise_setup_cell() -> nbformat.NotebookNode:
    """The first cell of every released exercise: installs the matching labkit if needed."""
    requirement = repository().requirement("labkit", "labkit")
    cell = nbformat.v4.new_code_cell(_setup_source("labkit", requirement, "labkit"))
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": SETUP_CELL_ID, "locked": True,
                                 "schema_version": 3, "solution": False, "task": False}
    cell.metadata["tags"] = ["setup"]
    cell["id"] = SETUP_CELL_ID  # fixed ids: the same release every time (and a stable digest)
    return cell


READY_CELL_ID = "check_ready"


def exercise_ready_cells(exercise: str) -> list[nbformat.NotebookNode]:
    """The last cells of every released exercise: the students' self-check
    (:func:`labkit.check_ready`) under a heading that says when to run it."""
    locked = {"grade": False, "locked": True, "schema_version": 3, "solution": False,
              "task": False}
    heading = nbformat.v4.new_markdown_cell(
        "## Before you submit\n\n"
        "Run **Kernel → Restart & Run All**, then read what the cell below says. It runs your "
        "functions on practice inputs (not the grader's) and judges them the way the grader "
        "will, with the same feedback; it cannot see your written answers.")
    heading.metadata["nbgrader"] = {**locked, "grade_id": f"{READY_CELL_ID}_text"}
    heading["id"] = f"{READY_CELL_ID}_text"
    cell = nbformat.v4.new_code_cell(f"from labkit import check_ready\n\n"
                                     f"check_ready({exercise!r})")
    cell.metadata["nbgrader"] = {**locked, "grade_id": READY_CELL_ID}
    cell["id"] = READY_CELL_ID
    return [heading, cell]


def chapter_setup_cell() -> nbformat.NotebookNode:
    """The first cell of a chapter notebook: the book's distribution (labkit and the reference
    answers the chapter runs) if needed."""
    source = _setup_source("solutions", repository().requirement("optbook"),
                           "the book's code (labkit and the reference answers)")
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = ["setup"]
    cell["id"] = SETUP_CELL_ID
    return cell


def chapter_notebook(page: Path) -> nbformat.NotebookNode:
    """A chapter's MyST page as a notebook to run anywhere: its setup cell first, no outputs."""
    notebook = jupytext.read(page)
    notebook.metadata.pop("jupytext", None)
    notebook.cells.insert(0, chapter_setup_cell())
    return notebook


def build_labkit_wheel(out: Path) -> Path:
    """Build labkit's wheel into ``out`` from a copy of its sources (the build leaves its
    ``build/`` and ``*.egg-info`` folders there, not in the repository); returns its path."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as stage:
        source = Path(stage) / "labkit"
        shutil.copytree(LABKIT, source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                        "--no-build-isolation", "--wheel-dir", str(out), str(source)],
                       check=True, capture_output=True, text=True)
    return out / f"labkit-{labkit_version()}-py3-none-any.whl"


def binder_requirements(wheel: Path) -> str:
    """Binder's ``requirements.txt`` at the site's root: labkit's wheel (its dependencies
    with it) and PyTorch's CPU wheels."""
    return (f"# Binder's environment for the exercises: labkit {labkit_version()} and its "
            "dependencies only.\n"
            f"--extra-index-url {TORCH_CPU_INDEX}\n"
            f"./{PACKAGES.as_posix()}/{wheel.name}\n")


@cache
def launch_services() -> dict[str, str]:
    """The services of ``launch_buttons`` in ``_config.yml`` that are set (Colab, BinderHub and
    an optional JupyterHub): their base URLs by name."""
    config = yaml.safe_load(BOOK_CONFIG.read_text()).get("launch_buttons", {})
    names = {"colab_url": "Colab", "binderhub_url": "Binder", "jupyterhub_url": "JupyterHub"}
    return {names[key]: config[key].rstrip("/") for key in names if config.get(key)}


def launch_urls(path: Path) -> dict[str, str]:
    """Where each launch service opens the notebook at ``path`` in the published site."""
    from urllib.parse import urlencode

    repo = repository()
    owner, name = repo.github
    where = path.as_posix()
    urls = {}
    for service, base in launch_services().items():
        if service == "Colab":
            urls[service] = f"{base}/github/{owner}/{name}/blob/{SITE_BRANCH}/{where}"
        elif service == "Binder":
            urls[service] = f"{base}/v2/gh/{owner}/{name}/{SITE_BRANCH}?urlpath=lab/tree/{where}"
        else:  # nbgitpuller clones the site's branch into the user's home on the hub
            query = urlencode({"repo": repo.url, "branch": SITE_BRANCH,
                               "urlpath": f"lab/tree/{name}/{where}"}, safe="/")
            urls[service] = f"{base}/hub/user-redirect/git-pull?{query}"
    return urls
