"""Muon (Jordan et al. 2024): momentum, orthogonalized by a Newton-Schulz iteration.

torch.optim.Muon semantics and defaults for the matrices, with optimlab's AdamW rule for
every parameter that is not a matrix (biases, gains), "the usual fallback".

Layout. optimlab's ``Linear`` weights are ``(in, out)``; torch's are ``(out, in)``. torch
scales the update of a ``(A, B) = (out, in)`` matrix by ``sqrt(max(1, A/B))``; optimlab reads
the same two numbers from its own layout, ``(in, out) = param.shape``, so that the *same layer*
gets the *same scale*: ``sqrt(max(1, fan_out/fan_in)) = sqrt(max(1, shape[1]/shape[0]))``.
An optimlab matrix ``W`` and the torch matrix ``W.T`` therefore follow the same trajectory
(``tests/reference_runs.py`` gives torch the transpose).

Precision. The Newton-Schulz iteration runs in the parameter's dtype (float64 for the exact
cross-check); torch runs it in bfloat16, which changes a trajectory by about 1e-3 relative.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..backend import array_module
from ._ops import add_scaled_, decay_
from .adam import adam
from .base import Array, Optimizer, check_beta, check_betas, check_bool, check_nonnegative
from .registry import register

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
ADJUST_LR_FNS = (None, "original", "match_rms_adamw")


def lerp_(out: Array, start: Array, end: Array, weight: float, tmp: Array) -> Array:
    """out ← start + w (end − start), written the way torch's ``lerp`` is (for |w| ≥ ½ it
    computes end − (end − start)(1 − w)), so the round-off is torch's too. ``out`` may be
    ``start``; ``tmp`` must be neither."""
    xp = array_module(out)
    diff = xp.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        diff *= weight
        return xp.add(start, diff, out=out)
    diff *= 1.0 - weight
    return xp.subtract(end, diff, out=out)


def _view(buffer: Array, shape: tuple[int, ...]) -> Array:
    """The first prod(shape) entries of a scratch buffer, as an array of that shape."""
    return buffer.reshape(-1)[: math.prod(shape)].reshape(shape)


def newton_schulz(
    G: Array, *, coefficients: Sequence[float] = NS_COEFFICIENTS, steps: int = 5,
    eps: float = 1e-7, work: list[Array],
) -> Array:
    r"""Approximately orthogonalize the matrix G (map it to U Vᵀ from its SVD U S Vᵀ).

    .. math::
        X_0 = G / \max(\lVert G\rVert_F, \epsilon), \qquad
        X_{k+1} = a X_k + (b A_k + c A_k^2) X_k, \quad A_k = X_k X_k^\top

    Each step applies the odd polynomial p(σ) = aσ + bσ³ + cσ⁵ to every singular value σ
    (the singular vectors are untouched). With the default (a, b, c) five steps push every
    σ in (0, 1] into roughly [0.7, 1.2]: not exactly 1, which does not hurt training.
    A wide orientation (rows ≤ cols) keeps A small; for a tall G it works on Gᵀ and
    transposes back. Uses four scratch arrays of G's size; returns a view of one of them.
    """
    xp = array_module(G)
    a, b, c = coefficients
    transpose = G.shape[0] > G.shape[1]
    rows, cols = (G.shape[1], G.shape[0]) if transpose else G.shape
    X = _view(work[0], (rows, cols))
    X[...] = G.T if transpose else G
    X /= max(math.sqrt(float(xp.vdot(X, X))), eps)  # ‖G‖_F, clamped as torch does
    A = _view(work[1], (rows, rows))
    B = _view(work[2], (rows, rows))
    BX = _view(work[3], (rows, cols))
    for _ in range(steps):
        xp.matmul(X, X.T, out=A)  # A = X Xᵀ
        xp.matmul(A, A, out=B)  # B = b A + c A²
        B *= c
        A *= b
        B += A
        xp.matmul(B, X, out=BX)  # X ← a X + B X
        X *= a
        X += BX
    return X.T if transpose else X


def shape_scale(shape: tuple[int, ...], adjust_lr_fn: str | None) -> float:
    """The factor on the lr of an ``(in, out)`` matrix: torch's ``_adjust_lr`` with its
    ``(A, B) = (out, in)`` read from optimlab's layout as ``(shape[1], shape[0])``."""
    fan_in, fan_out = shape[0], shape[1]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return math.sqrt(max(1.0, fan_out / fan_in))
    if adjust_lr_fn == "match_rms_adamw":
        return 0.2 * math.sqrt(max(fan_out, fan_in))
    raise ValueError(f"invalid adjust_lr_fn: {adjust_lr_fn!r}")


