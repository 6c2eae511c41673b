r"""What each graded exercise is: its signature, its outputs, and the inputs it is checked on.

A :class:`Spec` describes one exercise. :meth:`Spec.trials` builds, from fixed seeds, the list
of calls the check makes (each a :class:`Trial`: the arguments and the reference's plain
outputs). Update rules are checked over several steps of a few *cases* (default
hyperparameters, unusual ones, a mid-run state, zero, tiny and huge gradients, one number),
with the reference's state fed to every step ("teacher forcing"), so that the first step where
the student's function disagrees is the step where its rule differs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import reference as ref
from . import runner

Array = np.ndarray


@dataclass(frozen=True)
class Trial:
    """One call of the exercise's function, and what the reference returned for it."""

    case: str
    case_info: str
    label: str
    args: dict[str, Any]
    spec: dict[str, Any]
    expected: dict[str, Any]
    repeat_of: int | None = None

    def payload(self) -> dict[str, Any]:
        """What the sandbox needs to make this call (plain data; no expected values)."""
        return {"args": runner.encode(self.args), "spec": self.spec}


@dataclass(frozen=True)
class Spec:
    name: str
    chapter: str
    signature: str
    summary: str
    positional: tuple[str, ...]
    outputs: tuple[str, ...]
    kinds: tuple[str, ...]
    order: tuple[str, ...]
    describe: dict[str, str]
    reference: Callable
    build: Callable[[Spec], list[Trial]] = field(repr=False)
    points: int = 1
    rtol: float = 1e-7
    atol: float = 1e-12

    def trials(self) -> list[Trial]:
        return _trials(self.name)

    def output_spec(self, shapes: list[list[int]] | None = None) -> dict[str, Any]:
        if self.kinds == ("batches",):
            return {"kind": "batches", "max_batches": 64}
        return {"kind": "tuple", "names": list(self.outputs), "kinds": list(self.kinds), "shapes": shapes}

    def run_reference(self, args: dict[str, Any]) -> dict[str, Any]:
        res = runner.call(self.reference, list(self.positional), args, self.output_spec())
        if not res["ok"]:  # pragma: no cover - a bug in the reference or in a case
            raise RuntimeError(f"reference {self.name} failed on {args}: {res}")
        return res["outputs"]


SPECS: dict[str, Spec] = {}


@functools.cache
def _trials(name: str) -> list[Trial]:
    spec = SPECS[name]
    return spec.build(spec)


def get(name: str) -> Spec:
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"no graded exercise named {name!r}; there are {', '.join(SPECS)}") from None


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value)


def _info(shown: dict[str, Any], defaults_rest: bool, extra: str = "") -> str:
    parts = [", ".join(f"{k}={_fmt(v)}" for k, v in shown.items())] if shown else []
    if defaults_rest:
        parts.append("other hyperparameters not passed (your defaults are used)" if shown
                     else "hyperparameters not passed (your defaults are used)")
    if extra:
        parts.append(extra)
    return "; ".join(parts)


# ----------------------------------------------------------------------------- case builders
def _stateful(spec: Spec, case: str, init: dict[str, Array], grads: list[Array], hyper: dict[str, Any] | None,
              t0: int | None = None, required: dict[str, Any] | None = None) -> list[Trial]:
    """Trials of several steps; each step's state is the reference's output of the previous one."""
    state = {k: np.asarray(v, dtype=np.float64) for k, v in init.items()}
    trials = []
    shape = next(iter(state.values())).shape
    for k, g in enumerate(grads):
        args: dict[str, Any] = {}
        for name in spec.positional:
            if name == "grad":
                args[name] = np.asarray(g, dtype=np.float64)
            elif name == "t":
                args[name] = t0 + k
            elif required and name in required:
                args[name] = required[name]
            else:
                args[name] = state[name]
        args.update(hyper or {})
        t_text = f" (t = {t0 + k})" if t0 is not None else ""
        outputs = spec.run_reference(args)
        info = _info({**(required or {}), **(hyper or {})}, hyper is None, f"arrays of shape {shape}")
        trials.append(Trial(case, info, f"step {k + 1} of {len(grads)}{t_text}", args,
                            spec.output_spec(_shapes(outputs)), outputs))
        state.update({name: runner.to_array(outputs[name]) for name in spec.outputs if name in state})
    return trials


def _shapes(outputs: dict[str, Any]) -> list[list[int]] | None:
    shapes = []
    for v in outputs.values():
        if isinstance(v, dict) and "shape" in v:
            shapes.append(v["shape"])
        else:
            shapes.append(None)
    return shapes


def _calls(spec: Spec, case: str, calls: list[dict[str, Any]], info: str,
           label: Callable[[int, dict], str]) -> list[Trial]:
    trials = []
    for i, args in enumerate(calls):
        outputs = spec.run_reference(args)
        trials.append(Trial(case, info, label(i, args), args, spec.output_spec(_shapes(outputs)), outputs))
    return trials


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _grads(rng: np.random.Generator, shape: tuple[int, ...], steps: int, scale: Any = 1.0) -> list[Array]:
    return [rng.standard_normal(shape) * scale for _ in range(steps)]


