"""Adam and its family: Adam (AMSGrad), AdamW, Adamax, NAdam, RAdam (torch.optim semantics)."""

from __future__ import annotations

import math
from typing import Any

from ..backend import array_module
from ._ops import add_scaled_, ema_, ema_sq_, weight_decayed_grad, with_l2
from .base import Array, Optimizer, check_betas, check_bool, check_nonnegative
from .registry import register


def adam(
    param: Array, grad: Array, exp_avg: Array, exp_avg_sq: Array, max_exp_avg_sq: Array | None,
    *, step: int, lr: float, betas: tuple[float, float], eps: float, weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False, work: list[Array],
) -> None:
    r"""One Adam step, in place (Kingma & Ba 2015, Algorithm 1; torch.optim.Adam).

    .. math::
        g_t &= \nabla L(\theta_{t-1}) + \lambda\theta_{t-1}
              \quad\text{(L2; AdamW instead: } \theta_{t-1} \leftarrow (1-\eta\lambda)\theta_{t-1})\\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t \\
        v_t &= \beta_2 v_{t-1} + (1-\beta_2) g_t^2
              \quad\text{(AMSGrad: } v_t \leftarrow \max(v^{max}_{t-1}, v_t)) \\
        \hat m_t &= m_t / (1-\beta_1^t), \qquad \hat v_t = v_t / (1-\beta_2^t) \\
        \theta_t &= \theta_{t-1} - \eta\, \hat m_t / (\sqrt{\hat v_t} + \epsilon)

    AMSGrad (torch) keeps the running max of the *raw* v_t and bias-corrects it afterwards.
    """
    xp = array_module(param)
    theta, m, v, t = param, exp_avg, exp_avg_sq, step
    beta1, beta2 = betas
    g = weight_decayed_grad(theta, grad, lr, weight_decay, decoupled_weight_decay, out=work[0])
    ema_(m, g, beta1, work[1])  # m_t = β1 m_{t-1} + (1 − β1) g_t
    ema_sq_(v, g, beta2, work[1])  # v_t = β2 v_{t-1} + (1 − β2) g_t²
    if max_exp_avg_sq is not None:  # AMSGrad: v_t ← max(v^max_{t-1}, v_t)
        v = xp.maximum(max_exp_avg_sq, v, out=max_exp_avg_sq)
    bias_correction1 = 1.0 - beta1**t
    bias_correction2 = 1.0 - beta2**t
    denom = xp.sqrt(v, out=work[1])  # sqrt(v̂_t) + ε
    denom /= math.sqrt(bias_correction2)
    denom += eps
    direction = xp.divide(m, denom, out=work[1])  # θ_t = θ_{t-1} − η m̂_t / (sqrt(v̂_t) + ε)
    add_scaled_(theta, -lr / bias_correction1, direction, work[1])


def adamax(
    param: Array, grad: Array, exp_avg: Array, exp_inf: Array, *, step: int, lr: float,
    betas: tuple[float, float], eps: float, weight_decay: float = 0.0, work: list[Array],
) -> None:
    r"""One Adamax step, in place (Kingma & Ba 2015, section 7.1; torch.optim.Adamax).

    .. math::
        g_t &= \nabla L(\theta_{t-1}) + \lambda\theta_{t-1} \\
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t \\
        u_t &= \max(\beta_2 u_{t-1},\ |g_t| + \epsilon) \\
        \theta_t &= \theta_{t-1} - \frac{\eta}{1-\beta_1^t}\, m_t / u_t

    torch puts ε inside the max (so it is stored in u); the paper has no ε.
    """
    xp = array_module(param)
    theta, m, u, t = param, exp_avg, exp_inf, step
    beta1, beta2 = betas
    g = with_l2(grad, theta, weight_decay, out=work[0])
    ema_(m, g, beta1, work[1])  # m_t = β1 m_{t-1} + (1 − β1) g_t
    u *= beta2  # u_t = max(β2 u_{t-1}, |g_t| + ε)
    abs_g = xp.abs(g, out=work[1])
    abs_g += eps
    xp.maximum(u, abs_g, out=u)
    direction = xp.divide(m, u, out=work[1])  # θ_t = θ_{t-1} − η/(1 − β1^t) m_t / u_t
    add_scaled_(theta, -lr / (1.0 - beta1**t), direction, work[1])


