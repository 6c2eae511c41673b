"""Time per optimizer step of every optimlab optimizer, plain NumPy and fused, next to torch.optim.

    python benchmarks/optimizer_steps.py            # 10M float32 parameters (a few minutes)
    python benchmarks/optimizer_steps.py --quick    # 100k parameters, a few seconds, for CI

For each optimizer of ``optimlab.optim.REGISTRY`` and two layouts of the same parameters (one
flat array; 100 arrays of a hundredth each) it times one ``step`` of

* optimlab, the plain NumPy rule (``fused=None``, the default);
* optimlab, ``fused=True`` (the numba kernels of ``optimlab/optim/_fused.py``), where it exists,
  with its default check of the gradient and with ``nonfinite="propagate"`` (no check);
* torch.optim with ``foreach=True`` and with ``fused=True``, where torch has the optimizer
  (Lion, AdaBelief and Amos have no torch.optim version) and the variant runs on the CPU;
  and torch's fused step after the check that torch's GradScaler makes (the way a torch user
  gets optimlab's default: a step with NaN or Inf in the gradient changes nothing).

Every optimlab step checks the gradient for NaN and Inf first (one more read of g), unless
``nonfinite="propagate"``; torch.optim checks nothing. So the like-for-like ratios are
"fused ÷ torch fused + check" and "fused unchecked ÷ torch fused".

It reports nanoseconds per parameter and step, the ratio to torch's fused step, the bytes per
second the step achieved (counting the bytes the rule must at least move: every state array
and θ read and written once, g read once) and its fraction of the machine's in-place bandwidth
(``a += b`` over the same number of float32, 12 bytes per element, measured here), and the
optimizer's state memory per parameter. Timings are medians of interleaved repeats.
"""

from __future__ import annotations

import argparse
import functools
import gc
import os
import sys
import time
from collections.abc import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import interleaved_rates, machine, markdown_table, write_results  # noqa: E402

from optimlab import optim  # noqa: E402

try:  # optional: optimlab's fused=True and the parallel bandwidth probe need it
    import numba
except ImportError:
    numba = None

#: the setting timed for each optimizer (its defaults, except SGD with momentum)
SETTINGS: dict[str, dict] = {"SGD": dict(lr=1e-3, momentum=0.9)}
IMPLEMENTATIONS = (
    "optimlab", "optimlab fused", "optimlab fused unchecked", "torch foreach", "torch fused", "torch fused + check",
)


if numba is not None:
    # The probe's parallel loop must not leave spinning threads behind (numba's default, OpenMP,
    # spins after each loop and would slow every implementation timed after it): workqueue sleeps.
    if "NUMBA_THREADING_LAYER" not in os.environ:
        numba.config.THREADING_LAYER = "workqueue"

    @numba.njit(parallel=True, cache=True)
    def _add_(x, y):
        for i in numba.prange(x.size):
            x[i] += y[i]


