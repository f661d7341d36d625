"""The grader's structure: no import loops, one pipeline, the students' package apart."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _imports(package: str) -> dict[str, set[str]]:
    """Module -> the modules of ``package`` it imports, function-local imports included."""
    graph = {}
    for path in sorted((REPO / package).rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found = set()
        for node in ast.walk(ast.parse(path.read_text("utf8"))):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[module] = found
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    edges = {m: sorted(t for t in targets if t in graph and t != m)
             for m, targets in graph.items()}
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> list[str] | None:
        state[module] = 1
        for target in edges[module]:
            if state.get(target) == 1:
                return path + [module, target]
            if target not in state and (found := visit(target, path + [module])):
                return found
        state[module] = 2
        return None

    for module in edges:
        if module not in state and (found := visit(module, [])):
            return found
    return None


def test_autograde_has_no_import_cycle():
    graph = _imports("autograde")
    assert "autograde.course" in graph and "autograde.runner" in graph
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))
    # The worker pool takes jobs and returns outcomes: it knows nothing of the course.
    assert "autograde.course" not in graph["autograde.runner"]


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_labkit_imports_nothing_of_the_grader_or_the_solutions():
    for module, targets in _imports("labkit").items():
        leaks = {t for t in targets if t.split(".")[0] in ("autograde", "solutions")}
        assert not leaks, (module, leaks)


def test_stock_nbgrader_and_the_runner_share_one_pipeline(tmp_path):
    from autograde import pipeline
    from autograde.layout import Layout

    config = Layout(tmp_path / "course").config()
    assert list(config.Autograde.sanitize_preprocessors) == pipeline.SANITIZE
    assert list(config.Autograde.autograde_preprocessors) == pipeline.EXECUTE + pipeline.RECORD


def test_course_paths_are_spelled_in_one_module():
    """Only autograde/layout.py names nbgrader's folders of a course."""
    for path in (REPO / "autograde").glob("*.py"):
        if path.name == "layout.py":
            continue
        text = path.read_text("utf8")
        for folder in ('"submitted"', '"autograded"', '"release"', '"source"', '"staged"'):
            assert f"/ {folder}" not in text, (path.name, folder)
