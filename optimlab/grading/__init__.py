"""Exercise checks, the catalogue of known mistakes, and the instructor grader.

In an exercise notebook::

    from optimlab import grading
    grading.check_adam_step(adam_step)      # shows a report, returns a CheckResult

``check_<name>`` runs your function against optimlab's reference on seeded random and
edge-case inputs over several steps. When they disagree it shows the first step and the first
variable that differ, expected vs got, and names the likely mistake from the catalogue
(``grading.catalogue("adam_step")``). ``grading.exercises()`` lists every graded function.

The instructor grader is ``optimlab grade`` (see ``docs/instructors.md``); exercise notebooks
are generated from the solutions by ``optimlab make-exercises``.

Everything is imported on first use, so that the grader's sandbox process can import
``optimlab.grading.sandbox`` without the rest.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXERCISES = (
    "gd_step", "minibatches", "softmax_cross_entropy", "momentum_step", "nesterov_step", "adagrad_step",
    "rmsprop_step", "adadelta_step", "adam_step", "amsgrad_step", "adamw_step", "lion_step", "adabelief_step",
    "warmup_cosine_lr", "step_decay_lr", "linear_backward", "batchnorm_backward", "newton_schulz", "muon_step",
)

__all__ = ["CheckResult", "Failure", "catalogue", "check", "exercises", "results"] + [
    f"check_{name}" for name in _EXERCISES
]


def exercises() -> dict[str, str]:
    """Every graded function: name -> signature (in chapter order)."""
    from .specs import SPECS

    return {name: spec.signature for name, spec in SPECS.items()}


def _make_check(name: str):
    def check_fn(fn: Any):
        from .checks import check

        return check(name, fn)

    from .specs import get

    spec = get(name)
    check_fn.__name__ = check_fn.__qualname__ = f"check_{name}"
    check_fn.__doc__ = (
        f"Check your ``{spec.signature}`` ({spec.summary}) against optimlab's reference.\n\n"
        "Shows a report and returns a :class:`CheckResult` (``.passed``, ``.first_failure``, ``.mistake``)."
    )
    return check_fn


def __getattr__(name: str) -> Any:
    if name.startswith("check_") and name[len("check_"):] in _EXERCISES:
        fn = _make_check(name[len("check_"):])
        globals()[name] = fn
        return fn
    if name in ("CheckResult", "Failure", "check", "results"):
        return getattr(importlib.import_module(f"{__name__}.checks"), name)
    if name == "catalogue":
        return importlib.import_module(f"{__name__}.mistakes").catalogue
    if name in ("reference", "specs", "mistakes", "checks", "runner", "grader", "sandbox", "make_exercises",
                "scan"):
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
