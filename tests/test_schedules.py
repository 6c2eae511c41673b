"""Learning-rate schedules: hand-computed values, torch.optim.lr_scheduler cross-checks,
vectorized calls, argument checks, and the Scheduler driving real optimlab optimizers."""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from optimlab import optim
from optimlab import schedules as S

# ----------------------------------------------------------------------------- hand-computed values
# Each expected value is worked out by hand from the formula, not by the code under test.
HAND = [
    (S.constant(0.3), {0: 0.3, 1000: 0.3}),
    (S.step_decay(0.1, 10, 0.5), {0: 0.1, 9: 0.1, 10: 0.05, 19: 0.05, 25: 0.025}),
    (S.multistep(1.0, [3, 7], 0.1), {0: 1.0, 2: 1.0, 3: 0.1, 6: 0.1, 7: 0.01, 100: 0.01}),
    (S.exponential(2.0, 0.5), {0: 2.0, 1: 1.0, 3: 0.25}),
    # half-way through the cosine: (lr + min_lr)/2; held at min_lr after the run
    (S.cosine(0.1, 100, 0.02), {0: 0.1, 50: 0.06, 100: 0.02, 150: 0.02}),
    # quarter-way: min + (lr - min)(1 + cos(pi/4))/2
    (S.cosine(1.0, 8), {2: (1 + math.sqrt(0.5)) / 2}),
    # from 0.2·0.1 = 0.02 up to 0.1 over 4 steps: 0.02, 0.04, 0.06, 0.08, 0.1, 0.1, ...
    (S.linear_warmup(0.1, 4, 0.2), {0: 0.02, 1: 0.04, 2: 0.06, 4: 0.1, 10: 0.1}),
    # warmup 0.1 -> 1 over 10 steps, then cosine 1 -> 0.2 over 20 steps (half-way at step 20)
    (S.warmup_cosine(1.0, 10, 30, 0.1, 0.2), {0: 0.1, 5: 0.55, 10: 1.0, 20: 0.6, 30: 0.2, 40: 0.2}),
    (S.warmup_cosine(1.0, 0, 10), {0: 1.0, 5: 0.5, 10: 0.0}),
    # one-cycle, N = 100: start 1/25 = 0.04, peak 1.0 at the end of phase 1 (0.3·100 − 1 = 29),
    # end 0.04/1e4 = 4e-6 at step 99; phase 2 (29 -> 99) is half done at step 64
    (S.one_cycle(1.0, 100), {0: 0.04, 29: 1.0, 64: (1.0 + 4e-6) / 2, 99: 4e-6, 120: 4e-6}),
    # three phases, linear, pct 0.25: 0.04 -> 1 until 24, 1 -> 0.04 until 48, 0.04 -> 4e-6 until 99
    (
        S.one_cycle(1.0, 100, pct_start=0.25, anneal_strategy="linear", three_phase=True),
        {0: 0.04, 12: 0.52, 24: 1.0, 36: 0.52, 48: 0.04, 99: 4e-6},
    ),
    # restarts, period 4 doubling: cycles start at 0, 4, 12, 28 (lengths 4, 8, 16, ...)
    (
        S.cosine_restarts(1.0, 4, 2),
        {0: 1.0, 2: 0.5, 4: 1.0, 8: 0.5, 11: (1 + math.cos(7 * math.pi / 8)) / 2, 12: 1.0, 20: 0.5, 28: 1.0},
    ),
    (S.cosine_restarts(1.0, 4, 1, 0.2), {2: 0.6, 4: 1.0, 10: 0.6, 400: 1.0}),
]


@pytest.mark.parametrize("schedule, expected", HAND, ids=[repr(s) for s, _ in HAND])
def test_hand_computed_values(schedule, expected):
    for step, lr in expected.items():
        assert schedule(step) == pytest.approx(lr, rel=1e-12, abs=1e-15), step


def test_one_cycle_momentum_hand_computed():
    sched = S.one_cycle(1.0, 100)  # momentum 0.95 -> 0.85 until 29, back to 0.95 at 99
    for step, m in {0: 0.95, 29: 0.85, 64: 0.9, 99: 0.95}.items():
        assert sched.momentum(step) == pytest.approx(m, rel=1e-12), step


