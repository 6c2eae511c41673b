"""The optimizer base class: parameters, hyperparameter checks, state, and a safe ``step``.

An optimizer here is a pure per-tensor update rule (a plain function in its own module,
written like its equation) plus a thin subclass of :class:`Optimizer` that says which state
arrays the rule needs and passes them in. Everything the rules share lives here:

* parameters as a list of arrays, a dict ``name -> array`` or a model (``named_parameters()``);
* hyperparameter validation, with errors that name the culprit;
* gradient validation *before* anything is touched, so a refused step changes nothing;
* preallocated state and scratch memory, so the hot path allocates no array;
* ``state_dict`` / ``load_state_dict`` and ``save`` / ``load`` (``.npz``);
* with ``fused=True``, a one-pass numba kernel instead of the rule (``_fused.py``);
* otherwise, on large NumPy arrays, elementwise rules run block by block on a few threads,
  so their temporaries stay in cache (``_blocks.py``; the same result, bit for bit); the
  kernels run on the same block threads.

When a model keeps all its parameters as views into one flat buffer (``optimlab.nn`` does),
elementwise rules run once over the whole buffer instead of once per tensor.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, ClassVar

import numpy as np

from ..backend import all_finite, array_module, is_array, is_real_floating, to_numpy
from . import _blocks

Array = Any
NONFINITE_POLICIES = ("raise", "skip", "propagate")


# ----------------------------------------------------------------------------- checks
def check_nonnegative(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
        raise ValueError(f"invalid {name}: {value!r} (must be a number >= 0)")


def check_beta(name: str, value: Any) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1:
        raise ValueError(f"invalid {name}: {value!r} (must be in [0, 1))")


def check_betas(name: str, value: Any) -> None:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"invalid {name}: {value!r} (must be a pair (beta1, beta2))")
    for i, beta in enumerate(value):
        check_beta(f"{name}[{i}] (beta{i + 1})", beta)


def check_bool(name: str, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"invalid {name}: {value!r} (must be True or False)")


# ----------------------------------------------------------------------------- parameters
class ParamSet:
    """Named parameter arrays, and the model's flat buffer when it has one."""

    def __init__(self, params: Any):
        self.model = None
        if hasattr(params, "named_parameters") and callable(params.named_parameters):
            self.model = params
            named = dict(params.named_parameters())
        elif isinstance(params, Mapping):
            named = dict(params)
        elif is_array(params):
            raise TypeError(
                "params must be a list or dict of arrays, or a model; got a single array "
                "(wrap it in a list: [param])"
            )
        else:
            try:
                named = {f"param[{i}]": p for i, p in enumerate(params)}
            except TypeError:
                raise TypeError(
                    f"params must be a list or dict of arrays, or a model; got {type(params).__name__}"
                ) from None
        if not named:
            raise ValueError("params is empty: the optimizer has nothing to update")
        for name, p in named.items():
            if not isinstance(name, str):
                raise TypeError(f"parameter names must be strings; got {name!r}")
            if not is_real_floating(p):
                what = f"an array of dtype {p.dtype}" if is_array(p) else type(p).__name__
                raise TypeError(
                    f"parameter {name!r} must be a real floating-point NumPy or CuPy array; got {what}"
                )
            if not getattr(p.flags, "writeable", True):  # (CuPy's flags have no writeable)
                raise ValueError(f"parameter {name!r} is read-only: the optimizer updates it in place")
        self.names = list(named)
        self.arrays = list(named.values())
        self.flat = self._flat_buffer()

    def _flat_buffer(self) -> Array | None:
        """The model's flat parameter buffer if every parameter is a view into it, in order."""
        flat = getattr(self.model, "flat_parameters", None)
        if flat is None or getattr(self.model, "flat_gradients", None) is None:
            return None
        offset = 0
        for p in self.arrays:
            if p.base is not flat and p.base is not getattr(flat, "base", None):
                return None
            if p.dtype != flat.dtype:
                return None
            offset += p.size
        if offset != flat.size:
            return None
        return flat

    def model_gradients(self) -> dict[str, Array]:
        if self.model is None:
            raise TypeError("step() needs the gradients: opt.step(grads)")
        if hasattr(self.model, "named_gradients"):
            return dict(self.model.named_gradients())
        raise TypeError(
            f"step() needs the gradients: this {type(self.model).__name__} has no named_gradients()"
        )


