"""Amos (Tian & Parikh 2022), with the semantics of the authors' jestimator ``amos``."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from ..backend import array_module
from ._ops import ema_
from .base import Array, Optimizer, check_beta, check_nonnegative
from .registry import register

ShapeFn = Callable[[str, tuple[int, ...]], tuple[int, ...]]


def default_eta(name: str, shape: tuple[int, ...]) -> float:
    """η, the expected magnitude of a variable's entries, from its shape: 0.5 for vectors and
    scalars (biases), sqrt(2 / fan_in) for a matrix in optimlab's (in, out) layout, matching
    its He-initialized weights. jestimator's MNIST example uses sqrt(2 / fan_in) for its hidden
    dense layer and sqrt(1 / fan_in) for the output layer."""
    return math.sqrt(2.0 / shape[0]) if len(shape) >= 2 else 0.5


def amos(
    param: Array, grad: Array, v: Array, b: Array, ema_update: Array | None, *, step: int,
    lr: float, eta: float, beta: float = 0.999, momentum: float = 0.0, clip_value: float | None = None,
    extra_l2: float = 0.0, d_coef: float = 0.25, c_coef: float = 0.25,
    epsilon: float = 2.0**-125, work: list[Array],
) -> None:
    r"""One Amos step, in place. ξ is the global learning rate ``lr``; η is this variable's scale.

    .. math::
        v_t &= \beta v_{t-1} + (1-\beta)\, g_t^2
              \qquad (g_t^2 \text{ averaged over the axes along which } v \text{ is reduced}) \\
        r_t &= (1-\beta^t) / \max(v_t, \varepsilon) \qquad (= 1/\hat v_t) \\
        \gamma_t &= \frac{\xi^2\, r_t\, g_t^2}{\sqrt{1 + c\sqrt{\xi}\, b_{t-1}}}, \qquad
        d_t = \frac{1}{1 + d\sqrt{\xi\eta}\, b_{t-1}} \\
        u_t &= d_t\Big(-(\tfrac12\gamma_t + \lambda_{extra})\,\theta_{t-1}
                      - \xi\eta\sqrt{r_t}\, g_t\Big) \\
        b_t &= b_{t-1} + \gamma_t (1 + b_{t-1}), \qquad \theta_t = \theta_{t-1} + u_t

    An Adam-like step ξη g/√v̂ plus an adaptive weight decay ½γ_t that fades as b grows; both
    damped by d_t. With ``momentum`` the update is averaged first (EMA, no bias correction);
    with ``clip_value`` each gradient entry is clipped to ±clip_value before anything else.
    """
    xp = array_module(param)
    theta, xi, t = param, lr, step
    g = xp.clip(grad, -clip_value, clip_value, out=work[0]) if clip_value else grad

    def small(i: int) -> Array:  # scratch with v's shape (v may be reduced)
        return work[i].reshape(-1)[: v.size].reshape(v.shape)

    g2 = xp.square(g, out=work[1])  # g_t², averaged over the reduced axes of v
    if v.shape != g.shape:
        reduced = tuple(i for i in range(g.ndim) if v.ndim == 0 or v.shape[i] < g.shape[i])
        g2 = g2.mean(axis=reduced, keepdims=v.ndim > 0)
    v *= beta  # v_t = β v_{t-1} + (1 − β) g_t²
    v += xp.multiply(g2, 1.0 - beta, out=small(2))
    r = xp.maximum(v, epsilon, out=small(2))  # r_t = (1 − β^t) / max(v_t, ε)
    xp.divide(1.0 - beta**t, r, out=r)
    gamma = xp.multiply(b, c_coef * math.sqrt(xi), out=small(3))  # γ_t = ξ² r_t g_t² / sqrt(1 + c √ξ b)
    gamma += 1.0
    xp.sqrt(gamma, out=gamma)
    xp.divide(xi * xi, gamma, out=gamma)
    gamma *= r
    gamma *= g2
    d = xp.multiply(b, d_coef * math.sqrt(xi * eta), out=small(4))  # d_t = 1 / (1 + d √(ξη) b)
    d += 1.0
    xp.reciprocal(d, out=d)
    growth = xp.add(b, 1.0, out=small(5))  # b_t = b_{t-1} + γ_t (1 + b_{t-1})
    growth *= gamma
    b += growth
    pull = xp.multiply(gamma, -0.5, out=small(5))  # u_t = d_t(−(½γ_t + λ_extra) θ − ξη √r_t g_t)
    pull -= extra_l2
    u = xp.multiply(theta, pull, out=work[6])
    step_dir = xp.sqrt(r, out=r)
    step_dir = xp.multiply(g, step_dir, out=work[1])
    step_dir *= xi * eta
    u -= step_dir
    u *= d
    if ema_update is not None:  # u_t ← μ ū_{t-1} + (1 − μ) u_t
        u = ema_(ema_update, u, momentum, work[1])
    theta += u


@register
class Amos(Optimizer):
    """Amos. ``lr`` is the global learning rate ξ (the authors suggest about 1/sqrt(number of
    batches in the training set)); ``eta`` the per-variable scale η: a number, a dict
    ``name -> number``, or a function ``(name, shape) -> number`` (default: :func:`default_eta`).
    ``reduce`` shrinks the second moment: None (elementwise, the default), ``"scalar"`` (one
    number per tensor), or a function ``(name, shape) -> shape of v`` (jestimator's shape_fn).
    The other defaults are jestimator's; optimlab's ``lr=1e-2`` default is its own choice
    (jestimator has none)."""

    defaults = dict(
        lr=1e-2, eta=None, beta=0.999, momentum=0.0, clip_value=None, extra_l2=0.0,
        d_coef=0.25, c_coef=0.25, epsilon=2.0**-125, reduce=None, maximize=False,
    )
    checks = dict(
        lr=check_nonnegative, beta=check_beta, momentum=check_beta, extra_l2=check_nonnegative,
        d_coef=check_nonnegative, c_coef=check_nonnegative, epsilon=check_nonnegative,
    )
    elementwise = False  # η differs per variable and v may be reduced per tensor
    scratch = 7

    def check_combination(self, hyper: dict[str, Any]) -> None:
        clip = hyper["clip_value"]
        if clip is not None:
            check_nonnegative("clip_value", clip)
        eta = hyper["eta"]
        if not (eta is None or callable(eta) or isinstance(eta, (Mapping, int, float))):
            raise TypeError(f"invalid eta: {eta!r} (a number, a dict name -> number, or a function)")
        red = hyper["reduce"]
        if not (red is None or red == "scalar" or callable(red)):
            raise ValueError(f"invalid reduce: {red!r} (None, 'scalar' or a function)")

    def eta_of(self, name: str, shape: tuple[int, ...]) -> float:
        eta = self.hyper["eta"]
        if eta is None:
            value = default_eta(name, shape)
        elif callable(eta):
            value = eta(name, shape)
        elif isinstance(eta, Mapping):
            if name not in eta:
                raise ValueError(f"eta has no entry for parameter {name!r}")
            value = eta[name]
        else:
            value = eta
        if not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"invalid eta for {name!r}: {value!r} (must be a number > 0)")
        return float(value)

    def v_shape(self, name: str, shape: tuple[int, ...]) -> tuple[int, ...]:
        red = self.hyper["reduce"]
        if red is None:
            return shape
        if red == "scalar":
            return ()
        vs = tuple(red(name, shape))
        if vs and (len(vs) != len(shape) or any(a not in (1, n) for a, n in zip(vs, shape))):
            raise ValueError(
                f"reduce gave shape {vs} for {name!r} of shape {shape}: each axis must be 1 or kept"
            )
        return vs

    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        return ("v", "b") + (("ema_update",) if hyper["momentum"] else ())

    def init_state(self, name: str, param: Array) -> dict[str, Array]:
        xp = array_module(param)
        vs = self.v_shape(name, param.shape)
        self.eta_of(name, param.shape)  # fail early on a bad eta
        state = {"v": xp.zeros(vs, param.dtype), "b": xp.zeros(vs, param.dtype)}
        if self.hyper["momentum"]:
            state["ema_update"] = xp.zeros_like(param)
        return state

    def update(self, param, grad, state, work, t, names) -> None:
        h = self.hyper
        amos(
            param, grad, state["v"], state["b"], state.get("ema_update"), step=t, lr=h["lr"],
            eta=self.eta_of(names[0], param.shape), beta=h["beta"], momentum=h["momentum"],
            clip_value=h["clip_value"], extra_l2=h["extra_l2"], d_coef=h["d_coef"],
            c_coef=h["c_coef"], epsilon=h["epsilon"], work=work,
        )
