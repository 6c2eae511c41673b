"""The instructor grader: ``optimlab grade SUBMISSIONS... --out grades.csv --feedback DIR [--jobs N]``.

For every submitted notebook this process (trusted) reads the notebook as JSON, scans its code
statically, builds the seeded inputs and the reference's outputs itself, and starts a sandbox
process (:mod:`optimlab.grading.sandbox`) that runs the student's code with a time and a
memory limit and sends back, as JSON lines, only what the student's functions returned,
converted to lists of floats. The comparison, the diagnosis and the report are made here,
by the same :func:`optimlab.grading.checks.judge` the notebooks' checks use.

A submission is a notebook (the student is its file name without ``.ipynb``, or
``metadata.optimlab.student`` when set) or a folder of notebooks (the student is the folder's
name). Each student is graded on the exercises of their own notebooks' chapters (or on those of
``--exercises``). It writes one CSV row per student (points per exercise, an empty cell where an
exercise does not apply, total, max) and one feedback file per student, and ends with a summary
line: graded, failed to run, flagged.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import csv
import json
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import checks, scan, specs
from .checks import CRASHED, FLAGGED, MISSING, TIMEOUT, CheckResult

SANDBOX = os.path.join(os.path.dirname(os.path.abspath(__file__)), "sandbox.py")
MAX_OUTPUT = 256 * 1024 * 1024


@dataclass
class Limits:
    """Time (per cell and per graded function) and memory limits of a sandbox."""

    time_s: float = 10.0
    memory_mb: int = 1024
    startup_s: float = 60.0
    max_runs: int = 8


@dataclass
class Student:
    name: str
    paths: list[str]
    exercises: list[str] = field(default_factory=list)  # what this student is graded on (see plan)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)


@dataclass
class Grade:
    """One student's grade: a CheckResult per exercise, plus notes and flags."""

    student: str
    submissions: list[str]
    results: dict[str, CheckResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    ran: bool = False

    @property
    def total(self) -> float:
        return sum(r.points for r in self.results.values())

    @property
    def max_points(self) -> float:
        return sum(r.max_points for r in self.results.values())

    @property
    def status(self) -> str:
        return "graded" if self.ran else "failed to run"


# ----------------------------------------------------------------------------- the sandbox run
@dataclass
class SandboxRun:
    started: bool = False
    loaded: bool = False
    cell_errors: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    fate: str = "done"  # done, timeout, died, garbled
    phase: tuple[str, Any] = ("startup", None)


def _child_env(tmp: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8",
           "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS",
                "VECLIB_MAXIMUM_THREADS"):
        env[var] = "1"
    return env


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.kill()
    except ProcessLookupError:  # pragma: no cover
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


def run_sandbox(cells: list[scan.Cell], functions: list[dict[str, Any]], limits: Limits) -> SandboxRun:
    """Run one sandbox process on these cells and functions; follow its events with deadlines."""
    run = SandboxRun()
    tmp = tempfile.mkdtemp(prefix="optimlab-sandbox-")
    job_path = os.path.join(tmp, "job.json")
    job = {
        "cells": [{"index": c.index, "source": c.source} for c in cells],
        "functions": functions,
        "memory_mb": limits.memory_mb,
        "cpu_seconds": int(math.ceil((len(cells) + len(functions) + 2) * limits.time_s + limits.startup_s)),
    }
    with open(job_path, "w", encoding="utf-8") as f:
        json.dump(job, f)
    r, w = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", SANDBOX, job_path, str(w)], pass_fds=(w,), stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp, env=_child_env(tmp),
            start_new_session=True,
        )
    except OSError:
        os.close(r)
        os.close(w)
        shutil.rmtree(tmp, ignore_errors=True)
        run.fate = "died"
        return run
    os.close(w)
    buf = b""
    deadline = time.monotonic() + limits.startup_s
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                run.fate = "timeout"
                break
            ready, _, _ = select.select([r], [], [], min(left, 1.0))
            if not ready:
                continue
            chunk = os.read(r, 1 << 20)
            if not chunk:
                run.fate = "died"
                break
            buf += chunk
            if len(buf) > MAX_OUTPUT:
                run.fate = "garbled"
                break
            finished = False
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    event = json.loads(line)
                    kind = event["event"]
                except (ValueError, KeyError, TypeError, RecursionError):
                    run.fate = "garbled"
                    finished = True
                    break
                if kind == "done":
                    run.fate = "done"
                    finished = True
                    break
                if kind == "ready":
                    run.started = True
                    run.phase = ("loading", None)
                elif kind == "cell":
                    run.phase = ("cell", event.get("index"))
                elif kind == "loaded":
                    run.loaded = True
                    run.cell_errors = event.get("errors") if isinstance(event.get("errors"), list) else []
                    run.phase = ("loaded", None)
                elif kind == "start":
                    run.phase = ("function", event.get("name"))
                elif kind == "result":
                    name = event.get("name")
                    if isinstance(name, str):
                        run.results[name] = event
                    run.phase = ("between", None)
                else:
                    continue  # an event the grader does not know is no sign of progress
                deadline = time.monotonic() + limits.time_s  # each step of the run gets the full limit
            if finished:
                break
    finally:
        os.close(r)
        _kill(proc)
        shutil.rmtree(tmp, ignore_errors=True)
    return run


