"""The mistakes catalogue and the cases that reveal them, from the student's side.

Each test writes the wrong function as a student would and expects the check to name the
mistake. The catalogue's own variants are tested in ``tests/test_grading_checks.py``; here the
point is that the catalogue reproduces plausible code, on finite numbers (a diagnosis must not
rest on matching inf or nan).
"""

from __future__ import annotations

import numpy as np
import pytest

from optimlab.grading import checks, reference, runner, specs
from optimlab.grading.mistakes import CATALOGUE


def _finite(value) -> bool:
    parts = value if isinstance(value, tuple) else (value,)
    return all(np.isfinite(np.asarray(p, dtype=np.float64)).all() for p in parts)


def assert_diagnosed(name: str, fn, key: str) -> checks.CheckResult:
    """The check fails, names the mistake ``key``, and the student's outputs at the failing call are finite."""
    result = checks.check(name, fn, quiet=True)
    assert result.status == "failed", result.message
    assert result.mistake is not None and result.mistake.key == key, result.message
    assert f"Likely mistake: {result.mistake.title}." in result.message
    trial = specs.get(name).trials()[result.calls - 1]
    args = {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in trial.args.items()}
    assert _finite(fn(**args)), f"diagnosed on non-finite outputs in case {trial.case!r}"
    return result


def case_trials(name: str, case: str) -> list[specs.Trial]:
    trials = [t for t in specs.get(name).trials() if t.case == case]
    assert trials, f"{name} has no case {case!r}"
    return trials


def differences(name: str, fn, trials: list[specs.Trial]) -> list[dict]:
    """The first difference of each trial where ``fn`` disagrees with the reference."""
    spec = specs.get(name)
    out = []
    for trial in trials:
        res = runner.call(fn, list(spec.positional), trial.args, trial.spec)
        assert res["ok"], res
        diff = checks.compare(spec, trial.expected, res["outputs"])
        if diff is not None:
            out.append(diff)
    return out


# ----------------------------------------------------------------------------- 02 softmax_cross_entropy
def _log_softmax(z):
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


@pytest.mark.parametrize(("loss_reduce", "grad_divided", "key"), [
    ("sum", True, "loss_summed"),
    ("mean", False, "gradient_not_averaged"),
    ("sum", False, "no_mean"),  # both summed: the old diagnosis
])
def test_a_missing_mean_is_named_for_the_loss_and_the_gradient_separately(loss_reduce, grad_divided, key):
    def softmax_cross_entropy(logits, labels):
        log_p = _log_softmax(logits)
        rows = np.arange(len(logits))
        g = np.exp(log_p)
        g[rows, labels] -= 1
        loss = getattr(-log_p[rows, labels], loss_reduce)()
        return float(loss), (g / len(logits) if grad_divided else g)

    assert_diagnosed("softmax_cross_entropy", softmax_cross_entropy, key)


def _softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_log_of_the_underflowed_softmax():
    def softmax_cross_entropy(logits, labels):
        p = _softmax(logits)
        rows = np.arange(len(logits))
        loss = -np.log(p[rows, labels]).mean()
        dlogits = p.copy()
        dlogits[rows, labels] -= 1
        return float(loss), dlogits / len(logits)

    result = assert_diagnosed("softmax_cross_entropy", softmax_cross_entropy, "log_of_softmax")
    assert result.first_failure.case == "true classes about 740 below the largest logit"
    assert result.first_failure.variable == "loss" and "log-sum-exp" in result.message


@pytest.mark.parametrize("tiny", [1e-12, 1e-15, 1e-8])
def test_log_of_the_softmax_plus_a_tiny_constant(tiny):
    def softmax_cross_entropy(logits, labels):
        p = _softmax(logits)
        rows = np.arange(len(logits))
        loss = -np.mean(np.log(p[rows, labels] + tiny))
        dlogits = p.copy()
        dlogits[rows, labels] -= 1
        return float(loss), dlogits / len(logits)

    assert_diagnosed("softmax_cross_entropy", softmax_cross_entropy, "log_p_plus_tiny")


