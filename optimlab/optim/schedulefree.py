"""Schedule-Free AdamW (Defazio et al. 2024, "The Road Less Scheduled").

Semantics and defaults of ``schedulefree.AdamWScheduleFree`` 1.4.1 (facebookresearch/
schedule_free); the class keeps the package's name so that code ports one to one.

Three sequences instead of a learning-rate schedule:

* z, the "base" sequence: plain Adam-normalized gradient steps with a constant lr;
* x, the average of the z's (weighted by lr_max² by default): the point to *evaluate*;
* y = β1 x + (1 − β1) z, the interpolation where the gradient is *computed*.

The parameter arrays hold y while training and x while evaluating: ``opt.eval()`` and
``opt.train()`` swap them in place (from y and z alone: x = (y − (1 − β1) z)/β1). Call
``opt.eval()`` before evaluating or saving the model, ``opt.train()`` before the next step.

Two differences from the package, both about the start: optimlab's optimizer starts in
*train* mode (the package starts in eval mode and refuses to step before ``train()``;
at construction y = x = z, so both modes hold the same numbers), and z is made at
construction instead of at the first step (the same value: θ₀). Stepping in eval mode raises.
"""

from __future__ import annotations

from typing import Any

from ..backend import array_module
from ._ops import add_scaled_, ema_sq_
from .base import Array, Optimizer, check_betas, check_nonnegative
from .muon import lerp_
from .registry import register


def adamw_schedulefree(
    param: Array, grad: Array, z: Array, exp_avg_sq: Array, *, step: int, lr: float,
    ckp1: float, betas: tuple[float, float], eps: float, weight_decay: float = 0.0,
    work: list[Array],
) -> None:
    r"""One Schedule-Free AdamW step on y (the parameter) and z, in place.

    ``step`` is k + 1 (1-based), ``lr`` the warmed-up η_k, ``ckp1`` = c_{k+1} = w_k / Σ w:

    .. math::
        v_k &= \beta_2 v_{k-1} + (1-\beta_2) g_k^2, \qquad
        \hat g_k = \frac{g_k}{\sqrt{v_k/(1-\beta_2^{k+1})} + \epsilon} + \lambda y_k \\
        z_{k+1} &= z_k - \eta_k \hat g_k \\
        x_{k+1} &= (1-c_{k+1})\, x_k + c_{k+1} z_{k+1} \\
        y_{k+1} &= \beta_1 x_{k+1} + (1-\beta_1) z_{k+1}

    x is never stored: substituting it gives the package's in-place form
    y ← lerp(y, z, c); y ← y + η(β1(1 − c) − 1) ĝ; z ← z − η ĝ. Two scratch arrays.
    """
    xp = array_module(param)
    y = param
    beta1, beta2 = betas
    ema_sq_(exp_avg_sq, grad, beta2, work[0])  # v_k = β2 v + (1 − β2) g²
    denom = xp.divide(exp_avg_sq, 1.0 - beta2**step, out=work[1])  # sqrt(v / (1 − β2^{k+1})) + ε
    xp.sqrt(denom, out=denom)
    denom += eps
    g_hat = xp.divide(grad, denom, out=work[0])
    if weight_decay != 0:  # decay evaluated at y, applied through z (and so x and y)
        add_scaled_(g_hat, weight_decay, y, work[1])
    lerp_(y, y, z, ckp1, work[1])  # y ← lerp(y, z, c)
    add_scaled_(y, lr * (beta1 * (1.0 - ckp1) - 1.0), g_hat, work[1])  # y ← y + η(β1(1 − c) − 1) ĝ
    add_scaled_(z, -lr, g_hat, work[1])  # z ← z − η ĝ


def check_warmup_steps(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"invalid {name}: {value!r} (must be an integer >= 0)")


