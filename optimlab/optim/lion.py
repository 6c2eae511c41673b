"""Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms")."""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from ._ops import add_scaled_, decay_, ema_
from .base import Array, Optimizer, check_betas, check_bool, check_nonnegative
from .registry import register


def lion(
    param: Array, grad: Array, exp_avg: Array, *, lr: float, betas: tuple[float, float],
    weight_decay: float = 0.0, work: list[Array],
) -> None:
    r"""One Lion step, in place (the paper's Algorithm; lion-pytorch and google/automl).

    .. math::
        \theta_{t-1} &\leftarrow (1 - \eta\lambda)\,\theta_{t-1} \\
        c_t &= \operatorname{sign}\big(\beta_1 m_{t-1} + (1-\beta_1) g_t\big) \\
        \theta_t &= \theta_{t-1} - \eta\, c_t \\
        m_t &= \beta_2 m_{t-1} + (1-\beta_2) g_t

    Every coordinate moves by exactly η (or 0): the sign throws the magnitude away.
    β1 interpolates for the sign; the state is updated afterwards with β2.
    """
    xp = array_module(param)
    theta, m = param, exp_avg
    beta1, beta2 = betas
    decay_(theta, 1.0 - lr * weight_decay)  # θ ← (1 − ηλ) θ
    c = xp.multiply(m, beta1, out=work[0])  # c_t = sign(β1 m_{t-1} + (1 − β1) g_t)
    add_scaled_(c, 1.0 - beta1, grad, work[1])
    c = xp.sign(c, out=work[1])  # (into another array: NumPy's in-place sign is much slower)
    add_scaled_(theta, -lr, c, work[1])  # θ_t = θ_{t-1} − η c_t
    ema_(m, grad, beta2, work[1])  # m_t = β2 m_{t-1} + (1 − β2) g_t


@register
class Lion(Optimizer):
    """Lion. Defaults are the paper's and lion-pytorch's: ``lr=1e-4, betas=(0.9, 0.99),
    weight_decay=0``. Use a 3-10x smaller lr and a 3-10x larger weight decay than for AdamW.
    ``fused=True`` runs the same update as one numba pass."""

    defaults = dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, maximize=False)
    checks = dict(
        lr=check_nonnegative, betas=check_betas, weight_decay=check_nonnegative,
        maximize=check_bool,
    )
    has_fused_kernel = True

    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg",)

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        lion(
            param, grad, state["exp_avg"], lr=h["lr"], betas=h["betas"],
            weight_decay=h["weight_decay"], work=work,
        )

    def fused_update(self, kernels, param, grad, state, t) -> None:
        h = self.hyper
        kernels.lion(
            param, grad, state["exp_avg"], lr=h["lr"], betas=h["betas"],
            weight_decay=h["weight_decay"], maximize=h["maximize"],
        )