def nadam(
    param: Array, grad: Array, exp_avg: Array, exp_avg_sq: Array, *, step: int, lr: float,
    betas: tuple[float, float], eps: float, mu_t: float, mu_next: float, mu_product: float,
    weight_decay: float = 0.0, decoupled_weight_decay: bool = False, work: list[Array],
) -> None:
    r"""One NAdam step, in place (Dozat 2016; torch.optim.NAdam).

    With the momentum schedule μ_t = β1 (1 − ½·0.96^{tψ}) and Π_t = ∏_{i≤t} μ_i:

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2 \\
        d_t &= \sqrt{v_t / (1-\beta_2^t)} + \epsilon \\
        \theta_t &= \theta_{t-1} - \eta\frac{1-\mu_t}{1-\Pi_t}\frac{g_t}{d_t}
                  - \eta\frac{\mu_{t+1}}{1-\Pi_t\mu_{t+1}}\frac{m_t}{d_t}

    ``mu_product`` is Π_t (already including μ_t).
    """
    xp = array_module(param)
    theta, m, v, t = param, exp_avg, exp_avg_sq, step
    beta1, beta2 = betas
    g = weight_decayed_grad(theta, grad, lr, weight_decay, decoupled_weight_decay, out=work[0])
    ema_(m, g, beta1, work[1])
    ema_sq_(v, g, beta2, work[1])
    denom = xp.divide(v, 1.0 - beta2**t, out=work[1])  # d_t = sqrt(v_t/(1 − β2^t)) + ε
    xp.sqrt(denom, out=denom)
    denom += eps
    # the current gradient's share, then the momentum's share (Nesterov look-ahead)
    add_scaled_(theta, -lr * (1.0 - mu_t) / (1.0 - mu_product), xp.divide(g, denom, out=work[2]), work[2])
    add_scaled_(
        theta, -lr * mu_next / (1.0 - mu_product * mu_next), xp.divide(m, denom, out=work[2]), work[2]
    )


def radam(
    param: Array, grad: Array, exp_avg: Array, exp_avg_sq: Array, *, step: int, lr: float,
    betas: tuple[float, float], eps: float, weight_decay: float = 0.0,
    decoupled_weight_decay: bool = False, work: list[Array],
) -> None:
    r"""One RAdam step, in place (Liu et al. 2020; torch.optim.RAdam).

    .. math::
        \rho_\infty &= \frac{2}{1-\beta_2} - 1, \qquad
        \rho_t = \rho_\infty - \frac{2t\beta_2^t}{1-\beta_2^t} \\
        r_t &= \sqrt{\frac{(\rho_t-4)(\rho_t-2)\rho_\infty}{(\rho_\infty-4)(\rho_\infty-2)\rho_t}} \\
        \theta_t &= \theta_{t-1} - \eta\,\hat m_t\, r_t \frac{\sqrt{1-\beta_2^t}}{\sqrt{v_t}+\epsilon}
                   \quad\text{if } \rho_t > 5, \quad\text{else}\quad
                   \theta_t = \theta_{t-1} - \eta\,\hat m_t

    The variance of the adaptive rate is finite only for ρ_t > 4 (the paper); torch, like the
    authors' code, rectifies only from ρ_t > 5, and the steps before are momentum SGD. ε is
    added before the bias correction, as torch does.
    """
    xp = array_module(param)
    theta, m, v, t = param, exp_avg, exp_avg_sq, step
    beta1, beta2 = betas
    g = weight_decayed_grad(theta, grad, lr, weight_decay, decoupled_weight_decay, out=work[0])
    ema_(m, g, beta1, work[1])
    ema_sq_(v, g, beta2, work[1])
    bias_correction1 = 1.0 - beta1**t
    bias_correction2 = 1.0 - beta2**t
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    rho_t = rho_inf - 2.0 * t * beta2**t / bias_correction2
    if rho_t > 5.0:
        r_t = math.sqrt(
            (rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)
        )
        denom = xp.sqrt(v, out=work[1])
        denom += eps
        direction = xp.divide(m, denom, out=work[1])
        add_scaled_(theta, -lr * r_t * math.sqrt(bias_correction2) / bias_correction1, direction, work[1])
    else:
        add_scaled_(theta, -lr / bias_correction1, m, work[1])


ADAM_CHECKS = dict(
    lr=check_nonnegative, betas=check_betas, eps=check_nonnegative,
    weight_decay=check_nonnegative, maximize=check_bool,
)


