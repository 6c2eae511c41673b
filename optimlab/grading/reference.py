r"""Reference implementations of every graded exercise, with the students' signatures.

Each function here has exactly the signature of the exercise it grades, returns new arrays
and never changes its arguments. None of them re-derives an update rule: each calls
optimlab's own rule (``optim.adam``, ``nn.Linear.backward``, ``schedules.warmup_cosine``,
``data.minibatches``, ...), so the grading inherits the cross-checks of those rules against
torch and the authors' code (``tests/test_crosscheck.py``).

Exercises are functional: ``theta, m, v = adam_step(theta, grad, m, v, t)`` returns the new
parameters and state. optimlab's rules update in place, so the wrappers work on copies.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .. import data, nn, optim, schedules
from ..optim.muon import muon as _muon
from ..optim.muon import newton_schulz as _newton_schulz

Array = np.ndarray

__all__ = [
    "adabelief_step", "adadelta_step", "adagrad_step", "adam_step", "adamw_step", "amsgrad_step",
    "batchnorm_backward", "gd_step", "linear_backward", "lion_step", "minibatches", "momentum_step",
    "muon_step", "nesterov_step", "newton_schulz", "rmsprop_step", "softmax_cross_entropy", "step_decay_lr",
    "warmup_cosine_lr",
]


def _copy(*arrays: Array) -> list[Array]:
    return [np.array(a, dtype=np.float64, copy=True) for a in arrays]


def _work(like: Array, n: int = 3) -> list[Array]:
    return [np.empty_like(like) for _ in range(n)]


# ----------------------------------------------------------------------------- 01, 03: SGD family
def gd_step(theta: Array, grad: Array, lr: float) -> Array:
    r"""θ_t = θ_{t-1} − η g_t (``optim.sgd`` with μ = 0)."""
    (theta,) = _copy(theta)
    optim.sgd(theta, np.asarray(grad, dtype=np.float64), None, step=1, lr=lr, work=_work(theta))
    return theta


def momentum_step(
    theta: Array, grad: Array, buf: Array, t: int, lr: float, momentum: float = 0.9, dampening: float = 0.0
) -> tuple[Array, Array]:
    r"""Heavy ball, torch form: b_t = μ b_{t-1} + (1 − τ) g_t (b_1 = g_1), θ_t = θ_{t-1} − η b_t."""
    theta, buf = _copy(theta, buf)
    optim.sgd(
        theta, np.asarray(grad, dtype=np.float64), buf, step=t, lr=lr, momentum=momentum,
        dampening=dampening, work=_work(theta),
    )
    return theta, buf


def nesterov_step(
    theta: Array, grad: Array, buf: Array, t: int, lr: float, momentum: float = 0.9
) -> tuple[Array, Array]:
    r"""Nesterov, torch form: b_t = μ b_{t-1} + g_t (b_1 = g_1), θ_t = θ_{t-1} − η (g_t + μ b_t)."""
    theta, buf = _copy(theta, buf)
    optim.sgd(
        theta, np.asarray(grad, dtype=np.float64), buf, step=t, lr=lr, momentum=momentum,
        nesterov=True, work=_work(theta),
    )
    return theta, buf


# ----------------------------------------------------------------------------- 04, 05: adaptive rates
def adagrad_step(
    theta: Array, grad: Array, sum_sq: Array, lr: float = 1e-2, eps: float = 1e-10
) -> tuple[Array, Array]:
    r"""G_t = G_{t-1} + g_t², θ_t = θ_{t-1} − η g_t / (√G_t + ε)."""
    theta, sum_sq = _copy(theta, sum_sq)
    optim.adagrad(theta, np.asarray(grad, dtype=np.float64), sum_sq, step=1, lr=lr, eps=eps, work=_work(theta))
    return theta, sum_sq


def rmsprop_step(
    theta: Array, grad: Array, square_avg: Array, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8
) -> tuple[Array, Array]:
    r"""v_t = α v_{t-1} + (1 − α) g_t², θ_t = θ_{t-1} − η g_t / (√v_t + ε)."""
    theta, square_avg = _copy(theta, square_avg)
    optim.rmsprop(
        theta, np.asarray(grad, dtype=np.float64), square_avg, None, None, lr=lr, alpha=alpha, eps=eps,
        work=_work(theta),
    )
    return theta, square_avg


def adadelta_step(
    theta: Array, grad: Array, square_avg: Array, acc_delta: Array, lr: float = 1.0, rho: float = 0.9,
    eps: float = 1e-6,
) -> tuple[Array, Array, Array]:
    r"""v_t = ρ v_{t-1} + (1 − ρ) g_t², Δ_t = √(u_{t-1} + ε)/√(v_t + ε) g_t,
    u_t = ρ u_{t-1} + (1 − ρ) Δ_t², θ_t = θ_{t-1} − η Δ_t."""
    theta, square_avg, acc_delta = _copy(theta, square_avg, acc_delta)
    optim.adadelta(
        theta, np.asarray(grad, dtype=np.float64), square_avg, acc_delta, lr=lr, rho=rho, eps=eps,
        work=_work(theta),
    )
    return theta, square_avg, acc_delta


# ----------------------------------------------------------------------------- 06, 07: Adam family
def adam_step(
    theta: Array, grad: Array, m: Array, v: Array, t: int, lr: float = 1e-3, beta1: float = 0.9,
    beta2: float = 0.999, eps: float = 1e-8,
) -> tuple[Array, Array, Array]:
    r"""m_t = β1 m + (1 − β1) g, v_t = β2 v + (1 − β2) g², θ_t = θ − η m̂_t / (√v̂_t + ε)."""
    theta, m, v = _copy(theta, m, v)
    optim.adam(
        theta, np.asarray(grad, dtype=np.float64), m, v, None, step=t, lr=lr, betas=(beta1, beta2), eps=eps,
        work=_work(theta),
    )
    return theta, m, v


def amsgrad_step(
    theta: Array, grad: Array, m: Array, v: Array, v_max: Array, t: int, lr: float = 1e-3,
    beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8,
) -> tuple[Array, Array, Array, Array]:
    r"""Adam with v^max_t = max(v^max_{t-1}, v_t) in the denominator, bias-corrected afterwards."""
    theta, m, v, v_max = _copy(theta, m, v, v_max)
    optim.adam(
        theta, np.asarray(grad, dtype=np.float64), m, v, v_max, step=t, lr=lr, betas=(beta1, beta2),
        eps=eps, work=_work(theta),
    )
    return theta, m, v, v_max


def adamw_step(
    theta: Array, grad: Array, m: Array, v: Array, t: int, lr: float = 1e-3, beta1: float = 0.9,
    beta2: float = 0.999, eps: float = 1e-8, weight_decay: float = 1e-2,
) -> tuple[Array, Array, Array]:
    r"""θ ← (1 − ηλ) θ_{t-1}, then the Adam step (decoupled weight decay)."""
    theta, m, v = _copy(theta, m, v)
    optim.adam(
        theta, np.asarray(grad, dtype=np.float64), m, v, None, step=t, lr=lr, betas=(beta1, beta2), eps=eps,
        weight_decay=weight_decay, decoupled_weight_decay=True, work=_work(theta),
    )
    return theta, m, v


# ----------------------------------------------------------------------------- 08: new optimizers
def lion_step(
    theta: Array, grad: Array, m: Array, lr: float = 1e-4, beta1: float = 0.9, beta2: float = 0.99,
    weight_decay: float = 0.0,
) -> tuple[Array, Array]:
    r"""θ ← (1 − ηλ)θ; θ_t = θ − η sign(β1 m + (1 − β1) g); m_t = β2 m + (1 − β2) g."""
    theta, m = _copy(theta, m)
    optim.lion(
        theta, np.asarray(grad, dtype=np.float64), m, lr=lr, betas=(beta1, beta2), weight_decay=weight_decay,
        work=_work(theta),
    )
    return theta, m


def adabelief_step(
    theta: Array, grad: Array, m: Array, s: Array, t: int, lr: float = 1e-3, beta1: float = 0.9,
    beta2: float = 0.999, eps: float = 1e-16, weight_decay: float = 0.0,
) -> tuple[Array, Array, Array]:
    r"""AdaBelief without rectification (the paper's Algorithm 2), decoupled weight decay:
    s_t = β2 s + (1 − β2)(g − m_t)² + ε, θ_t = θ − η m̂_t / (√ŝ_t + ε)."""
    theta, m, s = _copy(theta, m, s)
    optim.adabelief(
        theta, np.asarray(grad, dtype=np.float64), m, s, None, step=t, lr=lr, betas=(beta1, beta2), eps=eps,
        weight_decay=weight_decay, weight_decouple=True, rectify=False, work=_work(theta),
    )
    return theta, m, s


# ----------------------------------------------------------------------------- 11: beyond Adam
def newton_schulz(
    G: Array, steps: int = 5, coefficients: tuple[float, float, float] = (3.4445, -4.7750, 2.0315),
    eps: float = 1e-7,
) -> Array:
    r"""X_0 = G / max(‖G‖_F, ε) (on Gᵀ when G is tall), X_{k+1} = a X_k + (b A_k + c A_k²) X_k with
    A_k = X_k X_kᵀ, transposed back (``optim.muon.newton_schulz``): the iterate, not the exact P Qᵀ of G = P S Qᵀ."""
    (G,) = _copy(G)
    X = _newton_schulz(G, coefficients=tuple(coefficients), steps=int(steps), eps=eps, work=_work(G, 4))
    return np.array(X, dtype=np.float64, copy=True)


def muon_step(
    theta: Array, grad: Array, buf: Array, lr: float = 1e-3, momentum: float = 0.95, nesterov: bool = True,
    weight_decay: float = 0.1,
) -> tuple[Array, Array]:
    r"""One Muon step on an (in, out) matrix (``optim.muon.muon``, torch.optim.Muon's rule):
    B_t = μ B_{t-1} + (1 − μ) g_t, U_t = (1 − μ) g_t + μ B_t (Nesterov; else B_t),
    θ_t = (1 − ηλ) θ_{t-1} − η s NS(U_t) with s = √max(1, fan_out/fan_in) = √max(1, shape[1]/shape[0])."""
    theta, buf = _copy(theta, buf)
    _muon(
        theta, np.asarray(grad, dtype=np.float64), buf, lr=lr, weight_decay=weight_decay, momentum=momentum,
        nesterov=bool(nesterov), work=_work(theta, 5),
    )
    return theta, buf


# ----------------------------------------------------------------------------- 09: schedules
def warmup_cosine_lr(
    step: int, lr: float, warmup_steps: int, total_steps: int, start_factor: float = 0.01, min_lr: float = 0.0
) -> float:
    r"""Linear warmup from s·η to η over W steps, then cosine to η_min at T (held after)."""
    return float(schedules.warmup_cosine(lr, warmup_steps, total_steps, start_factor, min_lr)(int(step)))


def step_decay_lr(step: int, lr: float, step_size: int, gamma: float = 0.1) -> float:
    r"""η_e = η γ^⌊e / step_size⌋."""
    return float(schedules.step_decay(lr, step_size, gamma)(int(step)))


# ----------------------------------------------------------------------------- 02: minibatches
def minibatches(
    X: Array, y: Array, batch_size: int, shuffle: bool = True, drop_last: bool = False, seed: int = 0
) -> Iterator[tuple[Array, Array]]:
    r"""One epoch of (X_batch, y_batch), rows permuted by ``default_rng(seed).permutation(n)``."""
    return data.minibatches(X, y, batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed)


# ----------------------------------------------------------------------------- 02, 10: backward passes
def softmax_cross_entropy(logits: Array, labels: Array) -> tuple[float, Array]:
    r"""f_B = −(1/B) Σ log softmax(z_i)[y_i] and ∂f_B/∂z = (softmax(z) − onehot(y)) / B."""
    return nn.cross_entropy(np.asarray(logits, dtype=np.float64), np.asarray(labels))


def linear_backward(x: Array, weight: Array, dy: Array) -> tuple[Array, Array, Array]:
    r"""For y = x W + b: dx = dy Wᵀ, dW = xᵀ dy, db = Σ_batch dy."""
    x, weight, dy = _copy(x, weight, dy)
    layer = nn.Linear(weight.shape[0], weight.shape[1])
    grads = {"weight": np.zeros_like(weight), "bias": np.zeros(weight.shape[1])}
    layer.bind({"weight": weight, "bias": np.zeros(weight.shape[1])}, grads)
    layer.forward(x)
    dx = layer.backward(dy).copy()
    return dx, grads["weight"], grads["bias"]


def batchnorm_backward(x: Array, gamma: Array, dy: Array, eps: float = 1e-5) -> tuple[Array, Array, Array]:
    r"""BatchNorm1d in training mode, y = γ x̂ + β with x̂ = (x − μ_B)/√(σ²_B + ε):
    dγ = Σ dy x̂, dβ = Σ dy, dx = γ/(n √(σ²_B + ε)) (n dy − Σ dy − x̂ Σ dy x̂)."""
    x, gamma, dy = _copy(x, gamma, dy)
    layer = nn.BatchNorm1d(gamma.shape[0], eps=eps)
    grads = {"weight": np.zeros_like(gamma), "bias": np.zeros_like(gamma)}
    layer.bind({"weight": gamma, "bias": np.zeros_like(gamma)}, grads)
    layer.forward(x)
    dx = layer.backward(dy).copy()
    return dx, grads["weight"], grads["bias"]