# ----------------------------------------------------------------------------- one notebook
def _clean_array(x: Any, max_size: int = 10**7) -> bool:
    if not isinstance(x, dict) or not isinstance(x.get("shape"), list) or not isinstance(x.get("values"), list):
        return False
    shape = x["shape"]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
        return False
    size = math.prod(shape)
    return size <= max_size and len(x["values"]) == size and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in x["values"])


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def clean_results(spec: specs.Spec, raw: Any, n_trials: int) -> list[dict[str, Any]]:
    """Check the shape of what the sandbox sent; anything unexpected becomes a failed call."""
    unreadable = {"ok": False, "bad_return": "the grader could not read what your function returned"}
    if not isinstance(raw, list):
        return [unreadable]
    out = []
    for res in raw[:n_trials]:
        if not isinstance(res, dict):
            out.append(unreadable)
        elif res.get("ok") is True:
            outputs = res.get("outputs")
            good = isinstance(outputs, dict)
            if good and spec.kinds == ("batches",):
                batches = outputs.get("batches")
                good = isinstance(batches, list) and all(
                    isinstance(b, dict) and _clean_array(b.get("X")) and _clean_array(b.get("y")) for b in batches)
            elif good:
                for name, kind in zip(spec.outputs, spec.kinds):
                    value = outputs.get(name)
                    good = good and (_number(value) if kind == "float" else _clean_array(value))
            mutated = res.get("mutated", [])
            good = good and isinstance(mutated, list) and all(isinstance(m, str) for m in mutated)
            out.append({"ok": True, "outputs": outputs, "mutated": mutated} if good else unreadable)
        elif isinstance(res.get("error"), dict):
            err = res["error"]
            out.append({"ok": False, "error": {k: str(err.get(k, ""))[:500]
                                               for k in ("type", "message", "where", "function", "called")}})
        elif isinstance(res.get("bad_return"), str):
            out.append({"ok": False, "bad_return": res["bad_return"][:500]})
        else:
            out.append(unreadable)
    return out or [unreadable]


def _simple(spec: specs.Spec, status: str, text: str, notes: list[str] | None = None) -> CheckResult:
    return CheckResult(spec.name, status, text, max_points=spec.points, notes=notes or [])


