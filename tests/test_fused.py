"""The fast path (``fused=True``): numba kernels that must equal the plain NumPy rules.

Skipped where numba is not installed (``pip install "optimlab[fast]"``); the plain rules are
tested everywhere else.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import reference_runs as R
from measure import bytes_allocated_by_step
from test_optim_api import FlatModel, grads_for

from optimlab import optim

pytest.importorskip("numba")
from optimlab.optim import _fused  # noqa: E402

FUSED = ["SGD", "Adam", "AdamW", "Lion"]


def _sgd_settings():
    for momentum, dampening, nesterov, weight_decay, maximize in itertools.product(
        [0.0, 0.9], [0.0, 0.3], [False, True], [0.0, 0.1], [False, True]
    ):
        if nesterov and (momentum == 0 or dampening != 0):
            continue
        yield dict(lr=0.05, momentum=momentum, dampening=dampening, nesterov=nesterov,
                   weight_decay=weight_decay, maximize=maximize)


def _adam_settings():
    for amsgrad, weight_decay, decoupled, maximize in itertools.product(
        [False, True], [0.0, 0.1], [False, True], [False, True]
    ):
        yield dict(lr=0.01, amsgrad=amsgrad, weight_decay=weight_decay,
                   decoupled_weight_decay=decoupled, maximize=maximize)
    yield dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)


def _adamw_settings():
    for amsgrad, weight_decay, maximize in itertools.product([False, True], [0.0, 0.2], [False, True]):
        yield dict(lr=0.01, amsgrad=amsgrad, weight_decay=weight_decay, maximize=maximize)


def _lion_settings():
    for weight_decay, maximize, betas in itertools.product(
        [0.0, 0.5], [False, True], [(0.9, 0.99), (0.95, 0.98)]
    ):
        yield dict(lr=3e-3, weight_decay=weight_decay, maximize=maximize, betas=betas)


CASES = [
    (name, setting)
    for name, settings in [("SGD", _sgd_settings()), ("Adam", _adam_settings()),
                           ("AdamW", _adamw_settings()), ("Lion", _lion_settings())]
    for setting in settings
]
CASE_IDS = [f"{n}-" + "-".join(f"{k}={v}" for k, v in s.items() if k != "lr") for n, s in CASES]


def make_params(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return {"w": rng.normal(size=(37, 23)).astype(dtype), "b": rng.normal(size=23).astype(dtype)}


def trajectory(name, setting, dtype, fused, steps=100):
    params = make_params(dtype)
    opt = optim.create(name, params, fused=fused, **setting)
    for s in range(steps):
        opt.lr = setting["lr"] * (1.0 if s < steps // 2 else 0.5)  # a schedule: scalars change
        opt.step(grads_for(params, s))
    return params, opt


@pytest.mark.parametrize("name, setting", CASES, ids=CASE_IDS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_equals_the_plain_rule(name, setting, dtype):
    plain, _ = trajectory(name, setting, dtype, fused=None)
    fused, opt = trajectory(name, setting, dtype, fused=True)
    rtol, atol = (1e-12, 1e-14) if dtype == np.float64 else (2e-5, 1e-6)
    for k in plain:
        assert fused[k].dtype == dtype
        np.testing.assert_allclose(fused[k], plain[k], rtol=rtol, atol=atol, err_msg=k)
    assert all(a.dtype == dtype for s in opt.state.values() for a in s.values())


CONFIGS = [c for c in R.CONFIGS if c.optimlab_name in FUSED]


@pytest.fixture(scope="module")
def recorded():
    with np.load(R.FIXTURE, allow_pickle=False) as f:
        return {k: f[k] for k in f.files if k != "__meta__"}


@pytest.mark.parametrize("config", CONFIGS, ids=[c.id for c in CONFIGS])
def test_fused_matches_recorded_reference(config, recorded):
    """The kernels against torch (and lion-pytorch), 200 float64 steps, as tests/test_crosscheck.py."""
    got = R.run_optimlab(config, fused=True)
    np.testing.assert_allclose(got, recorded[config.id], rtol=1e-10, atol=1e-12)


def test_every_fused_optimizer_is_cross_checked():
    assert {c.optimlab_name for c in CONFIGS} == set(FUSED)
    assert {n for n, cls in optim.REGISTRY.items() if cls.has_fused_kernel} == set(FUSED)


@pytest.mark.parametrize("config", CONFIGS[::2], ids=[c.id for c in CONFIGS[::2]])
def test_fused_float32_follows_float64(config):
    got32 = R.run_optimlab(config, dtype=np.float32, steps=20, fused=True)
    got64 = R.run_optimlab(config, dtype=np.float64, steps=20, fused=True)
    assert np.abs(got32 - got64).max() <= 2e-5 * np.abs(got64).max()


@pytest.mark.parametrize("name", FUSED)
@pytest.mark.parametrize("first, second", [(True, None), (None, True)])
@pytest.mark.parametrize("use_file", [False, True])
def test_state_dict_round_trip_between_fused_and_plain(name, first, second, use_file, tmp_path):
    setting = dict(lr=0.01, weight_decay=0.1) | (dict(momentum=0.9) if name == "SGD" else {})
    if name == "Adam":
        setting["amsgrad"] = True
    straight = make_params(np.float64)
    opt = optim.create(name, straight, **setting)
    for s in range(15):
        opt.step(grads_for(straight, s))

    resumed = make_params(np.float64)
    a = optim.create(name, resumed, fused=first, **setting)
    for s in range(7):
        a.step(grads_for(resumed, s))
    if use_file:
        a.save(tmp_path / "opt.npz")
    saved = a.state_dict()
    assert "fused" not in saved["hyper"]  # how to compute is the loader's choice, not the file's
    b = optim.create(name, resumed, fused=second, **setting)
    b.load(tmp_path / "opt.npz") if use_file else b.load_state_dict(saved)
    assert b.fused is second and b.step_count == 7
    for s in range(7, 15):
        b.step(grads_for(resumed, s))
    for k in straight:
        np.testing.assert_allclose(resumed[k], straight[k], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", FUSED)
def test_a_flat_model_steps_fused_in_one_pass(name):
    setting = dict(lr=0.01, maximize=True) | (dict(momentum=0.9, nesterov=True) if name == "SGD" else {})
    model = FlatModel()
    params = {k: v.copy() for k, v in model.named_parameters().items()}
    fused = optim.create(name, model, fused=True, **setting)
    plain = optim.create(name, params, **setting)
    assert len(fused._units) == 1
    for s in range(6):
        g = grads_for(model.named_parameters(), s)
        for k, v in model.named_gradients().items():
            v[...] = g[k]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the kernel runs: no fallback warning
            fused.step()
        plain.step(g)
    for k, v in model.named_parameters().items():
        np.testing.assert_allclose(v, params[k], rtol=1e-12, atol=1e-14)


def _noncontiguous_params():
    return {"w": np.random.default_rng(0).normal(size=(23, 37)).T, "b": np.ones(23)}


def _float16_params():
    return {k: v.astype(np.float16) for k, v in make_params(np.float64).items()}


@pytest.mark.parametrize("make, reason", [
    (_noncontiguous_params, "contiguous"),
    (_float16_params, "float16"),
])
@pytest.mark.parametrize("name", FUSED)
def test_unsuitable_arrays_warn_once_and_run_the_plain_rule(name, make, reason):
    fused_params, plain_params = make(), make()
    setting = dict(lr=0.01) | (dict(eps=1e-3) if name.startswith("Adam") else {})  # 1e-8 is 0 in float16
    fused = optim.create(name, fused_params, fused=True, **setting)
    plain = optim.create(name, plain_params, **setting)
    with pytest.warns(RuntimeWarning, match=rf"{name}\(fused=True\) runs the plain NumPy rule: .*{reason}") as caught:
        for s in range(3):
            fused.step(grads_for(fused_params, s))
    assert len([w for w in caught if issubclass(w.category, RuntimeWarning)]) == 1
    for s in range(3):
        plain.step(grads_for(plain_params, s))
    for k in plain_params:
        assert np.array_equal(fused_params[k], plain_params[k])


def test_a_noncontiguous_gradient_falls_back_for_that_parameter():
    params = make_params(np.float64)
    opt = optim.Adam(params, fused=True, lr=0.01)
    g = grads_for(params, 0)
    g["w"] = np.asfortranarray(g["w"])
    with pytest.warns(RuntimeWarning, match="contiguous"):
        opt.step(g)
    plain_params = make_params(np.float64)
    optim.Adam(plain_params, lr=0.01).step(grads_for(plain_params, 0))
    for k in params:
        np.testing.assert_allclose(params[k], plain_params[k], rtol=1e-12)


def test_missing_numba_warns_and_runs_the_plain_rule(monkeypatch):
    from optimlab.optim import base

    monkeypatch.setattr(base, "_import_fused", lambda: (None, "numba cannot be imported (test)"))
    params, plain_params = make_params(np.float32), make_params(np.float32)
    opt = optim.Lion(params, fused=True, lr=0.01)
    with pytest.warns(RuntimeWarning, match="numba cannot be imported") as caught:
        for s in range(3):
            opt.step(grads_for(params, s))
    assert len(caught) == 1
    plain = optim.Lion(plain_params, lr=0.01)
    for s in range(3):
        plain.step(grads_for(plain_params, s))
    for k in params:
        assert np.array_equal(params[k], plain_params[k])


def test_fused_is_checked_and_only_for_optimizers_with_a_kernel():
    with pytest.raises(TypeError, match="Adagrad has no fused kernel; fused=True is for ") as refused:
        optim.Adagrad(make_params(np.float64), fused=True)
    assert all(name in str(refused.value) for name in FUSED)
    optim.Adagrad(make_params(np.float64), fused=False)  # the plain rule, as asked
    with pytest.raises(TypeError, match="fused"):
        optim.Adam(make_params(np.float64), fused="yes")
    for name in FUSED:
        assert "fused" not in optim.REGISTRY[name].defaults  # not a hyperparameter: no math changes


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("name", FUSED)
def test_fused_refuses_a_nonfinite_gradient_before_touching_anything(name, value):
    params = make_params(np.float32)
    opt = optim.create(name, params, fused=True, lr=0.01)
    opt.step(grads_for(params, 0))
    kept = {k: v.copy() for k, v in params.items()}
    kept_state = {n: {k: a.copy() for k, a in s.items()} for n, s in opt.state.items()}
    g = grads_for(params, 1)
    g["w"][3, 4] = value
    with pytest.raises(FloatingPointError, match=rf"{name} step 2: the gradient of 'w'"):
        opt.step(g)
    for k in params:
        assert np.array_equal(params[k], kept[k])
    for n, s in opt.state.items():
        for k, a in s.items():
            assert np.array_equal(a, kept_state[n][k])
    assert opt.step({"w": np.full((37, 23), 3e38, np.float32), "b": np.zeros(23, np.float32)})


@pytest.mark.parametrize("name", FUSED)
def test_a_fused_step_allocates_no_array(name):
    params = {"w": np.ones((500, 400)), "b": np.ones(400)}
    grads = {"w": np.full((500, 400), 0.1), "b": np.full(400, -0.1)}
    opt = optim.create(name, params, fused=True)
    peak = bytes_allocated_by_step(opt, grads)
    assert peak < 0.01 * params["w"].nbytes, f"{name} allocated {peak} bytes in a fused step"


def test_importing_optim_does_not_import_numba():
    code = (
        "import sys, json, optimlab, optimlab.optim; "
        "opt = optimlab.optim.Adam([__import__('numpy').zeros(3)], fused=True); "
        "print(json.dumps(['numba' in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [False]  # numba loads on the first fused step, not before


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [1, 7, 1000, 300_001])
def test_the_kernels_finiteness_check_agrees_with_the_plain_one(dtype, size):
    from optimlab.backend import all_finite
    from optimlab.optim import _fused

    x = np.random.default_rng(0).normal(size=size).astype(dtype)
    x[0] = np.finfo(dtype).max  # huge but finite
    assert _fused.all_finite(x) and all_finite(x)
    for where in sorted({0, size // 2, size - 1}):
        for value in (np.nan, np.inf, -np.inf):
            y = x.copy()
            y[where] = value
            assert not _fused.all_finite(y) and not all_finite(y), (where, value)
    assert _fused.all_finite(x[::2]) == all_finite(x[::2])  # not contiguous: the plain check


def test_every_size_takes_the_kernel_and_large_arrays_one_part_per_thread(monkeypatch):
    """No size threshold: a kernel call costs about a microsecond. An array of at least
    ``_blocks.KERNEL_BLOCK`` elements per thread is cut into one part per thread."""
    from optimlab.optim import _blocks

    monkeypatch.setattr(_blocks, "num_threads", lambda: 2)
    calls = []
    real = _fused.adam
    monkeypatch.setattr(_fused, "adam", lambda *a, **k: calls.append(a[0].size) or real(*a, **k))
    n = 2 * _blocks.KERNEL_BLOCK + 1000
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no fallback, no warning
        small = {"w": np.ones(10, np.float32)}
        optim.Adam(small, fused=True).step({"w": np.ones_like(small["w"])})
        large = {"w": np.ones(n, np.float32)}
        optim.Adam(large, fused=True).step({"w": np.ones_like(large["w"])})
    assert calls == [10, n // 2, n - n // 2]


def test_fused_steps_from_three_threads_at_once_each_get_their_own_result():
    """The kernels keep no state and release the GIL: three optimizers stepping at once in three
    threads (each on the block threads too) must each end where a plain run ends. In a
    subprocess, so that a crash could not take pytest down with it."""
    code = """
