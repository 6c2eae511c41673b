"""AdaBelief (Zhuang et al. 2020), with the semantics of the authors' adabelief-pytorch 0.2.1."""

from __future__ import annotations

import math
from typing import Any

from ..backend import array_module
from ._ops import add_scaled_, decay_, ema_, ema_sq_, with_l2
from .base import Array, Optimizer, check_betas, check_bool, check_nonnegative
from .registry import register


def rectification(beta2: float, t: int) -> tuple[float, float]:
    """RAdam's rectification as adabelief-pytorch computes it: returns ρ_t ("N_sma") and
    √(1 − β2^t)·r_t, where r_t is RAdam's variance-rectification factor (0 while ρ_t < 5)."""
    beta2_t = beta2**t
    n_sma_max = 2.0 / (1.0 - beta2) - 1.0
    n_sma = n_sma_max - 2.0 * t * beta2_t / (1.0 - beta2_t)
    if n_sma < 5:
        return n_sma, 0.0
    r2 = (n_sma - 4) / (n_sma_max - 4) * (n_sma - 2) / n_sma * n_sma_max / (n_sma_max - 2)
    return n_sma, math.sqrt((1.0 - beta2_t) * r2)


def adabelief(
    param: Array, grad: Array, exp_avg: Array, exp_avg_var: Array, max_exp_avg_var: Array | None,
    *, step: int, lr: float, betas: tuple[float, float], eps: float, weight_decay: float = 0.0,
    weight_decouple: bool = True, fixed_decay: bool = False, rectify: bool = True,
    degenerated_to_sgd: bool = True, work: list[Array],
) -> None:
    r"""One AdaBelief step, in place.

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t \\
        s_t &= \beta_2 s_{t-1} + (1-\beta_2)(g_t - m_t)^2 + \epsilon \\
        \theta_t &= \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\,
                    \frac{m_t}{\sqrt{s_t/(1-\beta_2^t)} + \epsilon}

    s_t, the "belief", is the EMA of the squared deviation of g_t from its prediction m_t:
    steps are large when the gradient is predictable, small when it is not. ε enters twice,
    once *stored* in s_t and once outside the root. With ``rectify`` (the default) the step
    is RAdam-rectified: η r_t √(1−β2^t)/(1−β1^t) · m_t/(√s_t + ε) once ρ_t ≥ 5, and before
    that plain momentum, η/(1−β1^t)·m_t (``degenerated_to_sgd``) or no step. Weight decay is
    decoupled (θ ← (1 − ηλ)θ, or (1 − λ)θ with ``fixed_decay``) unless ``weight_decouple``
    is False, which makes it L2.
    """
    xp = array_module(param)
    theta, m, s, t = param, exp_avg, exp_avg_var, step
    beta1, beta2 = betas
    if weight_decouple:
        decay_(theta, 1.0 - (weight_decay if fixed_decay else lr * weight_decay))
        g = grad
    else:
        g = with_l2(grad, theta, weight_decay, out=work[0])
    ema_(m, g, beta1, work[1])  # m_t = β1 m_{t-1} + (1 − β1) g_t
    residual = xp.subtract(g, m, out=work[2])  # s_t = β2 s_{t-1} + (1 − β2)(g_t − m_t)² + ε
    ema_sq_(s, residual, beta2, work[1])
    s += eps
    if max_exp_avg_var is not None:
        xp.maximum(max_exp_avg_var, s, out=max_exp_avg_var)
    bias_correction1 = 1.0 - beta1**t
    bias_correction2 = 1.0 - beta2**t
    if not rectify:
        s_used = max_exp_avg_var if max_exp_avg_var is not None else s
        denom = xp.sqrt(s_used, out=work[1])
        denom /= math.sqrt(bias_correction2)
        denom += eps
        add_scaled_(theta, -lr / bias_correction1, xp.divide(m, denom, out=work[1]), work[1])
        return
    n_sma, rect = rectification(beta2, t)
    if n_sma >= 5:  # the authors' rectified branch uses s_t itself, never the AMSGrad max
        denom = xp.sqrt(s, out=work[1])
        denom += eps
        add_scaled_(theta, -lr * rect / bias_correction1, xp.divide(m, denom, out=work[1]), work[1])
    elif degenerated_to_sgd:
        add_scaled_(theta, -lr / bias_correction1, m, work[1])


@register
class AdaBelief(Optimizer):
    """AdaBelief with the defaults of adabelief-pytorch 0.2.1 (``eps=1e-16``, decoupled decay,
    ``rectify=True``)."""

    defaults = dict(
        lr=1e-3, betas=(0.9, 0.999), eps=1e-16, weight_decay=0.0, amsgrad=False,
        weight_decouple=True, fixed_decay=False, rectify=True, degenerated_to_sgd=True,
        maximize=False,
    )
    checks = dict(
        lr=check_nonnegative, betas=check_betas, eps=check_nonnegative,
        weight_decay=check_nonnegative, amsgrad=check_bool, weight_decouple=check_bool,
        fixed_decay=check_bool, rectify=check_bool, degenerated_to_sgd=check_bool,
        maximize=check_bool,
    )
    scratch = 3

    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_var") + (("max_exp_avg_var",) if hyper["amsgrad"] else ())

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        adabelief(
            param, grad, state["exp_avg"], state["exp_avg_var"], state.get("max_exp_avg_var"),
            step=t, lr=h["lr"], betas=h["betas"], eps=h["eps"], weight_decay=h["weight_decay"],
            weight_decouple=h["weight_decouple"], fixed_decay=h["fixed_decay"],
            rectify=h["rectify"], degenerated_to_sgd=h["degenerated_to_sgd"], work=work,
        )
