"""The device tests of ``test_device_arrays.py`` on real CuPy arrays, on a GPU. Skips cleanly
where CuPy or a GPU is missing (``pip install -e ".[gpu]"`` brings CuPy); there,
``test_device_arrays.py`` still runs them on ``fake_cupy``."""

from __future__ import annotations

import pytest

cupy = pytest.importorskip("cupy", reason="CuPy is not installed (pip install -e '.[gpu]')")
try:
    cupy.zeros(1) + 1
except Exception as e:  # pragma: no cover - a CuPy without a usable GPU
    pytest.skip(f"CuPy cannot use a GPU here: {e}", allow_module_level=True)

# the tests themselves, collected again here with the real module as ``cp`` (the ones about
# fake_cupy's own behaviour are not imported)
from test_device_arrays import (  # noqa: E402, F401
    test_a_device_run_equals_the_numpy_run,
    test_a_nonfinite_device_gradient_changes_nothing,
    test_a_numpy_gradient_for_a_device_parameter_is_refused_by_name,
    test_fused_on_device_arrays_warns_and_runs_the_plain_rule,
    test_large_device_arrays_take_the_whole_array_path,
    test_maximize_on_device,
    test_state_moves_between_host_and_device,
    test_the_gpu_script_runs_its_check_and_table,
)


@pytest.fixture
def cp():
    return cupy
