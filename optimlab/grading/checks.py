"""Judge a function's plain outputs against the reference's and explain the first difference.

:func:`check` is what a notebook calls (through ``grading.check_<name>``): it runs the
student's function on every trial of the exercise, in this process, then :func:`judge` compares.
The instructor grader runs the same trials in a sandbox process and calls the same
:func:`judge` on the plain data that comes back, so a student reads the same report in the
notebook and in the grader's feedback.
"""

from __future__ import annotations

import html
import math
import textwrap
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from . import runner
from .mistakes import Mistake, catalogue
from .specs import Spec, Trial, get

PASSED, FAILED, NOT_IMPLEMENTED, ERROR = "passed", "failed", "not implemented", "error"
# statuses only the grader gives
MISSING, TIMEOUT, CRASHED, FLAGGED = "missing", "timed out", "crashed", "flagged"


@dataclass
class Failure:
    """Where a function first disagreed with the reference."""

    case: str
    case_info: str
    step: str
    variable: str | None = None
    description: str = ""
    expected: Any = None
    got: Any = None
    index: tuple[int, ...] | None = None
    kind: str = "value"  # value, shape, count, error, return, mutation, nondeterministic

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["index"] = list(self.index) if self.index is not None else None
        return d


@dataclass
class CheckResult:
    """The outcome of one check: ``passed``, and a report for people (``message``).

    ``first_failure`` says where the function first disagreed (case, step, variable,
    expected, got); ``mistake`` names the likely cause from the catalogue, if one matched.
    """

    name: str
    status: str
    message: str
    first_failure: Failure | None = None
    mistake: Mistake | None = None
    calls: int = 0
    cases: int = 0
    points: float = 0.0
    max_points: float = 1.0
    notes: list[str] = field(default_factory=list)
    _shown_in: Any = field(default=None, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.status == PASSED

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        mistake = f", mistake={self.mistake.key!r}" if self.mistake else ""
        return f"CheckResult(name={self.name!r}, status={self.status!r}{mistake})"

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "status": self.status, "passed": self.passed, "message": self.message,
            "first_failure": self.first_failure.to_dict() if self.first_failure else None,
            "mistake": self.mistake.to_dict() if self.mistake else None,
            "calls": self.calls, "cases": self.cases, "points": self.points, "max_points": self.max_points,
            "notes": list(self.notes),
        }

    def _repr_html_(self) -> str:
        return _html(self)

    def _ipython_display_(self) -> None:  # pragma: no cover - needs a kernel
        ip = _ipython()
        if ip is not None and self._shown_in == ip.execution_count:
            return  # the check already displayed this report in this cell
        from IPython.display import display

        display(_Report(self))


# ----------------------------------------------------------------------------- comparing
def _numbers(x: Any) -> str:
    if isinstance(x, float):
        return f"{x:.10g}"
    return str(x)


def compare(spec: Spec, expected: dict[str, Any], got: dict[str, Any]) -> dict[str, Any] | None:
    """The first difference between two plain outputs, in the spec's order, or None."""
    for name in spec.order:
        if spec.kinds == ("batches",):
            diff = _compare_batches(spec, expected["batches"], got["batches"])
        else:
            kind = spec.kinds[spec.outputs.index(name)]
            diff = (_compare_float if kind == "float" else _compare_array)(spec, expected[name], got[name])
        if diff is not None:
            diff.setdefault("variable", name)
            return diff
    return None


