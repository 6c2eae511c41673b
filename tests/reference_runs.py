"""Runs of every optimizer on one test problem, in optimlab and in the reference libraries.

Shared by the cross-check tests and by ``record_reference.py``, which stores the reference
libraries' trajectories in ``fixtures/reference_trajectories.npz`` so that the comparison
also runs where torch, lion-pytorch, adabelief-pytorch, jestimator or schedulefree are not
installed.

The problem: two tensors (a 4x3 "weight" and a 5-vector "bias"), a smooth non-convex loss

    L(θ) = Σ ½ a_i θ_i² − 0.1 cos(3 θ_i) + c_i θ_i,   ∇L = a θ + 0.3 sin(3θ) + c,

and the same NumPy gradient function feeds every implementation, so trajectories can differ
only by what the optimizers themselves compute.

Three optimizers need more than that:

* Muon takes only matrices in torch: the torch side runs ``torch.optim.Muon`` on the weight
  (transposed to torch's (out, in) layout, so the shape scale is tested too) and
  ``torch.optim.AdamW`` on the bias, which is what optimlab's ``Muon`` does with a
  non-matrix parameter; and torch's Newton-Schulz is patched to run in float64 instead of
  bfloat16 (``_zeropower_via_newtonschulz``), which is what optimlab computes.
* Schedule-Free AdamW holds y in the parameters while training: the trajectory is the y's,
  plus one last row, x, read after ``eval()``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STEPS = 200
SHAPES = {"weight": (4, 3), "bias": (5,)}
FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "reference_trajectories.npz")


def initial_params() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20261128)
    return {name: rng.normal(size=shape) for name, shape in SHAPES.items()}


def _coefficients() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(7)
    return {
        name: (rng.uniform(0.5, 3.0, size=shape), rng.normal(scale=0.5, size=shape))
        for name, shape in SHAPES.items()
    }


COEF = _coefficients()


def gradient(name: str, theta: np.ndarray, maximize: bool = False) -> np.ndarray:
    """∇L at θ; with ``maximize`` the gradient of −L, so that ascent still goes downhill on L."""
    a, c = COEF[name]
    g = a * theta + 0.3 * np.sin(3.0 * theta) + c
    return -g if maximize else g


def lr_at(config: Config, step: int) -> float:
    """The learning rate of step ``step`` (1-based): halved from step 101 on when scheduled."""
    lr = config.hyper.get("lr", config.default_lr)
    return lr * 0.5 if (config.halve_lr and step > STEPS // 2) else lr


@dataclass
class Config:
    """One cross-check: an optimlab optimizer with hyperparameters, and its reference."""

    id: str
    optimlab_name: str
    hyper: dict[str, Any]
    library: str  # "torch", "lion_pytorch", "adabelief_pytorch", "jestimator" or "schedulefree"
    reference: str  # class or function name in that library
    ref_hyper: dict[str, Any] = field(default_factory=dict)
    default_lr: float = 0.0  # the optimizer's default lr (used when hyper has no lr)
    halve_lr: bool = False


def _torch(id, name, hyper, default_lr, ref=None, halve_lr=False):
    return Config(id, name, hyper, "torch", ref or name, dict(hyper), default_lr, halve_lr)


def _muon(id, hyper, default_lr=0.0, halve_lr=False):
    """torch.optim.Muon on the weight, torch.optim.AdamW on the bias (optimlab's fallback,
    spelled out with its defaults: AdamW's lr is Muon's unless adamw_lr is given)."""
    muon = {k: v for k, v in hyper.items() if not k.startswith("adamw_")}
    adamw = dict(
        lr=hyper.get("adamw_lr"), betas=hyper.get("adamw_betas", (0.9, 0.999)),
        eps=hyper.get("adamw_eps", 1e-8), weight_decay=hyper.get("adamw_weight_decay", 0.0),
    )
    return Config(id, "Muon", hyper, "torch", "Muon", dict(muon=muon, adamw=adamw), default_lr, halve_lr)


def _schedulefree(id, hyper, default_lr=0.0, halve_lr=False):
    return Config(id, "AdamWScheduleFree", hyper, "schedulefree", "AdamWScheduleFree", dict(hyper), default_lr, halve_lr)


CONFIGS: list[Config] = [
    # SGD: plain GD, heavy ball, Nesterov, dampening with L2, maximize
    _torch("sgd-default", "SGD", {}, 1e-3),
    _torch("sgd-momentum-wd", "SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01), 0, halve_lr=True),
    _torch("sgd-nesterov", "SGD", dict(lr=0.05, momentum=0.8, nesterov=True), 0),
    _torch("sgd-dampening", "SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, weight_decay=0.1), 0),
    _torch("sgd-maximize", "SGD", dict(lr=0.02, momentum=0.5, maximize=True), 0),
    _torch("adagrad-default", "Adagrad", {}, 1e-2),
    _torch("adagrad-decay-wd", "Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.05), 0),
    _torch("adagrad-init-acc", "Adagrad", dict(lr=0.3, initial_accumulator_value=0.5, eps=1e-6), 0),
    _torch("rmsprop-default", "RMSprop", {}, 1e-2),
    _torch("rmsprop-centered-momentum", "RMSprop", dict(lr=0.003, centered=True, momentum=0.9), 0),
    _torch("rmsprop-wd-alpha", "RMSprop", dict(lr=0.003, alpha=0.95, weight_decay=0.1, eps=1e-6), 0, halve_lr=True),
    _torch("adadelta-default", "Adadelta", {}, 1.0),
    _torch("adadelta-rho-wd", "Adadelta", dict(lr=0.5, rho=0.95, weight_decay=0.1), 0),
    _torch("adadelta-eps-maximize", "Adadelta", dict(lr=2.0, eps=1e-4, maximize=True), 0),
    _torch("adam-default", "Adam", {}, 1e-3),
    _torch("adam-amsgrad-wd", "Adam", dict(lr=0.05, amsgrad=True, weight_decay=0.1), 0),
    _torch("adam-decoupled-betas", "Adam", dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6, decoupled_weight_decay=True, weight_decay=0.5), 0, halve_lr=True),
    _torch("adamw-default", "AdamW", {}, 1e-3),
    _torch("adamw-amsgrad", "AdamW", dict(lr=0.05, amsgrad=True, weight_decay=0.2), 0),
    _torch("adamw-maximize", "AdamW", dict(lr=0.01, maximize=True, betas=(0.95, 0.9)), 0),
    _torch("adamax-default", "Adamax", {}, 2e-3),
    _torch("adamax-wd-betas", "Adamax", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1), 0),
    _torch("adamax-eps", "Adamax", dict(lr=0.02, eps=1e-3), 0, halve_lr=True),
    _torch("nadam-default", "NAdam", {}, 2e-3),
    _torch("nadam-decoupled", "NAdam", dict(lr=0.02, weight_decay=0.3, decoupled_weight_decay=True), 0),
    _torch("nadam-l2-momdecay", "NAdam", dict(lr=0.02, weight_decay=0.1, momentum_decay=0.01), 0),
    _torch("radam-default", "RAdam", {}, 1e-3),
    _torch("radam-decoupled", "RAdam", dict(lr=0.03, weight_decay=0.2, decoupled_weight_decay=True), 0),
    _torch("radam-l2-betas", "RAdam", dict(lr=0.03, weight_decay=0.1, betas=(0.85, 0.99)), 0, halve_lr=True),
    Config("lion-default", "Lion", {}, "lion_pytorch", "Lion", {}, 1e-4),
    Config("lion-wd", "Lion", dict(lr=3e-3, weight_decay=0.5), "lion_pytorch", "Lion", dict(lr=3e-3, weight_decay=0.5)),
    Config("lion-betas", "Lion", dict(lr=1e-2, betas=(0.95, 0.98)), "lion_pytorch", "Lion", dict(lr=1e-2, betas=(0.95, 0.98)), halve_lr=True),
    Config("adabelief-default", "AdaBelief", {}, "adabelief_pytorch", "AdaBelief", {}, 1e-3),
    Config("adabelief-plain-amsgrad", "AdaBelief", dict(lr=0.02, rectify=False, amsgrad=True, eps=1e-8), "adabelief_pytorch", "AdaBelief", dict(lr=0.02, rectify=False, amsgrad=True, eps=1e-8)),
    Config("adabelief-l2", "AdaBelief", dict(lr=0.02, weight_decouple=False, weight_decay=0.1), "adabelief_pytorch", "AdaBelief", dict(lr=0.02, weight_decouple=False, weight_decay=0.1)),
    Config("adabelief-fixed-decay-nosgd", "AdaBelief", dict(lr=0.02, weight_decay=0.01, fixed_decay=True, degenerated_to_sgd=False), "adabelief_pytorch", "AdaBelief", dict(lr=0.02, weight_decay=0.01, fixed_decay=True, degenerated_to_sgd=False), halve_lr=True),
    Config("amos-default", "Amos", dict(lr=0.05), "jestimator", "amos", dict(lr=0.05)),
    Config("amos-scalar-momentum", "Amos", dict(lr=0.1, reduce="scalar", momentum=0.9, beta=0.98), "jestimator", "amos", dict(lr=0.1, reduce="scalar", momentum=0.9, beta=0.98)),
    Config("amos-rows-clip-l2", "Amos", dict(lr=0.1, reduce="rows", clip_value=1.0, extra_l2=0.01, eta=0.3), "jestimator", "amos", dict(lr=0.1, reduce="rows", clip_value=1.0, extra_l2=0.01, eta=0.3), halve_lr=True),
    # Muon: weight by Muon (float64 Newton-Schulz), bias by the AdamW fallback
    _muon("muon-default", {}, 1e-3),
    _muon("muon-plain-momentum-wd", dict(lr=0.02, momentum=0.9, nesterov=False, weight_decay=0.05, adamw_lr=0.01, adamw_betas=(0.9, 0.95), adamw_weight_decay=0.1), halve_lr=True),
    _muon("muon-match-rms-cubic-ns", dict(lr=0.02, adjust_lr_fn="match_rms_adamw", ns_coefficients=(1.5, -0.5, 0.0), ns_steps=8, eps=1e-6, adamw_eps=1e-10)),
    _torch("adafactor-default", "Adafactor", {}, 1e-2),
    _torch("adafactor-wd-d", "Adafactor", dict(lr=0.05, weight_decay=0.1, d=2.0), 0, halve_lr=True),
    _torch("adafactor-eps-decay-maximize", "Adafactor", dict(lr=0.03, beta2_decay=-0.5, eps=(1e-20, 1e-2), maximize=True), 0),
    _schedulefree("sf-default", {}, 0.0025),
    _schedulefree("sf-warmup-wd", dict(lr=0.02, warmup_steps=20, weight_decay=0.1)),
    _schedulefree("sf-betas-r-power", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6, r=1.0, weight_lr_power=1.0), halve_lr=True),
]
for _c in CONFIGS:
    if not _c.default_lr:
        _c.default_lr = _c.hyper["lr"]


def reduce_rows(name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A jestimator-style shape_fn: one second moment per output column of a matrix."""
    return (1,) + tuple(shape[1:]) if len(shape) >= 2 else ()