@register
class Adam(Optimizer):
    """Adam (optionally AMSGrad, or decoupled weight decay). Defaults are torch.optim.Adam's.
    ``fused=True`` runs the same update as one numba pass."""

    defaults = dict(
        lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False,
        maximize=False, decoupled_weight_decay=False,
    )
    checks = dict(ADAM_CHECKS, amsgrad=check_bool, decoupled_weight_decay=check_bool)
    has_fused_kernel = True

    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if hyper["amsgrad"] else ())

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        adam(
            param, grad, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"),
            step=t, lr=h["lr"], betas=h["betas"], eps=h["eps"], weight_decay=h["weight_decay"],
            decoupled_weight_decay=h["decoupled_weight_decay"], work=work,
        )

    def fused_update(self, kernels, param, grad, state, t) -> None:
        h = self.hyper
        kernels.adam(
            param, grad, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"),
            step=t, lr=h["lr"], betas=h["betas"], eps=h["eps"], weight_decay=h["weight_decay"],
            decoupled_weight_decay=h["decoupled_weight_decay"], maximize=h["maximize"],
        )


@register
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter 2019): θ ← (1 − ηλ)θ before the
    Adam step. Defaults are torch.optim.AdamW's (note ``weight_decay=1e-2``)."""

    defaults = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False, maximize=False)
    checks = dict(ADAM_CHECKS, amsgrad=check_bool)

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        adam(
            param, grad, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"),
            step=t, lr=h["lr"], betas=h["betas"], eps=h["eps"], weight_decay=h["weight_decay"],
            decoupled_weight_decay=True, work=work,
        )

    def fused_update(self, kernels, param, grad, state, t) -> None:
        h = self.hyper
        kernels.adam(
            param, grad, state["exp_avg"], state["exp_avg_sq"], state.get("max_exp_avg_sq"),
            step=t, lr=h["lr"], betas=h["betas"], eps=h["eps"], weight_decay=h["weight_decay"],
            decoupled_weight_decay=True, maximize=h["maximize"],
        )


@register
class Adamax(Optimizer):
    """Adamax, Adam with an infinity-norm second moment. Defaults are torch.optim.Adamax's."""

    defaults = dict(lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, maximize=False)
    checks = ADAM_CHECKS

    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_inf")

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        adamax(
            param, grad, state["exp_avg"], state["exp_inf"], step=t, lr=h["lr"], betas=h["betas"],
            eps=h["eps"], weight_decay=h["weight_decay"], work=work,
        )


@register
class NAdam(Optimizer):
    """NAdam, Adam with Nesterov momentum and a momentum schedule. Defaults are torch's."""

    defaults = dict(
        lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, momentum_decay=4e-3,
        decoupled_weight_decay=False, maximize=False,
    )
    checks = dict(ADAM_CHECKS, momentum_decay=check_nonnegative, decoupled_weight_decay=check_bool)
    scratch = 3
    scalar_state = {"mu_product": 1.0}

    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq")

    def momentum_at(self, t: int) -> float:
        """μ_t = β1 (1 − ½ · 0.96^{t ψ})."""
        return self.hyper["betas"][0] * (1.0 - 0.5 * 0.96 ** (t * self.hyper["momentum_decay"]))

    def advance_scalars(self, t: int) -> None:
        self.scalars["mu_product"] *= self.momentum_at(t)  # Π_t = Π_{t-1} μ_t

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        nadam(
            param, grad, state["exp_avg"], state["exp_avg_sq"], step=t, lr=h["lr"],
            betas=h["betas"], eps=h["eps"], mu_t=self.momentum_at(t),
            mu_next=self.momentum_at(t + 1), mu_product=self.scalars["mu_product"],
            weight_decay=h["weight_decay"], decoupled_weight_decay=h["decoupled_weight_decay"],
            work=work,
        )


@register
class RAdam(Optimizer):
    """Rectified Adam. Defaults are torch.optim.RAdam's."""

    defaults = dict(
        lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, decoupled_weight_decay=False,
        maximize=False,
    )
    checks = dict(ADAM_CHECKS, decoupled_weight_decay=check_bool)

    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq")

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        radam(
            param, grad, state["exp_avg"], state["exp_avg_sq"], step=t, lr=h["lr"],
            betas=h["betas"], eps=h["eps"], weight_decay=h["weight_decay"],
            decoupled_weight_decay=h["decoupled_weight_decay"], work=work,
        )
