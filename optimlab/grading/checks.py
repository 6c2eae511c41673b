"""Judge a function's plain outputs against the reference's and explain the first difference.

:func:`check` is what a notebook calls (through ``grading.check_<name>``): it runs the
student's function on every trial of the exercise, in this process, then :func:`judge` compares.
The instructor grader runs the same trials in a sandbox process and calls the same
:func:`judge` on the plain data that comes back, so a student reads the same report in the
notebook and in the grader's feedback.
"""

from __future__ import annotations

import ast
import functools
import html
import inspect
import itertools
import math
import numbers
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


# ----------------------------------------------------------------------------- signatures
NO_DEFAULT = inspect.Parameter.empty


class _Unknown:
    """A default the grader cannot read without running the code (``lr=LR``)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()
Parameters = list[tuple[str, Any]]


def parameters(fn: Any) -> Parameters | None:
    """``fn``'s parameters as (name, default) pairs (NO_DEFAULT where there is none); None
    when it takes ``*args`` or ``**kwargs`` or has no signature to read."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    out = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            return None
        out.append((p.name, p.default))
    return out


def parameters_of_def(node: ast.AST) -> Parameters | None:
    """The same, read from a ``def`` statement without running it (the grader's side): a
    default that is not a literal is UNKNOWN; a decorated function's signature is not read."""
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.decorator_list:
        return None
    a = node.args
    if a.vararg or a.kwarg:
        return None

    def literal(d: ast.AST | None) -> Any:
        if d is None:
            return NO_DEFAULT
        try:
            return ast.literal_eval(d)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return UNKNOWN

    pos = [*a.posonlyargs, *a.args]
    defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    return [(x.arg, literal(d)) for x, d in zip([*pos, *a.kwonlyargs], [*defaults, *a.kw_defaults])]


@functools.cache
def expected_parameters(name: str) -> Parameters:
    """The parameters of the statement's signature (``Spec.signature``)."""
    node = ast.parse(f"def {get(name).signature.split(' -> ')[0]}: pass").body[0]
    return parameters_of_def(node) or []


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    try:
        if isinstance(a, numbers.Real) and isinstance(b, numbers.Real):
            return a == b or math.isclose(a, b, rel_tol=1e-12)
        return bool(a == b)
    except Exception:
        return False


def _show(x: Any) -> str:
    if isinstance(x, np.generic):
        x = x.item()
    return repr(x)[:60]


def signature_problems(spec: Spec, params: Parameters | None) -> tuple[list[str], set[str]]:
    """How the student's parameters differ from the statement's, one sentence each, and the
    hyperparameters whose default is wrong. A renamed positional parameter does not matter
    (the check passes those by position); a renamed or missing hyperparameter does."""
    if params is None:
        return [], set()
    expected = expected_parameters(spec.name)
    names, mine = [n for n, _ in params], dict(params)
    wanted = [n for n, _ in expected]
    problems, wrong = [], set()
    for i, (name, default) in enumerate(expected):
        if name in mine:
            got = mine[name]
            if default is NO_DEFAULT or got is UNKNOWN or (got is not NO_DEFAULT and _same(got, default)):
                continue
            wrong.add(name)
            problems.append(f"Your parameter {name} has no default; the statement says {name}={_show(default)}."
                            if got is NO_DEFAULT else
                            f"Your default {name} is {_show(got)}; the statement says {_show(default)}.")
        elif i < len(names) and names[i] not in wanted:
            if name not in spec.positional:
                problems.append(f"Your parameter {names[i]} is called {name} in the statement.")
        else:
            problems.append(f"Your {spec.name} has no parameter {name}.")
    renamed = {names[i] for i, (n, _) in enumerate(expected) if i < len(names) and n not in mine}
    for name, default in params:
        if name not in wanted and name not in renamed and default is NO_DEFAULT:
            problems.append(f"Your {spec.name} has a parameter {name} that the statement does not have.")
    return problems, wrong