def _optimlab_hyper(config: Config) -> dict[str, Any]:
    hyper = dict(config.hyper)
    if hyper.get("reduce") == "rows":
        hyper["reduce"] = reduce_rows
    return hyper


def run_optimlab(
    config: Config, dtype: Any = np.float64, steps: int = STEPS, fused: bool | None = None
) -> np.ndarray:
    """The trajectory (steps + 1, n) of the concatenated parameters under optimlab
    (``fused=True``: the numba kernels instead of the plain rules); for the schedule-free
    optimizer one more row: x, after ``eval()``."""
    from optimlab import optim

    params = {k: v.astype(dtype) for k, v in initial_params().items()}
    fast = {} if fused is None else {"fused": fused}
    opt = optim.create(config.optimlab_name, params, **fast, **_optimlab_hyper(config))
    rows = [np.concatenate([p.ravel() for p in params.values()]).astype(np.float64)]
    for step in range(1, steps + 1):
        opt.lr = lr_at(config, step)
        maximize = config.hyper.get("maximize", False)
        opt.step({k: gradient(k, p.astype(np.float64), maximize).astype(dtype) for k, p in params.items()})
        rows.append(np.concatenate([p.ravel() for p in params.values()]).astype(np.float64))
    if config.library == "schedulefree":
        opt.eval()
        rows.append(np.concatenate([p.ravel() for p in params.values()]).astype(np.float64))
    return np.array(rows)


