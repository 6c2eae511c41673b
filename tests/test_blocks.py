"""The plain path on large arrays: elementwise rules run block by block on threads (``_blocks.py``).

The blocks are made small here (``BLOCK`` = 64 elements) so that small arrays split into many
blocks; what is checked is that splitting changes nothing, bit for bit, for every setting.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from measure import bytes_allocated_by_step
from test_optim_api import SETTINGS, grads_for

from optimlab import optim
from optimlab.optim import _blocks

ELEMENTWISE = [name for name, cls in optim.REGISTRY.items() if cls.elementwise]
WHOLE_TENSOR = [name for name, cls in optim.REGISTRY.items() if not cls.elementwise]

MORE_SETTINGS = {  # besides SETTINGS: maximize, decoupled decay, defaults
    "SGD": [dict(lr=0.05, momentum=0.9, dampening=0.2, weight_decay=0.1, maximize=True)],
    "Adam": [dict(lr=0.01, weight_decay=0.1, maximize=True), dict(lr=0.01, decoupled_weight_decay=True,
                                                                  weight_decay=0.1)],
    "AdamW": [dict(lr=0.01, amsgrad=True, maximize=True)],
    "RMSprop": [dict(lr=0.01, weight_decay=0.1, maximize=True)],
    "Adagrad": [dict(lr=0.1, weight_decay=0.1, maximize=True)],
    "Lion": [dict(lr=0.001, maximize=True)],
}


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(_blocks, "BLOCK", 64)
    monkeypatch.setattr(_blocks, "MIN_PARALLEL", 128)


def big_params(dtype, seed=0):
    rng = np.random.default_rng(seed)  # 1000 and 300 elements: 16 and 5 blocks of 64, a partial last one
    return {"w": rng.normal(size=(40, 25)).astype(dtype), "b": rng.normal(size=300).astype(dtype)}


def trajectory(name, setting, dtype, steps=6):
    params = big_params(dtype)
    opt = optim.create(name, params, **setting)
    for s in range(steps):
        opt.step(grads_for(params, s))
    return params, opt


CASES = [(n, s) for n in ELEMENTWISE for s in [{}, SETTINGS[n], *MORE_SETTINGS.get(n, [])]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "setting"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_blocks_give_the_same_bits_as_one_call(name, setting, dtype, monkeypatch):
    monkeypatch.setattr(_blocks, "BLOCK", 10**9)  # one block per array: the rule called on the whole
    whole_params, whole_opt = trajectory(name, setting, dtype)
    monkeypatch.setattr(_blocks, "BLOCK", 64)
    monkeypatch.setattr(_blocks, "MIN_PARALLEL", 128)
    monkeypatch.setattr(_blocks, "num_threads", lambda: 2)
    workers = []
    real = _blocks.run
    monkeypatch.setattr(_blocks, "run", lambda jobs, n, sizes=None: workers.append(real(jobs, n, sizes)) or workers[-1])
    block_params, block_opt = trajectory(name, setting, dtype)
    assert max(workers) == 2, "the blocks did not run on two threads"
    for k in whole_params:
        np.testing.assert_array_equal(block_params[k], whole_params[k], err_msg=f"{name} {k}")
        for s in whole_opt.state[k]:
            np.testing.assert_array_equal(block_opt.state[k][s], whole_opt.state[k][s], err_msg=f"{name} {k} {s}")


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_any_number_of_threads_gives_the_same_bits(threads, small_blocks, monkeypatch):
    monkeypatch.setattr(_blocks, "num_threads", lambda: threads)
    params, _ = trajectory("Adam", SETTINGS["Adam"], np.float32)
    monkeypatch.setattr(_blocks, "BLOCK", 10**9)
    reference, _ = trajectory("Adam", SETTINGS["Adam"], np.float32)
    for k in params:
        np.testing.assert_array_equal(params[k], reference[k])


@pytest.mark.parametrize("name", WHOLE_TENSOR)
def test_rules_that_look_at_the_whole_tensor_are_never_split(name, small_blocks, monkeypatch):
    monkeypatch.setattr(optim.Optimizer, "_block_jobs", lambda *a: pytest.fail(f"{name} was split"))
    trajectory(name, SETTINGS[name], np.float64, steps=2)


def test_non_contiguous_parameters_are_updated_in_one_call(small_blocks, monkeypatch):
    base = np.random.default_rng(0).normal(size=(40, 50))
    params = {"w": base[:, ::2]}  # a strided view: reshape(-1) would copy, and the update be lost
    opt = optim.Adam(params, lr=0.01)
    monkeypatch.setattr(optim.Optimizer, "_block_jobs", lambda *a: pytest.fail("a strided array was split"))
    before = params["w"].copy()
    opt.step({"w": np.ones((40, 25))})
    assert np.all(params["w"] < before) and np.shares_memory(params["w"], base)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_the_blocked_check_refuses_a_nonfinite_gradient_before_touching_anything(value, small_blocks):
    params = big_params(np.float32)
    opt = optim.Adam(params, lr=0.01)
    opt.step(grads_for(params, 0))
    kept = {k: v.copy() for k, v in params.items()}
    kept_state = {n: {k: a.copy() for k, a in s.items()} for n, s in opt.state.items()}
    g = grads_for(params, 1)
    g["w"][39, 24] = value  # the last element of the last block
    with pytest.raises(FloatingPointError, match="Adam step 2: the gradient of 'w'"):
        opt.step(g)
    for k in params:
        assert np.array_equal(params[k], kept[k])
        for s, a in opt.state[k].items():
            assert np.array_equal(a, kept_state[k][s])
    huge = {"w": np.full((40, 25), 3e38, np.float32), "b": np.zeros(300, np.float32)}
    with np.errstate(over="ignore"):
        assert opt.step(huge)  # the sums overflow, the entries are finite


def test_the_callers_errstate_holds_in_the_workers(small_blocks, monkeypatch):
    monkeypatch.setattr(_blocks, "num_threads", lambda: 2)
    x = np.full(1000, 3e38, np.float32)
    with np.errstate(over="raise"):
        with pytest.raises(FloatingPointError, match="overflow"):
            _blocks.run([lambda w, b=b: w == 1 and x[b] * x[b] for b in _blocks.split(1000)], 1000)


def test_an_error_in_a_worker_reaches_the_caller(small_blocks, monkeypatch):
    monkeypatch.setattr(_blocks, "num_threads", lambda: 2)
    seen = []

    def job(worker):
        seen.append(worker)
        if worker == 1:
            raise ValueError("from worker 1")

    with pytest.raises(ValueError, match="from worker 1"):
        _blocks.run([job] * 10, 1000)
    assert 0 in seen  # the calling thread did its share before the error was raised


def test_a_blocked_step_allocates_no_array(monkeypatch):
    monkeypatch.setattr(_blocks, "BLOCK", 4096)
    monkeypatch.setattr(_blocks, "MIN_PARALLEL", 2 * 4096)
    params = {"w": np.ones((200, 500)), "b": np.ones(500)}
    grads = {k: np.full_like(p, 0.1) for k, p in params.items()}
    opt = optim.Adam(params, lr=0.01, weight_decay=0.1, maximize=True)
    peak = bytes_allocated_by_step(opt, grads)  # views, slices and futures only: no array
    assert peak < 0.05 * params["w"].nbytes, f"a blocked step allocated {peak} bytes"


def test_nonfinite_propagate_does_no_check_as_in_torch():
    params = big_params(np.float64)
    opt = optim.SGD(params, lr=0.1, nonfinite="propagate")
    g = {k: np.zeros_like(p) for k, p in params.items()}
    g["b"][7] = np.nan
    assert opt.step(g) is True and opt.step_count == 1
    assert np.isnan(params["b"][7]) and np.isfinite(np.delete(params["b"], 7)).all()
    with pytest.raises(ValueError, match="'raise', 'skip' or 'propagate'"):
        optim.SGD(params, nonfinite="ignore")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_gets_its_own_threads(monkeypatch):
    """A child made by fork (multiprocessing's default on Linux) inherits the parent's pool
    object but not its threads: work sent to it would wait forever."""
    monkeypatch.setattr(_blocks, "num_threads", lambda: 2)
    monkeypatch.setattr(_blocks, "MIN_PARALLEL", 0)
    assert _blocks.run([lambda w: None] * 4, 10**6) == 2  # the parent's pool exists now
    code = """
import os, sys, signal
from optimlab.optim import _blocks
_blocks.num_threads = lambda: 2
_blocks.MIN_PARALLEL = 0
_blocks.run([lambda w: None] * 4, 10**6)
pid = os.fork()
if pid == 0:
    signal.alarm(20)  # a hang fails the test instead of blocking it
    workers = _blocks.run([lambda w: None] * 4, 10**6)
    os._exit(0 if workers == 2 else 3)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, (out.returncode, out.stderr[-2000:])


TORCH_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01)),
]