# ----------------------------------------------------------------------------- judging
def _variant_outputs(spec: Spec, mistake: Mistake, trials: list[Trial]) -> list[dict[str, Any] | None]:
    outs = []
    for trial in trials:
        res = runner.call(mistake.impl, list(spec.positional), trial.args, trial.spec)
        outs.append(res.get("outputs") if res["ok"] else None)
    return outs


def _arrays(spec: Spec, outputs: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every output as a float array (batches: each batch's X and y)."""
    if spec.kinds == ("batches",):
        return {f"batch {i}, {k}_batch": runner.to_array(b[k]) for i, b in enumerate(outputs["batches"])
                for k in ("X", "y")}
    return {name: np.asarray(outputs[name], dtype=np.float64) if kind == "float" else runner.to_array(outputs[name])
            for name, kind in zip(spec.outputs, spec.kinds)}


def _finite(spec: Spec, outputs: dict[str, Any]) -> bool:
    return all(np.isfinite(a).all() for a in _arrays(spec, outputs).values())


def _finite_difference(spec: Spec, expected: dict[str, Any], got: dict[str, Any]) -> bool:
    """Whether the student's output differs from the reference's in at least one entry where
    the student's number is finite: only such an entry can identify a mistake (a variant that
    also overflows reproduces Inf and NaN without making the student's mistake)."""
    if spec.kinds == ("batches",):
        return True
    exp, mine = _arrays(spec, expected), _arrays(spec, got)
    for name, b in mine.items():
        a = exp[name]
        if a.shape != b.shape:
            return True
        if (~_close(spec, a, b) & np.isfinite(b)).any():
            return True
    return False


def diagnose(spec: Spec, trials: list[Trial], results: list[dict[str, Any]], failing: int) -> Mistake | None:
    """The catalogued mistake that best reproduces the student's outputs.

    A candidate must reproduce the outputs of the failing call exactly (within the check's
    tolerance), and also a call where the student's numbers differ from the reference's in a
    finite entry: Inf and NaN do not identify a mistake, since any variant that overflows
    reproduces them. (A mistake that shows only as an overflow, such as a softmax without the
    max shift, is recognized when its variant reproduces every call.) Among candidates, the one
    that agrees with the student on most calls with finite outputs wins. Mutation and
    nondeterminism are recognized directly, not by reproducing outputs.
    """
    student = results[failing]
    best, best_score = None, -1
    for m in catalogue(spec.name):
        if m.detect != "output":
            continue
        out = runner.call(m.impl, list(spec.positional), trials[failing].args, trials[failing].spec)
        if not out["ok"] or compare(spec, out["outputs"], student["outputs"]) is not None:
            continue
        score, evidence, everywhere = 0, False, True
        for trial, res, variant in zip(trials, results, _variant_outputs(spec, m, trials)):
            if not res.get("ok") or variant is None or compare(spec, variant, res["outputs"]) is not None:
                everywhere = everywhere and not res.get("ok")
                continue
            evidence = evidence or _finite_difference(spec, trial.expected, res["outputs"])
            score += _finite(spec, res["outputs"])
        if (evidence or everywhere) and score > best_score:
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


def _wrong_order(spec: Spec, trials: list[Trial], results: list[dict[str, Any]]) -> tuple[str, ...] | None:
    """The order the student returned the outputs in, when it is a permutation of the right
    values on every call that returned (else None)."""
    if len(spec.outputs) < 2 or spec.kinds == ("batches",):
        return None
    done = [(t, r) for t, r in zip(trials, results) if r.get("ok")]
    for perm in itertools.permutations(range(len(spec.outputs))):
        if perm == tuple(range(len(spec.outputs))) or any(spec.kinds[p] != k for p, k in zip(perm, spec.kinds)):
            continue
        names = tuple(spec.outputs[p] for p in perm)  # the student's i-th output is the reference's names[i]
        if all(compare(spec, t.expected, {n: r["outputs"][o] for n, o in zip(names, spec.outputs)}) is None
               for t, r in done):
            return names
    return None


def _relies_on(trial: Trial, wrong: set[str]) -> list[str]:
    """The wrongly defaulted hyperparameters this call does not pass (so it uses the student's)."""
    return sorted(n for n in wrong if n not in trial.args)


def _float32(spec: Spec, expected: dict[str, Any], got: dict[str, Any]) -> str | None:
    """A hint when the student's numbers look computed in float32: every one of them is a
    float32 number (the reference's are not), and they differ by about float32's precision."""
    if spec.kinds == ("batches",):
        return None
    exp, mine = _arrays(spec, expected), _arrays(spec, got)
    rel = 0.0
    for name, b in mine.items():
        a = exp[name]
        if a.shape != b.shape or not np.isfinite(b).all():
            return None
        with np.errstate(all="ignore"):
            if a.size:
                rel = max(rel, float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-300)))
    if not 0.0 < rel < 1e-5:
        return None
    values = np.concatenate([b.ravel() for b in mine.values()])
    references = np.concatenate([a.ravel() for a in exp.values()])
    with np.errstate(all="ignore"):
        looks32 = bool((values.astype(np.float32).astype(np.float64) == values).all())
        reference32 = bool((references.astype(np.float32).astype(np.float64) == references).all())
    if not looks32 or reference32:
        return None
    size = f"1e{math.floor(math.log10(rel) + 0.5):03d}".replace("e-0", "e-")
    return (f"Differences of about {size} relative: did you compute in float32? All your numbers are float32 "
            "numbers (the reference's are not); NumPy computes in float64 unless an array is made float32.")