def grade_notebook(path: str, names: Sequence[str], limits: Limits) -> tuple[dict[str, CheckResult], list[str],
                                                                              list[str], bool]:
    """Grade the exercises ``names`` in one notebook: (results, notes, flags, ran)."""
    notes: list[str] = []
    flags: list[str] = []
    label = os.path.basename(path)
    try:
        nb = scan.read(path)
    except scan.NotebookError as exc:
        notes.append(f"{label}: {exc}; nothing in it could be graded.")
        results = {n: _simple(specs.get(n), MISSING, f"✘ {n}: {label} is {exc}, so it could not be run.")
                   for n in names}
        return results, notes, flags, False
    def cell_name(index: Any) -> str:
        cell = next((c for c in nb.cells if c.index == index), None)
        first = next((line.strip() for line in cell.source.splitlines() if line.strip()), "") if cell else ""
        first = first if len(first) <= 40 else first[:37] + "..."
        return f"cell {index + 1} (`{first}`)" if isinstance(index, int) and first else f"cell {index}"

    for cell in nb.cells:
        if cell.error:
            notes.append(f"{label}, {cell_name(cell.index)}: syntax error ({cell.error}); the cell was skipped.")
    bound = scan.bindings(nb.cells)
    present = [n for n in names if n in bound]
    static_flags = {n: scan.uses_reference(n, bound) for n in present}
    dynamic = {n: scan.uses_dynamic_lookup(n, bound) for n in present}
    to_run = [n for n in present if not static_flags[n]]

    outcomes: dict[str, dict[str, Any]] = {}
    skipped: dict[int, str] = {}
    cell_errors: list[dict[str, Any]] = []
    pending = list(to_run)
    ran = False
    runs = 0
    runnable = nb.runnable()
    while runs < limits.max_runs:
        runs += 1
        cells = [c for c in runnable if c.index not in skipped]
        jobs = [{"name": n, "positional": list(specs.get(n).positional),
                 "trials": [t.payload() for t in specs.get(n).trials()]} for n in pending]
        run = run_sandbox(cells, jobs, limits)
        ran = ran or run.loaded
        if run.loaded:
            cell_errors = run.cell_errors
        for name, event in run.results.items():
            if name in pending:
                outcomes[name] = event
                pending.remove(name)
        if run.fate == "done" or not run.started:
            break
        stage, what = run.phase
        why = {"timeout": f"did not finish within {limits.time_s:g} s",
               "died": "ended the sandbox process (os._exit, a crash, or memory exhausted)",
               "garbled": "made the sandbox's report unreadable"}[run.fate]
        if stage == "cell" and isinstance(what, int) and what not in skipped:
            skipped[what] = why
            notes.append(f"{label}, {cell_name(what)} {why}; it was skipped and the notebook run again "
                         "without it.")
        elif stage == "function" and what in pending:
            outcomes[what] = {"fate": run.fate, "why": why}
            pending.remove(what)
        elif not pending:
            break
        else:  # the process died between events: give up on this notebook's remaining functions
            notes.append(f"{label}: the sandbox {why} outside any cell or function.")
            break
    if not ran and runnable:
        notes.append(f"{label}: the notebook's code could not be run at all.")
    for err in cell_errors:
        message = str(err.get("message"))[:200]
        notes.append(f"{label}, {cell_name(err.get('index'))} raised {err.get('type')}"
                     + (f": {message}" if message else ""))

    results: dict[str, CheckResult] = {}
    for name in names:
        spec = specs.get(name)
        if name not in bound:
            why = f"✘ {name}: {label} does not define a function named {name}."
            broken = [c for c in nb.cells if c.error and re.search(rf"\bdef\s+{re.escape(name)}\b", c.source)]
            if broken:
                why += (f" (It seems to be in {cell_name(broken[0].index)}, which has a syntax error: "
                        f"{broken[0].error}.)")
            results[name] = _simple(spec, MISSING, why)
            continue
        if static_flags[name]:
            flags.append(f"{name}: calls optimlab's reference ({static_flags[name]})")
            results[name] = _simple(spec, FLAGGED, _flag_text(name, static_flags[name]))
            continue
        event = outcomes.get(name)
        if event is None:
            why = ("was not graded: the notebook could not be run" if not ran else
                   "was not graded: the notebook kept hanging or ending the process (see the notes below)")
            results[name] = _simple(spec, CRASHED, f"✘ {name} {why}.")
        elif "fate" in event:
            status = TIMEOUT if event["fate"] == "timeout" else CRASHED
            results[name] = _simple(spec, status, f"✘ {name} {event['why']} while the grader was calling it; "
                                                  "it scores 0.")
        elif event.get("missing"):
            what = event.get("what")
            why = (f"{name} is a {what}, not a function" if what else
                   f"{name} was not defined when the notebook ran (did its cell fail?)")
            results[name] = _simple(spec, MISSING, f"✘ {why}.")
        else:
            hits = event.get("tripwire") if isinstance(event.get("tripwire"), list) else []
            if hits or event.get("tampered"):
                reason = (f"while it ran, optimlab's own code was called ({', '.join(map(str, hits[:3]))})"
                          if hits else "it switched off the grader's profiling hook")
                flags.append(f"{name}: {reason}")
                results[name] = _simple(spec, FLAGGED, _flag_text(name, reason))
                continue
            trials = spec.trials()
            node = bound[name][-1]
            try:
                result = checks.judge(spec, trials, clean_results(spec, event.get("results"), len(trials)),
                                      checks.parameters_of_def(node))
            except Exception as exc:  # pragma: no cover - clean_results should make this impossible
                result = _simple(spec, CRASHED, f"✘ {name}: the grader could not judge the results ({exc}).")
            results[name] = result
        if dynamic.get(name):
            flags.append(f"{name}: looks modules or names up dynamically ({dynamic[name]}); check by hand")
            results[name].notes.append("Flagged for review: it looks names up dynamically.")
    for name, res in results.items():  # muon_step calls newton_schulz: say so when that one is wrong
        if res.status not in (checks.FAILED, checks.ERROR) or name not in bound:
            continue
        used = scan.closure(name, bound)
        for other in names:
            if (other != name and other in bound and not results[other].passed
                    and any(node in used for node in bound[other])):
                res.notes.append(f"{name} calls your {other}, which is not right yet either: fix {other} "
                                 f"first; {name} may then pass too.")
    return results, notes, flags, ran or not nb.cells