def test_names_and_reprs():
    assert S.cosine(0.1, 10).name == "cosine"
    assert S.one_cycle(0.1, 10).name == "one_cycle"
    assert repr(S.step_decay(0.1, 30)) == "StepDecay(lr=0.1, step_size=30, gamma=0.1)"
    assert repr(S.multistep(1, np.array([2, 5]))) == "MultiStep(lr=1.0, milestones=(2, 5), gamma=0.1)"
    for schedule, _ in HAND:
        assert type(schedule).__name__ in repr(schedule)
        assert schedule.name == {  # the factory of the same name makes it
            "Constant": "constant", "StepDecay": "step_decay", "MultiStep": "multistep",
            "Exponential": "exponential", "Cosine": "cosine", "LinearWarmup": "linear_warmup",
            "WarmupCosine": "warmup_cosine", "OneCycle": "one_cycle", "CosineRestarts": "cosine_restarts",
        }[type(schedule).__name__]
        with pytest.raises(AttributeError):
            schedule.lr = 1.0  # frozen


# ----------------------------------------------------------------------------- vectorized calls
@pytest.mark.parametrize("schedule", [s for s, _ in HAND], ids=[repr(s) for s, _ in HAND])
def test_vectorized_equals_scalar(schedule):
    steps = np.arange(130)
    lrs = schedule(steps)
    assert isinstance(lrs, np.ndarray) and lrs.dtype == np.float64 and lrs.shape == (130,)
    np.testing.assert_array_equal(lrs, [schedule(int(e)) for e in steps])
    assert type(schedule(7)) is float and type(schedule(np.int32(7))) is float
    np.testing.assert_array_equal(schedule(steps.reshape(10, 13).astype(np.int32)), lrs.reshape(10, 13))
    assert schedule(np.arange(0)).shape == (0,)
    if hasattr(schedule, "momentum"):
        np.testing.assert_array_equal(schedule.momentum(steps), [schedule.momentum(int(e)) for e in steps])


@pytest.mark.parametrize("step, exc", [(-1, ValueError), (np.array([3, -2]), ValueError),
                                       (1.0, TypeError), (True, TypeError), (np.array([0.5]), TypeError),
                                       ("3", TypeError)])
def test_bad_steps(step, exc):
    for schedule in (S.constant(0.1), S.one_cycle(0.1, 100), S.cosine_restarts(0.1, 3, 2)):
        with pytest.raises(exc, match="step"):
            schedule(step)
    with pytest.raises(exc, match="step"):
        S.one_cycle(0.1, 100).momentum(step)


