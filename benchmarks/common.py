"""Timing helpers shared by the benchmarks: interleaved repeats, medians, machine description."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def rate(fn: Callable[[], None], seconds: float) -> float:
    """Calls per second of ``fn`` over about ``seconds`` (at least 3 calls)."""
    n, start = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        elapsed = time.perf_counter() - start
        if n >= 3 and elapsed >= seconds:
            return n / elapsed


def interleaved_rates(fns: dict[str, Callable[[], None]], seconds: float, repeats: int) -> dict[str, float]:
    """Median rate of each function, measured in alternating blocks so that both see the
    same machine state (frequency, other load)."""
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            samples[k].append(rate(fn, seconds / repeats))
    return {k: statistics.median(v) for k, v in samples.items()}


def machine() -> dict[str, str]:
    info = {"python": platform.python_version(), "machine": platform.machine(), "cpus": str(os.cpu_count())}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        info["cpu"] = platform.processor()
    import numpy

    info["numpy"] = numpy.__version__
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = str(torch.get_num_threads())
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["numpy_blas"] = ", ".join(
            f"{d['internal_api']} {d.get('version')} ({d['num_threads']} threads)" for d in threadpool_info()
            if d["user_api"] == "blas"
        )
    except ImportError:
        pass
    return info


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def write_results(name: str, data: dict, markdown: str) -> tuple[str, str]:
    os.makedirs(RESULTS, exist_ok=True)
    json_path = os.path.join(RESULTS, f"{name}.json")
    md_path = os.path.join(RESULTS, f"{name}.md")
    with open(json_path, "w") as f:
        json.dump(data, f, indent=2)
    with open(md_path, "w") as f:
        f.write(markdown + "\n")
    return json_path, md_path
