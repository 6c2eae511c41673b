"""Time per optimizer step on the GPU: optimlab's rules on CuPy arrays next to torch.optim on CUDA.

    pip install cupy-cuda12x                           # (CUDA 12; cupy-cuda13x for CUDA 13)
    python benchmarks/gpu_optimizers.py                # 10M float32 parameters
    python benchmarks/gpu_optimizers.py --quick        # 100k parameters, a few seconds

optimlab's update rules take their array module from the arrays, so the same plain rules run
as CuPy kernels on CuPy arrays (``fused=True`` is CPU-only: with CuPy arrays it warns and
runs the plain rule, so it is not timed here). First, every optimizer of the registry runs a
few float64 steps on CuPy and on NumPy from the same start with the same gradients, and the
two must agree to 1e-12 (relative); then the same table as ``optimizer_steps.py``: ns per
parameter and step for one flat array and for 100 arrays, optimlab (CuPy) next to torch's
``foreach=True`` and ``fused=True`` on CUDA where torch has the optimizer, the ratio to torch
fused, the bytes per second achieved and their fraction of the GPU's in-place ``a += b``
bandwidth measured here, and the state memory per parameter.

Without CuPy or without a GPU it says so and exits with status 0.
Every timed call ends with a device synchronization, so a step's time is its real duration.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import interleaved_rates, machine, markdown_table, write_results  # noqa: E402
from optimizer_steps import SETTINGS, fmt, layouts, table_arguments  # noqa: E402

from optimlab import optim  # noqa: E402

#: a setting per optimizer that exercises most of its state, for the CuPy-vs-NumPy check
CHECK_SETTINGS: dict[str, dict] = {
    "SGD": dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01),
    "Adagrad": dict(lr=0.1, lr_decay=0.01, weight_decay=0.01),
    "RMSprop": dict(lr=0.01, centered=True, momentum=0.5),
    "Adadelta": dict(lr=1.0, weight_decay=0.01),
    "Adam": dict(lr=0.01, amsgrad=True, weight_decay=0.01),
    "AdamW": dict(lr=0.01, maximize=True),
    "Adamax": dict(lr=0.01),
    "NAdam": dict(lr=0.01, decoupled_weight_decay=True, weight_decay=0.1),
    "RAdam": dict(lr=0.01),
    "AdaBelief": dict(lr=0.01, amsgrad=True),
    "Lion": dict(lr=0.001, weight_decay=0.1),
    "Amos": dict(lr=0.05, momentum=0.9),
}
IMPLEMENTATIONS = ("optimlab (CuPy)", "torch foreach", "torch fused")
CHECK_RTOL = 1e-12


def gpu_or_none():
    """(cupy, a description of the device), or (None, why not)."""
    try:
        import cupy
    except ImportError:
        return None, "CuPy is not installed (pip install cupy-cuda12x, on a machine with an NVIDIA GPU)"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # CUDARuntimeError: no driver, no device
        return None, f"CuPy finds no usable GPU ({type(e).__name__}: {e})"
    if count == 0:
        return None, "CuPy finds no GPU"
    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props["name"].decode() if isinstance(props["name"], bytes) else str(props["name"])
    return cupy, f"{name}, {props['totalGlobalMem'] / 2**30:.0f} GiB, CuPy {cupy.__version__}"


def torch_cuda():
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


# ----------------------------------------------------------------------------- cross-check
def check_against_numpy(cupy, steps: int = 5) -> list[str]:
    """Run every optimizer on NumPy and on CuPy (float64, same start, same gradients);
    returns the failures (empty when every one agrees to CHECK_RTOL)."""
    failures = []
    for name in optim.REGISTRY:
        rng = np.random.default_rng(0)
        start = {"w": rng.normal(size=(64, 48)), "b": rng.normal(size=48)}
        host = {k: v.copy() for k, v in start.items()}
        dev = {k: cupy.asarray(v.copy()) for k, v in start.items()}
        setting = CHECK_SETTINGS.get(name, {})
        opt_host = optim.create(name, host, **setting)
        opt_dev = optim.create(name, dev, **setting)
        for s in range(steps):
            grads = {k: np.cos(p * (1 + 0.1 * s)) + 0.5 * p for k, p in host.items()}
            opt_host.step(grads)
            opt_dev.step({k: cupy.asarray(g) for k, g in grads.items()})
        got = {k: cupy.asnumpy(a) for k, a in dev.items()}
        worst = max(float(np.max(np.abs(got[k] - host[k]) / np.abs(host[k]))) for k in host)
        ok = all(got[k].dtype == np.float64 for k in got) and all(
            np.allclose(got[k], host[k], rtol=CHECK_RTOL, atol=1e-14) for k in host
        )
        moved = max(float(np.abs(host[k] - start[k]).max()) for k in host)
        print(f"  {name:10s} CuPy vs NumPy after {steps} float64 steps: max relative difference "
              f"{worst:.1e} (moved {moved:.1e}) {'ok' if ok else 'MISMATCH'}", flush=True)
        if not ok or moved == 0:
            failures.append(name)
    return failures


# ----------------------------------------------------------------------------- timing
def optimlab_step(cupy, name: str, sizes: list[int]):
    rng = np.random.default_rng(0)
    params = [cupy.asarray(rng.standard_normal(k, dtype=np.float32)) for k in sizes]
    grads = [cupy.asarray(rng.standard_normal(k, dtype=np.float32) * np.float32(1e-2)) for k in sizes]
    opt = optim.create(name, params, **SETTINGS.get(name, {}))
    sync = cupy.cuda.get_current_stream().synchronize

    def step():
        opt.step(grads)
        sync()

    return step, opt


def torch_step(torch, name: str, sizes: list[int], variant: str) -> Callable[[], None] | None:
    cls = getattr(torch.optim, name, None)
    if cls is None:
        return None
    gen = torch.Generator(device="cuda").manual_seed(0)
    tensors = [torch.randn(k, device="cuda", generator=gen) for k in sizes]
    for t in tensors:
        t.grad = torch.randn(t.shape, device="cuda", generator=gen) * 1e-2
    try:
        opt = cls(tensors, **SETTINGS.get(name, {}), **{variant: True})
        opt.step()
        torch.cuda.synchronize()
    except (RuntimeError, TypeError, ValueError):
        return None

    def step():
        opt.step()
        torch.cuda.synchronize()

    return step


def inplace_bandwidth(cupy, n: int, seconds: float) -> float:
    """Bytes per second of ``a += b`` over n float32 on the GPU (12 bytes per element)."""
    a = cupy.ones(n, dtype=cupy.float32)
    b = cupy.full(n, 1e-7, dtype=cupy.float32)
    sync = cupy.cuda.get_current_stream().synchronize

    def add():
        a.__iadd__(b)
        sync()

    add()
    return interleaved_rates({"add": add}, seconds, repeats=3)["add"] * n * 12


def main(argv=None) -> int:
    args = table_arguments(argv, __doc__)
    cupy, device = gpu_or_none()
    if cupy is None:
        print(f"gpu_optimizers: skipped: {device}.")
        return 0
    try:  # a GPU is there; CuPy must be able to compile and run a kernel on it
        assert float((cupy.arange(4, dtype=cupy.float64) * 2).sum()) == 12.0
    except Exception as e:
        print(f"gpu_optimizers: CuPy cannot run a kernel on {device}: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    n, names = args.n, args.only
    seconds = args.seconds or (0.05 if args.quick else 0.6)
    repeats = 3 if args.quick else 5
    torch = torch_cuda()
    print(f"GPU: {device}; torch on CUDA: {torch.__version__ if torch else 'not available'}", flush=True)

    print("Cross-check: optimlab on CuPy against optimlab on NumPy", flush=True)
    failures = check_against_numpy(cupy)

    bandwidth = inplace_bandwidth(cupy, n, 4 * seconds)
    print(f"in-place a += b: {bandwidth / 1e9:.0f} GB/s", flush=True)
    rows, records = [], []
    for name in names:
        for layout, sizes in layouts(n, 100).items():
            fns = {}
            fns["optimlab (CuPy)"], opt = optimlab_step(cupy, name, sizes)
            if torch is not None:
                for variant in ("foreach", "fused"):
                    fn = torch_step(torch, name, sizes, variant)
                    if fn is not None:
                        fns[f"torch {variant}"] = fn
            for fn in fns.values():
                for _ in range(3):
                    fn()
            rates = interleaved_rates(fns, seconds, repeats)  # seconds per implementation
            ns = {k: 1e9 / (r * n) for k, r in rates.items()}
            state_per_param = opt.state_bytes() / n
            rule_bytes = 3 * 4 + 2 * state_per_param
            ref = ns.get("torch fused")
            ratio = ns["optimlab (CuPy)"] / ref if ref else None
            achieved = rule_bytes / ns["optimlab (CuPy)"] * 1e9
            records.append(dict(
                optimizer=name, setting=SETTINGS.get(name, {}), layout=layout, n=n, arrays=len(sizes),
                bytes_per_element=rule_bytes, state_bytes_per_param=state_per_param,
                ns_per_element={k: ns.get(k) for k in IMPLEMENTATIONS},
                ratio_to_torch_fused={k: (ns[k] / ref if ref and k in ns else None) for k in IMPLEMENTATIONS},
                bytes_per_second={k: rule_bytes / ns[k] * 1e9 for k in ns},
                fraction_of_bandwidth={k: rule_bytes / ns[k] * 1e9 / bandwidth for k in ns},
            ))
            rows.append([
                name + (" (momentum 0.9)" if name == "SGD" else ""), layout, f"{rule_bytes:.0f}",
                f"{state_per_param:.0f}", *(fmt(ns.get(k), ".3f") for k in IMPLEMENTATIONS),
                fmt(ratio, suffix="x"), f"{achieved / 1e9:.0f} ({achieved / bandwidth:.0%})",
            ])
            print(f"{name:10s} {layout:14s} " + "  ".join(f"{k} {v:7.3f}" for k, v in ns.items())
                  + " ns/element", flush=True)
            del fns, opt
            cupy.get_default_memory_pool().free_all_blocks()
            if torch is not None:
                torch.cuda.empty_cache()

    info = {**machine(), "gpu": device}
    header = [
        "optimizer", "layout", "B/elem", "state B/param", "optimlab (CuPy) ns", "torch foreach ns",
        "torch fused ns", "optimlab ÷ torch fused", "optimlab GB/s (of a+=b)",
    ]
    md = (
        f"## Optimizer step time on the GPU ({n:,} float32 parameters)\n\n"
        f"Machine: {info}\n\nIn-place bandwidth (a += b, 12 B/element): {bandwidth / 1e9:.0f} GB/s\n\n"
        f"CuPy vs NumPy cross-check (float64, rtol {CHECK_RTOL:g}): "
        + (f"FAILED for {', '.join(failures)}" if failures else f"all {len(optim.REGISTRY)} optimizers agree")
        + "\n\n" + markdown_table(header, rows)
    )
    if not args.quick:
        write_results("gpu_optimizers", {"machine": info, "n": n, "bandwidth_bytes_per_second": bandwidth,
                                         "crosscheck_failures": failures, "results": records}, md)
    print(md)
    if failures:
        print(f"gpu_optimizers: CuPy results differ from NumPy for {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
