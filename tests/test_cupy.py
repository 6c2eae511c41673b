"""The same optimizer code on CuPy arrays (GPU). Skips cleanly where CuPy or a GPU is missing;
``pip install -e ".[gpu]"`` brings CuPy."""

from __future__ import annotations

import numpy as np
import pytest

from optimlab import optim
from optimlab.backend import array_module, to_numpy

cp = pytest.importorskip("cupy", reason="CuPy is not installed (pip install -e '.[gpu]')")
try:
    cp.zeros(1) + 1
except Exception as e:  # pragma: no cover - a CuPy without a usable GPU
    pytest.skip(f"CuPy cannot use a GPU here: {e}", allow_module_level=True)

SETTINGS = {"SGD": dict(lr=0.05, momentum=0.9, nesterov=True), "Amos": dict(lr=0.05)}


@pytest.mark.parametrize("name", list(optim.REGISTRY))
def test_cupy_run_equals_numpy_run(name):
    rng = np.random.default_rng(0)
    host = {"w": rng.normal(size=(6, 4)), "b": rng.normal(size=4)}
    device = {k: cp.asarray(v) for k, v in host.items()}
    hyper = SETTINGS.get(name, dict(lr=0.01))
    opt_host = optim.create(name, host, **hyper)
    opt_device = optim.create(name, device, **hyper)
    for step in range(20):
        g = {k: np.cos(v * (1 + 0.1 * step)) for k, v in host.items()}
        opt_host.step(g)
        opt_device.step({k: cp.asarray(v) for k, v in g.items()})
    for k in host:
        assert array_module(device[k]) is cp
        np.testing.assert_allclose(to_numpy(device[k]), host[k], rtol=1e-12, atol=1e-14)
