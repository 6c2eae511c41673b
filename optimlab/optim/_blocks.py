"""Run an elementwise rule block by block, on a few threads: the speed of the plain NumPy path.

A rule written one NumPy operation per term (as every rule here is) sweeps its arrays once per
term. On arrays larger than the cache each sweep goes to main memory, and a dozen sweeps cost
a dozen trips. Called on a block of ``BLOCK`` elements instead, the rule's intermediate results
stay in the core's own cache: only the first read and the last write of each array reach
memory. NumPy releases the GIL inside its loops, so blocks also run side by side on threads.

For an elementwise rule, element i of the result depends only on element i of the inputs, so
the result is bit for bit the same as one call on the whole arrays (``tests/test_blocks.py``).
Rules that look at a whole tensor (Muon, Adafactor, Amos) set ``elementwise = False`` and are
never split.
"""

from __future__ import annotations

import contextvars
import functools
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..backend import all_finite

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

#: elements per block: a rule's ~6 arrays of 64k float32 (1.5 MB) fit in a core's L2 cache
BLOCK = 1 << 16
#: the smallest part of an array given to one thread by a one-pass numba kernel (``fused=True``).
#: A kernel keeps no temporaries, so an array is cut into at most one part per thread: every
#: part costs a call and a hand-over of the GIL between threads, and long parts stream through
#: memory best (10M SGD: 0.29 ns per element in two parts, 0.31-0.34 in blocks of 64k-1M)
KERNEL_BLOCK = 1 << 18
#: less work than this (in elements) is done on the calling thread alone: waking a thread costs
#: tens of microseconds, and below ~500k elements it saved less than that (benchmarks/README.md)
MIN_PARALLEL = 8 * BLOCK
#: most threads used, whatever the core count (the sweeps become memory-bound well before)
MAX_THREADS = 8

Job = Callable[[int], None]  # job(worker): worker indexes per-thread scratch memory

_pool: ThreadPoolExecutor | None = None
_pool_pid = 0  # the process that made _pool: a forked child has the pool but not its threads
_pool_lock = threading.Lock()


def num_threads() -> int:
    """The cores this process may run on (its CPU affinity), at most ``MAX_THREADS``."""
    return max(1, min(_cores(), MAX_THREADS))


@functools.cache  # (asked on every step; a system call)
def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _executor() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            from concurrent.futures import ThreadPoolExecutor  # (4 ms to import: only when needed)

            _pool = ThreadPoolExecutor(max(1, num_threads() - 1), thread_name_prefix="optimlab-block")
            _pool_pid = os.getpid()
        return _pool


def splittable(arrays: list) -> bool:
    """Whether these arrays can be cut into blocks: NumPy arrays that ``reshape(-1)`` views
    without a copy (a copy would take the update with it)."""
    return all(isinstance(a, np.ndarray) and a.flags.c_contiguous for a in arrays)


def split(size: int) -> list[slice]:
    """Consecutive slices of at most ``BLOCK`` elements that cover ``range(size)``."""
    return [slice(lo, min(lo + BLOCK, size)) for lo in range(0, size, BLOCK)]


def split_for_threads(size: int) -> list[slice]:
    """Consecutive slices that cover ``range(size)``: one per thread, each of at least
    ``KERNEL_BLOCK`` elements (one slice for a smaller array)."""
    if size < 2 * KERNEL_BLOCK:
        return [slice(0, size)]
    parts = min(num_threads(), size // KERNEL_BLOCK)
    bounds = [size * k // parts for k in range(parts + 1)]
    return [slice(lo, hi) for lo, hi in zip(bounds, bounds[1:])]


def run(jobs: list[Job], elements: int, sizes: list[int] | None = None) -> int:
    """Call every ``job(worker)`` once; returns the number of workers used.

    Worker w (0 ≤ w < workers) takes the w-th contiguous share of the jobs, so each thread
    streams through its own part of memory; worker 0 is the calling thread. With ``sizes``
    (the elements of each job) the shares hold about equal numbers of elements, else of jobs.
    An exception in any worker is raised here, after every worker has stopped.
    """
    workers = min(num_threads(), len(jobs)) if elements >= MIN_PARALLEL else 1
    bounds = _shares(sizes or [1] * len(jobs), workers)

    def work(w: int) -> None:
        for job in jobs[bounds[w] : bounds[w + 1]]:
            job(w)

    if workers <= 1:
        for job in jobs:
            job(0)
        return 1
    # each worker runs in a copy of the caller's context, so that np.errstate (a context
    # variable) applies in the workers as it does in the caller
    futures = [_executor().submit(contextvars.copy_context().run, work, w) for w in range(1, workers)]
    try:
        work(0)
    finally:
        errors = [f.exception() for f in futures]  # waits for every worker
    for e in errors:
        if e is not None:
            raise e
    return workers


def _shares(sizes: list[int], workers: int) -> list[int]:
    """Indices that cut ``sizes`` into ``workers`` consecutive runs of about equal sums."""
    total, bounds, running, i = sum(sizes), [0], 0, 0
    for w in range(1, workers):
        while i < len(sizes) and running + sizes[i] / 2 <= total * w / workers:
            running += sizes[i]
            i += 1
        bounds.append(max(i, bounds[-1]))
    return bounds + [len(sizes)]


def all_finite_each(
    arrays: list[np.ndarray], block_is_finite: Callable[[np.ndarray], bool] | None = None,
    parts: Callable[[int], list[slice]] = split,
) -> list[bool]:
    """``backend.all_finite`` of each contiguous NumPy array, in the ``parts`` of each on the
    threads; ``block_is_finite`` checks one part (by default :func:`_block_is_finite`)."""
    bad = [False] * len(arrays)
    is_finite = block_is_finite or _block_is_finite
    jobs: list[Job] = []
    sizes: list[int] = []
    for i, x in enumerate(arrays):
        flat = x.reshape(-1)
        for b in parts(flat.size):
            jobs.append(functools.partial(_check_block, is_finite, flat[b], bad, i))
            sizes.append(b.stop - b.start)
    with np.errstate(over="ignore", invalid="ignore"):  # (the workers run in this context too)
        run(jobs, sum(sizes), sizes)
    return [not b for b in bad]


def _check_block(is_finite, part: np.ndarray, bad: list[bool], i: int, _worker: int) -> None:
    if not is_finite(part):
        bad[i] = True  # only ever set to True: a race between workers is harmless


def _block_is_finite(part: np.ndarray) -> bool:
    """A block's sum is taken as a dot product with ones: BLAS reads the block at memory speed
    (NumPy's pairwise sum is 2-3 times slower), and NaN or Inf make it NaN or Inf. A non-finite
    sum, which huge finite entries can also give, is settled by the exact test."""
    if part.dtype in (np.float32, np.float64):
        total = float(np.dot(part, _ones(part.dtype, part.size)))
        return total - total == 0 or bool(np.isfinite(part).all())
    return all_finite(part)


_ones_by_dtype: dict = {}


def _ones(dtype, n: int) -> np.ndarray:
    """n ones (n ≤ BLOCK), from a cached array that grows to the largest block seen."""
    ones = _ones_by_dtype.get(dtype)
    if ones is None or ones.size < n:
        ones = _ones_by_dtype[dtype] = np.ones(n, dtype=dtype)
    return ones[:n]
