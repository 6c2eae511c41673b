"""AdaGrad (torch.optim.Adagrad): per-coordinate learning rates from the sum of squared gradients."""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from ._ops import add_scaled_, with_l2
from .base import Array, Optimizer, check_bool, check_nonnegative
from .registry import register


def adagrad(
    param: Array, grad: Array, sum_sq: Array, *, step: int, lr: float, lr_decay: float = 0.0,
    eps: float = 1e-10, weight_decay: float = 0.0, work: list[Array],
) -> None:
    r"""One AdaGrad step, in place (Duchi, Hazan & Singer 2011; torch.optim.Adagrad).

    .. math::
        g_t &= \nabla L(\theta_{t-1}) + \lambda\theta_{t-1} \\
        G_t &= G_{t-1} + g_t^2 \\
        \eta_t &= \eta / (1 + (t-1)\,\delta) \\
        \theta_t &= \theta_{t-1} - \eta_t\, g_t / (\sqrt{G_t} + \epsilon)

    δ is ``lr_decay``; ε sits outside the square root, as in torch.
    """
    xp = array_module(param)
    theta, G, t = param, sum_sq, step
    g = with_l2(grad, theta, weight_decay, out=work[0])
    G += xp.square(g, out=work[1])  # G_t = G_{t-1} + g_t²
    lr_t = lr / (1.0 + (t - 1) * lr_decay)
    denom = xp.sqrt(G, out=work[1])  # θ_t = θ_{t-1} − η_t g_t / (sqrt(G_t) + ε)
    denom += eps
    add_scaled_(theta, -lr_t, xp.divide(g, denom, out=work[1]), work[1])


@register
class Adagrad(Optimizer):
    """AdaGrad. Defaults are torch.optim.Adagrad's."""

    defaults = dict(
        lr=1e-2, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10,
        maximize=False,
    )
    checks = dict(
        lr=check_nonnegative, lr_decay=check_nonnegative, weight_decay=check_nonnegative,
        initial_accumulator_value=check_nonnegative, eps=check_nonnegative, maximize=check_bool,
    )

    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        return ("sum",)

    def init_state(self, name: str, param: Array) -> dict[str, Array]:
        xp = array_module(param)
        return {"sum": xp.full_like(param, self.hyper["initial_accumulator_value"])}

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        adagrad(
            param, grad, state["sum"], step=t, lr=h["lr"], lr_decay=h["lr_decay"], eps=h["eps"],
            weight_decay=h["weight_decay"], work=work,
        )