@pytest.mark.parametrize(("name", "setting"), TORCH_CASES, ids=[n for n, _ in TORCH_CASES])
def test_the_blocked_threaded_path_agrees_with_torch(name, setting, monkeypatch):
    """Large arrays (several blocks, on two threads) against torch.optim itself, not optimlab."""
    torch = pytest.importorskip("torch")
    monkeypatch.setattr(_blocks, "num_threads", lambda: 2)
    monkeypatch.setattr(_blocks, "MIN_PARALLEL", 2 * _blocks.BLOCK)
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(300, 700)), "b": rng.normal(size=70_000)}  # 4 and 2 blocks
    opt = optim.create(name, params, **setting)
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    theirs = getattr(torch.optim, name)(list(tensors.values()), **setting)
    calls, blocked = [], []
    real_run, real_jobs = _blocks.run, optim.Optimizer._block_jobs
    monkeypatch.setattr(_blocks, "run", lambda jobs, n, sizes=None: calls.append(real_run(jobs, n, sizes)) or calls[-1])
    monkeypatch.setattr(optim.Optimizer, "_block_jobs",
                        lambda self, unit, g, t: blocked.append(unit.names) or real_jobs(self, unit, g, t))
    for step in range(5):
        grads = {k: np.cos(p * (1 + 0.1 * step)) + 0.5 * p for k, p in params.items()}
        opt.step(grads)
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k])
        theirs.step()
    assert len(blocked) == 10 and max(calls) == 2  # both arrays' updates went through the blocks, on two threads
    for k, t in tensors.items():
        np.testing.assert_allclose(params[k], t.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=f"{name} {k}")


