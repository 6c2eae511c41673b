"""Allocation-free building blocks shared by the update rules.

Every helper writes into arrays it is given (the state, or a scratch buffer) with ``out=``
ufuncs, so a step allocates no array. Each one is a line of an equation:

    ema_(m, g, β, tmp)        m ← β m + (1 − β) g
    ema_sq_(v, g, β, tmp)     v ← β v + (1 − β) g²
    with_l2(g, θ, λ, out)     g + λ θ               (L2 regularization, "coupled" decay)
    decay_(θ, f)              θ ← f θ               (decoupled weight decay, f = 1 − ηλ)
    add_scaled_(x, a, y, tmp) x ← x + a y
"""

from __future__ import annotations

from typing import Any

from ..backend import array_module

Array = Any


def ema_(avg: Array, x: Array, beta: float, tmp: Array) -> Array:
    """In place: avg ← β·avg + (1 − β)·x."""
    xp = array_module(avg)
    avg *= beta
    avg += xp.multiply(x, 1.0 - beta, out=tmp)
    return avg


def ema_sq_(avg: Array, x: Array, beta: float, tmp: Array) -> Array:
    """In place: avg ← β·avg + (1 − β)·x²."""
    xp = array_module(avg)
    avg *= beta
    xp.square(x, out=tmp)
    tmp *= 1.0 - beta
    avg += tmp
    return avg


def with_l2(grad: Array, theta: Array, weight_decay: float, out: Array) -> Array:
    """g + λθ, written to ``out`` (the caller's gradient is never modified); g itself if λ = 0."""
    if weight_decay == 0:
        return grad
    xp = array_module(out)
    xp.multiply(theta, weight_decay, out=out)
    out += grad
    return out


def decay_(theta: Array, factor: float) -> None:
    """In place: θ ← factor·θ (decoupled weight decay, factor = 1 − ηλ)."""
    if factor != 1.0:
        theta *= factor


def add_scaled_(x: Array, a: float, y: Array, tmp: Array) -> None:
    """In place: x ← x + a·y (``tmp`` may be ``y`` itself when y is scratch)."""
    if a == 1.0:  # (saves a pass over memory; 1·y is y exactly)
        x += y
        return
    xp = array_module(x)
    x += xp.multiply(y, a, out=tmp)


def weight_decayed_grad(
    theta: Array, grad: Array, lr: float, weight_decay: float, decoupled: bool, out: Array
) -> Array:
    """Apply weight decay the torch way and return the gradient the moments should see.

    decoupled (AdamW):  θ ← (1 − ηλ) θ, and g is returned unchanged;
    coupled (L2):       g + λ θ is returned (θ unchanged).
    """
    if decoupled:
        decay_(theta, 1.0 - lr * weight_decay)
        return grad
    return with_l2(grad, theta, weight_decay, out)