# ----------------------------------------------------------------------------- bad arguments
BAD = [
    # (factory, args, kwargs, exception, words the message must contain)
    (S.constant, (-0.1,), {}, ValueError, "lr: -0.1"),
    (S.constant, ("0.1",), {}, TypeError, "lr"),
    (S.constant, (math.nan,), {}, ValueError, "lr"),
    (S.step_decay, (0.1, 0), {}, ValueError, "step_size: 0"),
    (S.step_decay, (0.1, -3), {}, ValueError, "step_size: -3"),
    (S.step_decay, (0.1, 2.5), {}, TypeError, "step_size: 2.5"),
    (S.step_decay, (0.1, 10), {"gamma": 0.0}, ValueError, "gamma: 0.0"),
    (S.step_decay, (-1.0, 10), {}, ValueError, "lr: -1.0"),
    (S.multistep, (0.1, [30, 10]), {}, ValueError, "milestones: [30, 10]"),
    (S.multistep, (0.1, [10, 10]), {}, ValueError, "milestones: [10, 10]"),
    (S.multistep, (0.1, [0, 10]), {}, ValueError, "milestones[0]: 0"),
    (S.multistep, (0.1, [5, 7.5]), {}, TypeError, "milestones[1]: 7.5"),
    (S.multistep, (0.1, 10), {}, TypeError, "milestones: 10"),
    (S.multistep, (0.1, [10]), {"gamma": -0.5}, ValueError, "gamma: -0.5"),
    (S.exponential, (0.1, 0.0), {}, ValueError, "gamma: 0.0"),
    (S.exponential, (0.1, -0.9), {}, ValueError, "gamma: -0.9"),
    (S.exponential, (-0.1, 0.9), {}, ValueError, "lr: -0.1"),
    (S.cosine, (0.1, 0), {}, ValueError, "total_steps: 0"),
    (S.cosine, (0.1, -5), {}, ValueError, "total_steps: -5"),
    (S.cosine, (0.1, 100), {"min_lr": 0.2}, ValueError, "min_lr: 0.2"),
    (S.cosine, (0.1, 100), {"min_lr": -0.01}, ValueError, "min_lr: -0.01"),
    (S.cosine, (-0.1, 100), {}, ValueError, "lr: -0.1"),
    (S.linear_warmup, (0.1, 0), {}, ValueError, "warmup_steps: 0"),
    (S.linear_warmup, (0.1, 10), {"start_factor": 0.0}, ValueError, "start_factor: 0.0"),
    (S.linear_warmup, (0.1, 10), {"start_factor": 1.5}, ValueError, "start_factor: 1.5"),
    (S.linear_warmup, (0.1, 10), {"start_factor": -0.1}, ValueError, "start_factor: -0.1"),
    (S.warmup_cosine, (0.1, 200, 100), {}, ValueError, "warmup longer than the run"),
    (S.warmup_cosine, (0.1, 200, 100), {}, ValueError, "warmup_steps: 200"),
    (S.warmup_cosine, (0.1, 100, 100), {}, ValueError, "warmup_steps: 100"),
    (S.warmup_cosine, (0.1, -1, 100), {}, ValueError, "warmup_steps: -1"),
    (S.warmup_cosine, (0.1, 10, 0), {}, ValueError, "total_steps: 0"),
    (S.warmup_cosine, (0.1, 10, 100), {"start_factor": 0.0}, ValueError, "start_factor: 0.0"),
    (S.warmup_cosine, (0.1, 10, 100), {"min_lr": 0.5}, ValueError, "min_lr: 0.5"),
    (S.one_cycle, (-0.1, 100), {}, ValueError, "max_lr: -0.1"),
    (S.one_cycle, (0.1, 0), {}, ValueError, "total_steps: 0"),
    (S.one_cycle, (0.1, 100), {"pct_start": 0.0}, ValueError, "pct_start: 0.0"),
    (S.one_cycle, (0.1, 100), {"pct_start": 1.0}, ValueError, "pct_start: 1.0"),
    (S.one_cycle, (0.1, 100), {"pct_start": 1.3}, ValueError, "pct_start: 1.3"),
    (S.one_cycle, (0.1, 10), {"pct_start": 0.1}, ValueError, "pct_start: 0.1"),  # p·T = 1
    (S.one_cycle, (0.1, 100), {"pct_start": 0.6, "three_phase": True}, ValueError, "pct_start: 0.6"),
    (S.one_cycle, (0.1, 100), {"anneal_strategy": "cosine"}, ValueError, "anneal_strategy: 'cosine'"),
    (S.one_cycle, (0.1, 100), {"div_factor": 0}, ValueError, "div_factor: 0"),
    (S.one_cycle, (0.1, 100), {"final_div_factor": -1.0}, ValueError, "final_div_factor: -1.0"),
    (S.one_cycle, (0.1, 100), {"three_phase": 1}, TypeError, "three_phase: 1"),
    (S.one_cycle, (0.1, 100), {"max_momentum": 1.0}, ValueError, "max_momentum: 1.0"),
    (S.one_cycle, (0.1, 100), {"base_momentum": -0.1}, ValueError, "base_momentum: -0.1"),
    (S.cosine_restarts, (0.1, 0), {}, ValueError, "first_period: 0"),
    (S.cosine_restarts, (0.1, -2), {}, ValueError, "first_period: -2"),
    (S.cosine_restarts, (0.1, 10), {"period_mult": 0}, ValueError, "period_mult: 0"),
    (S.cosine_restarts, (0.1, 10), {"period_mult": 1.5}, TypeError, "period_mult: 1.5"),
    (S.cosine_restarts, (0.1, 10), {"min_lr": 0.3}, ValueError, "min_lr: 0.3"),
    (S.cosine_restarts, (0.1, True), {}, TypeError, "first_period: True"),
]


@pytest.mark.parametrize(
    "factory, args, kwargs, exc, words", BAD, ids=[f"{b[0].__name__}-{b[4]}" for b in BAD]
)
def test_bad_arguments(factory, args, kwargs, exc, words):
    with pytest.raises(exc) as info:
        factory(*args, **kwargs)
    assert words in str(info.value)