def _flag_text(name: str, reason: str) -> str:
    return (f"⚑ {name} calls optimlab's own implementation instead of computing the update itself: "
            f"{reason}. This exercise scores 0 and is flagged for the instructor.")


# ----------------------------------------------------------------------------- the class
def _safe_name(text: str) -> str:
    name = re.sub(r"[^\w.@+-]+", "_", text.strip())[:80].strip("._")
    return name or "student"


def collect(paths: Iterable[str]) -> list[Student]:
    """Students from the command line: a notebook (student = stem or metadata) or a folder."""
    students: list[Student] = []
    for p in paths:
        if os.path.isdir(p):
            nbs = sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".ipynb"))
            students.append(Student(_safe_name(os.path.basename(os.path.normpath(p))), nbs))
        else:
            name = os.path.splitext(os.path.basename(p))[0]
            try:
                meta_name = scan.read(p).student
            except scan.NotebookError:
                meta_name = None
            students.append(Student(_safe_name(meta_name or name), [p]))
    seen: dict[str, int] = {}
    for s in students:  # two students may not share a feedback file
        if s.name in seen:
            seen[s.name] += 1
            s.name = f"{s.name}_{seen[s.name]}"
        else:
            seen[s.name] = 1
    return students


def exercise_names(selected: str | None, students: Sequence[Student]) -> list[str]:
    """The exercises to grade: those named (exercise names or chapters, comma-separated), or,
    without a selection, every exercise some student is graded on (see :func:`plan`)."""
    if not selected:
        return plan(None, list(students))[0]
    wanted: set[str] = set()
    for item in (s.strip() for s in selected.split(",") if s.strip()):
        if item in specs.SPECS:
            wanted.add(item)
            continue
        chapters = [c for c in specs.CHAPTERS if c == item or c.split("_")[0] == item]
        if not chapters:
            raise SystemExit(f"optimlab grade: unknown exercise or chapter {item!r}")
        for c in chapters:
            wanted.update(specs.CHAPTERS[c])
    return [n for n in specs.SPECS if n in wanted]


def chapter_of(path: str) -> tuple[str | None, scan.Notebook | None]:
    """A notebook's chapter (``metadata.optimlab.chapter``, else a file name that starts with
    one, ``06_adam...``) or None, and the notebook (None when it cannot be read)."""
    try:
        nb = scan.read(path)
    except scan.NotebookError:
        nb = None
    chapter = nb.chapter if nb is not None else None
    if chapter not in specs.CHAPTERS:
        stem = os.path.splitext(os.path.basename(path))[0]
        chapter = next((c for c in specs.CHAPTERS if stem.startswith(c)), None)
    return chapter, nb


