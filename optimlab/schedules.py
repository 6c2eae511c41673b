r"""Learning-rate schedules: each a pure function of the step, plus a :class:`Scheduler`
that drives any optimlab optimizer's ``lr``.

    >>> from optimlab import schedules
    >>> sched = schedules.warmup_cosine(0.1, warmup_steps=10, total_steps=100)
    >>> sched(0), sched(10)                      # (0.001, 0.1)
    >>> lrs = sched(np.arange(100))              # vectorized, for plotting
    >>> s = schedules.Scheduler(opt, sched)      # sets opt.lr = sched(0)
    >>> for batch in data:
    ...     opt.step(grads)
    ...     s.step()                             # opt.lr = sched(1), sched(2), ...

**Step convention** (torch's ``last_epoch``): steps count ``e = 0, 1, 2, ...`` and
``schedule(e)`` is the learning rate used by the (e+1)-th optimizer step. So ``schedule(0)``
is the lr of the very first update, and a run of ``N`` updates uses ``schedule(0..N-1)``.

Every schedule equals its ``torch.optim.lr_scheduler`` counterpart at every step of a run
(``tests/test_schedules.py`` checks this to 1e-12 relative); where torch is undefined or
surprising, the factory's docstring says what happens here. torch computes most schedules
recursively from the optimizer's current lr; these are the closed forms.

Notation: :math:`\eta` = ``lr``, :math:`\eta_{min}` = ``min_lr``, :math:`T` = ``total_steps``.
The two annealing curves, from ``a`` to ``b`` as the fraction ``p`` of a phase goes 0 → 1::

    cos_anneal(a, b, p) = b + (a − b)·(1 + cos(π p))/2
    lin_anneal(a, b, p) = a + (b − a)·p

Each schedule is a frozen dataclass: ``repr`` shows its arguments, ``.name`` its factory, and
``schedule(step)`` takes an int (returns a float) or an integer NumPy array (returns a float
array). A negative step raises ``ValueError``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

__all__ = [
    "Schedule", "Scheduler", "constant", "cosine", "cosine_restarts", "exponential",
    "linear_warmup", "multistep", "one_cycle", "step_decay", "warmup_cosine",
]

Steps = Any  # an int, a NumPy integer, or an integer NumPy array


# ----------------------------------------------------------------------------- argument checks
def _real(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"invalid {name}: {value!r} (must be a real number)")
    if not math.isfinite(value):
        raise ValueError(f"invalid {name}: {value!r} (must be finite)")
    return float(value)


def _int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"invalid {name}: {value!r} (must be an integer)")
    if value < minimum:
        raise ValueError(f"invalid {name}: {value!r} (must be an integer >= {minimum})")
    return int(value)


def _nonneg(name: str, value: Any) -> float:
    value = _real(name, value)
    if value < 0:
        raise ValueError(f"invalid {name}: {value!r} (must be >= 0)")
    return value


def _min_lr(min_lr: Any, lr: float) -> float:
    min_lr = _nonneg("min_lr", min_lr)
    if min_lr > lr:
        raise ValueError(f"invalid min_lr: {min_lr!r} (must be <= lr={lr!r})")
    return min_lr


def _positive(name: str, value: Any) -> float:
    value = _real(name, value)
    if value <= 0:
        raise ValueError(f"invalid {name}: {value!r} (must be > 0)")
    return value


def _start_factor(value: Any) -> float:
    value = _real("start_factor", value)
    if not 0 < value <= 1:
        raise ValueError(
            f"invalid start_factor: {value!r} (must be in (0, 1], as for torch's LinearLR)"
        )
    return value


def _momentum(name: str, value: Any) -> float:
    value = _real(name, value)
    if not 0 <= value < 1:
        raise ValueError(f"invalid {name}: {value!r} (must be in [0, 1))")
    return value


def _steps(step: Steps) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """The step(s) as a flat int64 array, and the shape to give the result (None: a float).
    Scalars go through the same array code as arrays, so both give bit-identical values."""
    e = np.asarray(step)
    if e.dtype == np.bool_ or not np.issubdtype(e.dtype, np.integer):
        raise TypeError(f"step must be an int or an integer array; got {step!r}")
    if e.size and e.min() < 0:
        raise ValueError(f"invalid step: {int(e.min())} (steps count from 0)")
    return e.astype(np.int64).reshape(-1), (None if e.ndim == 0 else e.shape)


def _shaped(values: Any, n: int, shape: tuple[int, ...] | None) -> Any:
    """Float for a scalar step, else a float64 array of the steps' shape."""
    values = np.broadcast_to(np.asarray(values, dtype=np.float64), (n,))
    return float(values[0]) if shape is None else values.reshape(shape).copy()


