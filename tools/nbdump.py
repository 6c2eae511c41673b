#!/usr/bin/env python3
"""Print a notebook's text outputs and save its images, to read it as a student would.

    python tools/nbdump.py NOTEBOOK.ipynb OUTDIR     # OUTDIR/cellNN_K.png for every image
"""

from __future__ import annotations

import base64
import os
import sys

import nbformat


def main(path: str, outdir: str) -> None:
    os.makedirs(outdir, exist_ok=True)
    nb = nbformat.read(path, as_version=4)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for k, out in enumerate(cell.get("outputs", [])):
            if out.output_type == "stream":
                print(f"[{i}] {out.name}: {out.text.rstrip()}")
            elif out.output_type in ("execute_result", "display_data"):
                data = out.get("data", {})
                if "image/png" in data:
                    name = os.path.join(outdir, f"cell{i:02d}_{k}.png")
                    with open(name, "wb") as f:
                        f.write(base64.b64decode(data["image/png"]))
                    print(f"[{i}] image -> {name}  ({data.get('text/plain', '')})")
                elif "text/plain" in data:
                    print(f"[{i}] {data['text/plain'][:500]}")
            elif out.output_type == "error":
                print(f"[{i}] ERROR {out.ename}: {out.evalue}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