def _mixed_scales(rng: np.random.Generator, n: int) -> Array:
    """Per-coordinate scales from 1e-8 to 1e6, random signs: tiny and huge gradients at once."""
    return np.logspace(-8, 6, n) * rng.choice([-1.0, 1.0], n)


def _eps_defaults(spec: Spec, seed: int, state: dict[str, Array], scale: float, t0: int | None = None) -> list[Trial]:
    """The default hyperparameters on gradients of about ``scale``, small enough that the default ε
    changes the step: a wrong default ε fails here (the plain "defaults" case leaves ε negligible)."""
    r = _rng(seed)
    shape = next(iter(state.values())).shape
    grads = [g * np.logspace(0, 1, shape[-1]) * scale for g in _grads(r, shape, 3)] + [np.zeros(shape)]
    return _stateful(spec, f"defaults, gradients of about {scale:g} (ε matters)",
                     {"theta": r.standard_normal(shape), **state}, grads, None, t0=t0)


# ----------------------------------------------------------------------------- the SGD family
def _build_gd(spec: Spec) -> list[Trial]:
    r = _rng(101)
    out = []
    out += _stateful(spec, "lr = 0.1", {"theta": r.standard_normal((3, 4))}, _grads(r, (3, 4), 3), {},
                     required={"lr": 0.1})
    out += _stateful(spec, "lr = 1.5, a 3-D array", {"theta": r.standard_normal((2, 3, 2))},
                     _grads(r, (2, 3, 2), 3), {}, required={"lr": 1.5})
    out += _stateful(spec, "zero gradient", {"theta": r.standard_normal(4)}, [np.zeros(4)] * 2, {},
                     required={"lr": 0.3})
    out += _stateful(spec, "tiny and huge gradients", {"theta": r.standard_normal(6)},
                     _grads(r, (6,), 2, _mixed_scales(r, 6)), {}, required={"lr": 1e-3})
    out += _stateful(spec, "one number", {"theta": np.array([2.0])}, _grads(r, (1,), 2), {}, required={"lr": 0.5})
    return out


def _build_momentum(spec: Spec) -> list[Trial]:
    r = _rng(303)
    z = np.zeros
    out = []
    out += _stateful(spec, "default momentum", {"theta": r.standard_normal((3, 4)), "buf": z((3, 4))},
                     _grads(r, (3, 4), 5), None, t0=1, required={"lr": 0.1})
    out += _stateful(spec, "momentum 0.8, dampening 0.3", {"theta": r.standard_normal(5), "buf": z(5)},
                     _grads(r, (5,), 5), {"momentum": 0.8, "dampening": 0.3}, t0=1, required={"lr": 0.05})
    out += _stateful(spec, "mid-run (t = 20)",
                     {"theta": r.standard_normal((2, 3)), "buf": r.standard_normal((2, 3))},
                     _grads(r, (2, 3), 4), {"momentum": 0.95, "dampening": 0.0}, t0=20, required={"lr": 0.01})
    out += _stateful(spec, "zero gradient", {"theta": r.standard_normal(4), "buf": r.standard_normal(4)},
                     [z(4)] * 3, {"momentum": 0.9, "dampening": 0.1}, t0=5, required={"lr": 0.1})
    out += _stateful(spec, "tiny and huge gradients", {"theta": r.standard_normal(6), "buf": z(6)},
                     _grads(r, (6,), 3, _mixed_scales(r, 6)), None, t0=1, required={"lr": 1e-3})
    return out


def _build_nesterov(spec: Spec) -> list[Trial]:
    r = _rng(404)
    z = np.zeros
    out = []
    out += _stateful(spec, "default momentum", {"theta": r.standard_normal((3, 4)), "buf": z((3, 4))},
                     _grads(r, (3, 4), 5), None, t0=1, required={"lr": 0.1})
    out += _stateful(spec, "momentum 0.7", {"theta": r.standard_normal(5), "buf": z(5)},
                     _grads(r, (5,), 5), {"momentum": 0.7}, t0=1, required={"lr": 0.05})
    out += _stateful(spec, "mid-run (t = 20)",
                     {"theta": r.standard_normal((2, 3)), "buf": r.standard_normal((2, 3))},
                     _grads(r, (2, 3), 4), {"momentum": 0.95}, t0=20, required={"lr": 0.01})
    out += _stateful(spec, "zero gradient", {"theta": r.standard_normal(4), "buf": r.standard_normal(4)},
                     [z(4)] * 3, {"momentum": 0.9}, t0=5, required={"lr": 0.1})
    out += _stateful(spec, "tiny and huge gradients", {"theta": r.standard_normal(6), "buf": z(6)},
                     _grads(r, (6,), 3, _mixed_scales(r, 6)), None, t0=1, required={"lr": 1e-3})
    return out


