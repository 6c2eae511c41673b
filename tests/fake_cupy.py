"""A stand-in for CuPy on machines without a GPU: NumPy arrays behind CuPy's wall.

It is *not* a GPU and proves nothing about CUDA kernels; ``tests/test_cupy.py`` (real CuPy)
and ``benchmarks/gpu_optimizers.py`` do that where a GPU is present. What it does check, on
every machine, is the part of "the same code runs on CuPy arrays" that breaks most often:
that optimlab takes its array module from the arrays and never lets a device array meet a
host array. Like CuPy, it refuses

* implicit conversion to NumPy (``np.asarray(x)``, ``np.array(x)``: TypeError; ``.get()`` or
  ``asnumpy`` are the explicit ways),
* NumPy arrays as operands, as ``out=`` or as assigned values (TypeError "Unsupported type";
  for an assigned value CuPy raises ValueError "non-scalar numpy.ndarray cannot be used for fill"),

and, like CuPy, its reductions return 0-d device arrays, not NumPy scalars, and its ``flags``
have no ``writeable``. The arithmetic itself is NumPy's, so a run on these arrays must equal
a run on NumPy arrays bit for bit.

Install it with :func:`installed` (a context manager) so that ``optimlab.backend`` and
``import cupy`` both see it.
"""

from __future__ import annotations

import contextlib
import sys
import types
from typing import Any

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

__version__ = "0.0 (fake_cupy: NumPy on the CPU)"


def _refuse(what: str) -> TypeError:
    return TypeError(f"Unsupported type {what} (fake_cupy: a NumPy array met a device array)")


def _unwrap(x: Any) -> Any:
    """The NumPy array behind a device array; NumPy arrays are refused, scalars pass."""
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray):
        raise _refuse(str(type(x)))
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(i) for i in x)
    return x


def _wrap(r: Any) -> Any:
    """NumPy results as device arrays (scalars too: CuPy's reductions return 0-d arrays)."""
    if isinstance(r, np.ndarray):
        return ndarray(r)
    if isinstance(r, np.generic):
        return ndarray(np.asarray(r))
    if isinstance(r, tuple):
        return tuple(_wrap(i) for i in r)
    return r


class _Flags:
    """CuPy's flags: contiguity and ownership, no ``writeable``."""

    def __init__(self, a: np.ndarray):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata


class ndarray(NDArrayOperatorsMixin):
    """A device array. Operators come from NumPy's mixin, through ``__array_ufunc__``."""

    __slots__ = ("_a",)
    __array_priority__ = 100

    def __init__(self, a: np.ndarray):
        self._a = a

    # -- the wall
    def __array__(self, *args: Any, **kwargs: Any):
        raise TypeError(
            "Implicit conversion to a NumPy array is not allowed. "
            "Please use `.get()` to construct a NumPy array explicitly."
        )

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if out is not None:
            if not all(isinstance(o, ndarray) for o in out):
                raise _refuse(f"for out= ({', '.join(type(o).__name__ for o in out)})")
            kwargs["out"] = tuple(o._a for o in out)
        result = getattr(ufunc, method)(*(_unwrap(x) for x in inputs), **kwargs)
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        # like CuPy: numpy.f(device array) runs the device module's f
        impl = globals().get(func.__name__)
        if impl is None:
            return NotImplemented
        return impl(*args, **kwargs)

    # -- attributes
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    size = property(lambda self: self._a.size)
    ndim = property(lambda self: self._a.ndim)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: _Flags(self._a))
    T = property(lambda self: ndarray(self._a.T))

    @property
    def base(self):
        return None if self._a.base is None else ndarray(self._a.base)

    def __len__(self) -> int:
        return len(self._a)

    def __repr__(self) -> str:
        return f"fake_cupy.{self._a!r}"

    # -- conversions CuPy allows (they synchronize with the device)
    def __float__(self) -> float:
        return float(self._a)

    def __int__(self) -> int:
        return int(self._a)

    def __bool__(self) -> bool:
        return bool(self._a)

    def item(self):
        return self._a.item()

    def get(self) -> np.ndarray:
        return self._a.copy()

    # -- indexing
    def __getitem__(self, key):
        return _wrap(self._a[_unwrap(key)])

    def __setitem__(self, key, value) -> None:
        self._a[_unwrap(key)] = _unwrap(value)

    # -- methods: NumPy's, on the device
    def __getattr__(self, name: str):
        method = getattr(np.ndarray, name, None)
        if name.startswith("_") or not callable(method):
            raise AttributeError(f"fake_cupy.ndarray has no attribute {name!r}")

        def call(*args, **kwargs):
            out = kwargs.get("out")
            if out is not None:
                kwargs["out"] = _unwrap(out)
            return _wrap(method(self._a, *(_unwrap(a) for a in args), **kwargs))

        return call


# ----------------------------------------------------------------------------- the module
def asarray(x: Any, dtype: Any = None) -> ndarray:
    """Host to device (a copy, as a transfer is); a device array is returned as it is."""
    if isinstance(x, ndarray):
        return x if dtype is None or x.dtype == dtype else x.astype(dtype)
    return ndarray(np.array(x, dtype=dtype, copy=True))


def asnumpy(x: Any) -> np.ndarray:
    """Device to host, explicitly."""
    return x.get() if isinstance(x, ndarray) else np.asarray(x)


def _device_function(name: str):
    function = getattr(np, name)

    def call(*args, **kwargs):
        out = kwargs.get("out")
        if out is not None and not isinstance(out, ndarray):
            raise _refuse(f"for out= ({type(out).__name__})")
        result = function(*(_unwrap(a) for a in args), **{k: _unwrap(v) for k, v in kwargs.items()})
        return out if out is not None else _wrap(result)

    call.__name__ = name
    return call


def __getattr__(name: str):
    """Any other NumPy function or dtype, as the device module's: ``fake_cupy.sqrt`` etc."""
    value = getattr(np, name, None)
    if value is None or name.startswith("_"):
        raise AttributeError(f"module 'fake_cupy' has no attribute {name!r}")
    if isinstance(value, type) or not callable(value):  # dtypes (float32), constants (pi)
        return value
    return _device_function(name)


# ----------------------------------------------------------------------------- cupy.cuda
class _Stream:
    def synchronize(self) -> None:
        pass


class _Pool:
    def free_all_blocks(self) -> None:
        pass


cuda = types.SimpleNamespace(
    runtime=types.SimpleNamespace(
        getDeviceCount=lambda: 1,
        getDeviceProperties=lambda i: {"name": b"fake_cupy (NumPy on the CPU, not a GPU)", "totalGlobalMem": 0},
    ),
    get_current_stream=lambda: _Stream(),
)


def get_default_memory_pool() -> _Pool:
    return _Pool()


@contextlib.contextmanager
def installed():
    """Within the block, ``import cupy`` and ``optimlab.backend`` find this module."""
    from optimlab import backend

    module = sys.modules[__name__]
    saved_backend, saved_module = backend._cupy, sys.modules.get("cupy")
    backend._cupy = module
    sys.modules["cupy"] = module
    try:
        yield module
    finally:
        backend._cupy = saved_backend
        if saved_module is None:
            sys.modules.pop("cupy", None)
        else:
            sys.modules["cupy"] = saved_module