# ----------------------------------------------------------------------------- torch cross-checks
def torch_lrs(make_scheduler, n, lr=0.1, optimizer="SGD", record="lr", **opt_kwargs):
    """The value of param_groups[0][record] before each of n steps, torch-style loop."""
    torch = pytest.importorskip("torch")
    p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, optimizer)([p], lr=lr, **opt_kwargs)
    sched = make_scheduler(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0][record])
        p.grad = torch.ones_like(p)
        opt.step()
        sched.step()
    return np.array(out, dtype=np.float64) if record != "betas" else np.array([b[0] for b in out])


def _cases():
    c = []  # (id, schedule, torch scheduler: (class name, kwargs) or opt -> scheduler, base lr, steps)
    for lr in (0.1, 2.5):
        c.append((f"constant-{lr}", S.constant(lr), ("LambdaLR", dict(lr_lambda=lambda e: 1.0)), lr, 50))
    for lr, size, gamma in [(0.1, 30, 0.1), (1.0, 7, 0.5), (0.3, 1, 0.97), (0.2, 13, 1.1)]:
        c.append((f"step_decay-{size}-{gamma}", S.step_decay(lr, size, gamma),
                  ("StepLR", dict(step_size=size, gamma=gamma)), lr, 200))
    for lr, ms, gamma in [(0.1, [30, 80], 0.1), (0.5, [1, 2, 50, 51, 150], 0.5), (0.05, [199], 3.0)]:
        c.append((f"multistep-{ms}-{gamma}", S.multistep(lr, ms, gamma),
                  ("MultiStepLR", dict(milestones=ms, gamma=gamma)), lr, 200))
    for lr, gamma in [(0.1, 0.99), (1.0, 0.9), (0.01, 1.01)]:
        c.append((f"exponential-{gamma}", S.exponential(lr, gamma), ("ExponentialLR", dict(gamma=gamma)),
                  lr, 300))
    for lr, T, eta in [(0.1, 100, 0.0), (0.3, 250, 1e-3), (1.0, 1, 0.0), (0.05, 7, 0.05)]:
        c.append((f"cosine-{T}-{eta}", S.cosine(lr, T, eta), ("CosineAnnealingLR", dict(T_max=T, eta_min=eta)),
                  lr, T + 1))  # within [0, total_steps]: torch is not clamped after
    for lr, W, s in [(0.1, 10, 0.01), (0.5, 50, 1 / 3), (0.2, 5, 1.0), (0.2, 1, 0.5)]:
        c.append((f"linear_warmup-{W}-{s:.3g}", S.linear_warmup(lr, W, s),
                  ("LinearLR", dict(start_factor=s, end_factor=1.0, total_iters=W)), lr, 100))
    for lr, W, T, s, eta in [(0.1, 20, 200, 0.01, 0.0), (0.5, 50, 300, 0.1, 1e-3), (0.1, 0, 100, 0.5, 0.0),
                             (0.2, 1, 60, 0.25, 0.01), (0.3, 99, 100, 0.01, 0.0)]:
        c.append((f"warmup_cosine-{W}-{T}-{s}-{eta}", S.warmup_cosine(lr, W, T, s, eta),
                  partial(_torch_warmup_cosine, W, T, s, eta), lr, T + 1))
    for kw in [dict(), dict(three_phase=True), dict(anneal_strategy="linear"),
               dict(three_phase=True, anneal_strategy="linear", pct_start=0.4),
               dict(pct_start=0.25, div_factor=10.0, final_div_factor=100.0), dict(pct_start=0.5)]:
        for N in (100, 237):
            c.append((f"one_cycle-{N}-{kw}", S.one_cycle(0.7, N, **kw),
                      ("OneCycleLR", dict(max_lr=0.7, total_steps=N, cycle_momentum=False, **kw)), 0.1, N))
    for lr, T0, mult, eta in [(0.1, 10, 1, 0.0), (0.1, 7, 2, 1e-3), (0.05, 3, 3, 0.0), (1.0, 1, 2, 0.1)]:
        c.append((f"cosine_restarts-{T0}-{mult}-{eta}", S.cosine_restarts(lr, T0, mult, eta),
                  ("CosineAnnealingWarmRestarts", dict(T_0=T0, T_mult=mult, eta_min=eta)), lr, 300))
    return c


