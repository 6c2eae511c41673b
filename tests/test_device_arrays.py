"""The CuPy code path on every machine, through ``fake_cupy`` (NumPy behind CuPy's wall).

These tests do not need a GPU and do not replace ``test_cupy.py`` (real CuPy, on a GPU). They
check what can be checked without one: that every optimizer takes its array module from the
arrays, keeps its state and scratch on the "device", never converts a device array to NumPy
nor mixes the two, refuses bad input the same way, and computes exactly what it computes on
NumPy (the arithmetic behind the wall is NumPy's, so bit for bit).

On a machine with a GPU, ``test_cupy.py`` runs the same tests on real CuPy arrays (there, equal
to round-off: a GPU's reductions add in another order).
"""

from __future__ import annotations

import os
import sys
import warnings

import fake_cupy
import numpy as np
import pytest
from test_optim_api import SETTINGS, grads_for, make_params

from optimlab import optim
from optimlab.backend import all_finite, array_module, is_array, to_numpy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks"))
NAMES = list(optim.REGISTRY)


@pytest.fixture
def cp():
    with fake_cupy.installed() as module:
        yield module


def on_device(cp, arrays):
    return {k: cp.asarray(v) for k, v in arrays.items()}


def assert_same(device, host):
    """Bit for bit on fake_cupy (NumPy's arithmetic); to round-off on a real GPU."""
    got = to_numpy(device)
    if isinstance(device, fake_cupy.ndarray):
        assert np.array_equal(got, host)
    else:
        rtol = 1e-12 if host.dtype == np.float64 else 1e-5
        np.testing.assert_allclose(got, host, rtol=rtol, atol=rtol / 100)


def run_both(cp, name, setting, host, steps, **options):
    """The same optimizer on NumPy and on device copies of ``host``; returns both param dicts
    and both optimizers."""
    dev = on_device(cp, host)
    opt_host = optim.create(name, host, **setting, **options)
    opt_dev = optim.create(name, dev, **setting, **options)
    for s in range(steps):
        grads = grads_for(host, s)
        opt_host.step(grads)
        opt_dev.step(on_device(cp, grads))
    return host, dev, opt_host, opt_dev


# ----------------------------------------------------------------------------- the stand-in is strict
def test_the_stand_in_refuses_what_cupy_refuses(cp):
    x = cp.asarray(np.arange(4.0))
    with pytest.raises(TypeError, match="Implicit conversion"):
        np.asarray(x)
    with pytest.raises(TypeError, match="Unsupported type"):
        x + np.ones(4)
    with pytest.raises(TypeError, match="Unsupported type"):
        np.multiply(x, 2.0, out=np.empty(4))
    with pytest.raises(TypeError, match="Unsupported type"):
        cp.multiply(x, np.ones(4))
    with pytest.raises(TypeError, match="Unsupported type"):
        x[:2] = np.zeros(2)
    total = x.sum()
    assert isinstance(total, cp.ndarray) and total.shape == () and float(total) == 6.0
    assert not hasattr(x.flags, "writeable")
    assert array_module(x) is cp and is_array(x) and all_finite(x)
    assert np.array_equal(to_numpy(x), np.arange(4.0)) and isinstance(to_numpy(x), np.ndarray)


# ----------------------------------------------------------------------------- the same results
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", NAMES)
def test_a_device_run_equals_the_numpy_run(cp, name, dtype):
    host, dev, _, opt_dev = run_both(cp, name, SETTINGS[name], make_params(dtype), steps=8)
    for k in host:
        assert isinstance(dev[k], cp.ndarray) and dev[k].dtype == dtype
        assert_same(dev[k], host[k])
    for state in opt_dev.state.values():
        assert all(isinstance(a, cp.ndarray) and a.dtype == dtype for a in state.values())


@pytest.mark.parametrize("name", [n for n in NAMES if "maximize" in optim.REGISTRY[n].defaults])
def test_maximize_on_device(cp, name):
    setting = {**SETTINGS[name], "maximize": True}
    host, dev, _, _ = run_both(cp, name, setting, make_params(), steps=4)
    for k in host:
        assert_same(dev[k], host[k])


@pytest.mark.parametrize("name", ["Adam", "SGD", "Lion"])
def test_large_device_arrays_take_the_whole_array_path(cp, name):
    """Arrays above the block size are split on the CPU (``_blocks.py``); device arrays must
    not be: one call of the rule on the whole array, the same result."""
    rng = np.random.default_rng(1)
    host = {"w": rng.normal(size=(300, 400))}  # 120k elements: more than one block
    host, dev, _, _ = run_both(cp, name, SETTINGS[name], host, steps=3)
    assert_same(dev["w"], host["w"])


