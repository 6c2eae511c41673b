"""The grader's test submissions, written from exercises/06_adam.ipynb into a folder.

    .venv/bin/python tests/grading_submissions/make_fixtures.py DIR    # to look at them

Each fixture is the chapter-06 exercise notebook (adam_step, amsgrad_step) as a student might
hand it in: correct, partly wrong, not started, or hostile in one way (README.md lists them and
what the grader must make of each). They are generated, not committed, so that they follow the
exercise notebook and so that the deliberately broken ones (a syntax error, a file that is not
JSON) stay out of the project's lint run. tests/test_grading_grader.py and
benchmarks/grading.py call :func:`write`.
"""

from __future__ import annotations

import copy
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
EXERCISE = os.path.join(ROOT, "exercises", "06_adam.ipynb")

ADAM = '''def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v'''

AMSGRAD = '''def amsgrad_step(theta, grad, m, v, v_max, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    v_max = np.maximum(v_max, v)
    return theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v_max / (1 - beta2**t)) + eps), m, v, v_max'''

ADAM_NO_BIAS_CORRECTION = '''def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    return theta - lr * m / (np.sqrt(v) + eps), m, v'''

AMSGRAD_NO_MAX = '''def amsgrad_step(theta, grad, m, v, v_max, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad**2
    return theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v, v_max'''

WRONG_ADAM = '''def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return theta, m, v'''

WRONG_AMSGRAD = '''def amsgrad_step(theta, grad, m, v, v_max, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return theta, m, v, v_max'''