class _Unit:
    """What one call of the rule updates: a parameter (or the flat buffer), its state, scratch."""

    __slots__ = ("param", "state", "work", "gbuf", "names")

    def __init__(self, param: Array, state: dict[str, Array], scratch: list[Array], names: list[str]):
        self.param, self.state, self.names = param, state, names
        # the last scratch array holds the gradient when it must be gathered or negated;
        # the rule gets the others
        self.work, self.gbuf = scratch[:-1], scratch[-1]


# ----------------------------------------------------------------------------- the base class
class Optimizer:
    """Base class. Subclasses set ``defaults`` and ``checks``, and implement ``state_names``
    and ``update`` (which calls the rule function).

    Every optimizer takes, besides its hyperparameters:

    * ``nonfinite``: what a gradient with NaN or Inf does. ``"raise"`` (the default): a
      FloatingPointError that names the parameter, with nothing changed; ``"skip"``: a
      warning, and the step is skipped; ``"propagate"``: no check at all, as in torch.optim:
      NaN and Inf flow into the parameters and state (saves one read of the gradient per step).
    * ``fused``: True runs a one-pass numba kernel where the class has one (``_fused.py``).
    """

    defaults: ClassVar[dict[str, Any]] = {}
    checks: ClassVar[dict[str, Callable[[str, Any], None]]] = {}
    #: elementwise rules may run over a model's flat buffer in one pass
    elementwise: ClassVar[bool] = True
    #: how many scratch arrays (each the size of the largest parameter) the rule needs
    scratch: ClassVar[int] = 2
    #: names of optimizer-wide scalar state besides the step counter (e.g. NAdam's mu_product)
    scalar_state: ClassVar[dict[str, float]] = {}
    #: the class has a one-pass numba kernel (``fused_update``) for ``fused=True``
    has_fused_kernel: ClassVar[bool] = False

    def __init__(
        self, params: Any, *, nonfinite: str = "raise", fused: bool | None = None, **hyperparams: Any
    ):
        unknown = sorted(set(hyperparams) - set(self.defaults))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unknown hyperparameter(s) {', '.join(map(repr, unknown))}; "
                f"it takes {', '.join(self.defaults)}"
            )
        if nonfinite not in NONFINITE_POLICIES:
            raise ValueError(f"invalid nonfinite: {nonfinite!r} (must be 'raise', 'skip' or 'propagate')")
        if fused is not None:
            check_bool("fused", fused)
        if fused and not self.has_fused_kernel:
            from .registry import REGISTRY

            with_kernel = [name for name, cls in REGISTRY.items() if cls.has_fused_kernel]
            raise TypeError(f"{type(self).__name__} has no fused kernel; fused=True is for {', '.join(with_kernel)}")
        hyper = {**self.defaults, **hyperparams}
        for key in ("betas",):
            if isinstance(hyper.get(key), list):
                hyper[key] = tuple(hyper[key])
        self._check_hyper(hyper)
        self.hyper: dict[str, Any] = hyper
        self.nonfinite = nonfinite
        #: how to compute, not what: True runs the numba kernel, None/False the plain rule
        self.fused = fused
        self._fused_warned: set[str] = set()
        #: per dtype, per block worker: scratch arrays of one block (made on first use)
        self._block_work: dict[Any, list[list[np.ndarray]]] = {}
        self.params = ParamSet(params)
        self.step_count = 0
        self.skipped_steps = 0
        self.scalars: dict[str, float] = dict(self.scalar_state)
        self._build_state()

    # -- hyperparameters
    def _check_hyper(self, hyper: dict[str, Any]) -> None:
        for key, check in self.checks.items():
            check(key, hyper[key])
        self.check_combination(hyper)

    def check_combination(self, hyper: dict[str, Any]) -> None:
        """Checks that involve several hyperparameters (override where needed)."""

    @property
    def lr(self) -> float:
        """The learning rate η; a scheduler sets it before each step."""
        return self.hyper["lr"]

    @lr.setter
    def lr(self, value: float) -> None:
        check_nonnegative("lr", value)
        self.hyper["lr"] = float(value)

    def set_hyper(self, **changes: Any) -> None:
        """Change hyperparameters between steps (validated; the state is kept)."""
        unknown = sorted(set(changes) - set(self.defaults))
        if unknown:
            raise TypeError(f"{type(self).__name__} has no hyperparameter(s) {unknown}")
        hyper = {**self.hyper, **changes}
        if tuple(self.state_names(hyper)) != tuple(self.state_names(self.hyper)):
            raise ValueError("this change would need different state arrays; make a new optimizer")
        self._check_hyper(hyper)
        self.hyper = hyper

    # -- state
    def state_names(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        """Names of the per-parameter state arrays the rule needs, given the hyperparameters."""
        raise NotImplementedError

    def init_state(self, name: str, param: Array) -> dict[str, Array]:
        """Fresh state arrays for one parameter; zeros unless overridden."""
        xp = array_module(param)
        return {key: xp.zeros_like(param) for key in self.state_names(self.hyper)}

    def _build_state(self) -> None:
        ps = self.params
        self.state: dict[str, dict[str, Array]] = {}
        workspaces = self._workspaces()
        if self.elementwise and ps.flat is not None:
            flat = ps.flat
            flat_state = self.init_state("<flat>", flat)
            offset = 0
            for name, p in zip(ps.names, ps.arrays):
                self.state[name] = {
                    k: a[offset : offset + p.size].reshape(p.shape) for k, a in flat_state.items()
                }
                offset += p.size
            work = [w[: flat.size] for w in workspaces[(array_module(flat).__name__, flat.dtype)]]
            self._units = [_Unit(flat, flat_state, work, ps.names)]
        else:
            self._units = []
            for name, p in zip(ps.names, ps.arrays):
                self.state[name] = self.init_state(name, p)
                ws = workspaces[(array_module(p).__name__, p.dtype)]
                work = [w[: p.size].reshape(p.shape) for w in ws]
                self._units.append(_Unit(p, self.state[name], work, [name]))

    def _workspaces(self) -> dict[tuple[str, Any], list[Array]]:
        """Scratch buffers shared by all parameters of one array module and dtype."""
        sizes: dict[tuple[str, Any], tuple[Array, int]] = {}
        for p in self.params.arrays:
            key = (array_module(p).__name__, p.dtype)
            size = p.size if self.params.flat is None else max(p.size, self.params.flat.size)
            if key not in sizes or sizes[key][1] < size:
                sizes[key] = (p, size)
        return {
            key: [array_module(p).empty(size, dtype=p.dtype) for _ in range(self.scratch + 1)]
            for key, (p, size) in sizes.items()
        }

    # -- the step
    def step(self, grads: Any = None) -> bool:
        """Apply one update. ``grads`` is aligned with the parameters (list, or dict by name);
        for a model it may be omitted. Returns False if a non-finite gradient made it skip."""
        named = self._match_grads(grads)
        t = self.step_count + 1
        bad = self._first_nonfinite(named)
        if bad is not None:
            msg = (
                f"{type(self).__name__} step {t}: the gradient of {bad!r} contains NaN or Inf; "
                "no parameter or state was changed"
            )
            if self.nonfinite == "raise":
                raise FloatingPointError(msg + " (pass nonfinite='skip' to skip such steps)")
            warnings.warn(msg + " (step skipped)", RuntimeWarning, stacklevel=2)
            self.skipped_steps += 1
            return False
        self.step_count = t
        self.advance_scalars(t)
        blocks: list[tuple[int, _blocks.Job]] = []  # (elements, job) for the block threads
        for unit in self._units:
            g = self._unit_grad(unit, named)
            kernels = self._fused_kernels(unit, g) if self.fused else None
            if kernels is not None:  # one pass in numba; it applies maximize itself
                blocks += self._kernel_jobs(kernels, unit, g, t)
            elif (
                self.elementwise and unit.param.size > _blocks.BLOCK
                and _blocks.splittable([unit.param, g, *unit.state.values()])
            ):
                blocks += self._block_jobs(unit, g, t)
            else:
                self._update_unit(unit.param, g, unit.state, unit.work, unit.gbuf, t, unit.names)
        sizes = [size for size, _ in blocks]
        _blocks.run([job for _, job in blocks], sum(sizes), sizes)  # threads only when the work is large
        return True

    def _update_unit(self, param, grad, state, work, gbuf, t: int, names: list[str]) -> None:
        if self.hyper.get("maximize"):  # ascend: the rule sees −∇f (before weight decay)
            grad = array_module(grad).negative(grad, out=gbuf)
        self.update(param, grad, state, work, t, names)

    def _kernel_jobs(self, kernels: ModuleType, unit: _Unit, grad: Array, t: int) -> list[tuple[int, _blocks.Job]]:
        """The numba kernel on parts of the unit (one per thread for a large unit)."""
        return _jobs_on_slices(
            unit, grad, _blocks.split_for_threads(unit.param.size),
            lambda param, g, state, _worker: self.fused_update(kernels, param, g, state, t),
        )

    def _block_jobs(self, unit: _Unit, grad: Array, t: int) -> list[tuple[int, _blocks.Job]]:
        """The rule on cache-sized blocks of the unit, with each worker's own scratch memory."""
        scratch = self._block_scratch(unit.param.dtype)

        def update(param: Array, g: Array, state: dict[str, Array], worker: int) -> None:
            work = [w[: param.size] for w in scratch[worker]]
            self._update_unit(param, g, state, work[:-1], work[-1], t, unit.names)

        return _jobs_on_slices(unit, grad, _blocks.split(unit.param.size), update)

    def _block_scratch(self, dtype: Any) -> list[list[np.ndarray]]:
        size = min(_blocks.BLOCK, max(u.param.size for u in self._units))
        scratch = self._block_work.get(dtype)
        if scratch is None or scratch[0][0].size < size or len(scratch) < _blocks.num_threads():
            # the rule's scratch arrays and one for −∇f, per worker
            self._block_work[dtype] = [
                [np.empty(size, dtype=dtype) for _ in range(self.scratch + 1)] for _ in range(_blocks.num_threads())
            ]
        return self._block_work[dtype]

    def advance_scalars(self, t: int) -> None:
        """Update optimizer-wide scalar state before the parameters (override where needed)."""

    def update(
        self, param: Array, grad: Array, state: dict[str, Array], work: list[Array], t: int,
        names: list[str],
    ) -> None:
        """Call the rule on one parameter (or the flat buffer). ``grad`` is read-only."""
        raise NotImplementedError

    def fused_update(
        self, kernels: ModuleType, param: Array, grad: Array, state: dict[str, Array], t: int
    ) -> None:
        """``fused=True``: the same update as ``update`` by a one-pass kernel of ``kernels``
        (``optimlab.optim._fused``). ``grad`` is the raw gradient: the kernel applies maximize."""
        raise NotImplementedError

    def _fused_kernels(self, unit: _Unit, grad: Array) -> ModuleType | None:
        """The numba kernels if they can update this unit, else None (the plain rule runs),
        with a RuntimeWarning, once per reason, that says why."""
        kernels, reason = _import_fused()
        if reason is None:
            reason = _not_for_kernels([unit.param, grad, *unit.state.values()])
        if reason is None:
            return kernels
        if reason not in self._fused_warned:
            self._fused_warned.add(reason)
            warnings.warn(
                f"{type(self).__name__}(fused=True) runs the plain NumPy rule: {reason}",
                RuntimeWarning, stacklevel=3,
            )
        return None

    def _match_grads(self, grads: Any) -> dict[str, Array]:
        ps = self.params
        if grads is None:
            named = ps.model_gradients()
        elif hasattr(grads, "named_gradients") and grads is ps.model:
            named = ps.model_gradients()
        elif isinstance(grads, Mapping):
            missing = [n for n in ps.names if n not in grads]
            extra = [n for n in grads if n not in ps.names]
            if missing:
                raise ValueError(f"missing gradient(s) for parameter(s) {missing}")
            if extra:
                raise ValueError(f"gradient(s) given for unknown parameter(s) {extra}")
            named = dict(grads)
        elif is_array(grads):
            raise TypeError("grads must be a list or dict of arrays aligned with the parameters")
        else:
            grads = list(grads)
            if len(grads) != len(ps.names):
                raise ValueError(
                    f"expected {len(ps.names)} gradient(s), one per parameter; got {len(grads)}"
                )
            named = dict(zip(ps.names, grads))
        for name, p in zip(ps.names, ps.arrays):
            g = named[name]
            if not is_array(g) or not np.issubdtype(g.dtype, np.floating):
                what = f"an array of dtype {g.dtype}" if is_array(g) else type(g).__name__
                raise TypeError(
                    f"the gradient of {name!r} must be a real floating-point array; got {what}"
                )
            if g.shape != p.shape:
                raise ValueError(
                    f"the gradient of {name!r} has shape {g.shape}, its parameter {p.shape}"
                )
            if g.dtype != p.dtype:
                raise TypeError(
                    f"the gradient of {name!r} has dtype {g.dtype}, its parameter {p.dtype}"
                )
            if array_module(g) is not array_module(p):
                raise TypeError(
                    f"the gradient of {name!r} is a {array_module(g).__name__} array, "
                    f"its parameter a {array_module(p).__name__} array"
                )
        return named

    def _first_nonfinite(self, named: dict[str, Array]) -> str | None:
        if self.nonfinite == "propagate":
            return None
        names = self.params.names
        grads = [named[n] for n in names]
        flat = self._model_flat_grad(grads)
        if flat is not None and self._all_finite_each([flat])[0]:
            return None  # one check of the model's gradient buffer instead of one per tensor
        return next((n for n, ok in zip(names, self._all_finite_each(grads)) if not ok), None)

    def _all_finite_each(self, arrays: list[Array]) -> list[bool]:
        """``backend.all_finite`` of each array, block by block on the threads where they can be
        split (with ``fused=True``, each block by the numba kernels' one-pass check)."""
        kernels = _import_fused()[0] if self.fused else None
        check = dict(block_is_finite=kernels.all_finite, parts=_blocks.split_for_threads) if kernels else {}
        finite: list[bool | None] = [None] * len(arrays)
        blocked = [i for i, a in enumerate(arrays) if _blocks.splittable([a])]
        for i, ok in zip(blocked, _blocks.all_finite_each([arrays[i] for i in blocked], **check)):
            finite[i] = ok
        return [all_finite(a) if ok is None else ok for a, ok in zip(arrays, finite)]

    def _model_flat_grad(self, grads: list[Array]) -> Array | None:
        """The model's flat gradient buffer, when ``grads`` are all views of it (else None)."""
        flat = getattr(self.params.model, "flat_gradients", None)
        if flat is None or not all(g.base is flat or g.base is getattr(flat, "base", None) for g in grads):
            return None
        return flat

    def _unit_grad(self, unit: _Unit, named: dict[str, Array]) -> Array:
        if len(unit.names) == 1 and unit.param is not self.params.flat:
            return named[unit.names[0]]
        grads = [named[n] for n in unit.names]
        model_flat_grad = self._model_flat_grad(grads)
        if model_flat_grad is not None:
            return model_flat_grad
        gathered = unit.gbuf
        offset = 0
        for g in grads:
            gathered[offset : offset + g.size] = g.reshape(-1)
            offset += g.size
        return gathered

    # -- saving and restoring
    def state_dict(self) -> dict[str, Any]:
        """A deep copy of everything needed to continue exactly: hyperparameters, step
        counter, scalar and per-parameter state (as NumPy arrays)."""
        return {
            "optimizer": type(self).__name__,
            "hyper": dict(self.hyper),
            "step": self.step_count,
            "skipped_steps": self.skipped_steps,
            "scalars": dict(self.scalars),
            "state": {
                name: {k: to_numpy(a).copy() for k, a in s.items()} for name, s in self.state.items()
            },
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore a ``state_dict``. Everything is checked first: on error nothing changes."""
        kind = state_dict.get("optimizer")
        if kind != type(self).__name__:
            raise ValueError(f"this state_dict is from {kind}, not {type(self).__name__}")
        hyper = {**self.hyper, **dict(state_dict["hyper"])}
        if isinstance(hyper.get("betas"), list):
            hyper["betas"] = tuple(hyper["betas"])
        self._check_hyper(hyper)
        if tuple(self.state_names(hyper)) != tuple(self.state_names(self.hyper)):
            raise ValueError("the saved hyperparameters need different state arrays than this optimizer")
        saved = state_dict["state"]
        if set(saved) != set(self.state):
            raise ValueError(
                f"the saved state is for parameters {sorted(saved)}, this optimizer has {sorted(self.state)}"
            )
        for name, arrays in self.state.items():
            if set(saved[name]) != set(arrays):
                raise ValueError(f"the saved state of {name!r} has {sorted(saved[name])}, expected {sorted(arrays)}")
            for key, a in arrays.items():
                if tuple(np.shape(saved[name][key])) != a.shape:
                    raise ValueError(
                        f"the saved {key!r} of {name!r} has shape {np.shape(saved[name][key])}, expected {a.shape}"
                    )
        for name, arrays in self.state.items():
            for key, a in arrays.items():
                xp = array_module(a)
                a[...] = xp.asarray(saved[name][key], dtype=a.dtype)
        self.hyper = hyper
        self.step_count = int(state_dict["step"])
        self.skipped_steps = int(state_dict.get("skipped_steps", 0))
        self.scalars = {**self.scalar_state, **dict(state_dict.get("scalars", {}))}

    def save(self, path: str) -> None:
        """Write the ``state_dict`` to an ``.npz`` file (no pickles)."""
        sd = self.state_dict()
        arrays, index = {}, {}
        for i, (name, s) in enumerate(sd["state"].items()):
            index[name] = {}
            for j, (key, a) in enumerate(s.items()):
                arrays[f"a{i}_{j}"] = a
                index[name][key] = f"a{i}_{j}"
        meta = {k: sd[k] for k in ("optimizer", "hyper", "step", "skipped_steps", "scalars")}
        meta["index"] = index
        np.savez(path, __meta__=np.array(json.dumps(meta)), **arrays)

    def load(self, path: str) -> None:
        """Read a file written by :meth:`save` and load it (checked first, as load_state_dict)."""
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["__meta__"]))
            state = {name: {k: f[a] for k, a in keys.items()} for name, keys in meta.pop("index").items()}
        self.load_state_dict({**meta, "state": state})

    # -- reporting
    def state_bytes(self) -> int:
        """Bytes held in per-parameter state arrays (scratch space not counted)."""
        return sum(a.nbytes for u in self._units for a in u.state.values())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyper.items())
        return f"{type(self).__name__}({len(self.params.names)} parameter(s), {args})"


def _jobs_on_slices(
    unit: _Unit, grad: Array, slices: list[slice], update: Callable[[Array, Array, dict[str, Array], int], None]
) -> list[tuple[int, _blocks.Job]]:
    """(elements, job) pairs for the block threads (``_blocks.py``): job(worker) calls
    ``update(θ[s], g[s], state[s], worker)`` on slice s of the unit's flattened arrays."""
    param, grad = unit.param.reshape(-1), grad.reshape(-1)  # views: all are contiguous
    state = {k: a.reshape(-1) for k, a in unit.state.items()}

    def job(part: slice, worker: int) -> None:
        update(param[part], grad[part], {k: a[part] for k, a in state.items()}, worker)

    return [(part.stop - part.start, functools.partial(job, part)) for part in slices]


@functools.cache
def _import_fused() -> tuple[ModuleType | None, str | None]:
    """(optimlab.optim._fused, None), or (None, why not): numba is imported on first use only."""
    try:
        from . import _fused
    except ImportError as e:
        return None, f"numba cannot be imported ({e}); pip install 'optimlab[fast]'"
    return _fused, None


def _not_for_kernels(arrays: list[Array]) -> str | None:
    """Why the numba kernels cannot run on these arrays, or None when they can."""
    for a in arrays:
        if not isinstance(a, np.ndarray):
            return f"they run on NumPy arrays, not {type(a).__module__}.{type(a).__name__}"
        if a.dtype not in (np.float32, np.float64):
            return f"they run on float32 and float64 arrays, not {a.dtype}"
        if not a.flags.c_contiguous:
            return "they run on contiguous arrays, and one of the arrays is not"
    return None


def bias_correction(beta: float, t: int) -> float:
    """1 − β^t: the factor by which an EMA started at 0 underestimates its target."""
    return 1.0 - beta**t