def test_no_max_shift_is_named_on_finite_numbers():
    def softmax_cross_entropy(logits, labels):
        e = np.exp(logits)
        p = e / e.sum(axis=1, keepdims=True)
        rows = np.arange(len(logits))
        dlogits = p.copy()
        dlogits[rows, labels] -= 1
        return float(-np.log(p[rows, labels]).mean()), dlogits / len(logits)

    result = assert_diagnosed("softmax_cross_entropy", softmax_cross_entropy, "no_max_shift")
    assert result.first_failure.case == "very negative logits (about −740)"


# ----------------------------------------------------------------------------- 03 momentum_step
def test_dampening_times_gradient_instead_of_one_minus_dampening():
    def momentum_step(theta, grad, buf, t, lr, momentum=0.9, dampening=0.0):
        buf = grad.copy() if t == 1 else momentum * buf + dampening * grad
        return theta - lr * buf, buf

    assert_diagnosed("momentum_step", momentum_step, "dampening_not_one_minus")
    # the case made for the dampening tells τ from 1 − τ too (with τ = 0.5 it could not)
    assert differences("momentum_step", momentum_step, case_trials("momentum_step", "momentum 0.8, dampening 0.3"))


# ----------------------------------------------------------------------------- 05 adadelta_step
def test_adadelta_with_the_learning_rate_in_the_accumulated_updates():
    def adadelta_step(theta, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6):
        square_avg = rho * square_avg + (1 - rho) * grad**2
        update = lr * np.sqrt(acc_delta + eps) / np.sqrt(square_avg + eps) * grad
        acc_delta = rho * acc_delta + (1 - rho) * update**2
        return theta - update, square_avg, acc_delta

    result = assert_diagnosed("adadelta_step", adadelta_step, "lr_in_acc_delta")
    assert result.first_failure.variable == "acc_delta"


# ----------------------------------------------------------------------------- 06 adam_step, amsgrad_step
def test_adam_with_t_plus_one():
    def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        step = t + 1  # "t counts from 0"
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        m_hat = m / (1 - beta1**step)
        v_hat = v / (1 - beta2**step)
        return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v

    assert_diagnosed("adam_step", adam_step, "t_plus_one")


def test_adam_in_kingma_and_ba_efficient_form():
    def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        alpha_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
        return theta - alpha_t * m / (np.sqrt(v) + eps), m, v

    result = assert_diagnosed("adam_step", adam_step, "efficient_form")
    assert "ε matters" in result.first_failure.case  # it passes wherever ε is negligible


def test_adam_storing_only_v_hat():
    def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        m = beta1 * m + (1 - beta1) * grad
        v = (beta2 * v + (1 - beta2) * grad**2) / (1 - beta2**t)
        return theta - lr * (m / (1 - beta1**t)) / (np.sqrt(v) + eps), m, v

    assert_diagnosed("adam_step", adam_step, "stores_corrected_v")


def test_amsgrad_as_in_the_paper_without_bias_correction():
    def amsgrad_step(theta, grad, m, v, v_max, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        v_max = np.maximum(v_max, v)
        return theta - lr * m / (np.sqrt(v_max) + eps), m, v, v_max

    assert_diagnosed("amsgrad_step", amsgrad_step, "no_bias_correction")


def test_amsgrad_mid_run_state_is_one_a_run_can_reach():
    first = case_trials("amsgrad_step", "mid-run (t = 50)")[0].args
    assert np.all(first["v_max"] >= first["v"])


# ----------------------------------------------------------------------------- 07 adamw_step
def test_adamw_with_eps_inside_the_root():
    def adamw_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
        theta = theta * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
        return theta - lr * m_hat / np.sqrt(v_hat + eps), m, v

    assert_diagnosed("adamw_step", adamw_step, "eps_inside_sqrt")


def test_adamw_with_t_counted_from_zero():
    def adamw_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2):
        theta = theta * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad**2
        m_hat, v_hat = m / (1 - beta1 ** (t + 1)), v / (1 - beta2 ** (t + 1))
        return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v

    assert_diagnosed("adamw_step", adamw_step, "t_plus_one")


def test_adamw_zero_gradient_from_rest_is_the_decay_alone():
    trials = case_trials("adamw_step", "zero gradient from m = v = 0 (only the weight decay acts)")
    for trial in trials:
        a = trial.args
        assert not a["grad"].any() and not a["m"].any() and not a["v"].any()
        decayed = (1 - a["lr"] * a["weight_decay"]) * a["theta"]
        np.testing.assert_allclose(runner.to_array(trial.expected["theta"]), decayed, rtol=1e-15)


