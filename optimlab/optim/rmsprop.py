"""RMSProp (plain, centered, with momentum) and Adadelta (torch.optim semantics)."""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from ._ops import add_scaled_, ema_, ema_sq_, with_l2
from .base import Array, Optimizer, check_beta, check_bool, check_nonnegative
from .registry import register


def rmsprop(
    param: Array, grad: Array, square_avg: Array, grad_avg: Array | None,
    momentum_buffer: Array | None, *, lr: float, alpha: float, eps: float,
    weight_decay: float = 0.0, momentum: float = 0.0, work: list[Array],
) -> None:
    r"""One RMSProp step, in place (Hinton 2012; Graves 2013 for centered; torch.optim.RMSprop).

    .. math::
        v_t &= \alpha v_{t-1} + (1-\alpha) g_t^2 \\
        \bar g_t &= \alpha \bar g_{t-1} + (1-\alpha) g_t
            \quad\text{(centered only: then } v_t \to v_t - \bar g_t^2) \\
        s_t &= \sqrt{v_t} + \epsilon \\
        b_t &= \mu b_{t-1} + g_t / s_t, \quad \theta_t = \theta_{t-1} - \eta b_t
            \quad\text{(with momentum; else } \theta_t = \theta_{t-1} - \eta g_t / s_t)

    No bias correction: v starts at 0, so the first steps are large. ε is outside the root.
    """
    xp = array_module(param)
    theta, v, mu = param, square_avg, momentum
    g = with_l2(grad, theta, weight_decay, out=work[0])
    ema_sq_(v, g, alpha, work[1])  # v_t = α v_{t-1} + (1 − α) g_t²
    if grad_avg is not None:  # centered: estimate the variance, v_t − ḡ_t²
        ema_(grad_avg, g, alpha, work[1])
        s = xp.square(grad_avg, out=work[1])
        xp.subtract(v, s, out=s)
        xp.sqrt(s, out=s)
    else:
        s = xp.sqrt(v, out=work[1])
    s += eps  # s_t = sqrt(v_t) + ε
    direction = xp.divide(g, s, out=work[1])
    if momentum_buffer is not None:  # b_t = μ b_{t-1} + g_t / s_t
        momentum_buffer *= mu
        momentum_buffer += direction
        direction = momentum_buffer
    add_scaled_(theta, -lr, direction, work[1])


def adadelta(
    param: Array, grad: Array, square_avg: Array, acc_delta: Array, *, lr: float, rho: float,
    eps: float, weight_decay: float = 0.0, work: list[Array],
) -> None:
    r"""One Adadelta step, in place (Zeiler 2012; torch.optim.Adadelta).

    .. math::
        v_t &= \rho v_{t-1} + (1-\rho) g_t^2 \\
        \Delta_t &= \frac{\sqrt{u_{t-1} + \epsilon}}{\sqrt{v_t + \epsilon}}\, g_t \\
        u_t &= \rho u_{t-1} + (1-\rho) \Delta_t^2 \\
        \theta_t &= \theta_{t-1} - \eta \Delta_t

    The paper has no η (torch's default η = 1 recovers it); ε is inside both roots.
    """
    xp = array_module(param)
    theta, v, u = param, square_avg, acc_delta
    g = with_l2(grad, theta, weight_decay, out=work[0])
    ema_sq_(v, g, rho, work[1])  # v_t = ρ v_{t-1} + (1 − ρ) g_t²
    delta = xp.add(u, eps, out=work[1])  # Δ_t = sqrt(u_{t-1} + ε) / sqrt(v_t + ε) · g_t
    xp.sqrt(delta, out=delta)
    rms_g = xp.add(v, eps, out=work[2])
    xp.sqrt(rms_g, out=rms_g)
    delta /= rms_g
    delta *= g
    ema_sq_(u, delta, rho, work[2])  # u_t = ρ u_{t-1} + (1 − ρ) Δ_t²
    add_scaled_(theta, -lr, delta, work[1])  # θ_t = θ_{t-1} − η Δ_t


@register
class RMSprop(Optimizer):
    """RMSProp (optionally centered, with momentum). Defaults are torch.optim.RMSprop's."""

    defaults = dict(
        lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False,
        maximize=False,
    )
    checks = dict(
        lr=check_nonnegative, alpha=check_beta, eps=check_nonnegative,
        weight_decay=check_nonnegative, momentum=check_nonnegative, centered=check_bool,
        maximize=check_bool,
    )

    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        return (
            ("square_avg",)
            + (("grad_avg",) if hyper["centered"] else ())
            + (("momentum_buffer",) if hyper["momentum"] > 0 else ())
        )

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        rmsprop(
            param, grad, state["square_avg"], state.get("grad_avg"), state.get("momentum_buffer"),
            lr=h["lr"], alpha=h["alpha"], eps=h["eps"], weight_decay=h["weight_decay"],
            momentum=h["momentum"], work=work,
        )


@register
class Adadelta(Optimizer):
    """Adadelta. Defaults are torch.optim.Adadelta's (``lr=1.0``)."""

    defaults = dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False)
    checks = dict(
        lr=check_nonnegative, rho=check_beta, eps=check_nonnegative,
        weight_decay=check_nonnegative, maximize=check_bool,
    )
    scratch = 3

    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        return ("square_avg", "acc_delta")

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        adadelta(
            param, grad, state["square_avg"], state["acc_delta"], lr=h["lr"], rho=h["rho"],
            eps=h["eps"], weight_decay=h["weight_decay"], work=work,
        )