def muon(
    param: Array, grad: Array, momentum_buffer: Array, *, lr: float, weight_decay: float = 0.1,
    momentum: float = 0.95, nesterov: bool = True,
    ns_coefficients: Sequence[float] = NS_COEFFICIENTS, eps: float = 1e-7, ns_steps: int = 5,
    adjust_lr_fn: str | None = None, work: list[Array],
) -> None:
    r"""One Muon step on an ``(in, out)`` matrix, in place (torch.optim.Muon).

    .. math::
        B_t &= \mu B_{t-1} + (1-\mu) g_t \\
        U_t &= (1-\mu) g_t + \mu B_t \quad\text{(Nesterov; else } U_t = B_t) \\
        O_t &= \mathrm{NS}_{a,b,c}^{k}(U_t) \approx \text{the orthogonal factor of } U_t \\
        \theta_{t-1} &\leftarrow (1-\eta\lambda)\,\theta_{t-1} \\
        \theta_t &= \theta_{t-1} - \eta\, s\, O_t,
              \quad s = \sqrt{\max(1, \text{fan\_out}/\text{fan\_in})}
              \ \text{or}\ 0.2\sqrt{\max(\text{fan\_in}, \text{fan\_out})}

    (torch's docstring writes B_t = μB_{t−1} + g_t; its code uses the EMA above. The two differ
    by the factor 1−μ, which the normalization inside NS removes.) The weight decay uses the
    unscaled η. Five scratch arrays of the parameter's size.
    """
    B = momentum_buffer
    lerp_(B, B, grad, 1.0 - momentum, work[0])  # B_t = μ B_{t-1} + (1 − μ) g_t
    U = lerp_(work[0], grad, B, momentum, work[1]) if nesterov else B  # U_t = lerp(g_t, B_t, μ)
    O = newton_schulz(U, coefficients=ns_coefficients, steps=ns_steps, eps=eps, work=work[1:5])
    if not O.flags.c_contiguous:  # (a transposed view: a plain copy first, since NumPy
        work[0][...] = O  # buffers ufuncs that mix memory orders, and that allocates)
        O = work[0]
    decay_(param, 1.0 - lr * weight_decay)  # θ ← (1 − ηλ) θ
    add_scaled_(param, -lr * shape_scale(param.shape, adjust_lr_fn), O, work[0])  # θ −= η s O


def check_ns_coefficients(name: str, value: Any) -> None:
    if (
        not isinstance(value, (tuple, list)) or len(value) != 3
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    ):
        raise ValueError(f"invalid {name}: {value!r} (must be three finite numbers (a, b, c))")


def check_ns_steps(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 100:
        raise ValueError(f"invalid {name}: {value!r} (must be an integer in [0, 100))")


def check_adjust_lr_fn(name: str, value: Any) -> None:
    if value not in ADJUST_LR_FNS:
        raise ValueError(f"invalid {name}: {value!r} (must be None, 'original' or 'match_rms_adamw')")


def check_optional_lr(name: str, value: Any) -> None:
    if value is not None:
        check_nonnegative(name, value)


@register
class Muon(Optimizer):
    """Muon for the matrices, AdamW for the rest.

    The Muon hyperparameters and their defaults are torch.optim.Muon's (``lr=1e-3,
    weight_decay=0.1, momentum=0.95, nesterov=True``, NS coefficients (3.4445, −4.7750,
    2.0315), ``eps=1e-7, ns_steps=5, adjust_lr_fn=None`` = "original"). torch refuses any
    parameter that is not 2-D; here every other parameter (biases, gains, scalars) is updated
    by optimlab's :func:`~optimlab.optim.adam.adam` rule with decoupled weight decay, set by

    * ``adamw_lr=None``: the AdamW learning rate; None means "the Muon ``lr``", so a schedule
      that sets ``opt.lr`` moves both; a number is a fixed lr (schedules leave it alone);
    * ``adamw_betas=(0.9, 0.999)``, ``adamw_eps=1e-8``: torch.optim.AdamW's;
    * ``adamw_weight_decay=0.0``: no decay on biases and gains (as Keller Jordan's
      ``MuonWithAuxAdam``; torch.optim.AdamW's own default would be 1e-2).

    The same split in torch is ``Muon(matrices)`` plus ``AdamW(the rest)``. Matrices are in
    optimlab's ``(in, out)`` layout (see the module docstring for the shape scale); a 3-D or
    4-D tensor goes to AdamW (flatten conv filters into matrices yourself to give them Muon).
    """

    defaults = dict(
        lr=1e-3, weight_decay=0.1, momentum=0.95, nesterov=True, ns_coefficients=NS_COEFFICIENTS,
        eps=1e-7, ns_steps=5, adjust_lr_fn=None,
        adamw_lr=None, adamw_betas=(0.9, 0.999), adamw_eps=1e-8, adamw_weight_decay=0.0,
    )
    checks = dict(
        lr=check_nonnegative, weight_decay=check_nonnegative, momentum=check_beta,
        nesterov=check_bool, ns_coefficients=check_ns_coefficients, eps=check_nonnegative,
        ns_steps=check_ns_steps, adjust_lr_fn=check_adjust_lr_fn, adamw_lr=check_optional_lr,
        adamw_betas=check_betas, adamw_eps=check_nonnegative, adamw_weight_decay=check_nonnegative,
    )
    elementwise = False  # the update of a matrix depends on the whole matrix
    scratch = 5

    def check_combination(self, hyper: dict[str, Any]) -> None:
        for key in ("ns_coefficients", "adamw_betas"):  # (a saved file gives lists)
            hyper[key] = tuple(hyper[key])

    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        """Matrices keep ``momentum_buffer``; the other parameters ``exp_avg, exp_avg_sq``."""
        return ("momentum_buffer", "exp_avg", "exp_avg_sq")

    def init_state(self, name: str, param: Array) -> dict[str, Array]:
        xp = array_module(param)
        if param.ndim == 2:
            return {"momentum_buffer": xp.zeros_like(param)}
        return {"exp_avg": xp.zeros_like(param), "exp_avg_sq": xp.zeros_like(param)}

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        if param.ndim == 2:
            muon(
                param, grad, state["momentum_buffer"], lr=h["lr"], weight_decay=h["weight_decay"],
                momentum=h["momentum"], nesterov=h["nesterov"], ns_coefficients=h["ns_coefficients"],
                eps=h["eps"], ns_steps=h["ns_steps"], adjust_lr_fn=h["adjust_lr_fn"], work=work,
            )
        else:
            adam(
                param, grad, state["exp_avg"], state["exp_avg_sq"], None, step=t,
                lr=h["lr"] if h["adamw_lr"] is None else h["adamw_lr"], betas=h["adamw_betas"],
                eps=h["adamw_eps"], weight_decay=h["adamw_weight_decay"],
                decoupled_weight_decay=True, work=work,
            )