def test_fused_on_device_arrays_warns_and_runs_the_plain_rule(cp):
    pytest.importorskip("numba")
    rng = np.random.default_rng(2)
    host = {"w": rng.normal(size=(300, 400))}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        host, dev, _, _ = run_both(cp, "Adam", dict(lr=0.01), host, steps=2, fused=True)
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    kind = f"{type(dev['w']).__module__}.{type(dev['w']).__name__}"
    assert any(f"runs the plain NumPy rule: they run on NumPy arrays, not {kind}" in m for m in messages), messages
    assert_same(dev["w"], host["w"])


# ----------------------------------------------------------------------------- refusals
def test_a_numpy_gradient_for_a_device_parameter_is_refused_by_name(cp):
    params = on_device(cp, make_params())
    opt = optim.Adam(params, lr=0.01)
    grads = grads_for(make_params(), 0)
    grads["w"] = cp.asarray(grads["w"])
    with pytest.raises(TypeError, match=rf"gradient of 'b' is a numpy array, its parameter a {cp.__name__} array"):
        opt.step(grads)
    assert opt.step_count == 0


@pytest.mark.parametrize("name", NAMES)
def test_a_nonfinite_device_gradient_changes_nothing(cp, name):
    host = make_params()
    params = on_device(cp, host)
    opt = optim.create(name, params, **SETTINGS[name])
    opt.step(on_device(cp, grads_for(host, 0)))
    before = {k: to_numpy(v) for k, v in params.items()}
    state_before = opt.state_dict()
    bad = grads_for(host, 1)
    bad["b"][2] = np.nan
    with pytest.raises(FloatingPointError, match=f"{name} step 2: the gradient of 'b' contains NaN or Inf"):
        opt.step(on_device(cp, bad))
    with pytest.warns(RuntimeWarning, match="step skipped"):
        opt.nonfinite = "skip"
        assert opt.step(on_device(cp, bad)) is False
    assert all(np.array_equal(to_numpy(params[k]), before[k]) for k in params)
    after = opt.state_dict()
    assert after["step"] == state_before["step"] == 1
    for k, s in state_before["state"].items():
        assert all(np.array_equal(after["state"][k][key], a) for key, a in s.items())


# ----------------------------------------------------------------------------- saving and restoring
@pytest.mark.parametrize("name", NAMES)
def test_state_moves_between_host_and_device(cp, name, tmp_path):
    """A device optimizer's state saves to a file and loads into a NumPy optimizer and back;
    every continuation equals the run that never stopped."""
    setting = SETTINGS[name]
    host, dev, opt_host, opt_dev = run_both(cp, name, setting, make_params(), steps=3)
    saved = opt_dev.state_dict()
    assert all(isinstance(a, np.ndarray) for s in saved["state"].values() for a in s.values())
    path = str(tmp_path / "device.npz")
    opt_dev.save(path)

    restored_host = {k: to_numpy(v) for k, v in dev.items()}
    opt_restored_host = optim.create(name, restored_host, **setting)
    opt_restored_host.load(path)
    restored_dev = on_device(cp, host)
    opt_restored_dev = optim.create(name, restored_dev, **setting)
    opt_restored_dev.load_state_dict(opt_host.state_dict())
    for a in (a for s in opt_restored_dev.state.values() for a in s.values()):
        assert isinstance(a, cp.ndarray)

    for s in range(3, 6):
        grads = grads_for(host, s)
        opt_host.step(grads)
        opt_restored_host.step(grads)
        opt_restored_dev.step(on_device(cp, grads))
    for k in host:
        assert np.array_equal(restored_host[k], host[k])
        assert_same(restored_dev[k], host[k])


# ----------------------------------------------------------------------------- the GPU benchmark script
def test_the_gpu_script_runs_its_check_and_table(cp, capsys):
    """``benchmarks/gpu_optimizers.py`` end to end (no torch on CUDA here: optimlab's column only)."""
    import gpu_optimizers

    assert gpu_optimizers.main(["--quick", "--n", "20000", "--seconds", "0.002", "--only", "Adam", "SGD"]) == 0
    out = capsys.readouterr().out
    assert f"all {len(NAMES)} optimizers agree" in out
    assert "| Adam | 1 flat array | 28 | 8 |" in out and "| SGD (momentum 0.9) | 100 arrays | 20 | 4 |" in out


def test_the_gpu_scripts_cross_check_catches_a_difference(cp, monkeypatch, capsys):
    """The CuPy-vs-NumPy check is not a formality: a device whose sqrt is off by one part in
    1e9 fails it for optimizers that take a square root, and only for them."""
    import gpu_optimizers

    def inexact_sqrt(x, out=None):
        result = np.sqrt(fake_cupy._unwrap(x)) * (1 + 1e-9)
        if out is None:
            return fake_cupy.ndarray(result)
        out._a[...] = result
        return out

    monkeypatch.setattr(fake_cupy, "sqrt", inexact_sqrt, raising=False)
    failures = gpu_optimizers.check_against_numpy(cp, steps=3)
    assert {"Adam", "AdamW", "RMSprop", "Adagrad"} <= set(failures)
    assert not {"SGD", "Lion", "Adamax"} & set(failures)
    assert "MISMATCH" in capsys.readouterr().out
