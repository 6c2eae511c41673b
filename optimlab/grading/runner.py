"""Call a function on one set of inputs and turn whatever it returns into plain data.

This is the only code that touches a student's function, both in a notebook (the checks) and
in the grader's sandbox process, so both see the same thing. It depends on NumPy and the
standard library only, and it never compares anything: it returns plain JSON-ready data
(lists of floats, strings), and the trusted side does the comparing.

Inputs travel as JSON too: :func:`encode` tags arrays as ``{"__array__": [...], "shape":
[...], "dtype": "float64"}``; Python's ``json`` writes floats exactly (shortest repr) and
accepts NaN and Infinity.

What :func:`call` returns for one call:

* ``{"ok": True, "outputs": {...}, "mutated": [...]}``: outputs by name, each
  ``{"shape": [...], "values": [...]}`` (an array), a float, or for ``kind="batches"`` a list
  of ``{"X": array, "y": array}``; ``mutated`` lists the arguments the function changed.
* ``{"ok": False, "error": {"type", "message", "where", "function", "called"}}``: the function
  raised; ``function`` is the student's function whose line raised, ``called`` the one called
  (they differ when, say, muon_step calls an unfinished newton_schulz).
* ``{"ok": False, "bad_return": "..."}``: it returned something of the wrong kind.
"""

from __future__ import annotations

import copy
import itertools
import linecache
import os
import traceback
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

_asarray = np.asarray
_array = np.array
_array_equal = np.array_equal
_float64 = np.float64
_ndarray = np.ndarray
_errstate = np.errstate
_islice = itertools.islice
_extract_tb = traceback.extract_tb
_getline = linecache.getline
_deepcopy = copy.deepcopy

MAX_MESSAGE = 500
_HERE = os.path.dirname(os.path.abspath(__file__))
_LIBRARY_DIRS = tuple(
    os.path.dirname(os.path.abspath(m.__file__)) for m in (np, os, traceback) if getattr(m, "__file__", None)
)