def plan(selected: str | None, students: Sequence[Student]) -> tuple[list[str], list[str]]:
    """Decide what each student is graded on (``Student.exercises``); return the CSV's
    exercise columns and the chapters the submissions belong to.

    With ``selected`` (``--exercises``), everyone is graded on those exercises. Otherwise each
    student is graded on the exercises of their own notebooks' chapters. A notebook whose
    chapter cannot be determined is graded on the functions it defines that are exercises
    (and flagged); when it defines none, or cannot be read, on the exercises of the chapters
    of the rest of the class (or, when no chapter is known, on those the others define).
    """
    order = list(specs.SPECS)
    if selected:
        names = exercise_names(selected, students)
        for st in students:
            st.exercises = list(names)
        return names, []
    chapters: list[str] = []
    undetermined: list[tuple[int, str, bool]] = []
    wanted: list[set[str]] = [set() for _ in students]
    for i, st in enumerate(students):
        mine, unknown = wanted[i], [("this submission", False)] if not st.paths else []
        for path in st.paths:
            chapter, nb = chapter_of(path)
            label = os.path.basename(path)
            if chapter is not None:
                mine.update(specs.CHAPTERS[chapter])
                chapters += [chapter] if chapter not in chapters else []
                continue
            bound = scan.bindings(nb.cells) if nb is not None else {}
            defined = [n for n in order if n in bound]
            if defined:
                mine.update(defined)
                st.flags.append(f"{label}: its chapter is unknown (no metadata.optimlab.chapter, no NN_ file name); "
                                f"graded on the exercises it defines ({', '.join(defined)})")
            else:
                unknown.append((label, nb is not None))
        if not mine:  # nothing else to go by (a notebook of notes next to a chapter's is just ignored)
            undetermined += [(i, label, readable) for label, readable in unknown]
    chapters = [c for c in specs.CHAPTERS if c in chapters]
    everyone = {n for c in chapters for n in specs.CHAPTERS[c]} or set().union(*wanted)
    for i, label, readable in undetermined:
        wanted[i].update(everyone)
        what = (f"the exercises of the class's chapters ({', '.join(chapters)})" if chapters else
                f"the exercises the others define ({', '.join(n for n in order if n in everyone)})" if everyone
                else "nothing")
        text = f"{label}: its chapter could not be determined and it defines no exercise; graded on {what}"
        (students[i].flags if readable else students[i].notes).append(text)
    for st, mine in zip(students, wanted):
        st.exercises = [n for n in order if n in mine]
    return [n for n in order if any(n in st.exercises for st in students)], chapters


def grade_student(student: Student, names: Sequence[str], limits: Limits) -> Grade:
    grade = Grade(student.name, list(student.paths), notes=list(student.notes), flags=list(student.flags))
    if not student.paths:
        grade.notes.append("no notebook found in this submission")
    for path in student.paths:
        results, notes, flags, ran = grade_notebook(path, names, limits)
        grade.notes += notes
        grade.flags += flags
        grade.ran = grade.ran or ran
        for name, res in results.items():
            old = grade.results.get(name)
            if old is None or (res.points, res.status != MISSING) > (old.points, old.status != MISSING):
                grade.results[name] = res
    for name in names:
        if name not in grade.results:
            spec = specs.get(name)
            grade.results[name] = _simple(spec, MISSING, f"✘ {name}: no notebook of this submission defines it.")
    grade.results = {n: grade.results[n] for n in names}
    return grade


def _points(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.2f}"


def write_csv(path: str, grades: Sequence[Grade], names: Sequence[str]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["student", *names, "total", "max", "status", "flags", "submission"])
        for g in grades:  # an empty cell: the exercise is not one this student was graded on
            w.writerow([g.student, *(_points(g.results[n].points) if n in g.results else "" for n in names),
                        _points(g.total),
                        _points(g.max_points), g.status, "; ".join(g.flags),
                        " ".join(os.path.basename(p) for p in g.submissions)])


def feedback_text(g: Grade) -> str:
    lines = [f"optimlab feedback for {g.student}",
             f"Submission: {', '.join(os.path.basename(p) for p in g.submissions) or '(none)'}",
             f"Score: {_points(g.total)} / {_points(g.max_points)}", ""]
    for name, res in g.results.items():
        lines.append(f"── {name}: {_points(res.points)} / {_points(res.max_points)} " + "─" * max(0, 60 - len(name)))
        lines.append(res.message)
        lines += [line for n in res.notes if n not in res.message for line in checks._wrap(n, "   ")]
        lines.append("")
    if g.notes:
        lines.append("Notes on running your notebook:")
        lines += [f"  - {n}" for n in g.notes]
        lines.append("")
    if g.flags:
        lines.append("Flagged for the instructor:")
        lines += [f"  - {f}" for f in g.flags]
        lines.append("")
    return "\n".join(lines)


def write_feedback(folder: str, grades: Sequence[Grade]) -> None:
    os.makedirs(folder, exist_ok=True)
    for g in grades:
        with open(os.path.join(folder, f"{g.student}.txt"), "w", encoding="utf-8") as f:
            f.write(feedback_text(g))


