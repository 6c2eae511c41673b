"""The registry of every optimizer in optimlab, with its defaults."""

from __future__ import annotations

from typing import Any

REGISTRY: dict[str, type] = {}


def register(cls: type) -> type:
    """Class decorator: list an optimizer class under its name."""
    REGISTRY[cls.__name__] = cls
    return cls


def available() -> dict[str, dict[str, Any]]:
    """Every optimizer's name with its default hyperparameters."""
    return {name: dict(cls.defaults) for name, cls in REGISTRY.items()}


def create(name: str, params: Any, **hyperparams: Any) -> Any:
    """Build an optimizer by name: ``create("Adam", params, lr=1e-3)``."""
    try:
        cls = REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown optimizer {name!r}; available: {', '.join(REGISTRY)}") from None
    return cls(params, **hyperparams)