# ----------------------------------------------------------------------------- shared curves
def _cos_anneal(a: Any, b: Any, p: Any) -> np.ndarray:
    """From a (p = 0) to b (p = 1) along half a cosine: b + (a − b)(1 + cos πp)/2."""
    return b + (a - b) * (1 + np.cos(np.pi * p)) / 2


def _lin_anneal(a: Any, b: Any, p: Any) -> np.ndarray:
    """From a (p = 0) to b (p = 1) along a straight line: a + (b − a)p."""
    return a + (b - a) * p


def _progress(e: np.ndarray, n: int) -> np.ndarray:
    """Fraction of an n-step phase done after e steps, held at 1 once the phase is over."""
    return np.minimum(e, n) / n


# ----------------------------------------------------------------------------- schedules
@dataclass(frozen=True)
class Schedule:
    """Base class: ``schedule(step)`` validates the step(s) and evaluates :meth:`at`."""

    name: ClassVar[str] = "schedule"

    def __call__(self, step: Steps) -> Any:
        e, shape = _steps(step)
        return _shaped(self.at(e), e.size, shape)

    def at(self, e: np.ndarray) -> np.ndarray:
        """The lr at the (already checked) steps ``e``, a 1-D int64 array."""
        raise NotImplementedError


@dataclass(frozen=True)
class Constant(Schedule):
    lr: float
    name: ClassVar[str] = "constant"

    def at(self, e: np.ndarray) -> np.ndarray:
        return np.full(e.shape, self.lr)


