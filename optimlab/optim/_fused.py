"""Fast paths (``fused=True``): SGD, Adam/AdamW and Lion as one-pass numba kernels.

The plain rules (:func:`~optimlab.optim.sgd.sgd`, :func:`~optimlab.optim.adam.adam`,
:func:`~optimlab.optim.lion.lion`) are written like their equations, one NumPy operation per
term, so a step sweeps memory a dozen times. A kernel here computes the same thing in one
sweep: for every element it reads θ, g and the state once, does the rule's float operations
*in the rule's order and precision*, and writes θ and the state once. The results agree with
the plain rule to round-off (in practice bit for bit); ``tests/test_fused.py`` checks that, and
the cross-checks against torch.

Which kernel runs is decided in :meth:`Optimizer.step`; the classes call these wrappers
from ``fused_update``. Needs numba (``pip install "optimlab[fast]"``). This module is
imported only when a ``fused=True`` optimizer steps, never by ``import optimlab.optim``.

Scalars are converted to the arrays' dtype before the loop, as NumPy does with a Python
float in ``θ *= β``, so float32 stays float32 throughout.

Threads. The kernels are plain loops compiled with ``nogil=True``: :meth:`Optimizer.step`
runs them on its own block threads (``_blocks.py``, the same threads as the plain path), a
large array cut into one part per thread, so one step of many arrays costs one hand-out of
work, not one parallel launch per array, and small arrays pay a call (about a microsecond), not
a wake-up of threads. ``error_model="numpy"`` (a division by zero gives inf or NaN, as in NumPy, instead of
raising) is also what lets LLVM vectorize the loops.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from ..backend import all_finite as _all_finite_any

_kernel = numba.njit(nogil=True, cache=True, error_model="numpy")


def _flat(a):
    return a.reshape(-1)  # a view: the caller checked that every array is C-contiguous


# ----------------------------------------------------------------------------- finiteness
@numba.njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})
def _has_nonfinite(x):
    """Whether an entry is NaN or ±Inf: ``not optimlab.backend.all_finite(x)``.

    x − x is exactly 0 for a finite x and NaN otherwise, so the sum is 0 or NaN; reassociation
    (only that: NaN still propagates) lets the sum run in SIMD lanes.
    """
    total = x.dtype.type(0)
    for i in range(x.size):
        total += x[i] - x[i]
    return total != total


def all_finite(x) -> bool:
    """``backend.all_finite`` in one pass, for the check before every step (a block of it)."""
    if isinstance(x, np.ndarray) and x.flags.c_contiguous and x.dtype in (np.float32, np.float64):
        return not _has_nonfinite(_flat(x))
    return _all_finite_any(x)


# ----------------------------------------------------------------------------- SGD
@_kernel
def _sgd(theta, grad, buf, maximize, weight_decay, momentum, one_minus_dampening, first_step,
         nesterov, minus_lr):
    """Must equal ``optimlab.optim.sgd.sgd`` (after the −∇f of ``maximize``)."""
    for i in range(theta.size):
        g = -grad[i] if maximize else grad[i]
        th = theta[i]
        if weight_decay != 0:
            g = th * weight_decay + g  # g_t = ∇L + λθ
        d = g
        if momentum != 0:
            if first_step:
                b = g  # b_1 = g_1
            else:
                b = buf[i] * momentum + g * one_minus_dampening  # b_t = μ b_{t-1} + (1 − τ) g_t
            buf[i] = b
            d = b * momentum + g if nesterov else b  # d_t = g_t + μ b_t, or b_t
        theta[i] = th + d * minus_lr  # θ_t = θ_{t-1} − η d_t


def sgd(param, grad, momentum_buffer, *, step, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
        nesterov=False, maximize=False) -> None:
    """One SGD step in one pass: :func:`optimlab.optim.sgd.sgd` with ``maximize`` folded in."""
    s = param.dtype.type
    buf = momentum_buffer if momentum_buffer is not None else param[:0]  # unused when μ = 0
    _sgd(
        _flat(param), _flat(grad), _flat(buf), maximize, s(weight_decay), s(momentum),
        s(1.0 - dampening), step == 1, nesterov, s(-lr),
    )


# ----------------------------------------------------------------------------- Adam, AdamW
@_kernel
def _adam(theta, grad, m, v, v_max, maximize, amsgrad, l2, decay, beta1, one_minus_beta1, beta2,
          one_minus_beta2, sqrt_bias_correction2, eps, minus_step_size):
    """Must equal ``optimlab.optim.adam.adam`` (after the −∇f of ``maximize``)."""
    for i in range(theta.size):
        g = -grad[i] if maximize else grad[i]
        th = theta[i]
        if l2 != 0:
            g = th * l2 + g  # L2: g_t = ∇L + λθ
        th = th * decay  # AdamW: θ ← (1 − ηλ) θ (decay = 1 otherwise)
        m_t = m[i] * beta1 + g * one_minus_beta1  # m_t = β1 m_{t-1} + (1 − β1) g_t
        v_t = v[i] * beta2 + (g * g) * one_minus_beta2  # v_t = β2 v_{t-1} + (1 − β2) g_t²
        m[i] = m_t
        v[i] = v_t
        if amsgrad:  # v_t ← max(v^max_{t-1}, v_t)
            v_t = max(v_max[i], v_t)
            v_max[i] = v_t
        denom = np.sqrt(v_t) / sqrt_bias_correction2 + eps  # sqrt(v̂_t) + ε
        theta[i] = th + (m_t / denom) * minus_step_size  # θ_t = θ_{t-1} − η/(1−β1^t) m_t / denom


def adam(param, grad, exp_avg, exp_avg_sq, max_exp_avg_sq, *, step, lr, betas, eps,
         weight_decay=0.0, decoupled_weight_decay=False, maximize=False) -> None:
    """One Adam/AdamW step in one pass: :func:`optimlab.optim.adam.adam` with ``maximize``."""
    v_max = max_exp_avg_sq if max_exp_avg_sq is not None else param[:0]  # unused without AMSGrad
    _adam(
        _flat(param), _flat(grad), _flat(exp_avg), _flat(exp_avg_sq), _flat(v_max), maximize,
        max_exp_avg_sq is not None,
        *_adam_scalars(param.dtype.type, step, lr, betas, eps, weight_decay, decoupled_weight_decay),
    )


@functools.lru_cache(maxsize=64)  # the same for every array (and part) of a step
def _adam_scalars(s, step, lr, betas, eps, weight_decay, decoupled_weight_decay):
    """The scalars of ``_adam``, l2 to minus_step_size, in the arrays' dtype ``s``."""
    beta1, beta2 = betas
    l2, decay = (0.0, 1.0 - lr * weight_decay) if decoupled_weight_decay else (weight_decay, 1.0)
    return (
        s(l2), s(decay), s(beta1), s(1.0 - beta1), s(beta2), s(1.0 - beta2),
        s(np.sqrt(1.0 - beta2**step)), s(eps), s(-lr / (1.0 - beta1**step)),
    )


