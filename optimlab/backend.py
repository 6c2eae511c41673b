"""Array-module helpers: the same optimizer code runs on NumPy and on CuPy arrays.

The module is always taken from the array itself (``array_module(x)``), never hard-wired,
so that a CuPy parameter is updated by CuPy kernels on the GPU.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np

try:  # CuPy is optional: ``pip install "optimlab[gpu]"``
    import cupy as _cupy  # type: ignore[import-not-found]
except Exception:  # pragma: no cover - depends on the machine
    _cupy = None


def has_cupy() -> bool:
    """True when CuPy is importable (a GPU may still be absent)."""
    return _cupy is not None


def array_module(x: Any) -> ModuleType:
    """Return ``numpy`` or ``cupy``, whichever owns the array ``x``."""
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        return _cupy
    return np


def is_array(x: Any) -> bool:
    """True for a NumPy or CuPy ndarray."""
    return isinstance(x, np.ndarray) or (_cupy is not None and isinstance(x, _cupy.ndarray))


def is_real_floating(x: Any) -> bool:
    """True for an ndarray of a real floating-point dtype (float16/32/64)."""
    return is_array(x) and np.issubdtype(x.dtype, np.floating)


def to_numpy(x: Any) -> np.ndarray:
    """Copy a NumPy or CuPy array (or anything array-like) to a NumPy array on the host."""
    if _cupy is not None and isinstance(x, _cupy.ndarray):
        return _cupy.asnumpy(x)
    return np.asarray(x)


def all_finite(x: Any) -> bool:
    """True when no entry of ``x`` is NaN or Inf.

    A sum is one cheap pass that allocates no array: any NaN or Inf makes it non-finite.
    Only when the sum is non-finite (which huge finite values can also cause) do we pay
    for the exact elementwise test.
    """
    xp = array_module(x)
    if xp is np:
        with np.errstate(over="ignore", invalid="ignore"):
            total = x.sum()
    else:
        total = x.sum()
    if bool(xp.isfinite(total)):
        return True
    return bool(xp.isfinite(x).all())