_OVERFLOW = ("Inf or NaN usually means an overflow (a value grows without bound) or a division by zero: "
             "check the scaling and the normalizations of your computation, starting with the first step.")


def _shape_hint(expected: tuple[int, ...], got: tuple[int, ...]) -> str | None:
    if len(got) == 0 and len(expected) > 0:
        return (f"You returned a single number where an array of shape {expected} is expected: did you reduce "
                "over every axis (np.sum without axis=), or use np.max where the elementwise np.maximum is "
                "needed?")
    if expected != got and [n for n in expected if n != 1] == [n for n in got if n != 1]:
        return ("The shapes differ only by axes of length 1: did you reduce with keepdims=True, or "
                "add an axis that should not be there (or drop one that should)?")
    return None


def _count_hint(trial: Trial, expected: list[dict], got: list[dict]) -> str:
    n, size = len(trial.args["X"]), trial.args["batch_size"]
    drop_last = trial.args.get("drop_last", False)
    if len(got) > len(expected):
        extra = got[len(expected):]
        if all(b["X"]["shape"][:1] == [0] for b in extra):
            return ("Your epoch ends with an extra, empty batch: stop when no rows are left "
                    "(range(0, n, batch_size) gives the start of every batch).")
        if drop_last:
            return (f"With drop_last=True, the last batch smaller than batch_size is left out "
                    f"({n} rows, batch_size={size}).")
        return f"An epoch cuts the {n} rows into consecutive batches of batch_size={size}; yours has more."
    if not drop_last and n % size:
        return (f"With drop_last=False, the last, smaller batch ({n % size} rows) is part of the epoch; "
                "yours leaves it out.")
    return f"An epoch cuts all {n} rows into consecutive batches of batch_size={size}; yours has fewer."


def _not_implemented(spec: Spec, err: dict[str, Any]) -> str:
    other = str(err.get("function") or "")
    if other and other not in (spec.name, err.get("called")):
        return "\n".join(_wrap(f"… {spec.name} calls {other}, which still raises NotImplementedError (it is not "
                               f"implemented yet): do that exercise first, run its cell, then run this check "
                               f"again.", "", "   "))
    return _not_implemented_text(spec)