FIXTURES = {
    # name: (adam cell, amsgrad cell, extra cells appended after the setup cell, extra cells at the end)
    "correct": (ADAM, AMSGRAD, [], []),
    "partly_wrong": (ADAM_NO_BIAS_CORRECTION, AMSGRAD, [], []),
    "also_partly_wrong": (ADAM, AMSGRAD_NO_MAX, [], []),
    "stub": (None, None, [], []),
    "syntax_error": (ADAM.replace("def adam_step(", "def adam_step(,"), AMSGRAD, [], []),
    "infinite_loop": (
        ADAM.replace("    m = beta1", "    while True:\n        pass\n    m = beta1"), AMSGRAD,
        [], ["while True:  # an experiment that never ends\n    pass"]),
    "memory_hog": (
        ADAM.replace("    m = beta1",
                     "    hog = []\n    while True:\n        hog.append(np.ones(10**7))\n    m = beta1"),
        AMSGRAD.replace("    m = beta1", "    hog = [0]\n    while True:\n        hog = hog + hog\n    m = beta1"),
        ["big = bytearray(10**12)  # far more than the memory limit"], []),
    "exits": (
        ADAM.replace("    m = beta1", "    import os\n    os._exit(0)\n    m = beta1"),
        AMSGRAD.replace("    m = beta1", "    import sys\n    sys.exit('all tests passed')\n    m = beta1"),
        ["import sys\nsys.exit(0)"], ["import os\nos._exit(0)"]),
    "fake_pass": (
        WRONG_ADAM, WRONG_AMSGRAD,
        ["import sys\nprint('PASS adam_step 1/1')\nprint('PASS amsgrad_step 1/1')\n"
         "print('{\"event\": \"result\", \"name\": \"adam_step\", \"results\": []}')\n"
         "sys.stderr.write('All tests passed. Score: 2/2\\n')"],
        ["print('✔ adam_step is correct')\nprint('✔ amsgrad_step is correct')"]),
    "monkeypatch": (
        WRONG_ADAM, WRONG_AMSGRAD,
        ["import optimlab\nimport optimlab.grading\nimport optimlab.grading.checks\nimport optimlab.optim\n"
         "np.allclose = lambda *a, **k: True\nnp.isclose = lambda a, b, *x, **k: np.ones(np.shape(a), bool)\n"
         "np.array_equal = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
         "optimlab.grading.checks.judge = lambda *a, **k: None\n"
         "optimlab.grading.check_adam_step = lambda f: print('PASS')\n"
         "optimlab.optim.adam = lambda *a, **k: None\n"
         "import json\njson.dumps = lambda *a, **k: '{\"event\": \"done\"}'"], []),
    "always_equal": (
        '''class AlwaysEqual:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    __hash__ = object.__hash__


def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return AlwaysEqual(), AlwaysEqual(), AlwaysEqual()''',
        '''class EqualArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(np.shape(self), bool)

    def __ne__(self, other):
        return np.zeros(np.shape(self), bool)


def amsgrad_step(theta, grad, m, v, v_max, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return tuple(np.zeros_like(a).view(EqualArray) for a in (theta, m, v, v_max))''', [], []),
    "traceback_display": (
        ADAM.replace("    m = beta1", "    raise ValueError('oops')\n    m = beta1"),
        AMSGRAD.replace("    m = beta1", "    1 / 0\n    m = beta1"),
        ["import sys\nimport traceback\n\n"
         "try:\n    ip = get_ipython()  # noqa: F821\n    ip.showtraceback = lambda *a, **k: print('PASS')\n"
         "    ip._showtraceback = lambda *a, **k: print('PASS')\nexcept NameError:\n    pass\n"
         "sys.excepthook = lambda *a: print('PASS')\n"
         "traceback.print_exception = lambda *a, **k: print('PASS')\n"
         "traceback.format_exception = lambda *a, **k: ['PASS']\n"
         "traceback.extract_tb = lambda *a, **k: 'PASS'"], []),
    "missing_function": (ADAM, AMSGRAD.replace("def amsgrad_step(", "def ams_grad_step("), [], []),
    "calls_reference": (
        '''from optimlab.optim import adam


def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, m, v = theta.copy(), m.copy(), v.copy()
    adam(theta, grad, m, v, None, step=t, lr=lr, betas=(beta1, beta2), eps=eps,
         work=[np.empty_like(theta) for _ in range(3)])
    return theta, m, v''',
        '''def amsgrad_step(theta, grad, m, v, v_max, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    hidden = __import__("optim" + "lab.grading.refer" + "ence", fromlist=["x"])
    return hidden.amsgrad_step(theta, grad, m, v, v_max, t, lr, beta1, beta2, eps)''', [], []),
}


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _code(text: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": _lines(text)}


def build(exercise: dict, adam: str | None, amsgrad: str | None, before: list[str], after: list[str]) -> dict:
    nb = copy.deepcopy(exercise)
    cells = []
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        cell.pop("id", None)
        if cell["cell_type"] == "code" and src.startswith("def adam_step(") and adam is not None:
            cell["source"] = _lines(adam)
        elif cell["cell_type"] == "code" and src.startswith("def amsgrad_step(") and amsgrad is not None:
            cell["source"] = _lines(amsgrad)
        cells.append(cell)
        if cell["cell_type"] == "code" and src.startswith("import numpy"):
            cells += [_code(c) for c in before]
    cells += [_code(c) for c in after]
    nb["cells"] = cells
    nb["nbformat_minor"] = 4  # no cell ids
    return nb


NAMES = [*FIXTURES, "not_json"]


def write(folder: str, names: list[str] | None = None, student: str | None = None) -> list[str]:
    """Write the fixtures ``names`` (default: all) into ``folder`` as ``<name>.ipynb`` (or
    ``<student>.ipynb`` for a single one); return their paths."""
    with open(EXERCISE, encoding="utf-8") as f:
        exercise = json.load(f)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for name in names or NAMES:
        path = os.path.join(folder, f"{student or name}.ipynb")
        with open(path, "w", encoding="utf-8") as f:
            if name == "not_json":
                f.write('{"cells": [{"cell_type": "code", "source": "def adam_step(theta, grad, m, v, t):\n')
            else:
                adam, amsgrad, before, after = FIXTURES[name]
                json.dump(build(exercise, adam, amsgrad, before, after), f, indent=1, sort_keys=True,
                          ensure_ascii=False)
                f.write("\n")
        paths.append(path)
    return paths


if __name__ == "__main__":
    import sys

    for path in write(sys.argv[1] if len(sys.argv) > 1 else "grading_submissions"):
        print(path)