# ----------------------------------------------------------------------------- adaptive rates
def _build_adagrad(spec: Spec) -> list[Trial]:
    r = _rng(505)
    z = np.zeros
    out = []
    out += _stateful(spec, "defaults", {"theta": r.standard_normal((3, 4)), "sum_sq": z((3, 4))},
                     _grads(r, (3, 4), 5), None)
    out += _eps_defaults(spec, 5051, {"sum_sq": z(4)}, 1e-10)
    out += _stateful(spec, "lr = 0.5, large eps", {"theta": r.standard_normal(5), "sum_sq": z(5)},
                     _grads(r, (5,), 5), {"lr": 0.5, "eps": 0.1})
    out += _stateful(spec, "mid-run", {"theta": r.standard_normal((2, 3)), "sum_sq": r.uniform(0.5, 5, (2, 3))},
                     _grads(r, (2, 3), 4), {"lr": 0.1, "eps": 1e-10})
    out += _stateful(spec, "zero gradient", {"theta": r.standard_normal(4), "sum_sq": r.uniform(0, 2, 4)},
                     [z(4)] * 2, {"lr": 0.1, "eps": 1e-3})
    out += _stateful(spec, "tiny and huge gradients", {"theta": r.standard_normal(6), "sum_sq": z(6)},
                     _grads(r, (6,), 3, _mixed_scales(r, 6)), {"lr": 0.01, "eps": 1e-10})
    return out


def _build_rmsprop(spec: Spec) -> list[Trial]:
    r = _rng(606)
    z = np.zeros
    out = []
    out += _stateful(spec, "defaults", {"theta": r.standard_normal((3, 4)), "square_avg": z((3, 4))},
                     _grads(r, (3, 4), 5), None)
    out += _eps_defaults(spec, 6061, {"square_avg": z(4)}, 1e-7)
    out += _stateful(spec, "alpha = 0.8, large eps", {"theta": r.standard_normal(5), "square_avg": z(5)},
                     _grads(r, (5,), 5), {"lr": 0.05, "alpha": 0.8, "eps": 0.1})
    out += _stateful(spec, "mid-run",
                     {"theta": r.standard_normal((2, 3)), "square_avg": r.uniform(0.1, 2, (2, 3))},
                     _grads(r, (2, 3), 4), {"lr": 0.01, "alpha": 0.9, "eps": 1e-8})
    out += _stateful(spec, "zero gradient", {"theta": r.standard_normal(4), "square_avg": r.uniform(0, 2, 4)},
                     [z(4)] * 2, {"lr": 0.1, "alpha": 0.99, "eps": 1e-3})
    out += _stateful(spec, "tiny and huge gradients", {"theta": r.standard_normal(6), "square_avg": z(6)},
                     _grads(r, (6,), 3, _mixed_scales(r, 6)), {"lr": 0.01, "alpha": 0.9, "eps": 1e-8})
    return out


def _build_adadelta(spec: Spec) -> list[Trial]:
    r = _rng(707)
    z = np.zeros
    out = []
    out += _stateful(spec, "defaults",
                     {"theta": r.standard_normal((3, 4)), "square_avg": z((3, 4)), "acc_delta": z((3, 4))},
                     _grads(r, (3, 4), 5), None)
    out += _stateful(spec, "rho = 0.8, lr = 0.5, eps = 1e-3",
                     {"theta": r.standard_normal(5), "square_avg": z(5), "acc_delta": z(5)},
                     _grads(r, (5,), 5), {"lr": 0.5, "rho": 0.8, "eps": 1e-3})
    out += _stateful(spec, "mid-run", {"theta": r.standard_normal((2, 3)), "square_avg": r.uniform(0.1, 2, (2, 3)),
                                       "acc_delta": r.uniform(0.01, 0.2, (2, 3))},
                     _grads(r, (2, 3), 4), {"lr": 1.0, "rho": 0.9, "eps": 1e-6})
    out += _stateful(spec, "zero gradient", {"theta": r.standard_normal(4), "square_avg": r.uniform(0, 2, 4),
                                             "acc_delta": r.uniform(0, 0.1, 4)},
                     [z(4)] * 2, {"lr": 1.0, "rho": 0.95, "eps": 1e-6})
    out += _stateful(spec, "tiny and huge gradients",
                     {"theta": r.standard_normal(6), "square_avg": z(6), "acc_delta": z(6)},
                     _grads(r, (6,), 3, _mixed_scales(r, 6)), {"lr": 1.0, "rho": 0.9, "eps": 1e-6})
    return out


