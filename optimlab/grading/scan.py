"""Read a submitted notebook without running it: its code cells, what they define, and whether a
graded function leans on optimlab's own implementation.

Everything here is static (``json`` and ``ast``) and runs in the trusted grader process.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

#: optimlab modules whose code a graded function must not call
REFERENCE_MODULES = ("optimlab",)
#: constructs that can reach any module by name; a graded function using them is flagged for review
DYNAMIC_NAMES = ("__import__", "importlib", "eval", "exec", "compile", "globals", "__builtins__", "builtins",
                 "modules", "__dict__", "setprofile", "settrace")
_MAGIC = re.compile(r"^\s*[%!]")


class NotebookError(ValueError):
    """The file is not a readable notebook (not JSON, or not nbformat-shaped)."""


@dataclass
class Cell:
    index: int  # position among the notebook's cells (all types), from 0
    source: str  # the code to run: magics blanked, check calls removed
    tree: ast.Module | None = None
    error: str | None = None  # the SyntaxError, if the cell does not parse


@dataclass
class Notebook:
    path: str
    cells: list[Cell]
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def chapter(self) -> str | None:
        meta = self.metadata.get("optimlab")
        chapter = meta.get("chapter") if isinstance(meta, dict) else None
        return chapter if isinstance(chapter, str) else None

    @property
    def student(self) -> str | None:
        meta = self.metadata.get("optimlab")
        name = meta.get("student") if isinstance(meta, dict) else None
        return name if isinstance(name, str) and name.strip() else None

    def runnable(self) -> list[Cell]:
        return [c for c in self.cells if c.tree is not None]


def read(path: str) -> Notebook:
    """Parse a notebook file; raises :class:`NotebookError` when it is not one."""
    try:
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise NotebookError(f"not valid notebook JSON ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError("not a notebook: the JSON has no list of cells")
    cells = []
    for i, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        if isinstance(src, list) and all(isinstance(s, str) for s in src):
            src = "".join(src)
        if not isinstance(src, str):
            raise NotebookError(f"not a notebook: cell {i} has no readable source")
        cells.append(prepare(i, src))
    metadata = nb.get("metadata") if isinstance(nb.get("metadata"), dict) else {}
    return Notebook(path, cells, metadata)


def prepare(index: int, source: str) -> Cell:
    """One code cell, ready to run: IPython magics and shell lines blanked (line numbers kept),
    and top-level ``check_*(...)`` calls removed (the grader runs its own checks)."""
    lines = ["" if _MAGIC.match(line) else line for line in source.split("\n")]
    text = "\n".join(lines)
    try:
        tree = ast.parse(text, filename=f"<cell {index}>")
    except SyntaxError as exc:
        return Cell(index, text, None, f"line {exc.lineno}: {exc.msg}")
    except (ValueError, RecursionError, MemoryError) as exc:
        return Cell(index, text, None, f"{type(exc).__name__}: {exc}")
    checks = [s for s in tree.body if _is_check_call(s)]
    if checks:
        kept = [s for s in tree.body if not _is_check_call(s)]
        tree = ast.Module(body=kept, type_ignores=[])
        blank = {n for s in checks for n in range(s.lineno, (s.end_lineno or s.lineno) + 1)}
        shared = any(n in blank for s in kept for n in range(s.lineno, (s.end_lineno or s.lineno) + 1))
        if shared:  # a check call shares a line with other code: rebuild the cell from the tree
            text = ast.unparse(tree)
            tree = ast.parse(text, filename=f"<cell {index}>")
        else:
            text = "\n".join("" if n + 1 in blank else line for n, line in enumerate(lines))
    return Cell(index, text, tree)


def _is_check_call(stmt: ast.stmt) -> bool:
    node = stmt.value if isinstance(stmt, (ast.Expr, ast.Assign)) else None
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    return name.startswith("check_") or name == "check"


# ----------------------------------------------------------------------------- definitions
def bindings(cells: Iterable[Cell]) -> dict[str, list[ast.AST]]:
    """Top-level names bound by the notebook (functions, classes, imports, assignments)."""
    out: dict[str, list[ast.AST]] = {}
    for cell in cells:
        if cell.tree is None:
            continue
        for stmt in cell.tree.body:
            for name in _bound_names(stmt):
                out.setdefault(name, []).append(stmt)
    return out


def _bound_names(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name]
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return [(a.asname or a.name).split(".")[0] for a in stmt.names]
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    elif isinstance(stmt, (ast.For, ast.AsyncFor)):
        targets = [stmt.target]
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        targets = [i.optional_vars for i in stmt.items if i.optional_vars is not None]
    names = []
    for t in targets:
        names += [n.id for n in ast.walk(t) if isinstance(n, ast.Name)]
    if isinstance(stmt, (ast.If, ast.Try, ast.For, ast.While, ast.With)):  # definitions nested in blocks
        for child in ast.iter_child_nodes(stmt):
            if isinstance(child, ast.stmt):
                names += _bound_names(child)
    return names


def defined_functions(cells: Iterable[Cell]) -> set[str]:
    return set(bindings(cells))


def closure(name: str, bound: dict[str, list[ast.AST]]) -> list[ast.AST]:
    """The definitions of ``name`` and of every top-level name they use, transitively."""
    seen: set[str] = set()
    nodes: list[ast.AST] = []
    todo = [name]
    while todo:
        n = todo.pop()
        if n in seen or n not in bound:
            continue
        seen.add(n)
        for node in bound[n]:
            nodes.append(node)
            todo += [m for m in _used_names(node) if m not in seen]
    return nodes


def _used_names(node: ast.AST) -> set[str]:
    used = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            used.add(sub.id)
        elif isinstance(sub, ast.Global):
            used.update(sub.names)
    return used


def _mentions(node: ast.AST, words: tuple[str, ...]) -> str | None:
    for sub in ast.walk(node):
        text = None
        if isinstance(sub, ast.Name):
            text = sub.id
        elif isinstance(sub, ast.Attribute):
            text = sub.attr
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            text = sub.value
        elif isinstance(sub, ast.alias):
            text = sub.name
        elif isinstance(sub, ast.ImportFrom):
            text = sub.module or ""
        if text is None:
            continue
        for w in words:
            if text == w or text.startswith(w + ".") or (w == "optimlab" and "optimlab" in text):
                return text
    return None


def _label(node: ast.AST) -> str:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return f"{node.name}"
    text = ast.unparse(node).splitlines()[0] if isinstance(node, ast.stmt) else type(node).__name__
    return text if len(text) <= 60 else text[:57] + "..."


def uses_reference(name: str, bound: dict[str, list[ast.AST]]) -> str | None:
    """Why the graded function ``name`` (with the helpers it uses) reaches optimlab, or None."""
    for node in closure(name, bound):
        hit = _mentions(node, REFERENCE_MODULES)
        if hit is not None:
            via = "" if getattr(node, "name", None) == name else f", which {name} uses"
            return f"`{_label(node)}` refers to `{hit}`{via}"
    return None


def uses_dynamic_lookup(name: str, bound: dict[str, list[ast.AST]]) -> str | None:
    """Why ``name`` (or a helper) looks modules up dynamically (flagged for review), or None."""
    for node in closure(name, bound):
        hit = _mentions(node, DYNAMIC_NAMES)
        if hit is not None:
            return f"`{_label(node)}` uses `{hit}`"
    return None
