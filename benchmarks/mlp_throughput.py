"""Training steps per second of the same MLP in optimlab (NumPy) and in torch, on the CPU.

    python benchmarks/mlp_throughput.py            # full table (about a minute)
    python benchmarks/mlp_throughput.py --quick    # a few seconds, for CI

One step = forward, softmax cross-entropy, backward, Adam update; float32 on both sides, the
same initial weights and batches, default threads on both sides (printed). Ratio > 1 means
optimlab is faster. "optimlab" is the default (plain NumPy Adam); "optimlab fused" the same
model with ``optim.Adam(..., fused=True)`` (numba), where numba is installed.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import interleaved_rates, machine, markdown_table, write_results  # noqa: E402

from optimlab import nn, optim  # noqa: E402


def workloads(quick: bool):
    from optimlab.data import digits

    d = digits()
    X_digits = (d.X / 16.0).astype(np.float32)
    rng = np.random.default_rng(0)
    X_random = rng.normal(size=(4096, 784)).astype(np.float32)
    y_random = rng.integers(0, 10, 4096)
    yield "64-128-128-10 (digits)", [64, 128, 128, 10], X_digits, d.y
    if not quick:
        yield "784-256-256-10 (random)", [784, 256, 256, 10], X_random, y_random


def batches(X, y, batch_size):
    n = (len(X) // batch_size) * batch_size
    xs = [np.ascontiguousarray(X[i : i + batch_size]) for i in range(0, n, batch_size)]
    ys = [y[i : i + batch_size] for i in range(0, n, batch_size)]
    return xs, ys


def optimlab_step(sizes, xs, ys, fused=None):
    model = nn.MLP(sizes, seed=0, dtype=np.float32)
    opt = optim.Adam(model, lr=1e-3, fused=fused)
    state = {"i": 0}

    def step():
        i = state["i"] = (state["i"] + 1) % len(xs)
        _, dlogits = nn.cross_entropy(model.forward(xs[i]), ys[i])
        model.backward(dlogits)
        opt.step()

    return model, step


def torch_step(model_np, xs, ys):
    import torch

    layers = []
    for layer in model_np.layers:
        if isinstance(layer, nn.Linear):
            t = torch.nn.Linear(layer.in_features, layer.out_features)
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(layer.params["weight"].T.copy()))
                t.bias.copy_(torch.from_numpy(layer.params["bias"]))
            layers.append(t)
        else:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    txs = [torch.from_numpy(x) for x in xs]
    tys = [torch.from_numpy(y.astype(np.int64)) for y in ys]
    state = {"i": 0}

    def step():
        i = state["i"] = (state["i"] + 1) % len(txs)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(txs[i]), tys[i]).backward()
        opt.step()

    return step


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small and short, for CI")
    parser.add_argument("--seconds", type=float, default=None, help="time per measurement")
    args = parser.parse_args(argv)
    seconds = args.seconds or (0.3 if args.quick else 3.0)
    batch_sizes = [32, 128] if args.quick else [32, 128, 1024]
    try:
        import torch  # noqa: F401
    except ImportError:
        sys.exit("this benchmark compares with torch: pip install torch")
    try:
        import numba  # noqa: F401
    except ImportError:
        numba = None
    columns = ["optimlab", "optimlab fused", "torch"] if numba else ["optimlab", "torch"]
    rows, records = [], []
    for name, sizes, X, y in workloads(args.quick):
        for bs in batch_sizes:
            xs, ys = batches(X, y, bs)
            model, ours = optimlab_step(sizes, xs, ys)
            fns = {"optimlab": ours}
            if numba:
                fns["optimlab fused"] = optimlab_step(sizes, xs, ys, fused=True)[1]
            fns["torch"] = torch_step(model, xs, ys)
            for _ in range(5):  # warm up caches, buffers, lazy state and numba's compilation
                for fn in fns.values():
                    fn()
            r = interleaved_rates(fns, seconds, repeats=3)
            ratios = {k: r[k] / r["torch"] for k in columns if k != "torch"}
            records.append(dict(model=name, batch=bs, steps_per_second=r, ratio_to_torch=ratios))
            rows.append([name, str(bs), *(f"{r[k]:.0f}" for k in columns), *(f"{v:.2f}x" for v in ratios.values())])
            print(f"{name:26s} batch {bs:5d}: " + ", ".join(f"{k} {r[k]:6.0f} steps/s" for k in columns)
                  + " (" + ", ".join(f"{k} ÷ torch {v:.2f}x" for k, v in ratios.items()) + ")", flush=True)
    info = machine()
    header = ["model", "batch", *(f"{k} steps/s" for k in columns), *(f"{k} ÷ torch" for k in columns[:-1])]
    table = markdown_table(header, rows)
    md = f"## MLP training throughput (Adam, float32, CPU)\n\nMachine: {info}\n\n{table}"
    if not args.quick:
        write_results("mlp_throughput", {"machine": info, "results": records}, md)
    print(md)
    return {"machine": info, "results": records}


if __name__ == "__main__":
    main()
