"""Generate the student notebooks in ``exercises/`` from the solution notebooks in ``solutions/``.

    optimlab make-exercises            # (re)write exercises/ from solutions/
    optimlab make-exercises --check    # exit 1 if exercises/ is out of date (CI)
    python -m optimlab.grading.make_exercises [--check] [--solutions DIR] [--exercises DIR]

The solution notebook is the single source. In every code cell, the lines from
``### BEGIN SOLUTION`` to ``### END SOLUTION`` (nbgrader's markers) are replaced by a stub at the
same indentation::

    # YOUR CODE HERE
    raise NotImplementedError("write your code here, then run the check below")

Outputs and execution counts are cleared, and the notebook's metadata records the chapter and
its graded functions (``metadata.optimlab``), which the grader reads. The output is plain JSON
written the way nbformat writes it (sorted keys, one-space indent, a final newline), from the
solution's content only, so the same solutions always give byte-identical exercises.
Only the standard library is used: instructors need no notebook tooling to run it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterable
from typing import Any

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB = 'raise NotImplementedError("write your code here, then run the check below")'
CHECK_CALL = re.compile(r"\bcheck_([A-Za-z_][A-Za-z0-9_]*)\s*\(")


class SolutionError(ValueError):
    """A solution notebook whose markers do not pair up."""


def strip_solution(source: str, where: str = "cell") -> str:
    """Replace every BEGIN/END SOLUTION block of a cell's source by the stub."""
    out: list[str] = []
    inside = False
    for number, line in enumerate(source.splitlines(keepends=True), 1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside:
                raise SolutionError(f"{where}, line {number}: {BEGIN} inside another solution block")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f"{indent}# YOUR CODE HERE\n{indent}{STUB}\n")
        elif stripped == END:
            if not inside:
                raise SolutionError(f"{where}, line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise SolutionError(f"{where}: {BEGIN} without {END}")
    text = "".join(out)
    return text[:-1] if text.endswith("\n") and not source.endswith("\n") else text


def _lines(text: str) -> list[str]:
    """A multiline string as nbformat stores it: a list of lines, each but the last with its newline."""
    return text.splitlines(keepends=True)


def _source(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def exercise_notebook(solution: dict[str, Any], chapter: str) -> dict[str, Any]:
    """The student notebook for one solution notebook (a new dict; the solution is not changed)."""
    cells = []
    graded: list[str] = []
    for i, cell in enumerate(solution.get("cells", [])):
        src = _source(cell)
        new: dict[str, Any] = {"cell_type": cell["cell_type"]}
        if "id" in cell:
            new["id"] = cell["id"]
        metadata = {k: v for k, v in cell.get("metadata", {}).items() if k not in ("execution", "collapsed")}
        new["metadata"] = metadata
        if cell["cell_type"] == "code":
            if BEGIN in src:
                src = strip_solution(src, f"{chapter}, cell {i}")
            graded += [name for name in CHECK_CALL.findall(src) if name not in graded]
            new["execution_count"] = None
            new["outputs"] = []
        elif "attachments" in cell:
            new["attachments"] = cell["attachments"]
        new["source"] = _lines(src)
        cells.append(new)
    metadata = {k: v for k, v in solution.get("metadata", {}).items() if k != "widgets"}
    metadata["optimlab"] = {"chapter": chapter, "exercises": graded,
                            "generated_from": f"solutions/{chapter}.ipynb"}
    return {"cells": cells, "metadata": metadata, "nbformat": solution.get("nbformat", 4),
            "nbformat_minor": solution.get("nbformat_minor", 5)}


def dumps(nb: dict[str, Any]) -> str:
    """Notebook JSON exactly as nbformat writes it, so diffs stay small."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False, separators=(",", ": ")) + "\n"


def solution_paths(solutions: str) -> list[str]:
    return sorted(os.path.join(solutions, f) for f in os.listdir(solutions)
                  if f.endswith(".ipynb") and not f.startswith("."))


def generate(solutions: str) -> dict[str, str]:
    """File name -> exercise notebook text, for every solution notebook."""
    out = {}
    for path in solution_paths(solutions):
        with open(path, encoding="utf-8") as f:
            nb = json.load(f)
        chapter = os.path.splitext(os.path.basename(path))[0]
        out[os.path.basename(path)] = dumps(exercise_notebook(nb, chapter))
    return out


def stale(solutions: str, exercises: str) -> list[str]:
    """What differs between ``exercises`` and what ``solutions`` generate (empty: up to date)."""
    wanted = generate(solutions)
    problems = []
    for name, text in wanted.items():
        path = os.path.join(exercises, name)
        if not os.path.exists(path):
            problems.append(f"{name}: missing")
            continue
        with open(path, encoding="utf-8") as f:
            if f.read() != text:
                problems.append(f"{name}: out of date")
    if os.path.isdir(exercises):
        for name in sorted(os.listdir(exercises)):
            if name.endswith(".ipynb") and name not in wanted:
                problems.append(f"{name}: has no solution notebook (exercises/ is generated; remove it)")
    return problems


def write(solutions: str, exercises: str) -> list[str]:
    """Write every exercise notebook whose text changed; return their names."""
    os.makedirs(exercises, exist_ok=True)
    changed = []
    for name, text in generate(solutions).items():
        path = os.path.join(exercises, name)
        old = None
        if os.path.exists(path):
            with open(path, encoding="utf-8") as f:
                old = f.read()
        if old != text:
            with open(path, "w", encoding="utf-8", newline="\n") as f:
                f.write(text)
            changed.append(name)
    return changed


def main(argv: Iterable[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="optimlab make-exercises", description=__doc__.split("\n\n")[0])
    parser.add_argument("--solutions", default="solutions", help="folder of solution notebooks (default: %(default)s)")
    parser.add_argument("--exercises", default="exercises", help="folder to write (default: %(default)s)")
    parser.add_argument("--check", action="store_true", help="only check that exercises/ is up to date")
    args = parser.parse_args(list(argv) if argv is not None else None)
    try:
        if args.check:
            problems = stale(args.solutions, args.exercises)
            for p in problems:
                print(f"exercises/{p}")
            if problems:
                print("exercises/ is out of date: run `optimlab make-exercises`", file=sys.stderr)
                return 1
            print(f"exercises/ is up to date ({len(generate(args.solutions))} notebooks)")
            return 0
        changed = write(args.solutions, args.exercises)
    except SolutionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for name in changed:
        print(f"wrote exercises/{name}")
    print(f"{len(changed)} exercise notebook(s) written, the others were up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
