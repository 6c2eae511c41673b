"""optimlab: an open course on deep-learning optimizers, and its reference package.

Submodules are imported on first use, so ``import optimlab`` stays fast and
``import optimlab.optim`` never pulls in matplotlib, ipywidgets or torch.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = (
    "backend", "optim", "schedules", "nn", "data", "problems", "train", "viz", "widgets", "grading",
)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'optimlab' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_SUBMODULES])
