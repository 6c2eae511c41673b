"""Measurements shared by the tests."""

from __future__ import annotations

import tracemalloc


def bytes_allocated_by_step(opt, grads) -> int:
    """Peak bytes traced while ``opt.step(grads)`` runs once more (after a first step, which
    may allocate lazily)."""
    opt.step(grads)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        opt.step(grads)
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