@dataclass(frozen=True)
class StepDecay(Schedule):
    lr: float
    step_size: int
    gamma: float
    name: ClassVar[str] = "step_decay"

    def at(self, e: np.ndarray) -> np.ndarray:
        return self.lr * self.gamma ** (e // self.step_size)


@dataclass(frozen=True)
class MultiStep(Schedule):
    lr: float
    milestones: tuple[int, ...]
    gamma: float
    name: ClassVar[str] = "multistep"

    def at(self, e: np.ndarray) -> np.ndarray:
        passed = np.searchsorted(self.milestones, e, side="right")  # milestones ≤ e
        return self.lr * self.gamma**passed


@dataclass(frozen=True)
class Exponential(Schedule):
    lr: float
    gamma: float
    name: ClassVar[str] = "exponential"

    def at(self, e: np.ndarray) -> np.ndarray:
        return self.lr * self.gamma**e


@dataclass(frozen=True)
class Cosine(Schedule):
    lr: float
    total_steps: int
    min_lr: float
    name: ClassVar[str] = "cosine"

    def at(self, e: np.ndarray) -> np.ndarray:
        return _cos_anneal(self.lr, self.min_lr, _progress(e, self.total_steps))


@dataclass(frozen=True)
class LinearWarmup(Schedule):
    lr: float
    warmup_steps: int
    start_factor: float
    name: ClassVar[str] = "linear_warmup"

    def at(self, e: np.ndarray) -> np.ndarray:
        return _lin_anneal(self.start_factor * self.lr, self.lr, _progress(e, self.warmup_steps))


@dataclass(frozen=True)
class WarmupCosine(Schedule):
    lr: float
    warmup_steps: int
    total_steps: int
    start_factor: float
    min_lr: float
    name: ClassVar[str] = "warmup_cosine"

    def at(self, e: np.ndarray) -> np.ndarray:
        W, T = self.warmup_steps, self.total_steps
        warm = _lin_anneal(self.start_factor * self.lr, self.lr, _progress(e, W)) if W else self.lr
        cool = _cos_anneal(self.lr, self.min_lr, _progress(np.maximum(e - W, 0), T - W))
        return np.where(e < W, warm, cool)


@dataclass(frozen=True)
class CosineRestarts(Schedule):
    lr: float
    first_period: int
    period_mult: int
    min_lr: float
    name: ClassVar[str] = "cosine_restarts"

    def at(self, e: np.ndarray) -> np.ndarray:
        t_cur, period = _restart_position(e, self.first_period, self.period_mult)
        return _cos_anneal(self.lr, self.min_lr, t_cur / period)


def _restart_position(e: np.ndarray, first: int, mult: int) -> tuple[np.ndarray, np.ndarray]:
    """Steps since the last restart, and the length of the current cycle (cycle k has
    ``first·mult^k`` steps). Exact integer arithmetic, no logarithms."""
    if mult == 1:
        return e % first, np.full(e.shape, first)
    starts, periods, last = [0], [first], (e.max() if e.size else 0)
    while starts[-1] <= last:
        starts.append(starts[-1] + periods[-1])
        periods.append(periods[-1] * mult)
    k = np.searchsorted(starts, e, side="right") - 1  # the last cycle started at or before e
    return e - np.asarray(starts)[k], np.asarray(periods)[k]


@dataclass(frozen=True)
class OneCycle(Schedule):
    max_lr: float
    total_steps: int
    pct_start: float
    anneal_strategy: str
    div_factor: float
    final_div_factor: float
    three_phase: bool
    base_momentum: float
    max_momentum: float
    name: ClassVar[str] = "one_cycle"

    def _phases(self) -> list[tuple[float, float, float, float, float]]:
        """(end step, start lr, end lr, start momentum, end momentum) of each phase."""
        N, p = self.total_steps, self.pct_start
        peak, start = self.max_lr, self.max_lr / self.div_factor
        low = start / self.final_div_factor
        m_hi, m_lo = self.max_momentum, self.base_momentum
        if self.three_phase:
            return [(p * N - 1, start, peak, m_hi, m_lo), (2 * p * N - 2, peak, start, m_lo, m_hi),
                    (N - 1, start, low, m_hi, m_hi)]
        return [(p * N - 1, start, peak, m_hi, m_lo), (N - 1, peak, low, m_lo, m_hi)]

    def _along_phases(self, e: np.ndarray, start_col: int) -> np.ndarray:
        """Anneal between the phase's values in columns start_col, start_col + 1."""
        table = np.array(self._phases())
        ends = table[:, 0]
        i = np.minimum(np.searchsorted(ends, e, side="left"), len(ends) - 1)  # first end ≥ e
        begin = np.where(i == 0, 0.0, ends[i - 1])
        pct = np.minimum((e - begin) / (ends[i] - begin), 1.0)  # held at 1 after the run
        anneal = _cos_anneal if self.anneal_strategy == "cos" else _lin_anneal
        return anneal(table[i, start_col], table[i, start_col + 1], pct)

    def at(self, e: np.ndarray) -> np.ndarray:
        return self._along_phases(e, 1)

    def momentum(self, step: Steps) -> Any:
        """The momentum (or Adam's β1) torch's ``cycle_momentum=True`` sets at ``step``:
        max_momentum → base_momentum while the lr rises, then back, inversely to the lr."""
        e, shape = _steps(step)
        return _shaped(self._along_phases(e, 3), e.size, shape)


# ----------------------------------------------------------------------------- factories
def constant(lr: float) -> Constant:
    r"""η(e) = η."""
    return Constant(_nonneg("lr", lr))


def step_decay(lr: float, step_size: int, gamma: float = 0.1) -> StepDecay:
    r"""η(e) = η · γ^{⌊e / step_size⌋}  (torch ``StepLR``)."""
    return StepDecay(_nonneg("lr", lr), _int("step_size", step_size, 1), _positive("gamma", gamma))


def multistep(lr: float, milestones: Sequence[int], gamma: float = 0.1) -> MultiStep:
    r"""η(e) = η · γ^{#\{m ∈ milestones : m ≤ e\}}  (torch ``MultiStepLR``).

    ``milestones`` must be strictly increasing positive integers (torch also takes repeats,
    each applying γ once more; here a repeat is refused as a likely typo)."""
    if isinstance(milestones, (str, bytes)) or not isinstance(milestones, (Sequence, np.ndarray)):
        raise TypeError(f"invalid milestones: {milestones!r} (must be a sequence of integers)")
    ms = tuple(_int(f"milestones[{i}]", m, 1) for i, m in enumerate(milestones))
    if any(b <= a for a, b in zip(ms, ms[1:])):
        raise ValueError(f"invalid milestones: {list(ms)!r} (must be strictly increasing)")
    return MultiStep(_nonneg("lr", lr), ms, _positive("gamma", gamma))


def exponential(lr: float, gamma: float) -> Exponential:
    r"""η(e) = η · γ^e  (torch ``ExponentialLR``)."""
    return Exponential(_nonneg("lr", lr), _positive("gamma", gamma))


def cosine(lr: float, total_steps: int, min_lr: float = 0.0) -> Cosine:
    r"""η(e) = η_min + (η − η_min)(1 + cos(π e/T))/2 for e ≤ T, and η_min after
    (torch ``CosineAnnealingLR(T_max=total_steps, eta_min=min_lr)``).

    Unlike torch, the lr is held at ``min_lr`` after ``total_steps`` (as in optax's
    ``cosine_decay_schedule``); torch's formula is not clamped, so its lr climbs back to η
    over the next T steps and keeps oscillating with period 2T."""
    lr = _nonneg("lr", lr)
    return Cosine(lr, _int("total_steps", total_steps, 1), _min_lr(min_lr, lr))


def linear_warmup(lr: float, warmup_steps: int, start_factor: float = 0.01) -> LinearWarmup:
    r"""η(e) = η · (s + (1 − s)·min(e, W)/W), s = start_factor, W = warmup_steps: from s·η
    at step 0 up to η at step W, constant after (torch ``LinearLR(start_factor=s,
    end_factor=1, total_iters=W)``).

    As in torch, s must be in (0, 1]: torch's recursive update divides by s·W, so it cannot
    start from 0. W must be >= 1 (torch's ``total_iters=0`` stays at s·η forever)."""
    return LinearWarmup(_nonneg("lr", lr), _int("warmup_steps", warmup_steps, 1), _start_factor(start_factor))


def warmup_cosine(
    lr: float, warmup_steps: int, total_steps: int, start_factor: float = 0.01, min_lr: float = 0.0
) -> WarmupCosine:
    r"""Linear warmup from s·η to η over W = warmup_steps, then cosine from η to η_min over the
    remaining T − W steps (held at η_min after T)::

        η(e) = η (s + (1 − s) e/W)                                for e < W
        η(e) = η_min + (η − η_min)(1 + cos(π (e − W)/(T − W)))/2   for W ≤ e ≤ T

    This is torch's ``SequentialLR([LinearLR(start_factor=s, total_iters=W),
    CosineAnnealingLR(T_max=T − W, eta_min=η_min)], milestones=[W])``. ``warmup_steps=0``
    gives plain :func:`cosine`; the warmup must leave at least one step to anneal."""
    lr = _nonneg("lr", lr)
    warmup_steps = _int("warmup_steps", warmup_steps, 0)
    total_steps = _int("total_steps", total_steps, 1)
    if warmup_steps > total_steps:
        raise ValueError(
            f"invalid warmup_steps: {warmup_steps!r} (warmup longer than the run: "
            f"total_steps={total_steps!r})"
        )
    if warmup_steps == total_steps:
        raise ValueError(
            f"invalid warmup_steps: {warmup_steps!r} (as long as the run, total_steps="
            f"{total_steps!r}: no steps left for the cosine)"
        )
    return WarmupCosine(lr, warmup_steps, total_steps, _start_factor(start_factor), _min_lr(min_lr, lr))


def one_cycle(
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.3,
    anneal_strategy: Literal["cos", "linear"] = "cos",
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    three_phase: bool = False,
    base_momentum: float = 0.85,
    max_momentum: float = 0.95,
) -> OneCycle:
    r"""The 1cycle policy (torch ``OneCycleLR``, lr and momentum).

    With η₀ = max_lr/div_factor and η_min = η₀/final_div_factor, the lr anneals (``cos`` or
    ``linear``) through phases that end at these (fractional) steps:

    * two-phase: η₀ → max_lr until p·T − 1, then max_lr → η_min until T − 1;
    * ``three_phase``: η₀ → max_lr until p·T − 1, max_lr → η₀ until 2p·T − 2, η₀ → η_min
      until T − 1.

    Within a phase from step a to step b, the fraction is (e − a)/(b − a) (a = 0 for the first).
    :meth:`OneCycle.momentum` gives the momentum, which goes the opposite way
    (max_momentum → base_momentum → max_momentum); :class:`Scheduler` applies it with
    ``cycle_momentum=True``.

    Here p·T must exceed 1 (else torch divides by zero at step 0), ``three_phase`` needs
    p ≤ 0.5, and the lr is held at η_min from step T − 1 on. torch raises when asked for
    step T + 1, and at step T (which it allows, but no optimizer step uses in a run of T
    steps) its fraction exceeds 1, so its cosine has already turned back up."""
    max_lr = _nonneg("max_lr", max_lr)
    total_steps = _int("total_steps", total_steps, 1)
    pct_start = _real("pct_start", pct_start)
    if not 0 < pct_start < 1:
        raise ValueError(f"invalid pct_start: {pct_start!r} (must be in (0, 1))")
    if pct_start * total_steps <= 1:
        raise ValueError(
            f"invalid pct_start: {pct_start!r} (pct_start·total_steps = "
            f"{pct_start * total_steps:g} must be > 1: the warmup needs more than one step)"
        )
    if anneal_strategy not in ("cos", "linear"):
        raise ValueError(f"invalid anneal_strategy: {anneal_strategy!r} (must be 'cos' or 'linear')")
    if not isinstance(three_phase, (bool, np.bool_)):
        raise TypeError(f"invalid three_phase: {three_phase!r} (must be True or False)")
    if three_phase and pct_start > 0.5:
        raise ValueError(
            f"invalid pct_start: {pct_start!r} (with three_phase=True it must be <= 0.5: "
            "the rise and the fall each take pct_start of the run)"
        )
    return OneCycle(
        max_lr, total_steps, pct_start, anneal_strategy, _positive("div_factor", div_factor),
        _positive("final_div_factor", final_div_factor), bool(three_phase),
        _momentum("base_momentum", base_momentum), _momentum("max_momentum", max_momentum),
    )


def cosine_restarts(
    lr: float, first_period: int, period_mult: int = 1, min_lr: float = 0.0
) -> CosineRestarts:
    r"""SGDR: η(e) = η_min + (η − η_min)(1 + cos(π t/P))/2, where t counts the steps since the
    last restart and P is the current cycle's length: first_period, then × period_mult each
    restart (torch ``CosineAnnealingWarmRestarts(T_0, T_mult, eta_min)``).

    The lr jumps back to η at each restart and never reaches η_min exactly. ``period_mult``
    is an integer >= 1, as in torch."""
    lr = _nonneg("lr", lr)
    return CosineRestarts(
        lr, _int("first_period", first_period, 1), _int("period_mult", period_mult, 1), _min_lr(min_lr, lr)
    )


# ----------------------------------------------------------------------------- the scheduler
class Scheduler:
    """Drives an optimizer's ``lr`` (and, for :func:`one_cycle`, its momentum) along a schedule.

    Used like torch's schedulers: construction sets ``optimizer.lr = schedule(0)``; call
    :meth:`step` after each ``optimizer.step()`` to set the lr for the next one::

        s = Scheduler(opt, cosine(0.1, total_steps=N))
        for _ in range(N):
            opt.step(grads)
            s.step()

    With ``cycle_momentum=True`` (the schedule needs a ``momentum(step)`` method) it also sets
    the optimizer's ``momentum`` (SGD-like) or ``betas[0]`` (Adam-like) through ``set_hyper``.
    An SGD must then be built with ``momentum > 0``, so that it keeps a momentum buffer.
    ``schedule`` may be any callable ``int -> float``.
    """

    def __init__(self, optimizer: Any, schedule: Callable[[int], float], *, cycle_momentum: bool = False):
        if not callable(schedule):
            raise TypeError(f"schedule must be callable (step -> lr); got {type(schedule).__name__}")
        if not isinstance(cycle_momentum, (bool, np.bool_)):
            raise TypeError(f"invalid cycle_momentum: {cycle_momentum!r} (must be True or False)")
        self.optimizer = optimizer
        self.schedule = schedule
        self.momentum_key: str | None = None
        if cycle_momentum:
            if not callable(getattr(schedule, "momentum", None)):
                raise ValueError(f"cycle_momentum=True needs a schedule with momentum(step); got {schedule!r}")
            hyper = getattr(optimizer, "hyper", {})
            keys = [k for k in ("momentum", "betas") if k in hyper]
            if not keys:
                raise ValueError(
                    f"cycle_momentum=True: {type(optimizer).__name__} has neither a 'momentum' "
                    "nor a 'betas' hyperparameter"
                )
            self.momentum_key = keys[0]
            if self.momentum_key == "momentum" and hyper["momentum"] == 0:
                raise ValueError(
                    f"cycle_momentum=True: build the {type(optimizer).__name__} with momentum > 0 "
                    "(with momentum=0 it keeps no momentum buffer to cycle)"
                )
        self.last_step = 0
        self._apply()

    @property
    def lr(self) -> float:
        """The lr set for the next optimizer step, ``schedule(last_step)``."""
        return self._lr

    def step(self) -> None:
        """Advance one step (call after ``optimizer.step()``) and set the next lr."""
        self.last_step += 1
        self._apply()

    def _apply(self) -> None:
        self._lr = float(self.schedule(self.last_step))
        self.optimizer.lr = self._lr
        if self.momentum_key == "momentum":
            self.optimizer.set_hyper(momentum=self.schedule.momentum(self.last_step))
        elif self.momentum_key == "betas":
            beta2 = self.optimizer.hyper["betas"][1]
            self.optimizer.set_hyper(betas=(self.schedule.momentum(self.last_step), beta2))

    def state_dict(self) -> dict[str, Any]:
        """``{"last_step": e, "schedule": repr}`` (the repr is None for a plain callable)."""
        return {
            "last_step": self.last_step,
            "schedule": repr(self.schedule) if isinstance(self.schedule, Schedule) else None,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume at the saved step and set the optimizer's lr (and momentum) for it."""
        last_step = _int("last_step", state_dict["last_step"], 0)
        saved, mine = state_dict.get("schedule"), self.state_dict()["schedule"]
        if saved is not None and mine is not None and saved != mine:
            raise ValueError(f"this state_dict is for the schedule {saved}, not {mine}")
        self.last_step = last_step
        self._apply()

    def __repr__(self) -> str:
        return f"Scheduler({type(self.optimizer).__name__}, {self.schedule!r}, last_step={self.last_step})"