import threading, numpy as np
from optimlab import optim
n = 600_000
results = {}
def train(k, fused):
    params = {"w": np.linspace(-1, 1, n, dtype=np.float32) * (k + 1)}
    opt = optim.Adam(params, fused=fused, lr=0.01)
    for s in range(20):
        opt.step({"w": np.cos(params["w"] * (1 + 0.1 * s))})
    results[k, fused] = params["w"]
threads = [threading.Thread(target=train, args=(k, True)) for k in range(3)]
[t.start() for t in threads]
[t.join() for t in threads]
for k in range(3):
    train(k, None)
print(all(np.array_equal(results[k, True], results[k, None]) for k in range(3)))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "True"


def test_arrays_the_kernels_cannot_take_warn_whatever_their_size():
    params = {"w": np.ones(10, np.float16)}  # a dtype the kernels lack
    opt = optim.Adam(params, fused=True)
    with pytest.warns(RuntimeWarning, match="float32 and float64 arrays, not float16"):
        opt.step({"w": np.full(10, 0.5, np.float16)})


def test_the_kernels_use_the_block_threads_only_for_large_steps(monkeypatch):
    """Like the plain path: a step of MIN_PARALLEL elements or more is spread over the threads
    (kernel blocks and plain-rule blocks together); a smaller one stays on the calling thread."""
    from optimlab.optim import _blocks

    monkeypatch.setattr(_blocks, "KERNEL_BLOCK", 1024)
    monkeypatch.setattr(_blocks, "BLOCK", 64)
    monkeypatch.setattr(_blocks, "num_threads", lambda: 2)
    monkeypatch.setattr(_blocks, "MIN_PARALLEL", 4096)
    workers = []
    real = _blocks.run
    monkeypatch.setattr(_blocks, "run", lambda jobs, n, sizes=None: workers.append(real(jobs, n, sizes)) or workers[-1])
    big = {"w": np.ones(40_000, np.float32)}
    optim.Adam(big, fused=True, nonfinite="propagate").step({"w": np.full(40_000, 0.5, np.float32)})
    assert workers[-1] == 2  # one part per thread
    small = {"w": np.ones(3000, np.float32), "h": np.ones(100, np.float16)}  # kernel; plain rule
    opt = optim.Adam(small, fused=True, nonfinite="propagate")
    with pytest.warns(RuntimeWarning, match="not float16"):
        opt.step({"w": np.full(3000, 0.5, np.float32), "h": np.full(100, 0.5, np.float16)})
    assert workers[-1] == 1  # 3100 elements: under MIN_PARALLEL, on the calling thread


