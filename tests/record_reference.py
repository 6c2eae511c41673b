"""Record the reference libraries' trajectories into fixtures/reference_trajectories.npz.

    python tests/record_reference.py

Needs torch, lion-pytorch, adabelief-pytorch and jestimator (with jax, flax, optax). Run it
again only when the test problem or the list of configurations in reference_runs.py changes;
the stored versions of the libraries are written beside the trajectories.
"""

from __future__ import annotations

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import reference_runs as R  # noqa: E402


def main() -> None:
    missing = sorted({c.library for c in R.CONFIGS if not R.library_available(c.library)})
    if missing:
        sys.exit(f"cannot record: {', '.join(missing)} not installed")
    arrays = {c.id: R.run_reference(c) for c in R.CONFIGS}
    meta = {"steps": R.STEPS, "versions": R.library_versions()}
    os.makedirs(os.path.dirname(R.FIXTURE), exist_ok=True)
    np.savez_compressed(R.FIXTURE, __meta__=np.array(json.dumps(meta)), **arrays)
    print(f"wrote {len(arrays)} trajectories to {R.FIXTURE}: {meta['versions']}")


if __name__ == "__main__":
    main()