def _torch_warmup_cosine(W, T, s, eta, opt):
    from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR

    return SequentialLR(opt, [LinearLR(opt, start_factor=s, total_iters=W),
                              CosineAnnealingLR(opt, T_max=T - W, eta_min=eta)], milestones=[W])


def _maker(spec):
    """A function opt -> torch scheduler; torch is imported only when it is called."""
    if callable(spec):
        return spec
    name, kwargs = spec
    return lambda opt: getattr(importlib.import_module("torch.optim.lr_scheduler"), name)(opt, **kwargs)


CASES = _cases()


@pytest.mark.filterwarnings("error")  # a torch warning would mean the loop is not torch's intended one
@pytest.mark.parametrize("schedule, spec, lr, n", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_matches_torch(schedule, spec, lr, n):
    expected = torch_lrs(_maker(spec), n, lr=lr)
    np.testing.assert_allclose(schedule(np.arange(n)), expected, rtol=1e-12, atol=0)


def test_cosine_is_held_where_torch_climbs_back():
    """Documented difference: torch's CosineAnnealingLR is not clamped after T_max."""
    T = 10
    theirs = torch_lrs(_maker(("CosineAnnealingLR", dict(T_max=T))), 2 * T + 1, lr=0.1)
    assert theirs[T] == 0.0 and theirs[2 * T] == pytest.approx(0.1)
    assert S.cosine(0.1, T)(T) == S.cosine(0.1, T)(2 * T) == 0.0


MOMENTUM_CASES = [dict(), dict(three_phase=True, pct_start=0.35), dict(anneal_strategy="linear"),
                  dict(base_momentum=0.5, max_momentum=0.99, pct_start=0.2)]


@pytest.mark.parametrize("kw", MOMENTUM_CASES, ids=[str(k) for k in MOMENTUM_CASES])
@pytest.mark.parametrize("optimizer, record", [("SGD", "momentum"), ("Adam", "betas")])
def test_one_cycle_momentum_matches_torch(kw, optimizer, record):
    n = 150
    extra = dict(momentum=0.9) if optimizer == "SGD" else {}
    make = _maker(("OneCycleLR", dict(max_lr=0.3, total_steps=n, **kw)))
    expected = torch_lrs(make, n, optimizer=optimizer, record=record, **extra)
    np.testing.assert_allclose(S.one_cycle(0.3, n, **kw).momentum(np.arange(n)), expected, rtol=1e-12, atol=0)


# ----------------------------------------------------------------------------- the Scheduler
def quadratic_grads(params, step):
    return [np.sin(p + 0.1 * step) + 0.5 * p for p in params]


def test_scheduler_sets_lr_before_every_step():
    params = [np.linspace(-1, 1, 5)]
    opt = optim.SGD(params, lr=123.0)
    sched = S.warmup_cosine(0.2, 5, 40, start_factor=0.1, min_lr=0.01)
    s = S.Scheduler(opt, sched)
    assert opt.lr == sched(0) == s.lr and s.last_step == 0
    for e in range(45):
        assert opt.lr == sched(e) == s.lr and s.last_step == e
        opt.step(quadratic_grads(params, e))
        s.step()
    assert "WarmupCosine" in repr(s) and "last_step=45" in repr(s)


def test_scheduled_sgd_equals_manual_updates():
    sched = S.step_decay(0.1, 3, 0.5)
    p_sched, p_manual = [np.linspace(-1, 1, 4)], [np.linspace(-1, 1, 4)]
    opt = optim.SGD(p_sched)
    s = S.Scheduler(opt, sched)
    for e in range(10):
        g = quadratic_grads(p_sched, e)
        opt.step(g)
        s.step()
        p_manual[0] -= sched(e) * g[0]
    np.testing.assert_allclose(p_sched[0], p_manual[0], rtol=1e-15)


def test_scheduler_accepts_plain_callable():
    opt = optim.Adam([np.zeros(3)])
    s = S.Scheduler(opt, lambda e: 0.1 / (1 + e))
    s.step()
    s.step()
    assert opt.lr == pytest.approx(0.1 / 3)
    assert s.state_dict() == {"last_step": 2, "schedule": None}


def test_state_dict_round_trip():
    sched = S.cosine_restarts(0.1, 4, 2, 0.001)
    params = [np.ones(3)]
    opt = optim.Adam(params)
    s = S.Scheduler(opt, sched)
    for e in range(7):
        opt.step(quadratic_grads(params, e))
        s.step()
    sd = s.state_dict()
    assert sd["last_step"] == 7
    opt2 = optim.Adam([np.ones(3)])
    s2 = S.Scheduler(opt2, S.cosine_restarts(0.1, 4, 2, 0.001))
    s2.load_state_dict(sd)
    assert s2.last_step == 7 and opt2.lr == s2.lr == opt.lr == sched(7)
    for _ in range(20):
        s.step()
        s2.step()
        assert opt2.lr == opt.lr
    with pytest.raises(ValueError, match="schedule"):
        S.Scheduler(optim.Adam([np.ones(3)]), S.cosine(0.1, 10)).load_state_dict(sd)
    with pytest.raises(ValueError, match="last_step"):
        s2.load_state_dict({"last_step": -1})


def test_cycle_momentum_sets_sgd_momentum():
    sched = S.one_cycle(0.5, 50)
    opt = optim.SGD([np.zeros(2)], momentum=0.9)
    s = S.Scheduler(opt, sched, cycle_momentum=True)
    for e in range(50):
        assert opt.hyper["momentum"] == sched.momentum(e) and opt.lr == sched(e)
        s.step()
    assert opt.hyper["momentum"] == pytest.approx(0.95)


def test_cycle_momentum_sets_adam_beta1_only():
    sched = S.one_cycle(0.01, 40, three_phase=True, pct_start=0.25)
    opt = optim.AdamW([np.zeros(2)], betas=(0.9, 0.98))
    s = S.Scheduler(opt, sched, cycle_momentum=True)
    for e in range(40):
        assert opt.hyper["betas"] == (sched.momentum(e), 0.98)
        s.step()
    s.load_state_dict({"last_step": 9})
    assert opt.hyper["betas"] == (sched.momentum(9), 0.98) and opt.lr == sched(9)


def test_cycle_momentum_refusals():
    with pytest.raises(ValueError, match="momentum"):
        S.Scheduler(optim.SGD([np.zeros(2)], momentum=0.9), S.cosine(0.1, 10), cycle_momentum=True)
    with pytest.raises(ValueError, match="momentum > 0"):
        S.Scheduler(optim.SGD([np.zeros(2)]), S.one_cycle(0.1, 10), cycle_momentum=True)
    with pytest.raises(ValueError, match="neither"):
        S.Scheduler(optim.Adagrad([np.zeros(2)]), S.one_cycle(0.1, 10), cycle_momentum=True)
    with pytest.raises(TypeError, match="callable"):
        S.Scheduler(optim.SGD([np.zeros(2)]), 0.1)
    opt = optim.SGD([np.zeros(2)], lr=0.5)
    with pytest.raises(TypeError, match="cycle_momentum"):
        S.Scheduler(opt, S.one_cycle(0.1, 10), cycle_momentum="yes")
    assert opt.lr == 0.5


def test_one_cycle_adam_run_matches_torch():
    """End to end: optimlab Adam + Scheduler(cycle_momentum) == torch Adam + OneCycleLR."""
    torch = pytest.importorskip("torch")
    n, x0 = 60, np.linspace(-2, 2, 6)
    p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    topt = torch.optim.Adam([p], lr=1.0, betas=(0.9, 0.99))
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=0.05, total_steps=n, three_phase=True)
    params = [x0.copy()]
    opt = optim.Adam(params, betas=(0.9, 0.99))
    s = S.Scheduler(opt, S.one_cycle(0.05, n, three_phase=True), cycle_momentum=True)
    for e in range(n):
        g = quadratic_grads(params, e)
        p.grad = torch.tensor(g[0])
        topt.step()
        tsched.step()
        opt.step(g)
        s.step()
        np.testing.assert_allclose(params[0], p.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_module_imports_only_numpy():
    code = ("import sys, optimlab.schedules; bad = [m for m in ('torch', 'matplotlib', 'optimlab.optim') "
            "if m in sys.modules]; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
