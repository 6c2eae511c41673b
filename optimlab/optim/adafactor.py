"""Adafactor (Shazeer & Stern 2018), with torch.optim.Adafactor semantics and defaults.

The second moment of a matrix is kept factored: a row vector R and a column vector C, whose
rank-1 product R C / sum(R) stands in for the full n x m table of Adam's v. That is n + m
numbers instead of n m. Tensors of 2 or more dimensions are factored over their last two
dimensions (as torch does, whatever the sizes); vectors keep a full second moment.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import array_module
from ._ops import add_scaled_, decay_
from .base import Array, Optimizer, check_bool, check_nonnegative
from .muon import _view, lerp_
from .registry import register


def adafactor(
    param: Array, grad: Array, row_var: Array | None, col_var: Array | None,
    variance: Array | None, *, step: int, lr: float, beta2_decay: float = -0.8,
    eps1: float | None = None, eps2: float = 1e-3, d: float = 1.0, weight_decay: float = 0.0,
    work: list[Array],
) -> None:
    r"""One Adafactor step, in place (torch.optim.Adafactor; Shazeer & Stern 2018, Alg. 4-5).

    .. math::
        \hat\beta_{2,t} &= 1 - t^{c} \quad (c = \text{beta2\_decay} = -0.8), \qquad
        \rho_t = \min(\eta, 1/\sqrt t), \qquad
        \alpha_t = \max(\epsilon_2, \mathrm{RMS}(\theta_{t-1}))\,\rho_t \\
        R_t &= \hat\beta_{2,t} R_{t-1} + (1-\hat\beta_{2,t})\,\mathrm{mean}_{cols}(g_t^2), \quad
        C_t = \hat\beta_{2,t} C_{t-1} + (1-\hat\beta_{2,t})\,\mathrm{mean}_{rows}(g_t^2) \\
        \hat V_t &= R_t C_t / \max(\mathrm{mean}(R_t), \epsilon_1)
              \quad\text{(a vector: } V_t = \hat\beta_{2,t} V_{t-1} + (1-\hat\beta_{2,t}) g_t^2) \\
        U_t &= g_t / \sqrt{\max(\hat V_t, \epsilon_1^2)} \\
        \theta_t &= (1-\eta\lambda)\,\theta_{t-1} - \frac{\alpha_t}{\max(1, \mathrm{RMS}(U_t)/d)}\, U_t

    The step size is *relative*: α_t is a fraction ρ_t of the parameter's own RMS. Means
    instead of the paper's sums give the same ratio R C / sum(R). torch (and so this) caps
    ρ_t with η where the paper uses 0.01, and clamps by ε1 at the end instead of adding ε1 to
    g². ``eps1=None`` means the dtype's machine epsilon. Three scratch arrays.
    """
    xp = array_module(param)
    theta, t = param, step
    if eps1 is None:
        eps1 = float(np.finfo(param.dtype).eps)
    one_minus_beta2 = t**beta2_decay  # 1 − β̂2_t = t^c
    rho = min(lr, 1.0 / t**0.5)  # ρ_t = min(η, 1/√t)
    rms_theta = math.sqrt(float(xp.vdot(theta, theta))) / theta.size**0.5
    alpha = max(eps2, rms_theta) * rho  # α_t = max(ε2, RMS(θ_{t-1})) ρ_t  (before the decay)
    if weight_decay != 0:
        decay_(theta, 1.0 - lr * weight_decay)  # θ ← (1 − ηλ) θ
    g2 = xp.square(grad, out=work[0])
    if row_var is not None:
        n_rows, n_cols = grad.shape[-2], grad.shape[-1]
        row_mean = xp.sum(g2, axis=-1, keepdims=True, out=_view(work[1], row_var.shape))
        row_mean /= n_cols  # R_t = lerp(R_{t-1}, mean over columns of g², 1 − β̂2)
        lerp_(row_var, row_var, row_mean, one_minus_beta2, _view(work[2], row_var.shape))
        col_mean = xp.sum(g2, axis=-2, keepdims=True, out=_view(work[1], col_var.shape))
        col_mean /= n_rows  # C_t = lerp(C_{t-1}, mean over rows of g², 1 − β̂2)
        lerp_(col_var, col_var, col_mean, one_minus_beta2, _view(work[2], col_var.shape))
        # V̂_t = R_t C_t / max(mean(R_t), ε1)  (the outer product as a matmul with inner size 1:
        # exactly R_i C_j, and unlike a broadcast multiply it needs no iterator buffer)
        v_hat = xp.matmul(row_var, col_var, out=work[0])
        r_mean = xp.sum(row_var, axis=-2, keepdims=True, out=_view(work[1], row_var.shape[:-2] + (1, 1)))
        r_mean /= n_rows
        xp.maximum(r_mean, eps1, out=r_mean)
        v_hat /= r_mean
    else:
        lerp_(variance, variance, g2, one_minus_beta2, work[1])  # V_t = lerp(V_{t-1}, g², 1 − β̂2)
        v_hat = work[0]
        v_hat[...] = variance
    u = xp.maximum(v_hat, eps1 * eps1, out=v_hat)  # U_t = g_t / sqrt(max(V̂_t, ε1²))
    xp.sqrt(u, out=u)
    xp.reciprocal(u, out=u)
    u *= grad
    rms_u = math.sqrt(float(xp.vdot(u, u))) / (u.size**0.5 * d)
    add_scaled_(theta, -alpha / max(1.0, rms_u), u, work[1])  # θ −= α_t / max(1, RMS(U)/d) U


def check_adafactor_eps(name: str, value: Any) -> None:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"invalid {name}: {value!r} (must be a pair (eps1, eps2))")
    if value[0] is not None:
        check_nonnegative(f"{name}[0] (eps1)", value[0])
    check_nonnegative(f"{name}[1] (eps2)", value[1])


def check_beta2_decay(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value <= 0:
        raise ValueError(f"invalid {name}: {value!r} (must be a number <= 0)")


def check_d(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 1:
        raise ValueError(f"invalid {name}: {value!r} (the clipping threshold must be >= 1)")


@register
class Adafactor(Optimizer):
    """Adafactor. Defaults are torch.optim.Adafactor's: ``lr=1e-2, beta2_decay=-0.8,
    eps=(None, 1e-3), d=1.0, weight_decay=0.0`` (torch's docstring says 1e-2; its signature
    says 0.0). No first moment. State: ``row_var`` (shape ``[..., n, 1]``) and ``col_var``
    (``[..., 1, m]``) for a tensor of 2 or more dimensions, ``variance`` for a vector."""

    defaults = dict(lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, maximize=False)
    checks = dict(
        lr=check_nonnegative, beta2_decay=check_beta2_decay, eps=check_adafactor_eps, d=check_d,
        weight_decay=check_nonnegative, maximize=check_bool,
    )
    elementwise = False  # the factored moment and the RMS scales are per tensor
    scratch = 3

    def check_combination(self, hyper: dict[str, Any]) -> None:
        hyper["eps"] = tuple(hyper["eps"])  # (a saved file gives a list)

    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        """``row_var, col_var`` for tensors of 2 or more dimensions; ``variance`` for the others."""
        return ("row_var", "col_var", "variance")

    def init_state(self, name: str, param: Array) -> dict[str, Array]:
        xp = array_module(param)
        if param.ndim >= 2:
            return {
                "row_var": xp.zeros(param.shape[:-1] + (1,), param.dtype),
                "col_var": xp.zeros(param.shape[:-2] + (1, param.shape[-1]), param.dtype),
            }
        return {"variance": xp.zeros_like(param)}

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        adafactor(
            param, grad, state.get("row_var"), state.get("col_var"), state.get("variance"),
            step=t, lr=h["lr"], beta2_decay=h["beta2_decay"], eps1=h["eps"][0], eps2=h["eps"][1],
            d=h["d"], weight_decay=h["weight_decay"], work=work,
        )