def judge(spec: Spec, trials: list[Trial], results: list[dict[str, Any]],
          params: Parameters | None = None) -> CheckResult:
    """Compare the student's plain results (one per trial, from :func:`runner.call`) with the
    reference's, and write the report. ``params`` are the student's function's parameters
    (:func:`parameters`); a default or a hyperparameter that differs from the statement's is
    reported first, and fails the check."""
    cases = len({t.case for t in trials})
    problems, wrong = signature_problems(spec, params)
    for i, trial in enumerate(trials):
        if i >= len(results):  # the runner stopped early: only after an error, reported below
            break
        res = results[i]
        where = Failure(trial.case, trial.case_info, trial.label)
        if not res.get("ok") and "error" in res:
            err = res["error"]
            if err.get("type") == "NotImplementedError":
                return CheckResult(spec.name, NOT_IMPLEMENTED, _not_implemented(spec, err), cases=cases,
                                   max_points=spec.points)
            message = err.get("message") or ("out of memory" if err.get("type") == "MemoryError" else "")
            where.kind, where.got = "error", f"{err.get('type')}: {message}" if message else str(err.get("type"))
            where.description = err.get("where", "")
            return _result(spec, ERROR, where, None, i, cases, problems=problems)
        if not res.get("ok"):
            where.kind, where.got = "return", res.get("bad_return", "an unreadable value")
            return _result(spec, FAILED, where, None, i, cases, problems=problems)
        diff = compare(spec, trial.expected, res["outputs"])
        if diff is not None:
            where.variable = diff["variable"]
            where.description = spec.describe.get(diff["variable"], "")
            where.kind, where.expected, where.got, where.index = diff["kind"], diff["expected"], diff["got"], \
                diff.get("index")
            order = _wrong_order(spec, trials, results) if diff["kind"] in ("value", "shape") else None
            if order is not None:
                where.kind, where.expected, where.got = "order", spec.outputs, order
                return _result(spec, FAILED, where, None, i, cases, problems=problems)
            mistake = diagnose(spec, trials, results, i)
            notes, hint = [], None
            if diff.get("count"):
                b = _arrays(spec, res["outputs"]).get(diff["variable"])
                odd = b is not None and not np.isfinite(b).all()
                worst = "" if math.isnan(diff["worst"]) else f"the largest difference is {_numbers(diff['worst'])}"
                extra = "; ".join(x for x in (worst, "yours include NaN or Inf" if odd else "") if x)
                notes.append(f"({diff['count']} of {diff['size']} entries differ" + (f"; {extra}.)" if extra else ".)"))
                hint = _OVERFLOW if odd else _float32(spec, trial.expected, res["outputs"])
            elif diff["kind"] == "value" and not math.isfinite(diff["got"]):
                hint = _OVERFLOW
            elif diff["kind"] == "shape":
                hint = _shape_hint(tuple(diff["expected"]), tuple(diff["got"]))
            elif diff["kind"] == "count":
                hint = _count_hint(trial, trial.expected["batches"], res["outputs"]["batches"])
            elif diff["kind"] == "value":
                hint = _float32(spec, trial.expected, res["outputs"])
            if res.get("mutated") and (mistake is None or mistake.detect != "mutation"):
                notes.append(f"Your function also changed its input {', '.join(res['mutated'])} in place.")
            if mistake is not None and mistake.detect == "nondeterministic":
                where.kind = "nondeterministic"
            defaults = _relies_on(trial, wrong)
            if defaults:  # the case uses the student's wrong defaults: that is the difference to fix first
                mistake = None
                hint = (f"This case uses your default {' and '.join(defaults)} (it does not pass "
                        f"{'them' if len(defaults) > 1 else 'it'}): fix the default first, see above.")
            return _result(spec, FAILED, where, mistake, i, cases, notes, hint=hint, problems=problems)
        if res.get("mutated"):
            arg = res["mutated"][0]
            where.kind, where.variable = "mutation", arg
            where.description = "an argument the caller passed in"
            where.expected, where.got = "unchanged", "changed by your function"
            return _result(spec, FAILED, where, _mutation_mistake(spec), i, cases, problems=problems)
    if len(results) < len(trials):  # pragma: no cover - the runner only stops early on an error
        return CheckResult(spec.name, ERROR, f"{spec.name}: the check could not run every call.", cases=cases)
    calls = len(trials)
    if problems:
        where = Failure("the signature", "", "", variable=sorted(wrong)[0] if wrong else None, kind="signature")
        return _result(spec, FAILED, where, None, calls - 1, cases, problems=problems)
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
            notes: list[str] | None = None, hint: str | None = None, problems: list[str] | None = None
            ) -> CheckResult:
    text = report(spec, status, where, mistake, notes or [], hint=hint, problems=problems or [])
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