# ----------------------------------------------------------------------------- references
def library_available(library: str) -> bool:
    if library == "jestimator":
        return all(importlib.util.find_spec(m) is not None for m in ("jestimator", "jax", "optax", "flax"))
    deps = {
        "lion_pytorch": ["lion_pytorch", "torch"], "adabelief_pytorch": ["adabelief_pytorch", "torch"],
        "schedulefree": ["schedulefree", "torch"],
    }
    return all(importlib.util.find_spec(m) is not None for m in deps.get(library, [library]))


def _torch_run(make_optimizer: Callable, config: Config, steps: int, schedule_free: bool = False) -> np.ndarray:
    import torch

    torch.set_default_dtype(torch.float64)  # float64 step counters and scalar state
    params = {k: torch.tensor(v, dtype=torch.float64) for k, v in initial_params().items()}
    opt = make_optimizer(list(params.values()))
    if schedule_free:
        opt.train()  # the parameters hold y
    rows = [np.concatenate([p.detach().numpy().ravel() for p in params.values()])]
    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = lr_at(config, step)
        for k, p in params.items():
            p.grad = torch.from_numpy(gradient(k, p.detach().numpy().copy(), config.hyper.get("maximize", False)))
        opt.step()
        rows.append(np.concatenate([p.detach().numpy().ravel() for p in params.values()]))
    if schedule_free:
        opt.eval()  # the parameters hold x
        rows.append(np.concatenate([p.detach().numpy().ravel() for p in params.values()]))
    return np.array(rows)