TORCH_CASES = [
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01, maximize=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
]


@pytest.mark.parametrize(("name", "setting"), TORCH_CASES, ids=[n for n, _ in TORCH_CASES])
def test_kernel_parts_on_two_threads_agree_with_torch(name, setting, monkeypatch):
    """Large arrays, each cut into two parts updated on two threads, against torch.optim itself
    (the recorded references use arrays too small to be cut)."""
    torch = pytest.importorskip("torch")
    from optimlab.optim import _blocks

    monkeypatch.setattr(_blocks, "num_threads", lambda: 2)
    monkeypatch.setattr(_blocks, "KERNEL_BLOCK", 4096)
    monkeypatch.setattr(_blocks, "MIN_PARALLEL", 8192)
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(300, 700)), "b": rng.normal(size=70_000)}
    opt = optim.create(name, params, fused=True, **setting)
    tensors = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    theirs = getattr(torch.optim, name)(list(tensors.values()), **setting)
    parts, workers = [], []
    wrapper = name.lower().rstrip("w")  # _fused.sgd, _fused.adam (AdamW too)
    real_kernel, real_run = getattr(_fused, wrapper), _blocks.run
    monkeypatch.setattr(_fused, wrapper, lambda *a, **k: parts.append(a[0].size) or real_kernel(*a, **k))
    monkeypatch.setattr(_blocks, "run", lambda jobs, n, sizes=None: workers.append(real_run(jobs, n, sizes)))
    for step in range(5):
        grads = {k: np.cos(p * (1 + 0.1 * step)) + 0.5 * p for k, p in params.items()}
        opt.step(grads)
        for k, t in tensors.items():
            t.grad = torch.tensor(grads[k])
        theirs.step()
    assert parts[:4] == [105_000, 105_000, 35_000, 35_000] and max(workers) == 2
    for k, t in tensors.items():
        np.testing.assert_allclose(params[k], t.detach().numpy(), rtol=1e-12, atol=1e-14, err_msg=f"{name} {k}")
