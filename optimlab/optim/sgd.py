"""Stochastic gradient descent, with heavy-ball or Nesterov momentum (torch.optim.SGD)."""

from __future__ import annotations

from typing import Any

from ._ops import add_scaled_, with_l2
from .base import Array, Optimizer, check_bool, check_nonnegative
from .registry import register


def sgd(
    param: Array, grad: Array, momentum_buffer: Array | None, *, step: int, lr: float,
    momentum: float = 0.0, dampening: float = 0.0, weight_decay: float = 0.0,
    nesterov: bool = False, work: list[Array],
) -> None:
    r"""One SGD step, in place (torch form of momentum).

    .. math::
        g_t &= \nabla L(\theta_{t-1}) + \lambda \theta_{t-1} \\
        b_t &= \mu b_{t-1} + (1 - \tau) g_t \quad (b_1 = g_1) \\
        d_t &= g_t + \mu b_t \ \text{(Nesterov)} \quad\text{or}\quad d_t = b_t \\
        \theta_t &= \theta_{t-1} - \eta\, d_t

    With μ = 0 this is plain (stochastic) gradient descent, θ_t = θ_{t-1} − η g_t.
    τ is ``dampening``; the first step copies g into the buffer without dampening, as torch does.
    """
    theta, mu, buf = param, momentum, momentum_buffer
    g = with_l2(grad, theta, weight_decay, out=work[0])  # g_t = ∇L + λθ
    if mu == 0:
        d = g
    else:
        if step == 1:
            buf[...] = g  # b_1 = g_1
        else:
            buf *= mu  # b_t = μ b_{t-1} + (1 − τ) g_t
            add_scaled_(buf, 1.0 - dampening, g, work[1])
        if nesterov:
            d = work[1]  # d_t = g_t + μ b_t
            d[...] = buf
            d *= mu
            d += g
        else:
            d = buf
    add_scaled_(theta, -lr, d, work[1])  # θ_t = θ_{t-1} − η d_t


@register
class SGD(Optimizer):
    """Stochastic gradient descent (optionally with momentum); plain GD on the full batch.

    Defaults are torch.optim.SGD's: ``lr=1e-3, momentum=0, dampening=0, weight_decay=0,
    nesterov=False, maximize=False``. ``fused=True`` runs the same update as one numba pass.
    """

    defaults = dict(
        lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False
    )
    checks = dict(
        lr=check_nonnegative, momentum=check_nonnegative, dampening=check_nonnegative,
        weight_decay=check_nonnegative, nesterov=check_bool, maximize=check_bool,
    )
    has_fused_kernel = True

    def check_combination(self, hyper: dict[str, Any]) -> None:
        if hyper["nesterov"] and (hyper["momentum"] <= 0 or hyper["dampening"] != 0):
            raise ValueError(
                f"nesterov=True needs momentum > 0 and dampening = 0; got momentum="
                f"{hyper['momentum']!r}, dampening={hyper['dampening']!r}"
            )

    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        return ("momentum_buffer",) if hyper["momentum"] != 0 else ()

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        sgd(
            param, grad, state.get("momentum_buffer"), step=t, lr=h["lr"], momentum=h["momentum"],
            dampening=h["dampening"], weight_decay=h["weight_decay"], nesterov=h["nesterov"],
            work=work,
        )

    def fused_update(self, kernels, param, grad, state, t) -> None:
        h = self.hyper
        kernels.sgd(
            param, grad, state.get("momentum_buffer"), step=t, lr=h["lr"], momentum=h["momentum"],
            dampening=h["dampening"], weight_decay=h["weight_decay"], nesterov=h["nesterov"],
            maximize=h["maximize"],
        )
