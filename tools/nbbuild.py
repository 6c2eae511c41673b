#!/usr/bin/env python3
"""Author notebooks as plain Python files, build and execute them as .ipynb.

    python tools/nbbuild.py build SOURCE.py NOTEBOOK.ipynb   # convert, execute, save outputs
    python tools/nbbuild.py run NOTEBOOK.ipynb               # re-execute in place
    python tools/nbbuild.py to-py NOTEBOOK.ipynb SOURCE.py   # the reverse, for editing

Source format ("percent" cells, as jupytext and VS Code read them):

    # %% [markdown]
    # # A title
    # Markdown lines start with "# ".

    # %% tags=["nbval-ignore-output"]
    code ...

Execution uses the current Python's kernel, seeds nothing by itself (notebooks seed their
own generators), and fails on the first error.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time

import nbformat
from nbclient import NotebookClient

HEADER = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def parse(source: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cells: list[tuple[bool, list[str], list[str]]] = []
    for line in source.splitlines():
        m = HEADER.match(line)
        if m:
            cells.append((bool(m.group("md")), json.loads(m.group("tags")) if m.group("tags") else [], []))
        elif cells:
            cells[-1][2].append(line)
    for is_md, tags, lines in cells:
        while lines and not lines[-1].strip():
            lines.pop()
        while lines and not lines[0].strip():
            lines.pop(0)
        if is_md:
            text = "\n".join(l[2:] if l.startswith("# ") else l.lstrip("#") for l in lines)
            cell = nbformat.v4.new_markdown_cell(text)
        else:
            cell = nbformat.v4.new_code_cell("\n".join(lines))
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    return nb


def to_source(nb: nbformat.NotebookNode) -> str:
    out = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        suffix = f" tags={json.dumps(tags)}" if tags else ""
        if cell.cell_type == "markdown":
            out.append(f"# %% [markdown]{suffix}")
            out.extend(("# " + l).rstrip() for l in cell.source.splitlines())
        else:
            out.append(f"# %%{suffix}")
            out.append(cell.source)
        out.append("")
    return "\n".join(out)


def execute(nb: nbformat.NotebookNode, path: str, timeout: int = 600) -> float:
    start = time.perf_counter()
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}})
    client.execute()
    return time.perf_counter() - start


def save(nb: nbformat.NotebookNode, path: str) -> None:
    for cell in nb.cells:  # stable files: no timing metadata
        cell.metadata.pop("execution", None)
    nbformat.validate(nb)
    with open(path, "w") as f:
        nbformat.write(nb, f)


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[0] == "build":
        with open(argv[1]) as f:
            nb = parse(f.read())
        seconds = execute(nb, argv[2])
        save(nb, argv[2])
        print(f"{argv[2]}: executed in {seconds:.1f} s")
        return 0
    if len(argv) >= 2 and argv[0] == "run":
        nb = nbformat.read(argv[1], as_version=4)
        seconds = execute(nb, argv[1])
        save(nb, argv[1])
        print(f"{argv[1]}: executed in {seconds:.1f} s")
        return 0
    if len(argv) >= 3 and argv[0] == "to-py":
        with open(argv[2], "w") as f:
            f.write(to_source(nbformat.read(argv[1], as_version=4)))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