_CHANGED_INPUT_HINT = (
    "Your function changed `{arg}`, an array the caller passed in and still needs. Compute new arrays "
    "instead of changing {arg} in place (write g = {arg} + ... rather than {arg} += ...).")


def report(spec: Spec, status: str, f: Failure, mistake: Mistake | None, notes: list[str],
           hint: str | None = None, problems: list[str] | None = None) -> str:
    """The readable report of a failed check. ``problems`` (how the signature differs from the
    statement's) come first; ``hint`` replaces the generic advice when no mistake matched."""
    signature = [line for p in problems or [] for line in _wrap(p, "   ")]
    if signature:
        signature += _wrap(f"The statement's signature is {spec.signature}.", "   ")
    where = [f"   In case \"{f.case}\", {f.step}:", *_wrap(f.case_info, "      ")]
    if status == ERROR:
        lines = [f"✘ {spec.name} raised an error: {f.got}", *signature]
        if f.description:
            lines.append(f"   {f.description}")
        return "\n".join(lines + where)
    if f.kind == "signature":
        return "\n".join([f"✘ {spec.name} is not right yet: its parameters differ from the statement's.",
                          *signature, *_wrap("Your function agrees with the reference on every call of the "
                                             "check, but the defaults are part of the exercise.", "   ")])
    lines = [f"✘ {spec.name} is not right yet.", *signature, *where]
    if f.kind == "return":
        lines += _wrap(f.got.rstrip(".") + ".", "   ")
        lines.append(f"   The signature is {spec.signature}.")
    elif f.kind == "order":
        lines += _wrap(f"Your function returns the right values in the wrong order: expected "
                       f"({', '.join(f.expected)}); yours are ({', '.join(f.got)}).", "   ")
    elif f.kind == "mutation":
        lines.append(f"   The values you return are right, but your function changed its argument `{f.variable}`.")
    elif f.kind == "shape":
        desc = f" ({f.description})" if f.description else ""
        lines.append(f"   {f.variable}{desc} has the wrong shape:")
        lines.append(f"      expected shape {f.expected}")
        lines.append(f"      got shape      {f.got}")
    elif f.kind == "count":
        lines.append(f"   The epoch should have {_plural(f.expected, 'batch')}; yours has {f.got}.")
    elif spec.kinds == ("batches",):
        at = f" at index {f.index}" if f.index else ""
        lines.append(f"   The first difference is in {f.variable}{at}:")
        lines.append(f"      expected {_value(f.expected)}")
        lines.append(f"      got      {_value(f.got)}")
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
        text = mistake.hint
        if mistake.detect == "mutation" and f.variable not in spec.outputs:
            text = _CHANGED_INPUT_HINT  # an input that is not returned: "return the new array" does not apply
        lines += _wrap(text.replace("{arg}", f.variable or "an argument"), "      ")
    elif hint:
        lines += _wrap(hint, "   ")
    elif f.kind == "value" and spec.kinds == ("batches",):
        lines += _wrap(f"No mistake from the catalogue reproduces your batches: check which rows "
                       f"{f.variable.split(',')[0]} holds, and in which order (one permutation of the rows, "
                       "cut into consecutive batches).", "   ")
    elif f.kind == "value":
        lines += _wrap("No mistake from the catalogue reproduces your numbers: compare your code with the "
                       f"equation for {f.variable}, term by term.", "   ")
    return "\n".join(lines)


def _plural(n: Any, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}es" if word.endswith(("s", "sh", "ch", "x")) else f"{n} {word}s"


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
                                          f"calling it); got {runner.article(type(fn).__name__)}.",
                             max_points=spec.points)
    else:
        payload = [{"args": t.args, "spec": t.spec} for t in trials]
        results_ = runner.call_all(fn, list(spec.positional), payload, catch=(Exception,))
        result = judge(spec, trials, results_, parameters(fn))
    _SESSION.append(result)
    if not quiet:
        show(result)
    return result