def _close(spec: Spec, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.isclose(b, a, rtol=spec.rtol, atol=spec.atol, equal_nan=True)


def _compare_float(spec: Spec, exp: float, got: float) -> dict[str, Any] | None:
    if bool(_close(spec, np.array(exp), np.array(got))):
        return None
    return {"kind": "value", "expected": exp, "got": got, "index": None}


def _compare_array(spec: Spec, exp: dict[str, Any], got: dict[str, Any]) -> dict[str, Any] | None:
    if list(exp["shape"]) != list(got["shape"]):
        return {"kind": "shape", "expected": tuple(exp["shape"]), "got": tuple(got["shape"]), "index": None}
    a, b = runner.to_array(exp), runner.to_array(got)
    ok = _close(spec, a, b)
    if ok.all():
        return None
    index = tuple(int(i) for i in np.argwhere(~ok)[0])
    with np.errstate(all="ignore"):
        gap = np.abs(a - b)
        worst = float(gap[np.isfinite(gap)].max()) if np.isfinite(gap).any() else float("nan")
    return {"kind": "value", "expected": float(a[index]), "got": float(b[index]), "index": index,
            "count": int((~ok).sum()), "size": int(ok.size), "worst": worst}


def _compare_batches(spec: Spec, exp: list[dict], got: list[dict]) -> dict[str, Any] | None:
    for i, (e, g) in enumerate(zip(exp, got)):
        for key in ("X", "y"):
            diff = _compare_array(spec, e[key], g[key])
            if diff is not None:
                diff["variable"] = f"batch {i}, {key}_batch"
                return diff
    if len(exp) != len(got):
        return {"kind": "count", "expected": len(exp), "got": len(got), "index": None, "variable": "batches"}
    return None


# ----------------------------------------------------------------------------- judging
def _variant_outputs(spec: Spec, mistake: Mistake, trials: list[Trial]) -> list[dict[str, Any] | None]:
    outs = []
    for trial in trials:
        res = runner.call(mistake.impl, list(spec.positional), trial.args, trial.spec)
        outs.append(res.get("outputs") if res["ok"] else None)
    return outs


def diagnose(spec: Spec, trials: list[Trial], results: list[dict[str, Any]], failing: int) -> Mistake | None:
    """The catalogued mistake that best reproduces the student's outputs.

    A candidate must reproduce the outputs of the failing call exactly (within the check's
    tolerance); among candidates, the one that agrees with the student on most calls wins.
    Mutation and nondeterminism are recognized directly, not by reproducing outputs.
    """
    student = results[failing]
    best, best_score = None, -1
    for m in catalogue(spec.name):
        if m.detect != "output":
            continue
        out = runner.call(m.impl, list(spec.positional), trials[failing].args, trials[failing].spec)
        if not out["ok"] or compare(spec, out["outputs"], student["outputs"]) is not None:
            continue
        score = 0
        for res, variant in zip(results, _variant_outputs(spec, m, trials)):
            if res.get("ok") and variant is not None and compare(spec, variant, res["outputs"]) is None:
                score += 1
        if score > best_score:
            best, best_score = m, score
    if best is not None:
        return best
    for m in catalogue(spec.name):
        if m.detect == "nondeterministic" and _nondeterministic(spec, trials, results):
            return m
    return None


def _nondeterministic(spec: Spec, trials: list[Trial], results: list[dict[str, Any]]) -> bool:
    for i, trial in enumerate(trials):
        j = trial.repeat_of
        if j is None or i >= len(results) or j >= len(results):
            continue
        a, b = results[i], results[j]
        if a.get("ok") and b.get("ok") and compare(spec, a["outputs"], b["outputs"]) is not None:
            return True
    return False


def _mutation_mistake(spec: Spec) -> Mistake | None:
    return next((m for m in catalogue(spec.name) if m.detect == "mutation"), None)


def judge(spec: Spec, trials: list[Trial], results: list[dict[str, Any]]) -> CheckResult:
    """Compare the student's plain results (one per trial, from :func:`runner.call`) with the
    reference's, and write the report."""
    cases = len({t.case for t in trials})
    for i, trial in enumerate(trials):
        if i >= len(results):  # the runner stopped early: only after an error, reported below
            break
        res = results[i]
        where = Failure(trial.case, trial.case_info, trial.label)
        if not res.get("ok") and "error" in res:
            err = res["error"]
            if err.get("type") == "NotImplementedError":
                return CheckResult(spec.name, NOT_IMPLEMENTED, _not_implemented_text(spec), cases=cases,
                                   max_points=spec.points)
            message = err.get("message") or ("out of memory" if err.get("type") == "MemoryError" else "")
            where.kind, where.got = "error", f"{err.get('type')}: {message}" if message else str(err.get("type"))
            where.description = err.get("where", "")
            return _result(spec, ERROR, where, None, i, cases)
        if not res.get("ok"):
            where.kind, where.got = "return", res.get("bad_return", "an unreadable value")
            return _result(spec, FAILED, where, None, i, cases)
        diff = compare(spec, trial.expected, res["outputs"])
        if diff is not None:
            where.variable = diff["variable"]
            where.description = spec.describe.get(diff["variable"], "")
            where.kind, where.expected, where.got, where.index = diff["kind"], diff["expected"], diff["got"], \
                diff.get("index")
            mistake = diagnose(spec, trials, results, i)
            notes = []
            if diff.get("count"):
                b = runner.to_array(res["outputs"][diff["variable"]]) if diff["variable"] in res["outputs"] else None
                odd = b is not None and not np.isfinite(b).all()
                worst = "" if math.isnan(diff["worst"]) else f"the largest difference is {_numbers(diff['worst'])}"
                extra = "; ".join(x for x in (worst, "yours include NaN or Inf" if odd else "") if x)
                notes.append(f"({diff['count']} of {diff['size']} entries differ" + (f"; {extra}.)" if extra else ".)"))
            if res.get("mutated") and (mistake is None or mistake.detect != "mutation"):
                notes.append(f"Your function also changed its input {', '.join(res['mutated'])} in place.")
            if mistake is not None and mistake.detect == "nondeterministic":
                where.kind = "nondeterministic"
            return _result(spec, FAILED, where, mistake, i, cases, notes)
        if res.get("mutated"):
            arg = res["mutated"][0]
            where.kind, where.variable = "mutation", arg
            where.description = "an argument the caller passed in"
            where.expected, where.got = "unchanged", "changed by your function"
            return _result(spec, FAILED, where, _mutation_mistake(spec), i, cases)
    if len(results) < len(trials):  # pragma: no cover - the runner only stops early on an error
        return CheckResult(spec.name, ERROR, f"{spec.name}: the check could not run every call.", cases=cases)
    calls = len(trials)
    case_names = "; ".join(dict.fromkeys(t.case for t in trials))
    msg = "\n".join(_wrap(f"✔ {spec.name} is correct: it agrees with optimlab's reference on all {calls} calls "
                          f"of {cases} cases ({case_names}).", "", "   "))
    return CheckResult(spec.name, PASSED, msg, calls=calls, cases=cases, points=spec.points,
                       max_points=spec.points)


def _not_implemented_text(spec: Spec) -> str:
    return (f"… {spec.name} is not implemented yet: it still raises NotImplementedError.\n"
            f"   Replace the `raise NotImplementedError(...)` line with your code, run that cell, "
            f"then run this check again.")


def _result(spec: Spec, status: str, where: Failure, mistake: Mistake | None, index: int, cases: int,
            notes: list[str] | None = None) -> CheckResult:
    text = report(spec, status, where, mistake, notes or [])
    return CheckResult(spec.name, status, text, where, mistake, calls=index + 1, cases=cases,
                       max_points=spec.points, notes=notes or [])


def _value(x: Any) -> str:
    if isinstance(x, float):
        return "nan" if math.isnan(x) else f"{x:.12g}"
    return str(x)


def _wrap(text: str, indent: str, subsequent: str | None = None) -> list[str]:
    sub = indent if subsequent is None else subsequent
    return textwrap.wrap(text, width=96, initial_indent=indent, subsequent_indent=sub,
                         break_on_hyphens=False) or [indent]


def report(spec: Spec, status: str, f: Failure, mistake: Mistake | None, notes: list[str]) -> str:
    """The readable report of a failed check."""
    where = [f"   In case \"{f.case}\", {f.step}:", *_wrap(f.case_info, "      ")]
    if status == ERROR:
        lines = [f"✘ {spec.name} raised an error: {f.got}"]
        if f.description:
            lines.append(f"   {f.description}")
        return "\n".join(lines + where)
    lines = [f"✘ {spec.name} is not right yet.", *where]
    if f.kind == "return":
        lines += _wrap(f.got.rstrip(".") + ".", "   ")
        lines.append(f"   The signature is {spec.signature}.")
    elif f.kind == "mutation":
        lines.append(f"   The values you return are right, but your function changed its argument `{f.variable}`.")
    elif f.kind == "shape":
        desc = f" ({f.description})" if f.description else ""
        lines.append(f"   {f.variable}{desc} has the wrong shape:")
        lines.append(f"      expected shape {f.expected}")
        lines.append(f"      got shape      {f.got}")
    elif f.kind == "count":
        lines.append(f"   The epoch should have {f.expected} batches; yours has {f.got}.")
    else:
        desc = f" ({f.description})" if f.description else ""
        at = f" at index {f.index}" if f.index else ""
        lines.append(f"   The first output that differs is {f.variable}{desc}{at}:")
        lines.append(f"      expected {_value(f.expected)}")
        lines.append(f"      got      {_value(f.got)}")
    for n in notes:
        lines += _wrap(n, "   ")
    if mistake is not None:
        lines.append(f"   Likely mistake: {mistake.title}.")
        lines += _wrap(mistake.hint.replace("{arg}", f.variable or "an argument"), "      ")
    elif f.kind in ("value", "shape", "count"):
        lines += _wrap("No mistake from the catalogue reproduces your numbers: compare your code with the "
                       f"equation for {f.variable}, term by term.", "   ")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- display
class _Report:
    """What a notebook shows: the report as text (terminals, nbval) and as HTML (Jupyter)."""

    def __init__(self, result: CheckResult):
        self.result = result

    def __repr__(self) -> str:
        return self.result.message

    def _repr_html_(self) -> str:
        return _html(self.result)


_COLORS = {PASSED: "#2e7d32", NOT_IMPLEMENTED: "#6d6d6d", FAILED: "#c62828", ERROR: "#c62828"}


def _html(result: CheckResult) -> str:
    color = _COLORS.get(result.status, "#c62828")
    body = html.escape(result.message)
    return (f'<div style="border-left: 4px solid {color}; padding: 0.3em 0.8em; margin: 0.2em 0;">'
            f'<pre style="margin: 0; white-space: pre-wrap; background: none;">{body}</pre></div>')


def _ipython() -> Any:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover
        return None
    ip = get_ipython()
    return ip if ip is not None and hasattr(ip, "kernel") else None


_SESSION: list[CheckResult] = []


def results() -> list[CheckResult]:
    """Every check run in this process so far, in order (a program can read them)."""
    return list(_SESSION)


def show(result: CheckResult) -> None:
    """Print the report, or display it in a notebook (text and HTML)."""
    ip = _ipython()
    if ip is None:
        print(result.message)
        return
    from IPython.display import display  # pragma: no cover - needs a kernel

    display(_Report(result))  # pragma: no cover
    result._shown_in = ip.execution_count  # pragma: no cover


def check(name: str, fn: Callable, *, quiet: bool = False) -> CheckResult:
    """Run the exercise ``name``'s check on ``fn`` in this process, show the report, return it."""
    spec = get(name)
    trials = spec.trials()
    if not callable(fn):
        result = CheckResult(name, ERROR, f"✘ check_{name} needs your function {name} itself (without "
                                          f"calling it); got a {type(fn).__name__}.", max_points=spec.points)
    else:
        payload = [{"args": t.args, "spec": t.spec} for t in trials]
        results_ = runner.call_all(fn, list(spec.positional), payload, catch=(Exception,))
        result = judge(spec, trials, results_)
    _SESSION.append(result)
    if not quiet:
        show(result)
    return result
