#!/usr/bin/env python3
"""One command to set up the course and open it, one to set it up and test it.

    python3 course.py lab     # install everything into .venv, open the course in JupyterLab
    python3 course.py test    # install everything into .venv, run the whole test suite

Both create ``.venv`` beside this file on first use (only Python >= 3.10 and pip needed) and
reinstall only when pyproject.toml changed, so they are safe to run again and again.
Extra arguments after ``test`` go to pytest (``python3 course.py test -k adam``).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv

ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.path.join(ROOT, ".venv")
BIN = os.path.join(VENV, "Scripts" if os.name == "nt" else "bin")
PYTHON = os.path.join(BIN, "python.exe" if os.name == "nt" else "python")
EXTRAS = "lab,test"
TEST_PATHS = ["tests", "notebooks", "solutions"]


def _stamp() -> str:
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return hashlib.sha256(f.read() + EXTRAS.encode()).hexdigest()


def setup() -> None:
    """Create .venv and install optimlab with its lab and test extras, if not done already."""
    if sys.version_info < (3, 10):  # noqa: UP036 (this script must explain itself on old Pythons)
        sys.exit(f"optimlab needs Python >= 3.10; this is {sys.version.split()[0]}")
    if not os.path.exists(PYTHON):
        print(f"creating a virtual environment in {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    stamp_file = os.path.join(VENV, ".optimlab-installed")
    if os.path.exists(stamp_file) and open(stamp_file).read() == _stamp():
        return
    print("installing optimlab and its dependencies (first run only, a few minutes)", flush=True)
    pip = [PYTHON, "-m", "pip", "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "--quiet", "-e", f"{ROOT}[{EXTRAS}]"], check=True)
    with open(stamp_file, "w") as f:
        f.write(_stamp())


def lab(args: list[str]) -> int:
    setup()
    start = "notebooks/index.ipynb"
    target = start if os.path.exists(os.path.join(ROOT, start)) else "notebooks"
    return subprocess.call([os.path.join(BIN, "jupyter"), "lab", target, *args], cwd=ROOT)


def test(args: list[str]) -> int:
    setup()
    paths = [p for p in TEST_PATHS if os.path.isdir(os.path.join(ROOT, p))]
    # One BLAS thread: the course's matrices are small, so this is as fast on an idle machine,
    # many times faster on a busy one, and the notebooks' printed numbers do not depend on
    # how many cores the machine has.
    env = dict(os.environ)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env.setdefault(var, "1")
    return subprocess.call([PYTHON, "-m", "pytest", "--nbval", *paths, *args], cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    commands = {"lab": lab, "test": test, "setup": lambda _: setup() or 0}
    if not argv or argv[0] not in commands:
        print(__doc__)
        return 2
    return commands[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