# ----------------------------------------------------------------------------- Lion
@_kernel
def _lion(theta, grad, m, maximize, decay, beta1, one_minus_beta1, beta2, one_minus_beta2, minus_lr):
    """Must equal ``optimlab.optim.lion.lion`` (after the −∇f of ``maximize``)."""
    one, zero = theta.dtype.type(1), theta.dtype.type(0)
    for i in range(theta.size):
        g = -grad[i] if maximize else grad[i]
        m_prev = m[i]
        c = m_prev * beta1 + g * one_minus_beta1  # c_t = sign(β1 m_{t-1} + (1 − β1) g_t)
        c = one if c > zero else (-one if c < zero else c * zero)  # np.sign (NaN stays NaN)
        theta[i] = theta[i] * decay + c * minus_lr  # θ_t = (1 − ηλ) θ_{t-1} − η c_t
        m[i] = m_prev * beta2 + g * one_minus_beta2  # m_t = β2 m_{t-1} + (1 − β2) g_t


def lion(param, grad, exp_avg, *, lr, betas, weight_decay=0.0, maximize=False) -> None:
    """One Lion step in one pass: :func:`optimlab.optim.lion.lion` with ``maximize``."""
    s = param.dtype.type
    beta1, beta2 = betas
    _lion(
        _flat(param), _flat(grad), _flat(exp_avg), maximize, s(1.0 - lr * weight_decay), s(beta1),
        s(1.0 - beta1), s(beta2), s(1.0 - beta2), s(-lr),
    )
