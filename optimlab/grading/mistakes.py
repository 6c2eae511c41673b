r"""The catalogue of known mistakes: each one a wrong variant of an exercise's reference.

When a student's function disagrees with the reference, the check runs every variant listed
here for that exercise on the very inputs where the disagreement showed, and names the variant
that reproduces the student's numbers. Two kinds of mistake are recognized another way:

* ``detect="mutation"``: the outputs are right but the function changed an array the caller
  passed in (found by giving the function copies and comparing them afterwards);
* ``detect="nondeterministic"``: two calls with the same arguments gave different results
  (an unseeded random generator).

Every variant has the exercise's signature; ``tests/test_grading_checks.py`` feeds each one
to its check and expects exactly that diagnosis, and ``tests/test_grading_mistakes.py`` checks
that code a student would write is named, on finite numbers. A mistake that depends on a
constant or a convention the student picks (the ``tiny`` of ``log(p + tiny)``, the side sign(0)
falls on) is registered once per common choice, all under one key.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Mistake:
    """A named, explained mistake and a wrong implementation that makes it."""

    key: str
    title: str
    hint: str
    impl: Callable = field(repr=False, compare=False)
    detect: str = "output"  # or "mutation", "nondeterministic"

    def to_dict(self) -> dict[str, str]:
        return {"key": self.key, "title": self.title, "hint": self.hint}


CATALOGUE: dict[str, list[Mistake]] = {}


def mistake(exercise: str, key: str, title: str, hint: str, detect: str = "output"):
    """Register the decorated function as a wrong variant of ``exercise``."""

    def register(fn: Callable) -> Callable:
        CATALOGUE.setdefault(exercise, []).append(Mistake(key, title, hint, fn, detect))
        return fn

    return register


IN_PLACE_TITLE = "updates in place an array the caller still needs"
IN_PLACE_HINT = (
    "Your function changed `{arg}`, an array the caller passed in (for example with `{arg} -= ...`, "
    "`{arg} *= ...` or `{arg}[...] = ...`). The caller may "
    "still need the old values: compute new arrays (`{arg} = {arg} - ...`) and return them."
)


def _f(*arrays: Array) -> list[Array]:
    return [np.asarray(a, dtype=np.float64) for a in arrays]


# ============================================================================ 01 gd_step
@mistake("gd_step", "ascent", "steps uphill (+ instead of −)",
         "The gradient points uphill; a descent step subtracts it: θ_t = θ_{t-1} − η g_t.")
def _gd_ascent(theta, grad, lr):
    return np.asarray(theta) + lr * np.asarray(grad)


@mistake("gd_step", "no_lr", "forgets the learning rate",
         "The step is the gradient scaled by η: θ_t = θ_{t-1} − η g_t, not θ_{t-1} − g_t.")
def _gd_no_lr(theta, grad, lr):
    return np.asarray(theta) - np.asarray(grad)


@mistake("gd_step", "in_place", IN_PLACE_TITLE, IN_PLACE_HINT, detect="mutation")
def _gd_in_place(theta, grad, lr):
    theta -= lr * grad
    return theta


# ============================================================================ 03 momentum_step
@mistake("momentum_step", "sutskever_form", "stores the velocity with η inside (Sutskever form)",
         "Your buffer holds −η·(momentum): b_t = μ b_{t-1} − η g_t, θ_t = θ_{t-1} + b_t. That is the "
         "Sutskever et al. form; the course (and torch) keep η outside: b_t = μ b_{t-1} + (1 − τ) g_t, "
         "θ_t = θ_{t-1} − η b_t. Both agree only while η never changes.")
def _mom_sutskever(theta, grad, buf, t, lr, momentum=0.9, dampening=0.0):
    theta, grad, buf = _f(theta, grad, buf)
    buf = -lr * grad if t == 1 else momentum * buf - lr * (1 - dampening) * grad
    return theta + buf, buf


@mistake("momentum_step", "ema_form", "averages instead of accumulating (EMA form)",
         "Your buffer is an average, b_t = μ b_{t-1} + (1 − μ) g_t. Heavy-ball momentum accumulates: "
         "b_t = μ b_{t-1} + (1 − τ) g_t, with the dampening τ (0 by default), not 1 − μ.")
def _mom_ema(theta, grad, buf, t, lr, momentum=0.9, dampening=0.0):
    theta, grad, buf = _f(theta, grad, buf)
    buf = grad if t == 1 else momentum * buf + (1 - momentum) * grad
    return theta - lr * buf, buf


@mistake("momentum_step", "first_step_dampened", "dampens the first step",
         "At t = 1 the buffer is the gradient itself, b_1 = g_1, without the factor (1 − τ) "
         "(torch's rule); dampening applies from t = 2 on.")
def _mom_first_dampened(theta, grad, buf, t, lr, momentum=0.9, dampening=0.0):
    theta, grad, buf = _f(theta, grad, buf)
    buf = (1 - dampening) * grad if t == 1 else momentum * buf + (1 - dampening) * grad
    return theta - lr * buf, buf


@mistake("momentum_step", "dampening_ignored", "ignores the dampening",
         "With dampening τ the new gradient enters the buffer scaled by (1 − τ): "
         "b_t = μ b_{t-1} + (1 − τ) g_t (from t = 2 on).")
def _mom_no_dampening(theta, grad, buf, t, lr, momentum=0.9, dampening=0.0):
    theta, grad, buf = _f(theta, grad, buf)
    buf = grad if t == 1 else momentum * buf + grad
    return theta - lr * buf, buf


@mistake("momentum_step", "old_buffer", "steps with the old buffer",
         "Update the buffer first, then step with the new one: θ_t = θ_{t-1} − η b_t, not η b_{t-1}.")
def _mom_old_buffer(theta, grad, buf, t, lr, momentum=0.9, dampening=0.0):
    theta, grad, buf = _f(theta, grad, buf)
    new = grad if t == 1 else momentum * buf + (1 - dampening) * grad
    return theta - lr * buf, new


@mistake("momentum_step", "dampening_not_one_minus", "scales the gradient by τ instead of (1 − τ)",
         "The dampening τ is the share of the gradient left *out*: b_t = μ b_{t-1} + (1 − τ) g_t. With "
         "τ g_t the default τ = 0 drops the gradient from the buffer from t = 2 on.")
def _mom_tau(theta, grad, buf, t, lr, momentum=0.9, dampening=0.0):
    theta, grad, buf = _f(theta, grad, buf)
    buf = grad if t == 1 else momentum * buf + dampening * grad
    return theta - lr * buf, buf


@mistake("momentum_step", "in_place", IN_PLACE_TITLE, IN_PLACE_HINT, detect="mutation")
def _mom_in_place(theta, grad, buf, t, lr, momentum=0.9, dampening=0.0):
    if t == 1:
        buf[...] = grad
    else:
        buf *= momentum
        buf += (1 - dampening) * grad
    theta -= lr * buf
    return theta, buf


# ============================================================================ 03 nesterov_step
@mistake("nesterov_step", "heavy_ball", "forgets the look-ahead (plain heavy ball)",
         "Nesterov steps along g_t + μ b_t, the gradient plus the momentum it is about to add; "
         "stepping along b_t alone is plain heavy-ball momentum.")
def _nest_heavy(theta, grad, buf, t, lr, momentum=0.9):
    theta, grad, buf = _f(theta, grad, buf)
    buf = grad if t == 1 else momentum * buf + grad
    return theta - lr * buf, buf


@mistake("nesterov_step", "ema_form", "averages instead of accumulating (EMA form)",
         "The buffer accumulates the gradients, b_t = μ b_{t-1} + g_t; an average, "
         "μ b_{t-1} + (1 − μ) g_t, shrinks the steps by (1 − μ).")
def _nest_ema(theta, grad, buf, t, lr, momentum=0.9):
    theta, grad, buf = _f(theta, grad, buf)
    buf = grad if t == 1 else momentum * buf + (1 - momentum) * grad
    return theta - lr * (grad + momentum * buf), buf


@mistake("nesterov_step", "lookahead_without_gradient", "steps along μ b_t only",
         "The Nesterov direction is the gradient *plus* the look-ahead: d_t = g_t + μ b_t.")
def _nest_no_grad(theta, grad, buf, t, lr, momentum=0.9):
    theta, grad, buf = _f(theta, grad, buf)
    buf = grad if t == 1 else momentum * buf + grad
    return theta - lr * momentum * buf, buf


@mistake("nesterov_step", "in_place", IN_PLACE_TITLE, IN_PLACE_HINT, detect="mutation")
def _nest_in_place(theta, grad, buf, t, lr, momentum=0.9):
    if t == 1:
        buf[...] = grad
    else:
        buf *= momentum
        buf += grad
    theta -= lr * (grad + momentum * buf)
    return theta, buf


# ============================================================================ 04 adagrad_step
@mistake("adagrad_step", "eps_inside_sqrt", "puts ε inside the square root",
         "The reference adds ε outside the root: g_t / (√G_t + ε), not g_t / √(G_t + ε).")
def _ada_eps_in(theta, grad, sum_sq, lr=1e-2, eps=1e-10):
    theta, grad, G = _f(theta, grad, sum_sq)
    G = G + grad**2
    return theta - lr * grad / np.sqrt(G + eps), G


@mistake("adagrad_step", "no_accumulation", "forgets the history (G_t = g_t²)",
         "AdaGrad *sums* the squared gradients of all steps: G_t = G_{t-1} + g_t², not G_t = g_t².")
def _ada_no_acc(theta, grad, sum_sq, lr=1e-2, eps=1e-10):
    theta, grad = _f(theta, grad)
    G = grad**2
    return theta - lr * grad / (np.sqrt(G) + eps), G


@mistake("adagrad_step", "old_accumulator", "divides by the old sum G_{t-1}",
         "Add g_t² to the sum first, then divide by √G_t: the current gradient is part of its own scale.")
def _ada_old(theta, grad, sum_sq, lr=1e-2, eps=1e-10):
    theta, grad, G = _f(theta, grad, sum_sq)
    step = lr * grad / (np.sqrt(G) + eps)
    return theta - step, G + grad**2


@mistake("adagrad_step", "no_sqrt", "forgets the square root",
         "Divide by the root of the sum, √G_t + ε: G_t has the units of g², √G_t those of g.")
def _ada_no_sqrt(theta, grad, sum_sq, lr=1e-2, eps=1e-10):
    theta, grad, G = _f(theta, grad, sum_sq)
    G = G + grad**2
    return theta - lr * grad / (G + eps), G


@mistake("adagrad_step", "in_place", IN_PLACE_TITLE, IN_PLACE_HINT, detect="mutation")
def _ada_in_place(theta, grad, sum_sq, lr=1e-2, eps=1e-10):
    sum_sq += grad * grad
    theta -= lr * grad / (np.sqrt(sum_sq) + eps)
    return theta, sum_sq


# ============================================================================ 05 rmsprop_step
@mistake("rmsprop_step", "eps_inside_sqrt", "puts ε inside the square root",
         "The reference (torch) adds ε outside the root: g_t / (√v_t + ε), not g_t / √(v_t + ε).")
def _rms_eps_in(theta, grad, square_avg, lr=1e-2, alpha=0.99, eps=1e-8):
    theta, grad, v = _f(theta, grad, square_avg)
    v = alpha * v + (1 - alpha) * grad**2
    return theta - lr * grad / np.sqrt(v + eps), v


@mistake("rmsprop_step", "alpha_swapped", "swaps α and 1 − α",
         "The old average keeps the weight α (close to 1): v_t = α v_{t-1} + (1 − α) g_t².")
def _rms_swapped(theta, grad, square_avg, lr=1e-2, alpha=0.99, eps=1e-8):
    theta, grad, v = _f(theta, grad, square_avg)
    v = (1 - alpha) * v + alpha * grad**2
    return theta - lr * grad / (np.sqrt(v) + eps), v


@mistake("rmsprop_step", "old_square_avg", "divides by the old average v_{t-1}",
         "Update v first, then divide by √v_t + ε: the current gradient is part of its own scale.")
def _rms_old(theta, grad, square_avg, lr=1e-2, alpha=0.99, eps=1e-8):
    theta, grad, v = _f(theta, grad, square_avg)
    new = alpha * v + (1 - alpha) * grad**2
    return theta - lr * grad / (np.sqrt(v) + eps), new


@mistake("rmsprop_step", "no_sqrt", "forgets the square root",
         "Divide by the root mean square, √v_t + ε (v_t has the units of g², √v_t those of g).")
def _rms_no_sqrt(theta, grad, square_avg, lr=1e-2, alpha=0.99, eps=1e-8):
    theta, grad, v = _f(theta, grad, square_avg)
    v = alpha * v + (1 - alpha) * grad**2
    return theta - lr * grad / (v + eps), v


@mistake("rmsprop_step", "in_place", IN_PLACE_TITLE, IN_PLACE_HINT, detect="mutation")
def _rms_in_place(theta, grad, square_avg, lr=1e-2, alpha=0.99, eps=1e-8):
    square_avg *= alpha
    square_avg += (1 - alpha) * grad * grad
    theta -= lr * grad / (np.sqrt(square_avg) + eps)
    return theta, square_avg


# ============================================================================ 05 adadelta_step
@mistake("adadelta_step", "eps_outside_sqrt", "puts ε outside the square roots",
         "Adadelta puts ε *inside* both roots: Δ_t = √(u_{t-1} + ε) / √(v_t + ε) · g_t. Outside, "
         "the first steps (u = 0) are almost zero.")
def _delta_eps_out(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    theta, grad, v, u = _f(theta, grad, square_avg, acc_delta)
    v = rho * v + (1 - rho) * grad**2
    delta = (np.sqrt(u) + eps) / (np.sqrt(v) + eps) * grad
    return theta - lr * delta, v, rho * u + (1 - rho) * delta**2


@mistake("adadelta_step", "ratio_inverted", "inverts the ratio of the two RMS",
         "The step is RMS[Δ]_{t-1} / RMS[g]_t · g_t = √(u_{t-1} + ε) / √(v_t + ε) · g_t: the "
         "update's RMS on top, the gradient's below.")
def _delta_inverted(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    theta, grad, v, u = _f(theta, grad, square_avg, acc_delta)
    v = rho * v + (1 - rho) * grad**2
    delta = np.sqrt(v + eps) / np.sqrt(u + eps) * grad
    return theta - lr * delta, v, rho * u + (1 - rho) * delta**2


@mistake("adadelta_step", "acc_delta_of_grad", "accumulates g² instead of Δ² in u",
         "u_t is the running average of the squared *updates*: u_t = ρ u_{t-1} + (1 − ρ) Δ_t².")
def _delta_acc_grad(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    theta, grad, v, u = _f(theta, grad, square_avg, acc_delta)
    v = rho * v + (1 - rho) * grad**2
    delta = np.sqrt(u + eps) / np.sqrt(v + eps) * grad
    return theta - lr * delta, v, rho * u + (1 - rho) * grad**2


@mistake("adadelta_step", "lr_in_acc_delta", "accumulates the scaled update (ηΔ_t)² in u",
         "η multiplies the parameter step only: u_t = ρ u_{t-1} + (1 − ρ) Δ_t² with the unscaled "
         "Δ_t, then θ_t = θ_{t-1} − η Δ_t (torch's rule). With η inside, u_t changes with η.")
def _delta_lr_in_u(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    theta, grad, v, u = _f(theta, grad, square_avg, acc_delta)
    v = rho * v + (1 - rho) * grad**2
    step = lr * np.sqrt(u + eps) / np.sqrt(v + eps) * grad
    return theta - step, v, rho * u + (1 - rho) * step**2


@mistake("adadelta_step", "in_place", IN_PLACE_TITLE, IN_PLACE_HINT, detect="mutation")
def _delta_in_place(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
    square_avg *= rho
    square_avg += (1 - rho) * grad * grad
    delta = np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad
    acc_delta *= rho
    acc_delta += (1 - rho) * delta * delta
    theta -= lr * delta
    return theta, square_avg, acc_delta


# ============================================================================ 06 adam_step
def _adam_parts(theta, grad, m, v, beta1, beta2):
    theta, grad, m, v = _f(theta, grad, m, v)
    return theta, grad, beta1 * m + (1 - beta1) * grad, beta2 * v + (1 - beta2) * grad**2


@mistake("adam_step", "no_bias_correction", "no bias correction",
         "m and v start at 0, so early on they are too small by the factors 1 − β1^t and 1 − β2^t. "
         "Step with m̂_t = m_t / (1 − β1^t) and v̂_t = v_t / (1 − β2^t) (but store m_t and v_t).")
def _adam_no_bc(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    return theta - lr * m / (np.sqrt(v) + eps), m, v


@mistake("adam_step", "t_from_zero", "t starting at 0 (bias correction with t − 1)",
         "t counts the steps from 1: the first step has t = 1 and divides by 1 − β^1. With t − 1 "
         "(a counter that starts at 0) the first step divides by 1 − β^0 = 0.")
def _adam_t0(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    with np.errstate(all="ignore"):
        m_hat = m / (1 - beta1 ** (t - 1)) if t > 1 else m / 0.0
        v_hat = v / (1 - beta2 ** (t - 1)) if t > 1 else v / 0.0
        return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@mistake("adam_step", "eps_inside_sqrt", "puts ε inside the square root",
         "The reference adds ε after the root: m̂_t / (√v̂_t + ε), not m̂_t / √(v̂_t + ε).")
def _adam_eps_in(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return theta - lr * m_hat / np.sqrt(v_hat + eps), m, v


@mistake("adam_step", "wrong_moment_corrected", "bias-corrects each moment with the other's β",
         "Each moment is corrected with its own rate: m̂_t = m_t / (1 − β1^t) and "
         "v̂_t = v_t / (1 − β2^t).")
def _adam_swapped_bc(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta2**t), v / (1 - beta1**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@mistake("adam_step", "only_m_corrected", "bias-corrects m but not v",
         "Both moments need their correction: v̂_t = v_t / (1 − β2^t) too. Without it the early "
         "steps are much too large.")
def _adam_only_m(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    return theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v) + eps), m, v


@mistake("adam_step", "stores_corrected_moments", "stores the bias-corrected moments",
         "Return m_t and v_t, not m̂_t and v̂_t: the correction is for the step only. Stored, it "
         "compounds from one step to the next.")
def _adam_store_hat(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m_hat, v_hat


@mistake("adam_step", "betas_swapped", "uses β2 for m and β1 for v",
         "The first moment uses β1 (0.9): m_t = β1 m_{t-1} + (1 − β1) g_t; the second uses β2 "
         "(0.999): v_t = β2 v_{t-1} + (1 − β2) g_t².")
def _adam_betas_swapped(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta2, beta1)
    m_hat, v_hat = m / (1 - beta2**t), v / (1 - beta1**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@mistake("adam_step", "ema_weights_swapped", "swaps β and 1 − β in the averages",
         "The old average keeps the weight β (close to 1): m_t = β1 m_{t-1} + (1 − β1) g_t.")
def _adam_ema_swapped(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, grad, m, v = _f(theta, grad, m, v)
    m = (1 - beta1) * m + beta1 * grad
    v = (1 - beta2) * v + beta2 * grad**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@mistake("adam_step", "t_plus_one", "counts t from 0 (bias correction with t + 1)",
         "t is the number of the step, from 1: the first call has t = 1 and divides by 1 − β^1. With "
         "t + 1 the corrections are too weak (1 − β1² = 0.19 instead of 0.1 at the first step).")
def _adam_t1(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1 ** (t + 1)), v / (1 - beta2 ** (t + 1))
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


@mistake("adam_step", "efficient_form", "uses the \"efficient\" form (c): ε added to √v_t, not to √v̂_t",
         "η √(1 − β2^t)/(1 − β1^t) · m_t / (√v_t + ε) (Kingma & Ba's efficient form, (c) in chapter "
         "06 §2.4) adds ε before v is bias-corrected: it is form (a) with ε/√(1 − β2^t), 31.6 ε at "
         "t = 1. The exercise is form (a): η m̂_t / (√v̂_t + ε).")
def _adam_efficient(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    step = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
    return theta - step * m / (np.sqrt(v) + eps), m, v


@mistake("adam_step", "stores_corrected_v", "stores the bias-corrected v̂_t",
         "Return v_t, not v̂_t = v_t / (1 − β2^t): the correction is for the step only. Stored, it "
         "compounds from one step to the next.")
def _adam_store_v_hat(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v_hat


@mistake("adam_step", "in_place", IN_PLACE_TITLE, IN_PLACE_HINT, detect="mutation")
def _adam_in_place(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    theta -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return theta, m, v


# ============================================================================ 06 amsgrad_step
def _ams_ref(theta, grad, m, v, v_max, t, lr, beta1, beta2, eps, *, which="raw"):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    (v_max,) = _f(v_max)
    bc1, bc2 = 1 - beta1**t, 1 - beta2**t
    if which == "raw":
        v_max = np.maximum(v_max, v)
        denom = np.sqrt(v_max / bc2) + eps
    else:  # maximum of the bias-corrected v̂
        v_max = np.maximum(v_max, v / bc2)
        denom = np.sqrt(v_max) + eps
    return theta - lr * (m / bc1) / denom, m, v, v_max


@mistake("amsgrad_step", "no_max", "forgets the maximum (plain Adam)",
         "AMSGrad divides by the running maximum: v^max_t = max(v^max_{t-1}, v_t), then "
         "√(v^max_t / (1 − β2^t)) + ε. Return v^max_t as the fourth value.")
def _ams_no_max(theta, grad, m, v, v_max, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    (v_max,) = _f(v_max)
    return theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v, v_max


@mistake("amsgrad_step", "max_of_corrected", "keeps the maximum of the bias-corrected v̂",
         "The reference (torch) keeps the maximum of the *raw* v_t and bias-corrects it when "
         "stepping: v^max_t = max(v^max_{t-1}, v_t), denominator √(v^max_t / (1 − β2^t)) + ε.")
def _ams_max_hat(theta, grad, m, v, v_max, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    return _ams_ref(theta, grad, m, v, v_max, t, lr, beta1, beta2, eps, which="hat")


@mistake("amsgrad_step", "max_stored_in_v", "stores the maximum in v",
         "Keep two arrays: v_t is the plain moving average (it may go down), v^max_t its running "
         "maximum. Writing the maximum into v changes the average itself.")
def _ams_max_in_v(theta, grad, m, v, v_max, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, m, v, v_max = _ams_ref(theta, grad, m, v, v_max, t, lr, beta1, beta2, eps)
    return theta, m, v_max, v_max


@mistake("amsgrad_step", "eps_inside_sqrt", "puts ε inside the square root",
         "The reference adds ε after the root: √(v^max_t / (1 − β2^t)) + ε.")
def _ams_eps_in(theta, grad, m, v, v_max, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    v_max = np.maximum(np.asarray(v_max, dtype=np.float64), v)
    return theta - lr * (m / (1 - beta1**t)) / np.sqrt(v_max / (1 - beta2**t) + eps), m, v, v_max


@mistake("amsgrad_step", "no_bias_correction", "no bias correction (the AMSGrad paper's form)",
         "Reddi et al.'s AMSGrad has no bias correction; the exercise follows torch, which corrects "
         "both moments: η m̂_t / (√(v^max_t / (1 − β2^t)) + ε) with m̂_t = m_t / (1 − β1^t).")
def _ams_no_bc(theta, grad, m, v, v_max, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    v_max = np.maximum(np.asarray(v_max, dtype=np.float64), v)
    return theta - lr * m / (np.sqrt(v_max) + eps), m, v, v_max


@mistake("amsgrad_step", "in_place", IN_PLACE_TITLE, IN_PLACE_HINT, detect="mutation")
def _ams_in_place(theta, grad, m, v, v_max, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    np.maximum(v_max, v, out=v_max)
    theta -= lr * (m / (1 - beta1**t)) / (np.sqrt(v_max / (1 - beta2**t)) + eps)
    return theta, m, v, v_max


# ============================================================================ 07 adamw_step
def _adam_update(theta, grad, m, v, t, lr, beta1, beta2, eps):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    return theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps), m, v


@mistake("adamw_step", "l2_instead_of_decoupled", "L2 regularization instead of decoupled weight decay",
         "You added λθ to the gradient (Adam with L2), so the decay goes through m and v and is "
         "divided by √v̂. AdamW decays the weights directly: θ ← (1 − ηλ) θ_{t-1}, then the Adam "
         "step with the plain gradient.")
def _adamw_l2(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    theta, grad = _f(theta, grad)
    return _adam_update(theta, grad + weight_decay * theta, m, v, t, lr, beta1, beta2, eps)


@mistake("adamw_step", "decay_not_scaled_by_lr", "decays by λ instead of ηλ",
         "The decoupled decay is scaled by the learning rate: θ ← (1 − ηλ) θ (torch's AdamW), "
         "not (1 − λ) θ.")
def _adamw_no_lr(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    theta, grad = _f(theta, grad)
    return _adam_update((1 - weight_decay) * theta, grad, m, v, t, lr, beta1, beta2, eps)


@mistake("adamw_step", "decay_after_step", "decays the weights after the Adam step",
         "Decay θ_{t-1} first, θ ← (1 − ηλ) θ_{t-1}, then subtract the Adam step; decaying after "
         "the step also shrinks the step itself.")
def _adamw_after(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    theta, m, v = _adam_update(theta, grad, m, v, t, lr, beta1, beta2, eps)
    return (1 - lr * weight_decay) * theta, m, v


@mistake("adamw_step", "no_weight_decay", "forgets the weight decay",
         "AdamW is Adam plus θ ← (1 − ηλ) θ_{t-1} before the step.")
def _adamw_none(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    return _adam_update(theta, grad, m, v, t, lr, beta1, beta2, eps)


@mistake("adamw_step", "no_bias_correction", "no bias correction",
         "Step with m̂_t = m_t / (1 − β1^t) and v̂_t = v_t / (1 − β2^t), as in Adam.")
def _adamw_no_bc(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    return (1 - lr * weight_decay) * theta - lr * m / (np.sqrt(v) + eps), m, v


@mistake("adamw_step", "eps_inside_sqrt", "puts ε inside the square root",
         "The reference adds ε after the root: m̂_t / (√v̂_t + ε), not m̂_t / √(v̂_t + ε).")
def _adamw_eps_in(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    theta, grad, m, v = _adam_parts(theta, grad, m, v, beta1, beta2)
    theta = (1 - lr * weight_decay) * theta
    return theta - lr * (m / (1 - beta1**t)) / np.sqrt(v / (1 - beta2**t) + eps), m, v


@mistake("adamw_step", "t_plus_one", "counts t from 0 (bias correction with t + 1)",
         "t is the number of the step, from 1: the first call has t = 1 and divides by 1 − β^1. With "
         "t + 1 the corrections are too weak (1 − β1² = 0.19 instead of 0.1 at the first step).")
def _adamw_t1(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    theta, grad = _f(theta, grad)
    return _adam_update((1 - lr * weight_decay) * theta, grad, m, v, t + 1, lr, beta1, beta2, eps)


@mistake("adamw_step", "in_place", IN_PLACE_TITLE, IN_PLACE_HINT, detect="mutation")
def _adamw_in_place(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
    theta *= 1 - lr * weight_decay
    m *= beta1
    m += (1 - beta1) * grad
    v *= beta2
    v += (1 - beta2) * grad * grad
    theta -= lr * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + eps)
    return theta, m, v


# ============================================================================ 08 lion_step
@mistake("lion_step", "betas_swapped", "uses β2 for the sign and β1 for the momentum",
         "Lion interpolates with β1 for the step, c_t = sign(β1 m_{t-1} + (1 − β1) g_t), and "
         "updates the momentum with β2: m_t = β2 m_{t-1} + (1 − β2) g_t.")
def _lion_swapped(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    theta, grad, m = _f(theta, grad, m)
    theta = (1 - lr * weight_decay) * theta
    c = np.sign(beta2 * m + (1 - beta2) * grad)
    return theta - lr * c, beta1 * m + (1 - beta1) * grad


@mistake("lion_step", "sign_of_new_momentum", "takes the sign of the new momentum m_t",
         "The step's sign comes from β1 m_{t-1} + (1 − β1) g_t, computed *before* the momentum is "
         "updated (with β2) — the two interpolations differ.")
def _lion_new_m(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    theta, grad, m = _f(theta, grad, m)
    m = beta2 * m + (1 - beta2) * grad
    return (1 - lr * weight_decay) * theta - lr * np.sign(m), m


@mistake("lion_step", "no_sign", "forgets the sign",
         "Every coordinate moves by exactly η: θ_t = θ_{t-1} − η sign(β1 m_{t-1} + (1 − β1) g_t).")
def _lion_no_sign(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    theta, grad, m = _f(theta, grad, m)
    c = beta1 * m + (1 - beta1) * grad
    return (1 - lr * weight_decay) * theta - lr * c, beta2 * m + (1 - beta2) * grad


@mistake("lion_step", "l2_weight_decay", "adds λθ to the gradient (L2) instead of decoupled decay",
         "Lion's weight decay is decoupled: θ ← (1 − ηλ) θ_{t-1} before the signed step; inside "
         "the sign, λθ would be flattened to ±1 like everything else.")
def _lion_l2(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    theta, grad, m = _f(theta, grad, m)
    g = grad + weight_decay * theta
    return theta - lr * np.sign(beta1 * m + (1 - beta1) * g), beta2 * m + (1 - beta2) * g


@mistake("lion_step", "momentum_before_sign", "updates the momentum before taking the sign",
         "The sign uses the *old* momentum: c_t = sign(β1 m_{t-1} + (1 − β1) g_t); update "
         "m_t = β2 m_{t-1} + (1 − β2) g_t only after the step. Where g_t opposes m_{t-1} the two "
         "orders give opposite signs.")
def _lion_m_first(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    theta, grad, m = _f(theta, grad, m)
    m = beta2 * m + (1 - beta2) * grad
    return (1 - lr * weight_decay) * theta - lr * np.sign(beta1 * m + (1 - beta1) * grad), m


@mistake("lion_step", "decay_after_step", "decays the weights after the signed step",
         "Decay θ_{t-1} first, θ ← (1 − ηλ) θ_{t-1}, then subtract η c_t; decaying after the step "
         "also shrinks the step itself.")
def _lion_decay_after(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    theta, grad, m = _f(theta, grad, m)
    theta = theta - lr * np.sign(beta1 * m + (1 - beta1) * grad)
    return (1 - lr * weight_decay) * theta, beta2 * m + (1 - beta2) * grad


@mistake("lion_step", "no_weight_decay", "forgets the weight decay",
         "With weight_decay λ > 0, Lion shrinks the weights before the signed step: "
         "θ ← (1 − ηλ) θ_{t-1}.")
def _lion_no_decay(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    theta, grad, m = _f(theta, grad, m)
    return theta - lr * np.sign(beta1 * m + (1 - beta1) * grad), beta2 * m + (1 - beta2) * grad


@mistake("lion_step", "decay_not_scaled_by_lr", "decays by λ instead of ηλ",
         "The decoupled decay is scaled by the learning rate, as in AdamW: θ ← (1 − ηλ) θ_{t-1}, "
         "not (1 − λ) θ_{t-1}.")
def _lion_decay_no_lr(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    theta, grad, m = _f(theta, grad, m)
    c = np.sign(beta1 * m + (1 - beta1) * grad)
    return (1 - weight_decay) * theta - lr * c, beta2 * m + (1 - beta2) * grad


def _lion_sign_zero(zero_to: float) -> Callable:
    def lion_step(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
        theta, grad, m = _f(theta, grad, m)
        u = beta1 * m + (1 - beta1) * grad
        c = np.where(u > 0, 1.0, np.where(u < 0, -1.0, zero_to))
        return (1 - lr * weight_decay) * theta - lr * c, beta2 * m + (1 - beta2) * grad

    return lion_step


for _zero_to in (1.0, -1.0):  # np.where(u >= 0, 1, -1) and np.where(u > 0, 1, -1)
    mistake("lion_step", "sign_of_zero", "moves coordinates whose interpolation is 0 (sign(0) taken as ±1)",
            "sign(0) is 0 (np.sign): where β1 m_{t-1} + (1 − β1) g_t is exactly 0, as with a zero "
            "gradient and a zero momentum, the coordinate does not move. A test such as "
            "np.where(u >= 0, 1, -1) moves it by η.")(_lion_sign_zero(_zero_to))


@mistake("lion_step", "in_place", IN_PLACE_TITLE, IN_PLACE_HINT, detect="mutation")
def _lion_in_place(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
    theta *= 1 - lr * weight_decay
    theta -= lr * np.sign(beta1 * m + (1 - beta1) * grad)
    m *= beta2
    m += (1 - beta2) * grad
    return theta, m


# ============================================================================ 08 adabelief_step
def _belief(theta, grad, m, s, t, lr, beta1, beta2, eps, weight_decay, *, residual="new", store_eps=True,
            correct=True, eps_outside=True, decay_after=False):
    theta, grad, m, s = _f(theta, grad, m, s)
    decay = 1 - lr * weight_decay
    m_new = beta1 * m + (1 - beta1) * grad
    r = grad if residual == "none" else grad - (m_new if residual == "new" else m)
    s = beta2 * s + (1 - beta2) * r**2 + (eps if store_eps else 0.0)
    bc1, bc2 = (1 - beta1**t, 1 - beta2**t) if correct else (1.0, 1.0)
    step = lr * (m_new / bc1) / (np.sqrt(s / bc2) + (eps if eps_outside else 0.0))
    theta = decay * (theta - step) if decay_after else decay * theta - step
    return theta, m_new, s


@mistake("adabelief_step", "adam_second_moment", "averages g_t² instead of (g_t − m_t)² (that is Adam)",
         "AdaBelief's s_t is the belief in the gradient: the EMA of the squared *deviation* "
         "(g_t − m_t)², not of g_t² (which would be Adam's v_t).")
def _belief_adam(theta, grad, m, s, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-16, weight_decay=0.0):
    return _belief(theta, grad, m, s, t, lr, beta1, beta2, eps, weight_decay, residual="none")


@mistake("adabelief_step", "residual_with_old_m", "measures the deviation from m_{t-1}",
         "Update m first; the deviation is from the new prediction: (g_t − m_t)².")
def _belief_old_m(theta, grad, m, s, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-16, weight_decay=0.0):
    return _belief(theta, grad, m, s, t, lr, beta1, beta2, eps, weight_decay, residual="old")


@mistake("adabelief_step", "eps_not_stored", "forgets the ε stored in s_t",
         "AdaBelief adds ε twice: once into the state, s_t = β2 s_{t-1} + (1 − β2)(g_t − m_t)² + ε, "
         "and once outside the root in the step.")
def _belief_no_eps(theta, grad, m, s, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-16, weight_decay=0.0):
    return _belief(theta, grad, m, s, t, lr, beta1, beta2, eps, weight_decay, store_eps=False)


@mistake("adabelief_step", "no_bias_correction", "no bias correction",
         "Step with m̂_t = m_t / (1 − β1^t) and ŝ_t = s_t / (1 − β2^t), as in Adam.")
def _belief_no_bc(theta, grad, m, s, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-16, weight_decay=0.0):
    return _belief(theta, grad, m, s, t, lr, beta1, beta2, eps, weight_decay, correct=False)


@mistake("adabelief_step", "l2_weight_decay", "L2 regularization instead of decoupled weight decay",
         "The reference decouples the decay, θ ← (1 − ηλ) θ_{t-1}, like AdamW; adding λθ to the "
         "gradient sends it through m and s.")
def _belief_l2(theta, grad, m, s, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-16, weight_decay=0.0):
    theta, grad = _f(theta, grad)
    return _belief(theta, grad + weight_decay * theta, m, s, t, lr, beta1, beta2, eps, 0.0)


@mistake("adabelief_step", "decay_after_step", "decays the weights after the step",
         "Decay θ_{t-1} first, θ ← (1 − ηλ) θ_{t-1}, then subtract the step; decaying after the "
         "step also shrinks the step itself.")
def _belief_decay_after(theta, grad, m, s, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-16, weight_decay=0.0):
    return _belief(theta, grad, m, s, t, lr, beta1, beta2, eps, weight_decay, decay_after=True)


@mistake("adabelief_step", "no_eps_outside_root", "leaves out the ε outside the root",
         "ε enters twice: stored in s_t, and again in the step's denominator, √ŝ_t + ε.")
def _belief_no_eps_out(theta, grad, m, s, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-16, weight_decay=0.0):
    return _belief(theta, grad, m, s, t, lr, beta1, beta2, eps, weight_decay, eps_outside=False)


@mistake("adabelief_step", "in_place", IN_PLACE_TITLE, IN_PLACE_HINT, detect="mutation")
def _belief_in_place(theta, grad, m, s, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-16, weight_decay=0.0):
    theta *= 1 - lr * weight_decay
    m *= beta1
    m += (1 - beta1) * grad
    s *= beta2
    s += (1 - beta2) * (grad - m) ** 2 + eps
    theta -= lr * (m / (1 - beta1**t)) / (np.sqrt(s / (1 - beta2**t)) + eps)
    return theta, m, s


# ============================================================================ 11 newton_schulz
_NS = (3.4445, -4.7750, 2.0315)


def _ns(G, steps=5, coefficients=_NS, eps=1e-7, *, normalize="frobenius", swap_bc=False, transpose_back=True):
    a, b, c = coefficients
    if swap_bc:
        b, c = c, b
    X = np.array(G, dtype=np.float64)
    tall = X.shape[0] > X.shape[1]
    if tall:
        X = X.T
    norm = math.sqrt(float((X * X).sum()))
    if normalize == "spectral":
        X = X / max(float(np.linalg.norm(X, 2)), eps)
    elif normalize == "frobenius":
        X = X / max(norm, eps)
    elif normalize == "plus_eps":
        X = X / (norm + eps)
    with np.errstate(all="ignore"):
        for _ in range(steps):
            A = X @ X.T
            X = a * X + (b * A + c * A @ A) @ X
    return X.T if tall and transpose_back else X


@mistake("newton_schulz", "no_normalization", "iterates on G without dividing by its norm",
         "The polynomial p(σ) = aσ + bσ³ + cσ⁵ pulls σ towards 1 only for σ in (0, 1]; larger "
         "singular values grow like σ⁵ every step (here up to inf or nan). Start from "
         "X_0 = G / max(‖G‖_F, ε), which puts every σ below 1.")
def _ns_no_norm(G, steps=5, coefficients=_NS, eps=1e-7):
    return _ns(G, steps, coefficients, eps, normalize="none")


@mistake("newton_schulz", "eps_added", "divides by ‖G‖_F + ε instead of max(‖G‖_F, ε)",
         "ε is a floor, not an offset: X_0 = G / max(‖G‖_F, ε) (torch clamps the norm). With a "
         "large ε or a small G the two differ.")
def _ns_eps_added(G, steps=5, coefficients=_NS, eps=1e-7):
    return _ns(G, steps, coefficients, eps, normalize="plus_eps")


@mistake("newton_schulz", "b_c_swapped", "puts b on A² and c on A",
         "The update is X ← aX + (bA + cA²)X with A = XXᵀ: b multiplies XXᵀX (σ³), c multiplies "
         "(XXᵀ)²X (σ⁵), so that p(σ) = aσ + bσ³ + cσ⁵.")
def _ns_swapped(G, steps=5, coefficients=_NS, eps=1e-7):
    return _ns(G, steps, coefficients, eps, swap_bc=True)


@mistake("newton_schulz", "no_transpose_back", "returns Xᵀ for a tall G (forgets to transpose back)",
         "For a tall G (more rows than columns) you iterate on Gᵀ, so that A = XXᵀ is the small "
         "matrix; transpose the result back at the end: the output has the shape of G.")
def _ns_no_back(G, steps=5, coefficients=_NS, eps=1e-7):
    return _ns(G, steps, coefficients, eps, transpose_back=False)


@mistake("newton_schulz", "one_step_too_many", "runs one iteration too many",
         "X_0 is the normalized G and each of the `steps` iterations makes one more: the result is "
         "X_steps, after exactly `steps` updates (for _ in range(steps)).")
def _ns_extra_step(G, steps=5, coefficients=_NS, eps=1e-7):
    return _ns(G, steps + 1, coefficients, eps)


@mistake("newton_schulz", "spectral_norm", "divides by the spectral norm instead of the Frobenius norm",
         "X_0 = G / max(‖G‖_F, ε) with the Frobenius norm, np.linalg.norm(G) (the root of the sum "
         "of squares), as torch and Jordan's code do. The spectral norm ‖G‖_2, the largest singular "
         "value, also puts every σ at or below 1, but starts the iteration elsewhere.")
def _ns_spectral(G, steps=5, coefficients=_NS, eps=1e-7):
    return _ns(G, steps, coefficients, eps, normalize="spectral")


@mistake("newton_schulz", "in_place", IN_PLACE_TITLE, IN_PLACE_HINT, detect="mutation")
def _ns_in_place(G, steps=5, coefficients=_NS, eps=1e-7):
    G /= max(math.sqrt(float((G * G).sum())), eps)
    return _ns(G, steps, coefficients, eps)


# ============================================================================ 11 muon_step
def _muon(theta, grad, buf, lr, momentum, nesterov, weight_decay, *, ema=True, decay_lr=True,
          scale="in_out", decay_after=False):
    theta, grad, buf = _f(theta, grad, buf)
    if ema:
        buf = momentum * buf + (1 - momentum) * grad
        U = (1 - momentum) * grad + momentum * buf if nesterov else buf
    else:
        buf = momentum * buf + grad
        U = grad + momentum * buf if nesterov else buf
    fan_in, fan_out = theta.shape
    s = {"in_out": math.sqrt(max(1.0, fan_out / fan_in)), "none": 1.0,
         "out_in": math.sqrt(max(1.0, fan_in / fan_out)), "no_sqrt": max(1.0, fan_out / fan_in)}[scale]
    decay = 1 - (lr if decay_lr else 1.0) * weight_decay
    if decay_after:
        return decay * (theta - lr * s * _ns(U)), buf
    return decay * theta - lr * s * _ns(U), buf


@mistake("muon_step", "sum_momentum", "accumulates the momentum (B_t = μB_{t-1} + g_t)",
         "optimlab (and torch's code) keep an average: B_t = μ B_{t-1} + (1 − μ) g_t, with the "
         "look-ahead U_t = (1 − μ) g_t + μ B_t. (The sum form, as torch's docstring writes it, "
         "differs by the factor 1 − μ, which Newton-Schulz's normalization hides from θ over a "
         "run from B_0 = 0, but not from the buffer you return.)")
def _muon_sum(theta, grad, buf, lr=1e-3, momentum=0.95, nesterov=True, weight_decay=0.1):
    return _muon(theta, grad, buf, lr, momentum, nesterov, weight_decay, ema=False)


@mistake("muon_step", "no_nesterov", "ignores Nesterov (orthogonalizes B_t itself)",
         "With nesterov=True, orthogonalize the look-ahead U_t = (1 − μ) g_t + μ B_t, not B_t; "
         "only nesterov=False uses U_t = B_t.")
def _muon_no_nesterov(theta, grad, buf, lr=1e-3, momentum=0.95, nesterov=True, weight_decay=0.1):
    return _muon(theta, grad, buf, lr, momentum, False, weight_decay)


@mistake("muon_step", "decay_not_scaled_by_lr", "decays θ by (1 − λ) instead of (1 − ηλ)",
         "The decoupled weight decay is scaled by the learning rate, as in AdamW: "
         "θ ← (1 − ηλ) θ_{t-1}.")
def _muon_decay(theta, grad, buf, lr=1e-3, momentum=0.95, nesterov=True, weight_decay=0.1):
    return _muon(theta, grad, buf, lr, momentum, nesterov, weight_decay, decay_lr=False)


@mistake("muon_step", "no_shape_scale", "forgets the shape scale s",
         "The step is η s NS(U_t) with s = √max(1, fan_out/fan_in); for an (in, out) weight that "
         "is √max(1, shape[1]/shape[0]), more than 1 when the layer widens.")
def _muon_no_scale(theta, grad, buf, lr=1e-3, momentum=0.95, nesterov=True, weight_decay=0.1):
    return _muon(theta, grad, buf, lr, momentum, nesterov, weight_decay, scale="none")


@mistake("muon_step", "torch_layout_scale", "reads fan_in and fan_out in torch's (out, in) layout",
         "optimlab stores a weight as (in, out) = theta.shape, torch as (out, in): here "
         "s = √max(1, fan_out/fan_in) = √max(1, shape[1]/shape[0]), not shape[0]/shape[1].")
def _muon_torch_scale(theta, grad, buf, lr=1e-3, momentum=0.95, nesterov=True, weight_decay=0.1):
    return _muon(theta, grad, buf, lr, momentum, nesterov, weight_decay, scale="out_in")


@mistake("muon_step", "decay_after_step", "decays the weights after the step",
         "θ_t = (1 − ηλ) θ_{t-1} − η s NS(U_t): the decay multiplies θ_{t-1} only; decaying after "
         "the step also shrinks the step itself.")
def _muon_decay_after(theta, grad, buf, lr=1e-3, momentum=0.95, nesterov=True, weight_decay=0.1):
    return _muon(theta, grad, buf, lr, momentum, nesterov, weight_decay, decay_after=True)


@mistake("muon_step", "scale_without_sqrt", "uses max(1, fan_out/fan_in) without the square root",
         "The shape scale is s = √max(1, fan_out/fan_in) = √max(1, shape[1]/shape[0]): for a (3, 5) "
         "weight √(5/3) ≈ 1.29, not 5/3.")
def _muon_scale_no_sqrt(theta, grad, buf, lr=1e-3, momentum=0.95, nesterov=True, weight_decay=0.1):
    return _muon(theta, grad, buf, lr, momentum, nesterov, weight_decay, scale="no_sqrt")


@mistake("muon_step", "in_place", IN_PLACE_TITLE, IN_PLACE_HINT, detect="mutation")
def _muon_in_place(theta, grad, buf, lr=1e-3, momentum=0.95, nesterov=True, weight_decay=0.1):
    buf *= momentum
    buf += (1 - momentum) * grad
    U = (1 - momentum) * grad + momentum * buf if nesterov else buf
    fan_in, fan_out = theta.shape
    theta *= 1 - lr * weight_decay
    theta -= lr * math.sqrt(max(1.0, fan_out / fan_in)) * _ns(U)
    return theta, buf


# ============================================================================ 09 warmup_cosine_lr
def _cos(a, b, p):
    return b + (a - b) * (1 + math.cos(math.pi * p)) / 2


@mistake("warmup_cosine_lr", "cosine_over_total", "runs the cosine over all T steps",
         "After the warmup the cosine covers the remaining T − T_w steps: its phase is "
         "(e − T_w)/(T − T_w), so that η_{T_w} = η and η_T = η_min.")
def _wc_total(step, lr, warmup_steps, total_steps, start_factor=0.01, min_lr=0.0):
    W, T = warmup_steps, total_steps
    if step < W:
        return lr * (start_factor + (1 - start_factor) * step / W)
    return _cos(lr, min_lr, min(step, T) / T)


@mistake("warmup_cosine_lr", "warmup_from_zero", "warms up from 0 instead of α·η",
         "The warmup starts at start_factor·η: η_e = η (α + (1 − α) e/T_w) for e < T_w.")
def _wc_zero(step, lr, warmup_steps, total_steps, start_factor=0.01, min_lr=0.0):
    W, T = warmup_steps, total_steps
    if step < W:
        return lr * step / W
    return _cos(lr, min_lr, min(step - W, T - W) / (T - W))


@mistake("warmup_cosine_lr", "no_clamp", "lets the cosine climb back after T",
         "After total_steps the rate stays at η_min; cos keeps turning, so clamp the phase at 1.")
def _wc_no_clamp(step, lr, warmup_steps, total_steps, start_factor=0.01, min_lr=0.0):
    W, T = warmup_steps, total_steps
    if step < W:
        return lr * (start_factor + (1 - start_factor) * step / W)
    return _cos(lr, min_lr, (step - W) / (T - W))


@mistake("warmup_cosine_lr", "min_lr_ignored", "anneals to 0 instead of min_lr",
         "The cosine goes from η down to η_min: η_min + (η − η_min)(1 + cos(π p))/2.")
def _wc_no_min(step, lr, warmup_steps, total_steps, start_factor=0.01, min_lr=0.0):
    W, T = warmup_steps, total_steps
    if step < W:
        return lr * (start_factor + (1 - start_factor) * step / W)
    return _cos(lr, 0.0, min(step - W, T - W) / (T - W))


@mistake("warmup_cosine_lr", "off_by_one", "counts steps from 1 (uses e + 1)",
         "Steps count from 0 here (torch's convention): step 0 is the first update and gets α·η.")
def _wc_plus_one(step, lr, warmup_steps, total_steps, start_factor=0.01, min_lr=0.0):
    from .reference import warmup_cosine_lr

    return warmup_cosine_lr(step + 1, lr, warmup_steps, total_steps, start_factor, min_lr)


@mistake("warmup_cosine_lr", "warmup_over_w_minus_one", "warms up over e/(T_w − 1), reaching η one step early",
         "The warmup's fraction is e/T_w: η_e = η (α + (1 − α) e/T_w) for e < T_w, so the last warmup "
         "step e = T_w − 1 is still below η, and η is reached at e = T_w, where the cosine starts.")
def _wc_w_minus_one(step, lr, warmup_steps, total_steps, start_factor=0.01, min_lr=0.0):
    W, T = warmup_steps, total_steps
    if step < W:
        return lr * (start_factor + (1 - start_factor) * step / (W - 1))
    return _cos(lr, min_lr, min(step - W, T - W) / (T - W))


# ============================================================================ 09 step_decay_lr
@mistake("step_decay_lr", "ceil_instead_of_floor", "rounds e/step_size up",
         "The rate drops *after* each full period: η γ^⌊e / step_size⌋ (round down).")
def _sd_ceil(step, lr, step_size, gamma=0.1):
    return lr * gamma ** math.ceil(step / step_size)


@mistake("step_decay_lr", "one_step_early", "decays one step early (uses e + 1)",
         "Steps count from 0: the first drop is at e = step_size, so use ⌊e / step_size⌋.")
def _sd_early(step, lr, step_size, gamma=0.1):
    return lr * gamma ** ((step + 1) // step_size)


@mistake("step_decay_lr", "linear_decay", "multiplies by γ·k instead of γ^k",
         "Each drop multiplies the rate by γ again: after k drops it is η γ^k, not η γ k.")
def _sd_linear(step, lr, step_size, gamma=0.1):
    k = step // step_size
    return lr * gamma * k if k else lr


@mistake("step_decay_lr", "no_floor", "decays continuously (γ^(e/step_size), without the floor)",
         "The rate is constant within each period and drops at its end: η γ^⌊e / step_size⌋, with "
         "integer division (e // step_size), not the fraction e / step_size.")
def _sd_no_floor(step, lr, step_size, gamma=0.1):
    return lr * gamma ** (step / step_size)


# ============================================================================ 02 minibatches
def _batches(X, y, order, batch_size, drop_last):
    n = len(order)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield X[idx], y[idx]


@mistake("minibatches", "no_shuffle", "never shuffles",
         "With shuffle=True, permute the rows once per call with "
         "np.random.default_rng(seed).permutation(len(X)), then cut the permutation into batches.")
def _mb_no_shuffle(X, y, batch_size, shuffle=True, drop_last=False, seed=0):
    return _batches(X, y, np.arange(len(X)), batch_size, drop_last)


@mistake("minibatches", "unseeded", "ignores the seed (global random state)",
         "Two calls with the same seed gave different batches. Make the generator from the seed, "
         "rng = np.random.default_rng(seed), and use rng.permutation(len(X)), never np.random.*.",
         detect="nondeterministic")
def _mb_unseeded(X, y, batch_size, shuffle=True, drop_last=False, seed=0):
    order = np.random.permutation(len(X)) if shuffle else np.arange(len(X))
    return _batches(X, y, order, batch_size, drop_last)


@mistake("minibatches", "drop_last_ignored", "ignores drop_last",
         "With drop_last=True the last, smaller batch is left out (when batch_size does not divide len(X)).")
def _mb_keep_last(X, y, batch_size, shuffle=True, drop_last=False, seed=0):
    order = np.random.default_rng(seed).permutation(len(X)) if shuffle else np.arange(len(X))
    return _batches(X, y, order, batch_size, False)


@mistake("minibatches", "shuffled_separately", "shuffles X and y with different permutations",
         "Rows of X and labels of y must stay paired: draw one permutation and index both with it.")
def _mb_separate(X, y, batch_size, shuffle=True, drop_last=False, seed=0):
    if not shuffle:
        return _batches(X, y, np.arange(len(X)), batch_size, drop_last)
    rng = np.random.default_rng(seed)
    X = X[rng.permutation(len(X))]
    y = y[rng.permutation(len(y))]
    return _batches(X, y, np.arange(len(X)), batch_size, drop_last)


@mistake("minibatches", "in_place", "shuffles the caller's arrays in place",
         "rng.shuffle(X) reorders the caller's data set itself. Index with a permutation instead: "
         "X[order], y[order] are new arrays.", detect="mutation")
def _mb_in_place(X, y, batch_size, shuffle=True, drop_last=False, seed=0):
    if shuffle:
        order = np.random.default_rng(seed).permutation(len(X))
        X[...] = X[order]
        y[...] = y[order]
    return _batches(X, y, np.arange(len(X)), batch_size, drop_last)


# ============================================================================ 02 softmax_cross_entropy
def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


@mistake("softmax_cross_entropy", "no_mean", "sums over the batch instead of averaging (loss and gradient)",
         "The loss is the *mean* over the B examples, f_B = −(1/B) Σ_i log p_{i,y_i}, so the gradient "
         "carries the same factor 1/B: (softmax(z) − onehot(y)) / B.")
def _ce_sum(logits, labels):
    z, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels)
    p = _softmax(z)
    rows = np.arange(len(z))
    g = p.copy()
    g[rows, labels] -= 1
    return float(-np.log(p[rows, labels]).sum()), g


@mistake("softmax_cross_entropy", "loss_summed", "sums the loss over the batch instead of averaging",
         "Your gradient has the 1/B but your loss does not: f_B = −(1/B) Σ_i log p_{i,y_i} is the "
         "*mean* over the B examples (.mean(), not .sum()).")
def _ce_loss_sum(logits, labels):
    from .reference import softmax_cross_entropy

    loss, g = softmax_cross_entropy(logits, labels)
    return loss * len(logits), g


@mistake("softmax_cross_entropy", "gradient_not_averaged", "forgets the 1/B in the gradient",
         "Your loss is the mean over the batch, so its gradient carries the same factor: "
         "∂f_B/∂z_i = (softmax(z_i) − onehot(y_i)) / B.")
def _ce_grad_sum(logits, labels):
    from .reference import softmax_cross_entropy

    loss, g = softmax_cross_entropy(logits, labels)
    return loss, g * len(logits)


_LOG_SUM_EXP = ("Compute log p with the log-sum-exp: log p_{i,k} = z_{i,k} − max_j z_{i,j} − "
                "log Σ_j exp(z_{i,j} − max_j z_{i,j}). ")


def _ce_from_probabilities(loss_of: Callable) -> Callable:
    def softmax_cross_entropy(logits, labels):
        z, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels)
        p = _softmax(z)
        rows = np.arange(len(z))
        with np.errstate(all="ignore"):
            loss = float(loss_of(p[rows, labels]).mean())
        g = p.copy()
        g[rows, labels] -= 1
        return loss, g / len(z)

    return softmax_cross_entropy


mistake("softmax_cross_entropy", "log_of_softmax", "takes the log of the softmax (which underflows)",
        "When the true class's logit is far below the row's largest (about 700 or more), its "
        "softmax underflows: a subnormal number with few correct digits, or 0, whose log is −inf. "
        + _LOG_SUM_EXP + "It never forms the tiny p.")(_ce_from_probabilities(lambda p: -np.log(p)))

for _tiny in (1e-7, 1e-8, 1e-9, 1e-10, 1e-12, 1e-15, 1e-16):
    mistake("softmax_cross_entropy", "log_p_plus_tiny", "takes log(p + tiny) of the softmax",
            "Adding a small constant keeps the log finite but wrong: where the softmax underflows, "
            "log(p + tiny) is about log(tiny), far from the true log p (−740 for a logit 740 below "
            "the largest). " + _LOG_SUM_EXP + "It needs no constant.")(
        _ce_from_probabilities(lambda p, tiny=_tiny: -np.log(p + tiny)))


@mistake("softmax_cross_entropy", "no_max_shift", "exponentiates without subtracting the row maximum",
         "exp(1000) overflows to inf and inf/inf is nan; exp(−740) underflows to a subnormal number "
         "with few correct digits. Subtract each row's maximum before exp (softmax does not "
         "change): z − max_j z_j.")
def _ce_no_shift(logits, labels):
    z, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels)
    with np.errstate(all="ignore"):
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        rows = np.arange(len(z))
        loss = float(-np.log(p[rows, labels]).mean())
    g = p.copy()
    g[rows, labels] -= 1
    return loss, g / len(z)


@mistake("softmax_cross_entropy", "onehot_not_subtracted", "forgets to subtract the one-hot labels",
         "∂f_B/∂z_i = (softmax(z_i) − onehot(y_i)) / B: subtract 1 at each row's true class.")
def _ce_no_onehot(logits, labels):
    from .reference import softmax_cross_entropy

    loss, _ = softmax_cross_entropy(logits, labels)
    return loss, _softmax(np.asarray(logits, dtype=np.float64)) / len(logits)


@mistake("softmax_cross_entropy", "gradient_sign", "returns the gradient with the wrong sign",
         "The gradient of the loss is (softmax − onehot)/B: the predicted probabilities minus the targets.")
def _ce_sign(logits, labels):
    from .reference import softmax_cross_entropy

    loss, g = softmax_cross_entropy(logits, labels)
    return loss, -g


# ============================================================================ 10 linear_backward
@mistake("linear_backward", "dx_without_transpose", "multiplies dy by W instead of Wᵀ",
         "With y = x W and W of shape (in, out): dx = dy Wᵀ, of shape (batch, in).")
def _lin_no_t(x, weight, dy):
    x, W, dy = _f(x, weight, dy)
    return dy @ W, x.T @ dy, dy.sum(axis=0)


@mistake("linear_backward", "weight_grad_transposed", "returns dWᵀ (dyᵀ x)",
         "dW = xᵀ dy has the shape of W, (in, out); dyᵀ x is its transpose.")
def _lin_dw_t(x, weight, dy):
    x, W, dy = _f(x, weight, dy)
    return dy @ W.T, dy.T @ x, dy.sum(axis=0)


@mistake("linear_backward", "divides_by_batch", "averages the parameter gradients over the batch",
         "dy already carries the loss's 1/n; dW = xᵀ dy and db = Σ_batch dy are plain sums.")
def _lin_mean(x, weight, dy):
    x, W, dy = _f(x, weight, dy)
    return dy @ W.T, x.T @ dy / len(x), dy.mean(axis=0)


@mistake("linear_backward", "bias_grad_not_summed", "returns the bias gradient of the first example",
         "The bias is added to every row, so its gradient sums over the batch: db = Σ_i dy_i.")
def _lin_db_first(x, weight, dy):
    x, W, dy = _f(x, weight, dy)
    return dy @ W.T, x.T @ dy, dy[0].copy()


# ============================================================================ 10 batchnorm_backward
def _bn_parts(x, gamma, dy, eps, ddof=0):
    x, gamma, dy = _f(x, gamma, dy)
    mu = x.mean(axis=0)
    inv_std = 1.0 / np.sqrt(x.var(axis=0, ddof=ddof) + eps)
    return x, gamma, dy, (x - mu) * inv_std, inv_std


@mistake("batchnorm_backward", "ignores_batch_statistics", "treats the batch mean and variance as constants",
         "In training, μ_B and σ²_B depend on every x_i, which adds two terms: "
         "dx = γ/(n σ) (n dy − Σ dy − x̂ Σ dy·x̂). γ dy / σ alone is the evaluation-mode gradient.")
def _bn_const(x, gamma, dy, eps=1e-5):
    x, gamma, dy, xh, inv = _bn_parts(x, gamma, dy, eps)
    return gamma * inv * dy, (dy * xh).sum(axis=0), dy.sum(axis=0)


@mistake("batchnorm_backward", "missing_variance_term", "forgets the variance's term (− x̂ Σ dy·x̂)",
         "σ²_B depends on x too: dx = γ/(n σ) (n dy − Σ dy − x̂ Σ dy·x̂); you kept only the mean's term.")
def _bn_no_var(x, gamma, dy, eps=1e-5):
    x, gamma, dy, xh, inv = _bn_parts(x, gamma, dy, eps)
    n = len(x)
    return gamma * inv / n * (n * dy - dy.sum(axis=0)), (dy * xh).sum(axis=0), dy.sum(axis=0)


@mistake("batchnorm_backward", "unbiased_variance", "normalizes with the unbiased variance (n − 1)",
         "Training-mode batch norm normalizes with the biased batch variance, σ²_B = mean((x − μ_B)²) "
         "(np.var's default, ddof=0); the unbiased one only feeds the running statistics.")
def _bn_unbiased(x, gamma, dy, eps=1e-5):
    x, gamma, dy, xh, inv = _bn_parts(x, gamma, dy, eps, ddof=1)
    n = len(x)
    dgamma = (dy * xh).sum(axis=0)
    return gamma * inv / n * (n * dy - dy.sum(axis=0) - xh * dgamma), dgamma, dy.sum(axis=0)


@mistake("batchnorm_backward", "dgamma_with_x", "uses x instead of x̂ in dγ",
         "y = γ x̂ + β, so dγ = Σ_batch dy · x̂ (the normalized input), not Σ dy · x.")
def _bn_dgamma_x(x, gamma, dy, eps=1e-5):
    x, gamma, dy, xh, inv = _bn_parts(x, gamma, dy, eps)
    n = len(x)
    dgamma = (dy * xh).sum(axis=0)
    return gamma * inv / n * (n * dy - dy.sum(axis=0) - xh * dgamma), (dy * x).sum(axis=0), dy.sum(axis=0)


@mistake("batchnorm_backward", "in_place", IN_PLACE_TITLE, IN_PLACE_HINT, detect="mutation")
def _bn_in_place(x, gamma, dy, eps=1e-5):
    x, gamma, _, xh, inv = _bn_parts(x, gamma, dy, eps)
    n = len(x)
    dbeta = dy.sum(axis=0)
    dgamma = (dy * xh).sum(axis=0)
    dy *= n
    dy -= dbeta
    dy -= xh * dgamma
    dy *= gamma * inv / n
    return dy, dgamma, dbeta


def catalogue(name: str | None = None) -> dict[str, list[Mistake]] | list[Mistake]:
    """The known mistakes of one exercise, or of all of them."""
    return CATALOGUE if name is None else CATALOGUE.get(name, [])
