"""The instructor grader, end to end on a class of correct, partly wrong and hostile submissions
(``tests/grading_submissions/``, written by its ``make_fixtures.py``)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from grading_submissions import make_fixtures

from optimlab.grading import grader, scan, specs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAMES = make_fixtures.NAMES


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """One run of `optimlab grade` over every fixture, plus a folder submission and a renamed one."""
    tmp = tmp_path_factory.mktemp("grading")
    paths = make_fixtures.write(str(tmp / "class"))
    folder = tmp / "dana"
    make_fixtures.write(str(folder), ["stub"], student="06_adam_draft")
    make_fixtures.write(str(folder), ["partly_wrong"], student="06_adam")
    renamed = make_fixtures.write(str(tmp), ["correct"], student="submission-17")[0]
    nb = json.loads(open(renamed, encoding="utf-8").read())
    nb["metadata"]["optimlab"]["student"] = "Erin Example"
    with open(renamed, "w", encoding="utf-8") as f:
        json.dump(nb, f)
    paths += [str(folder), renamed]
    return grade_class(tmp, paths, "--time-limit", "3", "--memory-limit", "512")


def grade_class(tmp, paths, *options):
    """Run `optimlab grade` on paths; (rows of grades.csv by student, feedback texts, stdout, stderr)."""
    out, feedback = tmp / "grades.csv", tmp / "feedback"
    res = subprocess.run(
        [sys.executable, "-m", "optimlab.cli", "grade", *paths, "--out", str(out), "--feedback", str(feedback),
         "--jobs", "2", *options],
        capture_output=True, text=True, timeout=300, cwd=str(tmp), env={**os.environ, "PYTHONPATH": ROOT},
    )
    assert res.returncode == 0, res.stderr
    with open(out, newline="", encoding="utf-8") as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    texts = {p.stem: p.read_text(encoding="utf-8") for p in feedback.iterdir()}
    return rows, texts, res.stdout, res.stderr


def row(graded, name):
    return graded[0][name]


def text(graded, name):
    return graded[1][name]


def test_csv_has_one_row_per_student_with_points_per_exercise(graded):
    rows = graded[0]
    assert set(rows) == set(NAMES) | {"dana", "Erin_Example"}
    first = next(iter(rows.values()))
    assert list(first)[:3] == ["student", "adam_step", "amsgrad_step"]
    assert list(first)[3:] == ["total", "max", "status", "flags", "submission"]
    assert all(r["max"] == "2" for r in rows.values())
    assert all(int(r["total"]) == int(r["adam_step"]) + int(r["amsgrad_step"]) for r in rows.values())


def test_summary_line_and_progress(graded):
    rows, _, stdout, stderr = graded
    n = len(rows)
    assert f"{n} submissions in " in stdout
    assert f"{n - 1} graded" in stdout and "1 failed to run" in stdout and "1 flagged" in stdout
    assert stderr.count(f"/{n}]") == n  # one progress line per student when stderr is not a terminal


def test_correct_submission_gets_full_marks(graded):
    r = row(graded, "correct")
    assert (r["adam_step"], r["amsgrad_step"], r["status"], r["flags"]) == ("1", "1", "graded", "")
    assert "✔ adam_step is correct" in text(graded, "correct")


def test_partly_wrong_submissions_get_the_checks_explanations(graded):
    assert (row(graded, "partly_wrong")["adam_step"], row(graded, "partly_wrong")["amsgrad_step"]) == ("0", "1")
    assert "Likely mistake: no bias correction." in text(graded, "partly_wrong")
    assert row(graded, "also_partly_wrong")["total"] == "1"
    assert "Likely mistake: forgets the maximum (plain Adam)." in text(graded, "also_partly_wrong")


def test_stub_is_reported_as_not_implemented(graded):
    assert row(graded, "stub")["total"] == "0"
    assert text(graded, "stub").count("is not implemented yet") == 2


def test_syntax_error(graded):
    r = row(graded, "syntax_error")
    assert (r["adam_step"], r["amsgrad_step"], r["status"]) == ("0", "1", "graded")
    assert "syntax error" in text(graded, "syntax_error")


def test_infinite_loops_time_out_and_the_rest_is_graded(graded):
    r = row(graded, "infinite_loop")
    assert (r["adam_step"], r["amsgrad_step"]) == ("0", "1")
    t = text(graded, "infinite_loop")
    assert "adam_step did not finish within 3 s" in t
    assert "`while True:  # an experiment that nev...`) did not finish within 3 s; it was skipped" in t


def test_memory_hogs_hit_the_limit(graded):
    r = row(graded, "memory_hog")
    assert (r["total"], r["status"]) == ("0", "graded")
    assert text(graded, "memory_hog").count("MemoryError") >= 3


def test_sys_exit_and_os_exit(graded):
    r = row(graded, "exits")
    assert (r["total"], r["status"]) == ("0", "graded")
    t = text(graded, "exits")
    assert "adam_step ended the sandbox process" in t
    assert "amsgrad_step raised an error: SystemExit" in t
    assert "raised SystemExit: 0" in t and "it was skipped and the notebook run again" in t


def test_fake_pass_lines_are_ignored(graded):
    assert row(graded, "fake_pass")["total"] == "0"
    assert "is not right yet" in text(graded, "fake_pass")


def test_monkeypatching_numpy_or_optimlab_changes_nothing(graded):
    r = row(graded, "monkeypatch")
    assert (r["total"], r["flags"]) == ("0", "")
    assert text(graded, "monkeypatch").count("is not right yet") == 2


def test_objects_whose_eq_is_always_true_do_not_pass(graded):
    assert row(graded, "always_equal")["total"] == "0"
    t = text(graded, "always_equal")
    assert "should be an array of numbers" in t and "is not right yet" in t


def test_replaced_traceback_display_changes_nothing(graded):
    t = text(graded, "traceback_display")
    assert row(graded, "traceback_display")["total"] == "0"
    assert "adam_step raised an error: ValueError: oops" in t
    assert "ZeroDivisionError" in t


def test_invalid_json_fails_to_run_and_the_class_goes_on(graded):
    r = row(graded, "not_json")
    assert (r["total"], r["status"]) == ("0", "failed to run")
    assert "not valid notebook JSON" in text(graded, "not_json")


def test_missing_function(graded):
    r = row(graded, "missing_function")
    assert (r["adam_step"], r["amsgrad_step"]) == ("1", "0")
    assert "does not define a function named amsgrad_step" in text(graded, "missing_function")


def test_calling_the_reference_scores_zero_and_is_flagged(graded):
    r = row(graded, "calls_reference")
    assert (r["adam_step"], r["amsgrad_step"]) == ("0", "0")
    assert "adam_step: calls optimlab's reference" in r["flags"]  # found statically
    assert "optimlab/grading/reference.py" in r["flags"]  # found by the runtime tripwire
    t = text(graded, "calls_reference")
    assert t.count("scores 0 and is flagged for the instructor") == 2


def test_folder_submission_keeps_each_exercises_best_result(graded):
    r = row(graded, "dana")
    assert (r["adam_step"], r["amsgrad_step"]) == ("0", "1")
    assert r["submission"] == "06_adam.ipynb 06_adam_draft.ipynb"


def test_student_name_from_metadata(graded):
    assert row(graded, "Erin_Example")["total"] == "2"
    assert row(graded, "Erin_Example")["submission"] == "submission-17.ipynb"


# ----------------------------------------------------------------------------- pieces, without sandboxes
def cells(*sources: str) -> list[scan.Cell]:
    return [scan.prepare(i, s) for i, s in enumerate(sources)]


@pytest.mark.parametrize("sources", [
    ("from optimlab.optim import adam as helper", "def gd_step(theta, grad, lr):\n    return helper(theta)"),
    ("import optimlab", "def gd_step(theta, grad, lr):\n    return optimlab.grading.reference.gd_step(theta)"),
    ("from optimlab.grading import reference as r\nstep = r.gd_step", "def gd_step(t, g, lr):\n    return step(1)"),
    ("from optimlab.grading.reference import gd_step",),
    ("import optimlab.grading.reference as ref\n\ndef inner(t, g, lr):\n    return ref.gd_step(t, g, lr)",
     "def gd_step(theta, grad, lr):\n    return inner(theta, grad, lr)"),
])
def test_static_scan_finds_the_reference_behind_aliases_and_helpers(sources):
    bound = scan.bindings(cells(*sources))
    assert scan.uses_reference("gd_step", bound) is not None


def test_static_scan_ignores_optimlab_outside_the_graded_function():
    bound = scan.bindings(cells("import numpy as np\n\nfrom optimlab import grading",
                                "def gd_step(theta, grad, lr):\n    return theta - lr * grad",
                                "grading.check_gd_step(gd_step)"))
    assert scan.uses_reference("gd_step", bound) is None
    assert scan.uses_dynamic_lookup("gd_step", bound) is None


def test_static_scan_flags_dynamic_imports_for_review():
    bound = scan.bindings(cells('def gd_step(theta, grad, lr):\n    return __import__("optim" + "lab")'))
    assert scan.uses_reference("gd_step", bound) is None
    assert "__import__" in scan.uses_dynamic_lookup("gd_step", bound)


def test_cells_lose_magics_and_check_calls_but_keep_line_numbers():
    cell = scan.prepare(0, "%matplotlib inline\nx = 1\ngrading.check_gd_step(gd_step)\n!ls\ny = 2")
    assert cell.error is None
    assert cell.source.split("\n") == ["", "x = 1", "", "", "y = 2"]
    assert scan.prepare(1, "def f(:\n    pass").error.startswith("line 1")


def test_results_from_the_sandbox_are_validated():
    spec = specs.get("gd_step")
    good = {"ok": True, "outputs": {"theta": {"shape": [2], "values": [1.0, 2.0]}}, "mutated": []}
    assert grader.clean_results(spec, [good], 5) == [good]
    bad = [
        {"ok": True, "outputs": {"theta": {"shape": [3], "values": [1.0, 2.0]}}},
        {"ok": True, "outputs": {"theta": {"shape": [1], "values": [True]}}},
        {"ok": True, "outputs": {"theta": "PASS"}},
        {"ok": True, "outputs": {}},
        "PASS",
        {"ok": "yes"},
    ]
    for b in bad:
        assert grader.clean_results(spec, [b], 5)[0]["ok"] is False
    assert grader.clean_results(spec, "PASS", 5)[0]["ok"] is False
    assert len(grader.clean_results(spec, [good] * 50, 5)) == 5


def test_exercise_selection_by_chapter_or_name():
    assert grader.exercise_names("06", []) == ["adam_step", "amsgrad_step"]
    assert grader.exercise_names("lion_step,09_schedules", []) == ["lion_step", "warmup_cosine_lr", "step_decay_lr"]
    with pytest.raises(SystemExit):
        grader.exercise_names("nonsense", [])


# ----------------------------------------------------------------------------- a class of several chapters
def solution_functions(chapter: str) -> dict[str, str]:
    """The solution notebook's functions, by name."""
    nb = json.loads(open(os.path.join(ROOT, "solutions", f"{chapter}.ipynb"), encoding="utf-8").read())
    sources = ("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    return {s.split("(")[0][4:]: s for s in sources if s.startswith("def ")}


def student_notebook(path, chapter: str, functions: dict[str, str], chapter_metadata: bool = True) -> str:
    """The chapter's exercise notebook with some functions written in."""
    nb = json.loads(open(os.path.join(ROOT, "exercises", f"{chapter}.ipynb"), encoding="utf-8").read())
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        name = src.split("(")[0][4:] if cell["cell_type"] == "code" and src.startswith("def ") else None
        if name in functions:
            cell["source"] = functions[name]
    if not chapter_metadata:
        del nb["metadata"]["optimlab"]
    path.write_text(json.dumps(nb), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """alice and bob hand in chapter 08, carol and erin chapter 11, and mystery.ipynb (no chapter in
    its metadata or name) defines adam_step only."""
    tmp = tmp_path_factory.mktemp("mixed")
    s08, s11 = solution_functions("08_new_optimizers"), solution_functions("11_beyond_adam")
    wrong_ns = s11["newton_schulz"].replace("X = X / max(np.linalg.norm(X), eps)", "X = X / max(np.abs(X).max(), eps)")
    paths = [
        student_notebook(tmp / "alice.ipynb", "08_new_optimizers",
                         {**s08, "adabelief_step": s08["adabelief_step"].replace("eps=1e-16", "eps=1e-8")}),
        student_notebook(tmp / "bob.ipynb", "08_new_optimizers", {}),
        student_notebook(tmp / "carol.ipynb", "11_beyond_adam", {"muon_step": s11["muon_step"]}),
        student_notebook(tmp / "erin.ipynb", "11_beyond_adam", {**s11, "newton_schulz": wrong_ns}),
        student_notebook(tmp / "mystery.ipynb", "06_adam", solution_functions("06_adam"), chapter_metadata=False),
    ]
    nb = json.loads(open(paths[-1], encoding="utf-8").read())  # mystery defines adam_step only
    nb["cells"] = [c for c in nb["cells"] if not "".join(c["source"]).startswith("def amsgrad_step(")]
    open(paths[-1], "w", encoding="utf-8").write(json.dumps(nb))
    return grade_class(tmp, paths, "--time-limit", "5")


def test_each_student_is_graded_on_their_own_chapter(mixed):
    rows, texts, stdout, stderr = mixed
    assert list(rows["alice"])[1:6] == ["adam_step", "lion_step", "adabelief_step", "newton_schulz", "muon_step"]
    alice, carol = rows["alice"], rows["carol"]
    assert [alice[n] for n in ("lion_step", "adabelief_step", "newton_schulz", "muon_step")] == ["1", "0", "", ""]
    assert [alice["max"], rows["bob"]["max"], carol["max"]] == ["2", "2", "2"]
    assert carol["lion_step"] == carol["adam_step"] == ""
    assert "newton_schulz" not in texts["alice"] and "lion_step" not in texts["carol"]
    assert "warning: the submissions span 2 chapters (08_new_optimizers, 11_beyond_adam)" in stderr
    assert "5 submissions in" in stdout


def test_a_submission_without_a_chapter_is_graded_on_what_it_defines_and_flagged(mixed):
    row = mixed[0]["mystery"]
    assert (row["adam_step"], row["total"], row["max"]) == ("1", "1", "1") and "amsgrad_step" not in row
    assert "chapter is unknown" in row["flags"] and "graded on the exercises it defines (adam_step)" in row["flags"]


def test_a_wrong_default_is_named_in_the_feedback(mixed):
    assert "Your default eps is 1e-08; the statement says 1e-16." in mixed[1]["alice"]


def test_muon_step_waits_for_newton_schulz(mixed):
    rows, texts = mixed[0], mixed[1]
    assert (rows["carol"]["newton_schulz"], rows["carol"]["muon_step"]) == ("0", "0")
    assert "… muon_step calls newton_schulz, which still raises NotImplementedError" in texts["carol"]
    assert (rows["erin"]["newton_schulz"], rows["erin"]["muon_step"]) == ("0", "0")
    assert "muon_step calls your newton_schulz, which is not right yet either" in " ".join(texts["erin"].split())


def test_exercises_given_explicitly_apply_to_everyone(tmp_path):
    a = grader.Student("a", [student_notebook(tmp_path / "a.ipynb", "08_new_optimizers", {})])
    b = grader.Student("b", [student_notebook(tmp_path / "b.ipynb", "11_beyond_adam", {})])
    assert grader.plan("11", [a, b]) == (["newton_schulz", "muon_step"], [])
    assert a.exercises == b.exercises == ["newton_schulz", "muon_step"]
    columns, chapters = grader.plan(None, [a, b])
    assert columns == ["lion_step", "adabelief_step", "newton_schulz", "muon_step"]
    assert (a.exercises, b.exercises) == (["lion_step", "adabelief_step"], ["newton_schulz", "muon_step"])
    assert chapters == ["08_new_optimizers", "11_beyond_adam"]


def test_errors_from_the_sandbox_keep_the_raising_function():
    spec = specs.get("muon_step")
    err = {"ok": False, "error": {"type": "NotImplementedError", "message": "", "where": "in newton_schulz, line 4",
                                  "function": "newton_schulz", "called": "muon_step", "extra": "dropped"}}
    assert grader.clean_results(spec, [err], 5)[0]["error"] == {k: v for k, v in err["error"].items() if k != "extra"}


def test_a_notebook_without_chapter_or_exercises_falls_back_to_the_class(tmp_path):
    a = grader.Student("a", [student_notebook(tmp_path / "a.ipynb", "08_new_optimizers", {})])
    notes = tmp_path / "notes.ipynb"
    notes.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}))
    (tmp_path / "broken.ipynb").write_text("{not json")
    b, c = grader.Student("b", [str(notes)]), grader.Student("c", [str(tmp_path / "broken.ipynb")])
    folder = grader.Student("d", [str(notes), student_notebook(tmp_path / "d.ipynb", "11_beyond_adam", {})])
    columns, _ = grader.plan(None, [a, b, c, folder])
    assert b.exercises == c.exercises == ["lion_step", "adabelief_step", "newton_schulz", "muon_step"]
    assert "notes.ipynb: its chapter could not be determined" in b.flags[0] and not b.notes
    assert "broken.ipynb: its chapter could not be determined" in c.notes[0] and not c.flags
    assert folder.exercises == ["newton_schulz", "muon_step"] and not folder.flags  # its notes are just ignored
    assert columns == ["lion_step", "adabelief_step", "newton_schulz", "muon_step"]


def test_nothing_to_grade_is_not_full_marks():
    assert "(0 with full marks)" in grader.summary([grader.Grade("a", [], ran=True)], 1.0)