def _newton_schulz_float64(grad, ns_coefficients, ns_steps, eps):
    """torch's ``_muon._zeropower_via_newtonschulz`` line for line, without the bfloat16 cast."""
    import torch

    a, b, c = ns_coefficients
    ortho_grad = grad.clone()
    if grad.size(0) > grad.size(1):
        ortho_grad = ortho_grad.T
    ortho_grad.div_(ortho_grad.norm().clamp(min=eps))
    for _ in range(ns_steps):
        gram_matrix = ortho_grad @ ortho_grad.T
        gram_update = torch.addmm(gram_matrix, gram_matrix, gram_matrix, beta=b, alpha=c)
        ortho_grad = torch.addmm(ortho_grad, gram_update, ortho_grad, beta=a)
    if grad.size(0) > grad.size(1):
        ortho_grad = ortho_grad.T
    return ortho_grad


def _muon_run(config: Config, steps: int) -> np.ndarray:
    """torch.optim.Muon on the weight in torch's (out, in) layout (optimlab's weight is
    (in, out): torch gets its transpose), torch.optim.AdamW on the bias, Newton-Schulz in
    float64."""
    import torch
    import torch.optim._muon as torch_muon

    torch.set_default_dtype(torch.float64)
    init = initial_params()
    weight = torch.tensor(init["weight"].T.copy())  # (out, in)
    bias = torch.tensor(init["bias"])
    fixed_adamw_lr = config.ref_hyper["adamw"]["lr"]
    muon = torch.optim.Muon([weight], **config.ref_hyper["muon"])
    adamw = torch.optim.AdamW([bias], **{**config.ref_hyper["adamw"], "lr": fixed_adamw_lr or lr_at(config, 1)})

    def row():
        return np.concatenate([weight.detach().numpy().T.ravel(), bias.detach().numpy().ravel()])

    bfloat16_ns = torch_muon._zeropower_via_newtonschulz
    torch_muon._zeropower_via_newtonschulz = _newton_schulz_float64
    try:
        rows = [row()]
        for step in range(1, steps + 1):
            muon.param_groups[0]["lr"] = lr_at(config, step)
            if fixed_adamw_lr is None:
                adamw.param_groups[0]["lr"] = lr_at(config, step)
            weight.grad = torch.from_numpy(gradient("weight", weight.detach().numpy().T.copy()).T.copy())
            bias.grad = torch.from_numpy(gradient("bias", bias.detach().numpy().copy()))
            muon.step()
            adamw.step()
            rows.append(row())
    finally:
        torch_muon._zeropower_via_newtonschulz = bfloat16_ns
    return np.array(rows)