def test_shares_hold_about_equal_numbers_of_elements():
    """Jobs of very different sizes (a fused array's two halves, then 100 small arrays) are
    shared out by elements, not by count."""
    sizes = [5_000_000, 5_000_000] + [1000] * 100
    assert _blocks._shares(sizes, 2) == [0, 1, 102]
    assert _blocks._shares([1] * 10, 3) == [0, 3, 7, 10]
    assert _blocks._shares([7], 1) == [0, 1]
    jobs_run = []
    _blocks.run([lambda w, i=i: jobs_run.append(i) for i in range(102)], sum(sizes), sizes)
    assert sorted(jobs_run) == list(range(102))


def test_kernel_parts_are_one_per_thread_and_never_small(monkeypatch):
    monkeypatch.setattr(_blocks, "num_threads", lambda: 4)
    k = _blocks.KERNEL_BLOCK
    assert _blocks.split_for_threads(10) == [slice(0, 10)]
    assert _blocks.split_for_threads(3 * k) == [slice(0, k), slice(k, 2 * k), slice(2 * k, 3 * k)]
    parts = _blocks.split_for_threads(100 * k + 3)
    assert len(parts) == 4 and parts[0].start == 0 and parts[-1].stop == 100 * k + 3
    assert all(a.stop == b.start for a, b in zip(parts, parts[1:]))
    assert max(p.stop - p.start for p in parts) - min(p.stop - p.start for p in parts) <= 1