def layouts(n: int, pieces: int) -> dict[str, list[int]]:
    return {"1 flat array": [n], f"{pieces} arrays": [n // pieces] * pieces}


@functools.cache
def _random(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal(n, dtype=np.float32), rng.standard_normal(n, dtype=np.float32) * np.float32(1e-2)


def make_arrays(sizes: list[int]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Fresh parameters and gradients (the same values for every implementation)."""
    theta, g = _random(sum(sizes))
    bounds = np.cumsum([0, *sizes])
    return (
        [theta[a:b].copy() for a, b in zip(bounds[:-1], bounds[1:])],
        [g[a:b].copy() for a, b in zip(bounds[:-1], bounds[1:])],
    )


def optimlab_step(
    name: str, sizes: list[int], fused: bool, nonfinite: str = "raise"
) -> tuple[Callable[[], None], optim.Optimizer]:
    params, grads = make_arrays(sizes)
    fast = {"fused": True} if fused else {}
    opt = optim.create(name, params, **fast, nonfinite=nonfinite, **SETTINGS.get(name, {}))
    return (lambda: opt.step(grads)), opt


def torch_step(name: str, sizes: list[int], variant: str, check: bool = False) -> Callable[[], None] | None:
    """A torch.optim step, or None where torch lacks the optimizer or the variant on the CPU.
    With ``check``, the step is preceded by GradScaler's NaN/Inf check (scale 1), and skipped
    when it finds one, as ``torch.amp.GradScaler`` does."""
    try:
        import torch
    except ImportError:
        return None
    cls = getattr(torch.optim, name, None)
    if cls is None:
        return None
    params, grads = make_arrays(sizes)
    tensors = [torch.from_numpy(p) for p in params]
    for t, g in zip(tensors, grads):
        t.grad = torch.from_numpy(g)
    try:
        opt = cls(tensors, **SETTINGS.get(name, {}), **{variant: True})
        opt.step()  # fused=True raises here where the CPU has no fused kernel
    except (RuntimeError, TypeError, ValueError):
        return None
    if not check:
        return opt.step
    check_and_unscale = getattr(torch, "_amp_foreach_non_finite_check_and_unscale_", None)
    if check_and_unscale is None:
        return None
    found_inf, inv_scale = torch.zeros(()), torch.ones(())
    grads_t = [t.grad for t in tensors]

    def checked_step():  # what GradScaler.unscale_ and GradScaler.step do, with scale 1
        found_inf.zero_()
        check_and_unscale(grads_t, found_inf, inv_scale)
        if not found_inf.item():
            opt.step()

    return checked_step


def inplace_bandwidth(n: int, seconds: float) -> dict[str, float]:
    """Bytes per second of ``a += b`` over n float32 (read a, b; write a: 12 bytes/element),
    with NumPy (one core) and, where numba is installed, a parallel numba loop."""
    a = np.ones(n, np.float32)
    b = np.full(n, 1e-7, np.float32)
    fns = {"numpy": lambda: np.add(a, b, out=a)}
    if numba is not None:
        _add_(a, b)
        fns["numba"] = lambda: _add_(a, b)
    rates = interleaved_rates(fns, seconds, repeats=3)
    return {k: r * n * 12 for k, r in rates.items()}


def fmt(x: float | None, spec: str = ".2f", suffix: str = "") -> str:
    return "—" if x is None else f"{x:{spec}}{suffix}"


def table_arguments(argv, doc: str) -> argparse.Namespace:
    """The options of an optimizer-step table (this one and gpu_optimizers.py), with ``n`` and
    ``only`` resolved to their defaults: 10M parameters (100k with --quick), every optimizer."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small and short (CI runs this one)")
    parser.add_argument("--n", type=int, default=None, help="parameters per optimizer (default 10M; 100k quick)")
    parser.add_argument("--seconds", type=float, default=None, help="seconds of timing per implementation and row")
    parser.add_argument("--only", nargs="*", default=None, help="optimizer names (default: all)")
    args = parser.parse_args(argv)
    args.n = args.n or (100_000 if args.quick else 10_000_000)
    args.only = args.only or list(optim.REGISTRY)
    return args


def main(argv=None) -> dict:
    args = table_arguments(argv, __doc__)
    n, names = args.n, args.only
    seconds = args.seconds or (0.01 if args.quick else 1.0)
    repeats = 3 if args.quick else 5
    numba_ok = numba is not None

    load_before = os.getloadavg()[0]  # other processes slow the parallel paths most: see the README
    bandwidth = inplace_bandwidth(n, 4 * seconds)
    peak = max(bandwidth.values())
    print("in-place a += b: " + ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in bandwidth.items()), flush=True)

    rows, records = [], []
    start = time.perf_counter()
    for name in names:
        cls = optim.REGISTRY[name]
        for layout, sizes in layouts(n, 100).items():
            fns, opt = {}, None
            fns["optimlab"], opt = optimlab_step(name, sizes, fused=False)
            if cls.has_fused_kernel and numba_ok:
                fns["optimlab fused"], _ = optimlab_step(name, sizes, fused=True)
                fns["optimlab fused unchecked"], _ = optimlab_step(name, sizes, fused=True, nonfinite="propagate")
            for label, variant, check in [("torch foreach", "foreach", False), ("torch fused", "fused", False),
                                          ("torch fused + check", "fused", True)]:
                fn = torch_step(name, sizes, variant, check)
                if fn is not None:
                    fns[label] = fn
            for fn in fns.values():  # warm up: lazy state, numba compilation, caches
                for _ in range(2):
                    fn()
            rates = interleaved_rates(fns, seconds, repeats)  # seconds per implementation
            ns = {k: 1e9 / (r * n) for k, r in rates.items()}
            state_per_param = opt.state_bytes() / n
            rule_bytes = 3 * 4 + 2 * state_per_param  # θ read+write, g read; state read+write
            ref = ns.get("torch fused")
            ratio = {k: (ns[k] / ref if ref and k in ns else None) for k in IMPLEMENTATIONS}
            if "optimlab fused" in ns and "torch fused + check" in ns:  # like for like: both check
                ratio["optimlab fused ÷ torch fused + check"] = ns["optimlab fused"] / ns["torch fused + check"]
            record = dict(
                optimizer=name, setting=SETTINGS.get(name, {}), layout=layout, n=n, arrays=len(sizes),
                bytes_per_element=rule_bytes, state_bytes_per_param=state_per_param,
                ns_per_element={k: ns.get(k) for k in IMPLEMENTATIONS},
                ratio_to_torch_fused=ratio,
                bytes_per_second={k: rule_bytes / ns[k] * 1e9 for k in ns},
                fraction_of_bandwidth={k: rule_bytes / ns[k] * 1e9 / peak for k in ns},
            )
            records.append(record)
            rows.append([
                name + (" (momentum 0.9)" if name == "SGD" else ""), layout, f"{rule_bytes:.0f}",
                f"{state_per_param:.0f}", *(fmt(ns.get(k)) for k in IMPLEMENTATIONS),
                fmt(ratio["optimlab"], suffix="x"),
                fmt(ratio.get("optimlab fused ÷ torch fused + check"), suffix="x"),
                fmt(ratio["optimlab fused unchecked"], suffix="x"),
                *(
                    f"{record['bytes_per_second'][k] / 1e9:.1f} ({record['fraction_of_bandwidth'][k]:.0%})"
                    if k in ns else "—"
                    for k in ("optimlab", "optimlab fused")
                ),
            ])
            print(f"{name:10s} {layout:14s} " + "  ".join(f"{k} {v:6.2f}" for k, v in ns.items())
                  + " ns/element", flush=True)
            del fns, opt
            if not args.quick:  # free the arrays of torch's optimizers (cycles) before the next
                gc.collect()
    elapsed = time.perf_counter() - start

    info = machine()
    info["load_average"] = f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after ({elapsed:.0f} s)"
    if numba_ok:
        info["numba"] = f"{numba.__version__} ({numba.get_num_threads()} threads)"
    header = [
        "optimizer", "layout", "B/elem", "state B/param", "optimlab ns", "optimlab fused ns",
        "fused unchecked ns", "torch foreach ns", "torch fused ns", "torch fused + check ns",
        "optimlab ÷ torch fused", "fused ÷ torch fused + check", "fused unchecked ÷ torch fused",
        "optimlab GB/s (of a+=b)", "fused GB/s (of a+=b)",
    ]
    table = markdown_table(header, rows)
    md = (
        f"## Optimizer step time ({n:,} float32 parameters, CPU)\n\n"
        f"Machine: {info}\n\n"
        f"In-place bandwidth (a += b, 12 B/element): "
        + ", ".join(f"{k} {v / 1e9:.1f} GB/s" for k, v in bandwidth.items())
        + f"\n\nns = nanoseconds per parameter and step (median of {repeats} interleaved repeats); "
        "B/elem = bytes the rule must read and write per parameter; — = no such variant. "
        "optimlab and optimlab fused check the gradient for NaN/Inf before touching anything; "
        "fused unchecked (nonfinite='propagate') and torch fused do not; torch fused + check runs "
        "GradScaler's check first.\n\n"
        + table
    )
    data = {"machine": info, "n": n, "bandwidth_bytes_per_second": bandwidth, "seconds": elapsed,
            "results": records}
    if not args.quick:
        write_results("optimizer_steps", data, md)
    print(md)
    return data


if __name__ == "__main__":
    main()