class _Progress:
    """A tqdm bar on a terminal; one line per student otherwise (logs, CI)."""

    def __init__(self, total: int, enabled: bool):
        self.total, self.done, self.bar = total, 0, None
        self.enabled = enabled
        if enabled and sys.stderr.isatty():
            try:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="student", desc="grading", file=sys.stderr)
            except ImportError:  # pragma: no cover
                self.bar = None

    def update(self, g: Grade) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(g.student[:20])
            self.bar.update(1)
        elif self.enabled:
            width = len(str(self.total))
            print(f"[{self.done:>{width}}/{self.total}] {g.student}: {_points(g.total)}/{_points(g.max_points)}"
                  f"{'' if g.ran else ' (failed to run)'}{' (flagged)' if g.flags else ''}", file=sys.stderr,
                  flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def grade(submissions: Sequence[str], out: str, feedback: str, jobs: int = 1, limits: Limits | None = None,
          exercises: str | None = None, progress: bool = True,
          on_grade: Callable[[Grade], None] | None = None) -> list[Grade]:
    """Grade every submission; write the CSV and the feedback files; return the grades."""
    limits = limits or Limits()
    students = collect(submissions)
    names, chapters = plan(exercises, students)
    if not names:
        raise SystemExit("optimlab grade: no graded exercise found in the submissions; pass --exercises")
    if len(chapters) > 1:
        print(f"optimlab grade: warning: the submissions span {len(chapters)} chapters ({', '.join(chapters)}); "
              "each student is graded on their own chapter's exercises (the CSV leaves the other cells "
              "empty); use --exercises to grade everyone on the same ones", file=sys.stderr, flush=True)
    for name in names:  # the reference outputs, computed once, here, before any student code runs
        specs.get(name).trials()
    bar = _Progress(len(students), progress)
    grades: dict[int, Grade] = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(grade_student, s, s.exercises, limits): i for i, s in enumerate(students)}
        for fut in concurrent.futures.as_completed(futures):
            g = fut.result()
            grades[futures[fut]] = g
            bar.update(g)
            if on_grade is not None:
                on_grade(g)
    bar.close()
    ordered = [grades[i] for i in range(len(students))]
    write_csv(out, ordered, names)
    write_feedback(feedback, ordered)
    return ordered


def summary(grades: Sequence[Grade], seconds: float) -> str:
    ran = sum(g.ran for g in grades)
    flagged = sum(bool(g.flags) for g in grades)
    perfect = sum(g.ran and g.total == g.max_points > 0 for g in grades)
    return (f"{len(grades)} submissions in {seconds:.1f} s: {ran} graded ({perfect} with full marks), "
            f"{len(grades) - ran} failed to run, {flagged} flagged")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="optimlab grade", description="Grade exercise notebooks in sandboxed processes.")
    parser.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                        help="a notebook (one student) or a folder of notebooks (one student)")
    parser.add_argument("--out", default="grades.csv", help="the CSV to write (default: %(default)s)")
    parser.add_argument("--feedback", default="feedback", help="folder for one feedback file per student "
                                                               "(default: %(default)s)")
    parser.add_argument("--jobs", "-j", type=int, default=1, help="notebooks graded in parallel (default: 1)")
    parser.add_argument("--exercises", help="exercises or chapters to grade everyone on, comma-separated "
                                            "(default: each submission on its own chapter's exercises)")
    parser.add_argument("--time-limit", type=float, default=10.0,
                        help="seconds per notebook cell and per graded function (default: %(default)s)")
    parser.add_argument("--memory-limit", type=int, default=1024, help="MiB of address space per sandbox "
                                                                        "(default: %(default)s)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    args = parser.parse_args(list(argv) if argv is not None else None)
    missing = [p for p in args.submissions if not os.path.exists(p)]
    if missing:
        parser.error(f"no such file or folder: {', '.join(missing)}")
    start = time.perf_counter()
    limits = Limits(time_s=args.time_limit, memory_mb=args.memory_limit)
    grades = grade(args.submissions, args.out, args.feedback, jobs=args.jobs, limits=limits,
                   exercises=args.exercises, progress=not args.quiet)
    print(summary(grades, time.perf_counter() - start))
    print(f"wrote {args.out} and {len(grades)} feedback file(s) in {args.feedback}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
