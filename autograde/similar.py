"""Pairs of submissions whose own code is near-identical, for an instructor to look at.

Only what students wrote counts: the solution cells of each submission, minus every line the
release already gave out (signatures, stubs, comments). The code is normalised before it is
compared, so that renaming variables, rewording comments or reformatting changes nothing:
each line of the parsed code (docstrings dropped) with every name a student chose replaced by
its order of first appearance (``v0``, ``v1``, …); builtins, attributes and imported module
names are kept, since they carry the meaning. Two submissions are reported when most of
their normalised lines are shared (Jaccard similarity of the line sets) and enough of them
are (short functions that everyone writes alike are not evidence).

This is a screening aid, not a verdict: the report lists the shared lines so that a person
can judge.
"""

from __future__ import annotations

import ast
import builtins
import itertools
from dataclasses import dataclass
from pathlib import Path

import nbformat

KEEP = set(dir(builtins)) | {"self", "cls", "np", "torch", "nn", "F", "plt", "math"}


@dataclass
class Pair:
    first: str
    second: str
    similarity: float  # shared / all distinct normalised lines of the two
    shared: list[str]  # the shared lines as the first student wrote them


def solution_code(notebook: nbformat.NotebookNode) -> list[str]:
    """The sources of the notebook's code solution cells (what students write)."""
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"
            and cell.metadata.get("nbgrader", {}).get("solution")]


class _Renamer(ast.NodeTransformer):
    """Names a student chose become ``v0``, ``v1``, … in order of first appearance."""

    def __init__(self) -> None:
        self.names: dict[str, str] = {}

    def _new(self, name: str) -> str:
        if name in KEEP:
            return name
        return self.names.setdefault(name, f"v{len(self.names)}")

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._new(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._new(node.arg)
        node.annotation = None
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self._new(node.name)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(
                getattr(body[0], "value", None), ast.Constant) and isinstance(
                body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]  # the docstring is prose, not code
        node.returns = None
        self.generic_visit(node)
        return node


COMPOUND = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.While, ast.If,
            ast.With, ast.Try)


def normalised_lines(source: str) -> list[tuple[str, str]]:
    """``(normalised, original)`` for each simple statement of ``source`` (the bodies of
    functions and loops included); unparsable code is compared by its stripped lines."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        lines = [line.strip() for line in source.splitlines()]
        return [(line, line) for line in lines if line and not line.startswith("#")]
    original = source.splitlines()
    tree = _Renamer().visit(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and not isinstance(node, COMPOUND):
            text = original[node.lineno - 1].strip() if node.lineno <= len(original) else ""
            found.append((node.lineno, ast.unparse(node).splitlines()[0], text))
    return [(normal, text) for _, normal, text in sorted(found)]


def fingerprint(notebook: nbformat.NotebookNode, given: set[str]) -> dict[str, str]:
    """Normalised line -> original line, for the lines the student wrote (not ``given``)."""
    lines: dict[str, str] = {}
    for source in solution_code(notebook):
        for normal, text in normalised_lines(source):
            if normal not in given and normal not in ("pass", "return"):
                lines.setdefault(normal, text)
    return lines


def similar_pairs(release: Path, submissions: dict[str, Path], *, threshold: float = 0.8,
                  min_shared: int = 6) -> list[Pair]:
    """Pairs of ``submissions`` (student -> notebook) at or above ``threshold``, most
    similar first."""
    given = {normal for source in solution_code(nbformat.read(release, as_version=4))
             for normal, _ in normalised_lines(source)}
    prints = {}
    for student, path in sorted(submissions.items()):
        try:
            prints[student] = fingerprint(nbformat.read(path, as_version=4), given)
        except Exception:  # unreadable notebooks are reported by grading, not here
            continue
    pairs = []
    for (a, lines_a), (b, lines_b) in itertools.combinations(prints.items(), 2):
        shared = lines_a.keys() & lines_b.keys()
        union = lines_a.keys() | lines_b.keys()
        if len(shared) >= min_shared and len(shared) / len(union) >= threshold:
            pairs.append(Pair(a, b, len(shared) / len(union),
                              [lines_a[n] for n in lines_a if n in shared]))
    return sorted(pairs, key=lambda p: (-p.similarity, p.first, p.second))
