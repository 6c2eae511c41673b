"""optimlab against independent implementations, 200 float64 steps, relative error <= 1e-10.

Two comparisons per configuration: against trajectories recorded from the reference library
(``fixtures/``, always runs), and against the library itself, live, where it is installed
(CI installs torch, lion-pytorch, adabelief-pytorch and jestimator).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import reference_runs as R

RTOL, ATOL = 1e-10, 1e-12
IDS = [c.id for c in R.CONFIGS]


@pytest.fixture(scope="module")
def recorded():
    with np.load(R.FIXTURE, allow_pickle=False) as f:
        meta = json.loads(str(f["__meta__"]))
        return meta, {k: f[k] for k in f.files if k != "__meta__"}


def test_fixture_covers_every_configuration(recorded):
    meta, trajectories = recorded
    assert meta["steps"] == R.STEPS >= 200
    assert set(trajectories) == set(IDS)


def test_every_optimizer_is_cross_checked_with_defaults_and_two_other_settings():
    from optimlab import optim

    for name in optim.REGISTRY:
        configs = [c for c in R.CONFIGS if c.optimlab_name == name]
        assert any(not c.hyper or set(c.hyper) == {"lr"} for c in configs), name
        assert len(configs) >= 3, name


@pytest.mark.parametrize("config", R.CONFIGS, ids=IDS)
def test_matches_recorded_reference(config, recorded):
    _, trajectories = recorded
    expected = trajectories[config.id]
    got = R.run_optimlab(config)
    assert np.abs(expected[-1] - expected[0]).max() > 1e-3, "the reference run did not move"
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("config", R.CONFIGS, ids=IDS)
def test_matches_live_reference(config):
    if not R.library_available(config.library):
        pytest.skip(f"{config.library} is not installed (pip install -e '.[crosscheck]')")
    np.testing.assert_allclose(R.run_optimlab(config), R.run_reference(config), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("config", R.CONFIGS[::3], ids=IDS[::3])
def test_float32_follows_float64(config):
    """float32 stays float32 and tracks the float64 run to float32 precision (early steps,
    before the two runs' round-off could be amplified by the dynamics)."""
    steps = 20
    got32 = R.run_optimlab(config, dtype=np.float32, steps=steps)
    got64 = R.run_optimlab(config, dtype=np.float64, steps=steps)
    scale = np.abs(got64).max()
    assert np.abs(got32 - got64).max() <= 2e-5 * scale
