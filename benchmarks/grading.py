"""How long `optimlab grade --jobs 2` takes for a class of 30 submissions.

    python benchmarks/grading.py                    # default limits (10 s per cell and function)
    python benchmarks/grading.py --quick             # --time-limit 3, what the test suite uses

The class is built in a temporary folder from the grader's test fixtures
(tests/grading_submissions/make_fixtures.py), all for chapter 06 (adam_step, amsgrad_step):
12 correct, 7 partly wrong or unfinished, and 11 hostile ones (an endless loop, a memory hog,
sys.exit/os._exit, fake PASS lines, monkeypatching, always-equal objects, a replaced traceback
display, invalid JSON, a syntax error, calls to optimlab's reference). The command is run as a
user would run it, in a subprocess, and timed from start to exit. The endless loop alone costs
two time limits (its graded function and a top-level cell), so the total depends on
``--time-limit`` more than on anything else.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
from common import machine, markdown_table, write_results  # noqa: E402
from grading_submissions import make_fixtures  # noqa: E402

CLASS = (
    ["correct"] * 12
    + ["partly_wrong"] * 3 + ["also_partly_wrong"] * 2 + ["stub", "missing_function"]
    + ["infinite_loop", "memory_hog", "exits", "fake_pass", "monkeypatch", "always_equal", "traceback_display",
       "not_json", "syntax_error", "calls_reference", "memory_hog"]
)


def build(folder: str) -> list[str]:
    paths = []
    for i, fixture in enumerate(CLASS):
        paths += make_fixtures.write(folder, [fixture], student=f"student{i + 1:02d}_{fixture}")
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=10.0, help="seconds per cell and function")
    parser.add_argument("--quick", action="store_true", help="--time-limit 3, as in the tests")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    if args.quick:
        args.time_limit = 3.0
    assert len(CLASS) == 30
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = build(os.path.join(tmp, "class"))
        out, feedback = os.path.join(tmp, "grades.csv"), os.path.join(tmp, "feedback")
        cmd = [sys.executable, "-m", "optimlab.cli", "grade", *paths, "--out", out, "--feedback", feedback,
               "--jobs", str(args.jobs), "--time-limit", str(args.time_limit), "--quiet"]
        for _ in range(args.repeats):
            start = time.perf_counter()
            res = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
            times.append(time.perf_counter() - start)
            if res.returncode != 0:
                sys.exit(res.stderr)
        summary = res.stdout.splitlines()[0]
        with open(out, newline="") as f:
            rows = list(csv.DictReader(f))
    best = min(times)
    full = sum(r["total"] == r["max"] for r in rows)
    info = machine()
    print(f"grading {len(CLASS)} submissions with --jobs {args.jobs}, --time-limit {args.time_limit:g}: "
          f"{best:.1f} s (best of {len(times)}; {best / len(CLASS):.2f} s per submission)")
    print(f"  {summary}")
    print(f"  {full} with full marks; machine: {info.get('cpu', '?')}, {info['cpus']} CPUs")
    table = markdown_table(
        ["submissions", "jobs", "time limit (s)", "wall time (s)", "per submission (s)"],
        [[str(len(CLASS)), str(args.jobs), f"{args.time_limit:g}", f"{best:.1f}", f"{best / len(CLASS):.2f}"]],
    )
    write_results("grading", {"machine": info, "jobs": args.jobs, "time_limit": args.time_limit,
                              "seconds": times, "summary": summary}, table)


if __name__ == "__main__":
    main()