# ----------------------------------------------------------------------------- the Adam family
def _adam_cases(spec: Spec, seed: int, extra_state: tuple[str, ...] = (), hyper_extra: dict | None = None,
                first_state: str = "v", eps_scale: float = 1e-8) -> list[Trial]:
    r = _rng(seed)
    z = np.zeros
    hx = hyper_extra or {}

    def state(shape, mid=False):
        s = {"theta": r.standard_normal(shape)}
        if mid:
            s["m"] = 0.1 * r.standard_normal(shape)
            s[first_state] = r.uniform(0.001, 0.05, shape)
            for name in extra_state:  # v_max: at least v_{t-1}, as in any run
                s[name] = s[first_state] * r.uniform(1.0, 2.0, shape)
        else:
            s.update({"m": z(shape), first_state: z(shape), **{name: z(shape) for name in extra_state}})
        return s

    out = []
    out += _stateful(spec, "defaults", state((3, 4)), _grads(r, (3, 4), 6), None, t0=1)
    rest = {name: z(4) for name in ("m", first_state, *extra_state)}
    out += _eps_defaults(spec, seed + 1, rest, eps_scale, t0=1)
    out += _stateful(spec, "larger lr, distinct betas, large eps", state(5), _grads(r, (5,), 6),
                     {"lr": 0.1, "beta1": 0.8, "beta2": 0.9, "eps": 0.1, **hx.get("big", {})}, t0=1)
    out += _stateful(spec, "mid-run (t = 50)", state((2, 3), mid=True), _grads(r, (2, 3), 4),
                     {"lr": 0.01, "beta1": 0.9, "beta2": 0.99, "eps": 1e-3, **hx.get("mid", {})}, t0=50)
    out += _stateful(spec, "shrinking gradients", state(4), [g * s for g, s in zip(_grads(r, (4,), 5),
                                                                                   (10, 3, 1, 0.3, 0.1))],
                     {"lr": 0.05, "beta1": 0.5, "beta2": 0.7, "eps": 1e-8, **hx.get("shrink", {})}, t0=1)
    out += _stateful(spec, "zero gradient", state(4, mid=True), [z(4)] * 3,
                     {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, **hx.get("zero", {})}, t0=3)
    out += _stateful(spec, "tiny and huge gradients", state(6), _grads(r, (6,), 4, _mixed_scales(r, 6)),
                     {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, **hx.get("mixed", {})}, t0=1)
    out += _stateful(spec, "one number", state(1), _grads(r, (1,), 3),
                     {"lr": 0.5, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, **hx.get("one", {})}, t0=1)
    return out


def _build_adam(spec: Spec) -> list[Trial]:
    return _adam_cases(spec, 808)


def _build_amsgrad(spec: Spec) -> list[Trial]:
    return _adam_cases(spec, 909, extra_state=("v_max",))


def _build_adamw(spec: Spec) -> list[Trial]:
    wd = {"big": {"weight_decay": 0.1}, "mid": {"weight_decay": 0.5}, "shrink": {"weight_decay": 0.0},
          "zero": {"weight_decay": 0.1}, "mixed": {"weight_decay": 0.01}, "one": {"weight_decay": 0.2}}
    out = _adam_cases(spec, 1010, hyper_extra=wd)
    r = _rng(1011)
    out += _stateful(spec, "zero gradient from m = v = 0 (only the weight decay acts)",
                     {"theta": r.standard_normal(4), "m": np.zeros(4), "v": np.zeros(4)}, [np.zeros(4)] * 2,
                     {"lr": 0.1, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.5}, t0=1)
    return out


def _build_adabelief(spec: Spec) -> list[Trial]:
    hx = {"big": {"eps": 1e-3, "weight_decay": 0.1}, "mid": {"eps": 1e-6, "weight_decay": 0.0},
          "shrink": {"eps": 1e-16, "weight_decay": 0.0}, "zero": {"eps": 1e-16, "weight_decay": 0.1},
          "mixed": {"eps": 1e-16, "weight_decay": 0.0}, "one": {"eps": 1e-16, "weight_decay": 0.0}}
    return _adam_cases(spec, 1111, hyper_extra=hx, first_state="s", eps_scale=1e-7)


def _build_lion(spec: Spec) -> list[Trial]:
    r = _rng(1212)
    z = np.zeros
    m0 = _rng(1213).standard_normal(6)
    out = []
    out += _stateful(spec, "defaults", {"theta": r.standard_normal((3, 4)), "m": z((3, 4))},
                     _grads(r, (3, 4), 5), None)
    out += _stateful(spec, "lr = 0.1, beta1 = 0.8, beta2 = 0.95, weight decay",
                     {"theta": r.standard_normal(6), "m": z(6)}, _grads(r, (6,), 5, 0.1),
                     {"lr": 0.1, "beta1": 0.8, "beta2": 0.95, "weight_decay": 0.5})
    out += _stateful(spec, "mid-run", {"theta": r.standard_normal((2, 3)), "m": r.standard_normal((2, 3))},
                     _grads(r, (2, 3), 4), {"lr": 0.01, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.1})
    out += _stateful(spec, "zero gradient, zero momentum", {"theta": r.standard_normal(4), "m": z(4)},
                     [z(4)] * 2, {"lr": 0.01, "beta1": 0.9, "beta2": 0.99, "weight_decay": 0.3})
    out += _stateful(spec, "tiny and huge gradients", {"theta": r.standard_normal(6), "m": z(6)},
                     _grads(r, (6,), 3, _mixed_scales(r, 6)), {"lr": 0.001, "beta1": 0.9, "beta2": 0.99,
                                                               "weight_decay": 0.0})
    out += _stateful(spec, "gradient against the momentum (g ≈ −8.5 m)", {"theta": r.standard_normal(6), "m": m0},
                     _against_momentum(r, m0, 3), None)
    return out