# ----------------------------------------------------------------------------- 08 lion_step
def test_lion_updating_the_momentum_before_the_sign():
    def lion_step(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
        m = beta2 * m + (1 - beta2) * grad
        theta = theta * (1 - lr * weight_decay) - lr * np.sign(beta1 * m + (1 - beta1) * grad)
        return theta, m

    assert_diagnosed("lion_step", lion_step, "momentum_before_sign")
    # where g opposes m, the two orders give opposite signs in every coordinate, at every step
    trials = case_trials("lion_step", "gradient against the momentum (g ≈ −8.5 m)")
    diffs = differences("lion_step", lion_step, trials)
    assert len(diffs) == len(trials)
    assert all(d["variable"] == "theta" and d["count"] == d["size"] for d in diffs)


def test_lion_decaying_after_the_step():
    def lion_step(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
        theta = theta - lr * np.sign(beta1 * m + (1 - beta1) * grad)
        theta = theta * (1 - lr * weight_decay)
        return theta, beta2 * m + (1 - beta2) * grad

    assert_diagnosed("lion_step", lion_step, "decay_after_step")


def test_lion_without_weight_decay():
    def lion_step(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
        return theta - lr * np.sign(beta1 * m + (1 - beta1) * grad), beta2 * m + (1 - beta2) * grad

    assert_diagnosed("lion_step", lion_step, "no_weight_decay")


def test_lion_decay_without_the_learning_rate():
    def lion_step(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
        theta = theta * (1 - weight_decay) - lr * np.sign(beta1 * m + (1 - beta1) * grad)
        return theta, beta2 * m + (1 - beta2) * grad

    assert_diagnosed("lion_step", lion_step, "decay_not_scaled_by_lr")


@pytest.mark.parametrize("sign", [lambda u: np.where(u >= 0, 1.0, -1.0), lambda u: np.where(u > 0, 1.0, -1.0)],
                         ids=["zero_up", "zero_down"])
def test_lion_moving_coordinates_whose_interpolation_is_zero(sign):
    def lion_step(theta, grad, m, lr=1e-4, beta1=0.9, beta2=0.99, weight_decay=0.0):
        theta = theta * (1 - lr * weight_decay) - lr * sign(beta1 * m + (1 - beta1) * grad)
        return theta, beta2 * m + (1 - beta2) * grad

    assert_diagnosed("lion_step", lion_step, "sign_of_zero")


# ----------------------------------------------------------------------------- 08 adabelief_step
def test_adabelief_decaying_after_the_step():
    def adabelief_step(theta, grad, m, s, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-16, weight_decay=0.0):
        m = beta1 * m + (1 - beta1) * grad
        s = beta2 * s + (1 - beta2) * (grad - m) ** 2 + eps
        theta = theta - lr * (m / (1 - beta1**t)) / (np.sqrt(s / (1 - beta2**t)) + eps)
        return theta * (1 - lr * weight_decay), m, s

    assert_diagnosed("adabelief_step", adabelief_step, "decay_after_step")


def test_adabelief_without_eps_outside_the_root():
    def adabelief_step(theta, grad, m, s, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-16, weight_decay=0.0):
        theta = theta * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * grad
        s = beta2 * s + (1 - beta2) * (grad - m) ** 2 + eps
        return theta - lr * (m / (1 - beta1**t)) / np.sqrt(s / (1 - beta2**t)), m, s

    assert_diagnosed("adabelief_step", adabelief_step, "no_eps_outside_root")


# ----------------------------------------------------------------------------- 11 newton_schulz, muon_step
def ns(G, steps=5, coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, extra=0, norm=None):
    a, b, c = coefficients
    X = np.asarray(G, dtype=np.float64)
    tall = X.shape[0] > X.shape[1]
    if tall:
        X = X.T
    X = X / max(np.linalg.norm(X, norm), eps)
    for _ in range(steps + extra):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X.T if tall else X


def test_newton_schulz_with_one_iteration_too_many():
    def newton_schulz(G, steps=5, coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7):
        return ns(G, steps, coefficients, eps, extra=1)

    assert_diagnosed("newton_schulz", newton_schulz, "one_step_too_many")


def test_newton_schulz_normalized_by_the_spectral_norm():
    def newton_schulz(G, steps=5, coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7):
        return ns(G, steps, coefficients, eps, norm=2)

    assert_diagnosed("newton_schulz", newton_schulz, "spectral_norm")


def test_muon_decaying_after_the_step():
    def muon_step(theta, grad, buf, lr=1e-3, momentum=0.95, nesterov=True, weight_decay=0.1):
        buf = momentum * buf + (1 - momentum) * grad
        U = (1 - momentum) * grad + momentum * buf if nesterov else buf
        s = np.sqrt(max(1.0, theta.shape[1] / theta.shape[0]))
        return (theta - lr * s * ns(U)) * (1 - lr * weight_decay), buf

    assert_diagnosed("muon_step", muon_step, "decay_after_step")


def test_muon_shape_scale_without_the_square_root():
    def muon_step(theta, grad, buf, lr=1e-3, momentum=0.95, nesterov=True, weight_decay=0.1):
        buf = momentum * buf + (1 - momentum) * grad
        U = (1 - momentum) * grad + momentum * buf if nesterov else buf
        s = max(1.0, theta.shape[1] / theta.shape[0])
        return (1 - lr * weight_decay) * theta - lr * s * ns(U), buf

    assert_diagnosed("muon_step", muon_step, "scale_without_sqrt")


# ----------------------------------------------------------------------------- 09 schedules
def test_warmup_reaching_the_peak_one_step_early():
    def warmup_cosine_lr(step, lr, warmup_steps, total_steps, start_factor=0.01, min_lr=0.0):
        if step < warmup_steps:
            return lr * (start_factor + (1 - start_factor) * step / (warmup_steps - 1))
        p = min((step - warmup_steps) / (total_steps - warmup_steps), 1.0)
        return min_lr + (lr - min_lr) * (1 + np.cos(np.pi * p)) / 2

    assert_diagnosed("warmup_cosine_lr", warmup_cosine_lr, "warmup_over_w_minus_one")


def test_step_decay_without_the_floor():
    def step_decay_lr(step, lr, step_size, gamma=0.1):
        return lr * gamma ** (step / step_size)

    assert_diagnosed("step_decay_lr", step_decay_lr, "no_floor")


# ----------------------------------------------------------------------------- defaults where ε matters
def adagrad_step(theta, grad, sum_sq, lr=1e-2, eps=1e-8):
    return reference.adagrad_step(theta, grad, sum_sq, lr, eps)


def rmsprop_step(theta, grad, square_avg, lr=1e-2, alpha=0.99, eps=1e-10):
    return reference.rmsprop_step(theta, grad, square_avg, lr, alpha, eps)


def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
    return reference.adam_step(theta, grad, m, v, t, lr, beta1, beta2, eps)


def amsgrad_step(theta, grad, m, v, v_max, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7):
    return reference.amsgrad_step(theta, grad, m, v, v_max, t, lr, beta1, beta2, eps)


def adamw_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-7, weight_decay=1e-2):
    return reference.adamw_step(theta, grad, m, v, t, lr, beta1, beta2, eps, weight_decay)


def adabelief_step(theta, grad, m, s, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0):
    return reference.adabelief_step(theta, grad, m, s, t, lr, beta1, beta2, eps, weight_decay)


WRONG_EPS = [adagrad_step, rmsprop_step, adam_step, amsgrad_step, adamw_step, adabelief_step]


@pytest.mark.parametrize("fn", WRONG_EPS, ids=[f.__name__ for f in WRONG_EPS])
def test_a_wrong_default_eps_fails(fn):
    name = fn.__name__
    cases = [t.case for t in specs.get(name).trials() if "ε matters" in t.case]
    assert cases and all("defaults" in c for c in cases)
    trials = case_trials(name, cases[0])
    assert all(set(t.args) == set(specs.get(name).positional) for t in trials)  # the defaults are the student's
    assert differences(name, fn, trials)
    assert differences(name, getattr(reference, name), trials) == []


def test_a_key_names_one_mistake():
    """Variants registered several times (one per constant) share their key, title and hint."""
    for name, ms in CATALOGUE.items():
        seen = {}
        for m in ms:
            assert seen.setdefault(m.key, (m.title, m.hint)) == (m.title, m.hint), (name, m.key)