@register
class AdamWScheduleFree(Optimizer):
    """Schedule-Free AdamW. Defaults are schedulefree 1.4.1's: ``lr=0.0025, betas=(0.9,
    0.999), eps=1e-8, weight_decay=0, warmup_steps=0, r=0.0, weight_lr_power=2.0``.

    Use no lr schedule (``warmup_steps`` gives the linear warmup). ``opt.eval()`` puts the
    averaged point x into the parameters (evaluate and save there), ``opt.train()`` puts
    back y (train there); ``opt.training`` says which. Scalar state: ``k`` (steps taken),
    ``weight_sum``, ``lr_max`` (starts at −1) and ``train_mode``, all in the state_dict.
    The mode describes what the parameter arrays hold when the state is saved: restore the
    parameters saved at the same moment.
    """

    defaults = dict(
        lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, warmup_steps=0, r=0.0,
        weight_lr_power=2.0,
    )
    checks = dict(
        lr=check_nonnegative, betas=check_betas, eps=check_nonnegative,
        weight_decay=check_nonnegative, warmup_steps=check_warmup_steps, r=check_nonnegative,
        weight_lr_power=check_nonnegative,
    )
    scalar_state = {"k": 0, "weight_sum": 0.0, "lr_max": -1.0, "train_mode": True}

    def check_combination(self, hyper: dict[str, Any]) -> None:
        if hyper["betas"][0] == 0:
            raise ValueError(
                "invalid betas[0] (beta1): 0 (must be > 0 here: y = beta1 x + (1 - beta1) z "
                "would be z, and x could not be recovered from y for eval())"
            )

    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        return ("z", "exp_avg_sq")

    def init_state(self, name: str, param: Array) -> dict[str, Array]:
        xp = array_module(param)
        return {"z": param.copy(), "exp_avg_sq": xp.zeros_like(param)}

    # -- the train/eval switch
    @property
    def training(self) -> bool:
        """True when the parameters hold y (train mode), False when they hold x (eval mode)."""
        return bool(self.scalars["train_mode"])

    def train(self) -> None:
        """Put y = β1 x + (1 − β1) z into the parameters (no-op in train mode)."""
        if not self.training:
            self._swap(1.0 - self.hyper["betas"][0])
            self.scalars["train_mode"] = True

    def eval(self) -> None:
        """Put the average x = (y − (1 − β1) z)/β1 into the parameters (no-op in eval mode)."""
        if self.training:
            self._swap(1.0 - 1.0 / self.hyper["betas"][0])
            self.scalars["train_mode"] = False

    def _swap(self, weight: float) -> None:
        for unit in self._units:  # p ← lerp(p, z, w), as the package does
            lerp_(unit.param, unit.param, unit.state["z"], weight, unit.work[0])

    def step(self, grads: Any = None) -> bool:
        if not self.training:
            raise RuntimeError(
                f"{type(self).__name__}.step() in eval mode: the parameters hold the average x, "
                "not y; call opt.train() before stepping (and opt.eval() before evaluating)"
            )
        return super().step(grads)

    def set_hyper(self, **changes: Any) -> None:
        if "betas" in changes and not self.training:
            raise ValueError("change betas in train mode: eval mode's x depends on beta1")
        super().set_hyper(**changes)

    # -- the step
    def advance_scalars(self, t: int) -> None:
        h, s = self.hyper, self.scalars
        k = t - 1  # steps taken before this one
        sched = (k + 1) / h["warmup_steps"] if k < h["warmup_steps"] else 1.0
        lr = h["lr"] * sched  # η_k
        lr_max = s["lr_max"] = max(lr, s["lr_max"])
        weight = ((k + 1) ** h["r"]) * (lr_max ** h["weight_lr_power"])  # w_k
        weight_sum = s["weight_sum"] = s["weight_sum"] + weight
        self._scheduled_lr = lr
        self._ckp1 = weight / weight_sum if weight_sum != 0 else 0.0  # c_{k+1} = w_k / Σ w
        s["k"] = t

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        adamw_schedulefree(
            param, grad, state["z"], state["exp_avg_sq"], step=t, lr=self._scheduled_lr,
            ckp1=self._ckp1, betas=h["betas"], eps=h["eps"], weight_decay=h["weight_decay"],
            work=work,
        )