def _against_momentum(r: np.random.Generator, m: Array, steps: int) -> list[Array]:
    """Gradients g_t ≈ −8.5 m_{t-1}: with the default betas, sign(β1 m_{t-1} + (1 − β1) g_t) is
    sign(m_{t-1}) while the interpolation with the already updated momentum has the other sign,
    in every coordinate (both signs agree only outside −9 < g/m < −8.17)."""
    grads = []
    for _ in range(steps):
        g = -8.5 * r.uniform(0.97, 1.03, m.shape) * m
        grads.append(g)
        m = 0.99 * m + 0.01 * g
    return grads


# ----------------------------------------------------------------------------- 11: beyond Adam
def _build_newton_schulz(spec: Spec) -> list[Trial]:
    r = _rng(1717)
    cubic = (1.5, -0.5, 0.0)
    cases = [
        ("a square 4×4 matrix", {"G": r.standard_normal((4, 4))}),
        ("a wide 3×6 matrix", {"G": r.standard_normal((3, 6))}),
        ("a tall 7×3 matrix (work on Gᵀ)", {"G": r.standard_normal((7, 3))}),
        ("10 steps of the cubic (1.5, −0.5, 0)",
         {"G": r.standard_normal((3, 5)), "steps": 10, "coefficients": cubic}),
        ("small entries, eps = 1", {"G": 0.05 * r.standard_normal((4, 3)), "eps": 1.0}),
        ("large entries (×1e6), 3 steps", {"G": 1e6 * r.standard_normal((5, 5)), "steps": 3}),
        ("a rank-1 matrix", {"G": np.outer(r.standard_normal(4), r.standard_normal(6))}),
        ("a zero matrix", {"G": np.zeros((3, 4))}),
        ("one row (1×5)", {"G": r.standard_normal((1, 5))}),
    ]
    out = []
    for name, args in cases:
        shown = {k: v for k, v in args.items() if k != "G"}
        info = _info(shown, True, f"G of shape {args['G'].shape}")
        out += _calls(spec, name, [args], info, lambda i, a: "one call")
    return out


def _build_muon(spec: Spec) -> list[Trial]:
    r = _rng(1818)
    z = np.zeros
    out = []
    out += _stateful(spec, "defaults, a wide (3, 5) weight (in, out)",
                     {"theta": r.standard_normal((3, 5)), "buf": z((3, 5))}, _grads(r, (3, 5), 4), None)
    out += _stateful(spec, "a tall (6, 4) weight, lr = 0.02, no Nesterov",
                     {"theta": r.standard_normal((6, 4)), "buf": z((6, 4))}, _grads(r, (6, 4), 4),
                     {"lr": 0.02, "momentum": 0.9, "nesterov": False, "weight_decay": 0.01})
    out += _stateful(spec, "mid-run, a square (4, 4) weight",
                     {"theta": r.standard_normal((4, 4)), "buf": r.standard_normal((4, 4))},
                     _grads(r, (4, 4), 4), {"lr": 0.02, "momentum": 0.95, "nesterov": True, "weight_decay": 0.1})
    out += _stateful(spec, "a (2, 8) weight, momentum 0.8",
                     {"theta": r.standard_normal((2, 8)), "buf": z((2, 8))}, _grads(r, (2, 8), 3),
                     {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.0})
    out += _stateful(spec, "zero gradient", {"theta": r.standard_normal((3, 4)), "buf": r.standard_normal((3, 4))},
                     [z((3, 4))] * 2, {"lr": 0.01, "momentum": 0.95, "nesterov": True, "weight_decay": 0.1})
    out += _stateful(spec, "zero gradient, zero momentum", {"theta": r.standard_normal((4, 2)), "buf": z((4, 2))},
                     [z((4, 2))] * 2, {"lr": 0.01, "momentum": 0.95, "nesterov": True, "weight_decay": 0.5})
    out += _stateful(spec, "tiny and huge gradients", {"theta": r.standard_normal((3, 3)), "buf": z((3, 3))},
                     [g * s for g, s in zip(_grads(r, (3, 3), 3), (1e-6, 1e6, 1.0))],
                     {"lr": 0.02, "momentum": 0.95, "nesterov": True, "weight_decay": 0.1})
    return out


# ----------------------------------------------------------------------------- schedules
def _build_warmup_cosine(spec: Spec) -> list[Trial]:
    configs = [
        ("warmup 5 of 20 steps", dict(lr=0.1, warmup_steps=5, total_steps=20), 24, False),
        ("start_factor 0.1, min_lr 0.05", dict(lr=1.0, warmup_steps=3, total_steps=10, start_factor=0.1,
                                               min_lr=0.05), 14, True),
        ("no warmup", dict(lr=0.5, warmup_steps=0, total_steps=8, start_factor=0.01, min_lr=0.0), 11, True),
        ("one step of cosine", dict(lr=0.5, warmup_steps=4, total_steps=5, start_factor=0.2, min_lr=0.1), 7, True),
    ]
    out = []
    for name, cfg, n, explicit in configs:
        calls = [{"step": e, **cfg} for e in range(n)]
        shown = cfg if explicit else {**cfg, "start_factor": "default", "min_lr": "default"}
        info = ", ".join(f"{k}={_fmt(v) if not isinstance(v, str) else v}" for k, v in shown.items())
        out += _calls(spec, name, calls, info, lambda i, a: f"step e = {a['step']}")
    return out