# ----------------------------------------------------------------------------- JSON transport
def encode(value: Any) -> Any:
    """Arrays (and nested containers of them) to JSON-ready data."""
    if isinstance(value, np.ndarray):
        kind = "int64" if np.issubdtype(value.dtype, np.integer) else "float64"
        flat = value.astype(kind).ravel().tolist()
        return {"__array__": flat, "shape": list(value.shape), "dtype": kind}
    if isinstance(value, dict):
        return {k: encode(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    if isinstance(value, dict):
        if "__array__" in value:
            return _array(value["__array__"], dtype=value["dtype"]).reshape(value["shape"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def to_array(plain: Any) -> np.ndarray:
    """An output array of :func:`call` back as a NumPy array."""
    return _array(plain["values"], dtype=_float64).reshape(plain["shape"])


# ----------------------------------------------------------------------------- calling
def _clip(text: str, limit: int = MAX_MESSAGE) -> str:
    text = str(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(obj: Any) -> str:
    try:
        return type(obj).__name__
    except Exception:  # pragma: no cover - pathological objects
        return "object"


def _student_frame(exc: BaseException) -> traceback.FrameSummary | None:
    """The deepest frame of ``exc``'s traceback that is not NumPy, the standard library or
    optimlab.grading: the student's line that raised."""
    for fs in reversed(_extract_tb(exc.__traceback__)):
        path = os.path.abspath(fs.filename) if not fs.filename.startswith("<") else fs.filename
        if path.startswith(_HERE) or path.startswith(_LIBRARY_DIRS):
            continue
        return fs
    return None


def where(exc: BaseException) -> str:
    """The line of the student's code where ``exc`` was raised (the deepest frame that is not
    NumPy, the standard library or optimlab.grading), as ``"name, line N: source"``."""
    try:
        fs = _student_frame(exc)
        if fs is not None:
            line = fs.line or _getline(fs.filename, fs.lineno or 0).strip()
            return _clip(f"in {fs.name}, line {fs.lineno}: {line}".rstrip(": "), 300)
    except Exception:
        pass
    return ""


def _function(exc: BaseException) -> str:
    """The name of the student's function that raised ``exc`` ("" when unknown)."""
    try:
        fs = _student_frame(exc)
        return _clip(str(fs.name), 100) if fs is not None else ""
    except Exception:
        return ""


def _error(exc: BaseException, fn: Any = None) -> dict[str, Any]:
    try:
        message = str(exc)
    except Exception:
        message = "(the error's message could not be printed)"
    try:
        called = str(getattr(fn, "__name__", "") or "")
    except Exception:
        called = ""
    return {"ok": False, "error": {"type": _type_name(exc), "message": _clip(message), "where": where(exc),
                                   "function": _function(exc), "called": _clip(called, 100)}}


def article(name: str) -> str:
    """``name`` with its indefinite article: "an int", "an ndarray", "a tuple"."""
    return f"an {name}" if name[:1].lower() in "aeio" or name == "ndarray" else f"a {name}"


def _what(obj: Any) -> str:
    """What a returned object is, for a message: "None", "an int", "a str 'done'"."""
    if obj is None:
        return "None"
    text = article(_type_name(obj))
    if isinstance(obj, (str, bytes, dict)):
        text += f" {_clip(repr(obj), 60)}"
    return text


def _plain_array(obj: Any, name: str, shape: list[int] | None, limit: int) -> dict[str, Any] | str:
    """A returned array as {"shape", "values"}; a string says why it is not one."""
    if isinstance(obj, (str, bytes, dict)) or obj is None:
        return f"{name} should be an array; your function returned {_what(obj)}"
    try:
        arr = _array(obj, dtype=_float64)
    except Exception:
        return f"{name} should be an array of numbers; your function returned {_what(obj)}"
    if not isinstance(arr, _ndarray):  # pragma: no cover - np.array always returns an ndarray
        return f"{name} should be an array"
    got = list(arr.shape)
    if shape is not None and got != list(shape) and arr.size > limit:
        return f"{name} should have shape {tuple(shape)}; yours has shape {tuple(got)}"
    return {"shape": got, "values": arr.ravel().tolist()}


def _plain_float(obj: Any, name: str) -> float | str:
    if isinstance(obj, (str, bytes, dict)) or obj is None:
        return f"{name} should be a number; your function returned {_what(obj)}"
    try:
        arr = _asarray(obj, dtype=_float64)
    except Exception:
        return f"{name} should be a number; your function returned {_what(obj)}"
    if arr.size != 1:
        return f"{name} should be a single number; your function returned an array of shape {arr.shape}"
    return float(arr.reshape(-1)[0])


def _snapshot(args: dict[str, Any]) -> dict[str, np.ndarray]:
    return {k: _array(v, copy=True) for k, v in args.items() if isinstance(v, _ndarray)}


def _mutated(args: dict[str, Any], before: dict[str, np.ndarray]) -> list[str]:
    changed = []
    for k, old in before.items():
        new = args[k]
        try:
            same = new.shape == old.shape and bool(_array_equal(new, old, equal_nan=True))
        except Exception:
            same = False
        if not same:
            changed.append(k)
    return changed


def convert(returned: Any, spec: dict[str, Any]) -> dict[str, Any]:
    """The function's return value as plain outputs, following ``spec`` (see :func:`call`)."""
    if spec["kind"] == "batches":
        return _convert_batches(returned, spec)
    names, kinds, shapes = spec["names"], spec["kinds"], spec.get("shapes") or [None] * len(spec["names"])
    if len(names) == 1 and not (isinstance(returned, tuple) and len(returned) == 1):
        returned = (returned,)
    if not isinstance(returned, (tuple, list)) or len(returned) != len(names):
        want = f"a tuple of {len(names)} values ({', '.join(names)})"
        got = f"a {_type_name(returned)} of {len(returned)}" if isinstance(returned, (tuple, list)) else \
            _what(returned)
        return {"ok": False, "bad_return": f"Your function should return {want}; it returned {got}"}
    outputs: dict[str, Any] = {}
    for name, kind, shape, obj in zip(names, kinds, shapes, returned):
        if kind == "float":
            plain = _plain_float(obj, name)
        else:
            limit = 4 * (int(np.prod(shape)) if shape is not None else 10**6) + 16
            plain = _plain_array(obj, name, shape, limit)
        if isinstance(plain, str):
            return {"ok": False, "bad_return": plain}
        outputs[name] = plain
    return {"ok": True, "outputs": outputs}


def _convert_batches(returned: Any, spec: dict[str, Any]) -> dict[str, Any]:
    limit = spec.get("max_batches", 1000)
    try:
        items = list(_islice(iter(returned), limit + 1))
    except Exception as exc:
        if isinstance(returned, (tuple, list)) or hasattr(returned, "__iter__"):
            return _error(exc)
        return {"ok": False, "bad_return": f"Your function should return an iterator of (X_batch, y_batch) "
                                           f"pairs; it returned {_what(returned)}"}
    batches = []
    for i, item in enumerate(items):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            return {"ok": False, "bad_return": f"batch {i} should be a pair (X_batch, y_batch); "
                                               f"it is {_what(item)}"}
        pair = {}
        for key, obj in zip(("X", "y"), item):
            plain = _plain_array(obj, f"{key} of batch {i}", None, 0)
            if isinstance(plain, str):
                return {"ok": False, "bad_return": plain}
            pair[key] = plain
        batches.append(pair)
    return {"ok": True, "outputs": {"batches": batches}}


def call(fn: Callable, positional: list[str], args: dict[str, Any], spec: dict[str, Any],
         catch: tuple[type[BaseException], ...] = (Exception,)) -> dict[str, Any]:
    """Call ``fn`` once on copies of ``args`` and return plain data (see the module docstring).

    Arguments named in ``positional`` are passed by position, in that order; the others
    (the hyperparameters) by keyword. ``catch`` says which exceptions become an error
    report (the sandbox catches everything, a notebook lets KeyboardInterrupt through).
    """
    mine = {k: _deepcopy(v) for k, v in args.items()}
    before = _snapshot(mine)
    pos = [mine[k] for k in positional if k in mine]
    kw = {k: v for k, v in mine.items() if k not in positional}
    try:
        with warnings.catch_warnings(), _errstate(all="ignore"):
            warnings.simplefilter("ignore")
            returned = fn(*pos, **kw)
            result = convert(returned, spec)
    except catch as exc:
        return _error(exc, fn)
    if result["ok"]:
        result["mutated"] = _mutated(mine, before)
    return result


def call_all(fn: Callable, positional: list[str], trials: list[dict[str, Any]],
             catch: tuple[type[BaseException], ...] = (Exception,),
             hook: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """:func:`call` on every trial (``{"args", "spec"}``); stops after the first error."""
    results = []
    for i, trial in enumerate(trials):
        if hook is not None:
            hook(i)
        res = call(fn, positional, trial["args"], trial["spec"], catch)
        results.append(res)
        if not res["ok"] and "error" in res:
            break
    return results