def _jestimator_amos():
    spec = importlib.util.find_spec("jestimator")
    path = os.path.join(spec.submodule_search_locations[0], "amos.py")
    # `import jestimator` fails on recent jax (its __init__ imports a moved jax API), so the
    # module that holds the optimizer is loaded by file path; it needs only flax and optax.
    mod_spec = importlib.util.spec_from_file_location("_jestimator_amos", path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module


def _amos_run(config: Config, steps: int) -> np.ndarray:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    from optimlab.optim.amos import default_eta

    h = config.ref_hyper
    eta = h.get("eta")
    reduce = h.get("reduce")
    shape_fn = None
    if reduce == "scalar":
        shape_fn = lambda name, shape: ()  # noqa: E731
    elif reduce == "rows":
        shape_fn = lambda name, shape: reduce_rows(name[-1], shape)  # noqa: E731

    def eta_fn(name, shape):
        return eta if eta is not None else default_eta(name[-1], shape)

    base_lr = h["lr"]

    def schedule(count):
        return jnp.where(count > STEPS // 2, base_lr * 0.5, base_lr) if config.halve_lr else base_lr

    tx = _jestimator_amos().amos(
        schedule, eta_fn, shape_fn=shape_fn, beta=h.get("beta", 0.999),
        momentum=h.get("momentum"), clip_value=h.get("clip_value"), extra_l2=h.get("extra_l2", 0.0),
    )
    params = {k: jnp.asarray(v) for k, v in initial_params().items()}
    state = tx.init(params)
    rows = [np.concatenate([np.asarray(p).ravel() for p in params.values()])]
    for _ in range(steps):
        grads = {k: jnp.asarray(gradient(k, np.asarray(p))) for k, p in params.items()}
        updates, state = tx.update(grads, state, params)
        params = {k: params[k] + updates[k] for k in params}
        rows.append(np.concatenate([np.asarray(p).ravel() for p in params.values()]))
    return np.array(rows)


def run_reference(config: Config, steps: int = STEPS) -> np.ndarray:
    """The trajectory of the reference library (which must be installed)."""
    if config.library == "torch" and config.reference == "Muon":
        return _muon_run(config, steps)
    if config.library == "torch":
        import torch

        cls = getattr(torch.optim, config.reference)
        return _torch_run(lambda ps: cls(ps, **config.ref_hyper), config, steps)
    if config.library == "lion_pytorch":
        from lion_pytorch import Lion

        return _torch_run(lambda ps: Lion(ps, **config.ref_hyper), config, steps)
    if config.library == "adabelief_pytorch":
        import contextlib
        import io

        from adabelief_pytorch import AdaBelief

        def make(ps):
            with contextlib.redirect_stdout(io.StringIO()):  # it prints its change log
                return AdaBelief(ps, print_change_log=False, **config.ref_hyper)

        return _torch_run(make, config, steps)
    if config.library == "jestimator":
        return _amos_run(config, steps)
    if config.library == "schedulefree":
        import schedulefree

        cls = getattr(schedulefree, config.reference)
        return _torch_run(lambda ps: cls(ps, **config.ref_hyper), config, steps, schedule_free=True)
    raise ValueError(config.library)


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("torch", "lion-pytorch", "adabelief-pytorch", "jestimator", "jax", "optax", "flax", "schedulefree"):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out