def _build_step_decay(spec: Spec) -> list[Trial]:
    configs = [
        ("step_size 3, default gamma", dict(lr=0.1, step_size=3), 10),
        ("step_size 1, gamma 0.5", dict(lr=1.0, step_size=1, gamma=0.5), 6),
        ("step_size 4, gamma 0.3", dict(lr=0.2, step_size=4, gamma=0.3), 13),
    ]
    out = []
    for name, cfg, n in configs:
        calls = [{"step": e, **cfg} for e in range(n)]
        info = ", ".join(f"{k}={_fmt(v)}" for k, v in cfg.items())
        out += _calls(spec, name, calls, info, lambda i, a: f"step e = {a['step']}")
    return out


# ----------------------------------------------------------------------------- minibatches
def _build_minibatches(spec: Spec) -> list[Trial]:
    r = _rng(1313)
    X = np.round(r.standard_normal((10, 3)), 3)
    y = np.arange(10, dtype=np.int64) % 3
    configs = [
        ("batch 4, seed 0", dict(batch_size=4, seed=0)),
        ("batch 4, drop_last", dict(batch_size=4, shuffle=True, drop_last=True, seed=0)),
        ("batch 3, seed 7", dict(batch_size=3, shuffle=True, drop_last=False, seed=7)),
        ("no shuffle", dict(batch_size=3, shuffle=False, drop_last=False, seed=0)),
        ("one batch (batch_size = n)", dict(batch_size=10, shuffle=True, drop_last=False, seed=1)),
        ("batch larger than n", dict(batch_size=16, shuffle=True, drop_last=False, seed=2)),
        ("batch 5, drop_last, nothing to drop", dict(batch_size=5, shuffle=True, drop_last=True, seed=3)),
        ("batch 4, seed 0, again", dict(batch_size=4, seed=0)),
    ]
    out = []
    for name, cfg in configs:
        args = {"X": X, "y": y, **cfg}
        info = "X of shape (10, 3), y of 10 labels, " + ", ".join(f"{k}={_fmt(v)}" for k, v in cfg.items())
        out += _calls(spec, name, [args], info, lambda j, a: "one epoch")
    last = out[-1]
    out[-1] = Trial(last.case, last.case_info, last.label, last.args, last.spec, last.expected, repeat_of=0)
    return out


# ----------------------------------------------------------------------------- backward passes
def _build_cross_entropy(spec: Spec) -> list[Trial]:
    r = _rng(1414)
    cases = [
        ("a batch of 4, 3 classes", r.standard_normal((4, 3)), np.array([0, 2, 1, 2])),
        ("one example", r.standard_normal((1, 5)), np.array([3])),
        # exp(z) without the shift gives subnormal numbers: inaccurate but finite
        ("very negative logits (about −740)", np.array([[-738.2, -740.5, -741.0], [-739.6, -737.9, -742.3]]),
         np.array([0, 2])),
        # log of the true class's softmax underflows to a subnormal number (inaccurate but finite)
        ("true classes about 740 below the largest logit",
         np.array([[1.3, -0.4, 742.0, 0.2], [-735.5, 0.8, 2.1, -0.3], [0.3, -1.2, 0.9, 0.1],
                   [743.2, -0.5, 0.7, 0.2]]), np.array([0, 0, 3, 1])),
        ("large logits (±1000)", 1000 * np.sign(r.standard_normal((3, 4))) + r.standard_normal((3, 4)),
         np.array([1, 0, 3])),
        ("equal logits", np.zeros((2, 3)), np.array([0, 2])),
        ("a batch of 8, 10 classes", 3 * r.standard_normal((8, 10)), r.integers(0, 10, 8)),
    ]
    out = []
    for name, logits, labels in cases:
        info = f"logits of shape {logits.shape}"
        args = {"logits": logits, "labels": labels.astype(np.int64)}
        out += _calls(spec, name, [args], info, lambda i, a: "one call")
    return out


def _build_linear(spec: Spec) -> list[Trial]:
    r = _rng(1515)
    cases = [("square W (3, 3), batch 4", 4, 3, 3), ("W (4, 2), batch 5", 5, 4, 2), ("batch 1", 1, 3, 2),
             ("W (2, 6), batch 3, large values", 3, 2, 6), ("zero upstream gradient", 4, 3, 2)]
    out = []
    for name, n, fin, fout in cases:
        scale = 100.0 if "large" in name else 1.0
        args = {"x": scale * r.standard_normal((n, fin)), "weight": r.standard_normal((fin, fout)),
                "dy": np.zeros((n, fout)) if "zero" in name else r.standard_normal((n, fout))}
        out += _calls(spec, name, [args], f"x {args['x'].shape}, weight {args['weight'].shape}",
                      lambda i, a: "one call")
    return out


