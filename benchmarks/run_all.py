"""Run every CPU benchmark and print their tables.

    python benchmarks/run_all.py            # full runs (several minutes), results in benchmarks/results/
    python benchmarks/run_all.py --quick    # small sizes, a few seconds each, for CI

Each benchmark runs in its own process (so one's threads and caches cannot slow the other);
the exit status is non-zero if any of them failed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHMARKS = ["optimizer_steps.py", "mlp_throughput.py"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small and short, for CI")
    args = parser.parse_args(argv)
    failed = []
    for script in BENCHMARKS:
        cmd = [sys.executable, os.path.join(HERE, script)] + (["--quick"] if args.quick else [])
        print(f"$ {' '.join(cmd)}", flush=True)
        start = time.perf_counter()
        rc = subprocess.call(cmd)
        print(f"({script}: exit status {rc}, {time.perf_counter() - start:.0f} s)\n", flush=True)
        if rc != 0:
            failed.append(script)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
