"""The exercise notebooks: generated from the solutions, up to date, byte-stable, and, as shipped,
running top to bottom with every check reporting a calm "not implemented" (none passes on a stub).

The solution notebooks themselves run under nbval (``pytest --nbval solutions``), every check passing.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys

import pytest

from optimlab.grading import make_exercises, specs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOLUTIONS = os.path.join(ROOT, "solutions")
EXERCISES = os.path.join(ROOT, "exercises")
CHAPTERS = ["01_gradient_descent", "02_sgd", "03_momentum", "04_adagrad", "05_rmsprop", "06_adam", "07_adamw",
            "08_new_optimizers", "09_schedules", "10_putting_it_together", "11_beyond_adam"]


def load(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def code(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def test_one_solution_and_one_exercise_notebook_per_chapter():
    assert sorted(f[:-6] for f in os.listdir(SOLUTIONS) if f.endswith(".ipynb")) == CHAPTERS
    assert sorted(f[:-6] for f in os.listdir(EXERCISES) if f.endswith(".ipynb")) == CHAPTERS


def test_exercises_are_up_to_date():
    assert make_exercises.stale(SOLUTIONS, EXERCISES) == [], "run `optimlab make-exercises`"


def test_generation_is_byte_stable():
    assert make_exercises.generate(SOLUTIONS) == make_exercises.generate(SOLUTIONS)


def test_the_command_reports_stale_exercises(tmp_path):
    env = {**os.environ, "PYTHONPATH": ROOT}
    cmd = [sys.executable, "-m", "optimlab.cli", "make-exercises", "--solutions", SOLUTIONS,
           "--exercises", str(tmp_path)]
    assert subprocess.run([*cmd, "--check"], capture_output=True, env=env).returncode == 1
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True).stdout
    assert f"{len(CHAPTERS)} exercise notebook(s) written" in out
    assert subprocess.run([*cmd, "--check"], capture_output=True, env=env).returncode == 0
    assert subprocess.run(cmd, capture_output=True, text=True, env=env).stdout.startswith("0 exercise")
    path = tmp_path / "06_adam.ipynb"
    path.write_text(path.read_text().replace("Adam", "Adma"))
    res = subprocess.run([*cmd, "--check"], capture_output=True, text=True, env=env)
    assert res.returncode == 1 and "06_adam.ipynb: out of date" in res.stdout
    (tmp_path / "99_extra.ipynb").write_text("{}")
    assert "99_extra.ipynb: has no solution" in subprocess.run([*cmd, "--check"], capture_output=True,
                                                               text=True, env=env).stdout


def test_module_entry_point(tmp_path):
    out = subprocess.run([sys.executable, "-m", "optimlab.grading.make_exercises", "--solutions", SOLUTIONS,
                          "--exercises", str(tmp_path)], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": ROOT})
    assert "written" in out.stdout and len(list(tmp_path.iterdir())) == len(CHAPTERS)


def test_strip_solution_keeps_indentation_and_refuses_unpaired_markers():
    src = "def f(x):\n    \"\"\"Doc.\"\"\"\n    ### BEGIN SOLUTION\n    y = x + 1\n    return y\n    ### END SOLUTION"
    out = make_exercises.strip_solution(src)
    assert out == ("def f(x):\n    \"\"\"Doc.\"\"\"\n    # YOUR CODE HERE\n    " + make_exercises.STUB)
    with pytest.raises(make_exercises.SolutionError):
        make_exercises.strip_solution("### BEGIN SOLUTION\nx = 1\n")
    with pytest.raises(make_exercises.SolutionError):
        make_exercises.strip_solution("x = 1\n### END SOLUTION\n")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_exercise_notebook_is_the_solution_without_solutions(chapter):
    sol = load(os.path.join(SOLUTIONS, f"{chapter}.ipynb"))
    ex = load(os.path.join(EXERCISES, f"{chapter}.ipynb"))
    assert len(sol["cells"]) == len(ex["cells"])
    meta = ex["metadata"]["optimlab"]
    assert meta["chapter"] == chapter and meta["exercises"] == specs.CHAPTERS[chapter]
    for s, e in zip(sol["cells"], ex["cells"]):
        assert s["cell_type"] == e["cell_type"]
        if e["cell_type"] == "code":
            assert e["outputs"] == [] and e["execution_count"] is None
        src = "".join(e["source"])
        assert "BEGIN SOLUTION" not in src and "END SOLUTION" not in src
    text = "\n".join(code(ex))
    assert text.count("raise NotImplementedError") == len(specs.CHAPTERS[chapter])


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_solution_notebook_shape(chapter):
    """Intro linking to the chapter, a task with an equation, the function with the exercise's
    signature and its solution between the markers, then its check cell; outputs committed."""
    nb = load(os.path.join(SOLUTIONS, f"{chapter}.ipynb"))
    intro = "".join(nb["cells"][0]["source"])
    assert f"../notebooks/{chapter}.ipynb" in intro
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    assert "$$" in markdown
    cells = code(nb)
    for name in specs.CHAPTERS[chapter]:
        spec = specs.get(name)
        i = next(i for i, c in enumerate(cells) if c.startswith(f"def {name}("))
        fn = ast.parse(cells[i]).body[0]
        params = [a.arg for a in fn.args.args]
        defaults = [ast.literal_eval(d) for d in fn.args.defaults]
        ref = ast.parse(f"def {spec.signature.split(' -> ')[0]}: pass").body[0]
        assert params == [a.arg for a in ref.args.args]
        assert defaults == [ast.literal_eval(d) for d in ref.args.defaults]
        assert "### BEGIN SOLUTION" in cells[i] and "### END SOLUTION" in cells[i]
        assert cells[i + 1].strip() == f"grading.check_{name}({name})"
    outputs = [o for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])]
    texts = ["".join(o["data"]["text/plain"]) for o in outputs if "data" in o]
    assert len(texts) == len(specs.CHAPTERS[chapter]) and all(t.startswith("✔") for t in texts)


def test_every_exercise_has_a_notebook():
    assert sorted(n for c in CHAPTERS for n in specs.CHAPTERS[c]) == sorted(specs.SPECS)


REPORT = """
import json
from optimlab import grading
print("RESULTS " + json.dumps([[r.name, r.status, r.passed] for r in grading.results()]))
"""


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_shipped_exercise_runs_and_every_check_fails_calmly(chapter):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(os.path.join(EXERCISES, f"{chapter}.ipynb"), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(REPORT))
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": ROOT}})
    client.execute()  # raises CellExecutionError on any error output
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    line = next(o.text for o in outputs if o.output_type == "stream" and "RESULTS " in o.get("text", ""))
    results = json.loads(line.split("RESULTS ", 1)[1])
    assert [r[0] for r in results] == specs.CHAPTERS[chapter]
    assert all(status == "not implemented" and not passed for _, status, passed in results), results
    shown = "\n".join("".join(o.get("data", {}).get("text/plain", "")) for o in outputs)
    assert shown.count("is not implemented yet") == len(results)
    assert "Traceback" not in shown