def _build_batchnorm(spec: Spec) -> list[Trial]:
    r = _rng(1616)
    cases = [("batch 8, 3 features", 8, 3, 1e-5, 0.0), ("the smallest batch (2)", 2, 4, 1e-5, 0.0),
             ("eps = 0.1", 6, 2, 0.1, 0.0), ("one feature, batch 16", 16, 1, 1e-5, 0.0),
             ("inputs around 100", 5, 3, 1e-5, 100.0)]
    out = []
    for name, n, d, eps, offset in cases:
        args = {"x": offset + r.standard_normal((n, d)), "gamma": r.uniform(0.5, 2.0, d),
                "dy": r.standard_normal((n, d))}
        if eps != 1e-5:
            args["eps"] = eps
        info = f"x of shape {(n, d)}" + (f", eps={eps:g}" if eps != 1e-5 else ", default eps")
        out += _calls(spec, name, [args], info, lambda i, a: "one call")
    return out


# ----------------------------------------------------------------------------- the list
def _add(spec: Spec) -> None:
    SPECS[spec.name] = spec


_add(Spec(
    "gd_step", "01_gradient_descent", "gd_step(theta, grad, lr) -> theta",
    "one step of gradient descent", ("theta", "grad", "lr"), ("theta",), ("array",), ("theta",),
    {"theta": "θ_t, the new parameters"}, ref.gd_step, _build_gd,
))
_add(Spec(
    "minibatches", "02_sgd",
    "minibatches(X, y, batch_size, shuffle=True, drop_last=False, seed=0) -> iterator of (X_batch, y_batch)",
    "a seeded minibatch iterator", ("X", "y", "batch_size"), ("batches",), ("batches",), ("batches",),
    {"batches": "the epoch's minibatches"}, ref.minibatches, _build_minibatches,
))
_add(Spec(
    "softmax_cross_entropy", "02_sgd", "softmax_cross_entropy(logits, labels) -> (loss, dlogits)",
    "softmax cross-entropy and its backward pass", ("logits", "labels"), ("loss", "dlogits"),
    ("float", "array"), ("loss", "dlogits"),
    {"loss": "f_B, the mean cross-entropy over the batch",
     "dlogits": "∂f_B/∂z, the gradient with respect to the logits"},
    ref.softmax_cross_entropy, _build_cross_entropy,
))
_add(Spec(
    "momentum_step", "03_momentum",
    "momentum_step(theta, grad, buf, t, lr, momentum=0.9, dampening=0.0) -> (theta, buf)",
    "SGD with (heavy-ball) momentum", ("theta", "grad", "buf", "t", "lr"), ("theta", "buf"), ("array", "array"),
    ("buf", "theta"), {"theta": "θ_t, the new parameters", "buf": "b_t, the momentum buffer"},
    ref.momentum_step, _build_momentum,
))
_add(Spec(
    "nesterov_step", "03_momentum", "nesterov_step(theta, grad, buf, t, lr, momentum=0.9) -> (theta, buf)",
    "SGD with Nesterov momentum", ("theta", "grad", "buf", "t", "lr"), ("theta", "buf"), ("array", "array"),
    ("buf", "theta"), {"theta": "θ_t, the new parameters", "buf": "b_t, the momentum buffer"},
    ref.nesterov_step, _build_nesterov,
))
_add(Spec(
    "adagrad_step", "04_adagrad", "adagrad_step(theta, grad, sum_sq, lr=1e-2, eps=1e-10) -> (theta, sum_sq)",
    "one AdaGrad step", ("theta", "grad", "sum_sq"), ("theta", "sum_sq"), ("array", "array"), ("sum_sq", "theta"),
    {"theta": "θ_t, the new parameters", "sum_sq": "G_t, the sum of squared gradients"},
    ref.adagrad_step, _build_adagrad,
))
_add(Spec(
    "rmsprop_step", "05_rmsprop",
    "rmsprop_step(theta, grad, square_avg, lr=1e-2, alpha=0.99, eps=1e-8) -> (theta, square_avg)",
    "one RMSProp step", ("theta", "grad", "square_avg"), ("theta", "square_avg"), ("array", "array"),
    ("square_avg", "theta"),
    {"theta": "θ_t, the new parameters", "square_avg": "v_t, the average of squared gradients"},
    ref.rmsprop_step, _build_rmsprop,
))
_add(Spec(
    "adadelta_step", "05_rmsprop",
    "adadelta_step(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6) -> (theta, square_avg, acc_delta)",
    "one Adadelta step", ("theta", "grad", "square_avg", "acc_delta"), ("theta", "square_avg", "acc_delta"),
    ("array", "array", "array"), ("square_avg", "theta", "acc_delta"),
    {"theta": "θ_t, the new parameters", "square_avg": "v_t, the average of squared gradients",
     "acc_delta": "u_t, the average of squared updates"},
    ref.adadelta_step, _build_adadelta,
))
_ADAM_DESCRIBE = {"theta": "θ_t, the new parameters", "m": "m_t, the first moment",
                  "v": "v_t, the second moment"}
_add(Spec(
    "adam_step", "06_adam",
    "adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8) -> (theta, m, v)",
    "one Adam step with bias correction", ("theta", "grad", "m", "v", "t"), ("theta", "m", "v"),
    ("array",) * 3, ("m", "v", "theta"), _ADAM_DESCRIBE, ref.adam_step, _build_adam,
))
_add(Spec(
    "amsgrad_step", "06_adam",
    "amsgrad_step(theta, grad, m, v, v_max, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8) -> (theta, m, v, v_max)",
    "one AMSGrad step", ("theta", "grad", "m", "v", "v_max", "t"), ("theta", "m", "v", "v_max"), ("array",) * 4,
    ("m", "v", "v_max", "theta"), {**_ADAM_DESCRIBE, "v_max": "v^max_t, the running maximum of v"},
    ref.amsgrad_step, _build_amsgrad,
))
_add(Spec(
    "adamw_step", "07_adamw",
    "adamw_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2) -> (theta, m, v)",
    "one AdamW step (decoupled weight decay)", ("theta", "grad", "m", "v", "t"), ("theta", "m", "v"),
    ("array",) * 3, ("m", "v", "theta"), _ADAM_DESCRIBE, ref.adamw_step, _build_adamw,
))
_add(Spec(
    "lion_step", "08_new_optimizers",
    "lion_step(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0) -> (theta, m)",
    "one Lion step", ("theta", "grad", "m"), ("theta", "m"), ("array", "array"), ("theta", "m"),
    {"theta": "θ_t, the new parameters", "m": "m_t, the momentum"}, ref.lion_step, _build_lion,
))
_add(Spec(
    "adabelief_step", "08_new_optimizers",
    "adabelief_step(theta, grad, m, s, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-16, weight_decay=0.0) "
    "-> (theta, m, s)",
    "one AdaBelief step", ("theta", "grad", "m", "s", "t"), ("theta", "m", "s"), ("array",) * 3, ("m", "s", "theta"),
    {"theta": "θ_t, the new parameters", "m": "m_t, the first moment", "s": "s_t, the belief (second moment)"},
    ref.adabelief_step, _build_adabelief,
))
_add(Spec(
    "warmup_cosine_lr", "09_schedules",
    "warmup_cosine_lr(step, lr, warmup_steps, total_steps, start_factor=0.01, min_lr=0.0) -> float",
    "a warmup-then-cosine schedule", ("step", "lr", "warmup_steps", "total_steps"), ("lr",), ("float",), ("lr",),
    {"lr": "η_e, the learning rate at step e"}, ref.warmup_cosine_lr, _build_warmup_cosine,
))
_add(Spec(
    "step_decay_lr", "09_schedules", "step_decay_lr(step, lr, step_size, gamma=0.1) -> float",
    "a step-decay schedule", ("step", "lr", "step_size"), ("lr",), ("float",), ("lr",),
    {"lr": "η_e, the learning rate at step e"}, ref.step_decay_lr, _build_step_decay,
))
_add(Spec(
    "linear_backward", "10_putting_it_together", "linear_backward(x, weight, dy) -> (dx, dweight, dbias)",
    "the backward pass of a linear layer", ("x", "weight", "dy"), ("dx", "dweight", "dbias"), ("array",) * 3,
    ("dx", "dweight", "dbias"),
    {"dx": "∂L/∂x", "dweight": "∂L/∂W", "dbias": "∂L/∂b"}, ref.linear_backward, _build_linear,
))
_add(Spec(
    "batchnorm_backward", "10_putting_it_together",
    "batchnorm_backward(x, gamma, dy, eps=1e-5) -> (dx, dgamma, dbeta)",
    "the backward pass of batch normalization (training mode)", ("x", "gamma", "dy"), ("dx", "dgamma", "dbeta"),
    ("array",) * 3, ("dbeta", "dgamma", "dx"), {"dx": "∂L/∂x", "dgamma": "∂L/∂γ", "dbeta": "∂L/∂β"},
    ref.batchnorm_backward, _build_batchnorm, rtol=1e-6, atol=1e-10,
))
_add(Spec(
    "newton_schulz", "11_beyond_adam",
    "newton_schulz(G, steps=5, coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7) -> X",
    "the Newton-Schulz orthogonalization of a matrix", ("G",), ("X",), ("array",), ("X",),
    {"X": "X_k, the last Newton-Schulz iterate"}, ref.newton_schulz, _build_newton_schulz,
))
_add(Spec(
    "muon_step", "11_beyond_adam",
    "muon_step(theta, grad, buf, lr=1e-3, momentum=0.95, nesterov=True, weight_decay=0.1) -> (theta, buf)",
    "one Muon step on an (in, out) weight matrix", ("theta", "grad", "buf"), ("theta", "buf"), ("array", "array"),
    ("buf", "theta"), {"theta": "θ_t, the new weights", "buf": "B_t, the momentum buffer"},
    ref.muon_step, _build_muon,
))

CHAPTERS: dict[str, list[str]] = {}
for _spec in SPECS.values():
    CHAPTERS.setdefault(_spec.chapter, []).append(_spec.name)
