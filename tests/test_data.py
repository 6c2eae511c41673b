"""optimlab.data: synthetic sets, the shipped digits, split, Standardizer and minibatches."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from optimlab import data

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIGIT_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]

CLASSIFICATION = {
    "spirals": (data.spirals, 3),
    "moons": (data.moons, 2),
    "circles": (data.circles, 2),
    "blobs": (data.blobs, 3),
}


# ---------------------------------------------------------------------------- synthetic sets

@pytest.mark.parametrize("name", CLASSIFICATION)
@pytest.mark.parametrize("n", [300, 101])
def test_classification_sets_shapes_dtypes_balance(name, n):
    make, k = CLASSIFICATION[name]
    ds = make(n=n, seed=1)
    assert ds.name == name and len(ds) == n
    assert ds.X.shape == (n, 2) and ds.X.dtype == np.float64 and np.isfinite(ds.X).all()
    assert ds.y.shape == (n,) and ds.y.dtype == np.int64
    np.testing.assert_array_equal(ds.classes, np.arange(k))
    counts = np.bincount(ds.y)
    assert counts.sum() == n and counts.max() - counts.min() <= 1
    assert len(np.unique(ds.y[: n // 3])) == k, "rows are shuffled, not grouped by class"


@pytest.mark.parametrize("make", [spec[0] for spec in CLASSIFICATION.values()] + [data.regression])
def test_synthetic_sets_are_seeded(make):
    a, b, c = make(seed=3), make(seed=3), make(seed=4)
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)


def test_spirals_classes_and_blobs_explicit_centers():
    assert set(data.spirals(n=100, classes=5).y.tolist()) == set(range(5))
    centers = np.array([[-10.0, 0.0], [10.0, 0.0]])
    ds = data.blobs(n=200, centers=centers, std=0.5)
    for k in (0, 1):
        np.testing.assert_allclose(ds.X[ds.y == k].mean(axis=0), centers[k], atol=0.2)


def test_circles_radii_and_noise_free_moons():
    ds = data.circles(n=200, noise=0.0, factor=0.3)
    radius = np.linalg.norm(ds.X, axis=1)
    np.testing.assert_allclose(radius[ds.y == 0], 1.0)
    np.testing.assert_allclose(radius[ds.y == 1], 0.3)
    with pytest.raises(ValueError, match="factor"):
        data.circles(factor=1.0)
    upper = data.moons(n=100, noise=0.0)
    np.testing.assert_allclose(np.linalg.norm(upper.X[upper.y == 0], axis=1), 1.0)


@pytest.mark.parametrize("d", [1, 3])
def test_regression_shapes_and_function(d):
    ds = data.regression(n=50, noise=0.0, d=d)
    assert ds.X.shape == (50, d) and ds.X.dtype == np.float64
    assert ds.y.shape == (50, 1) and ds.y.dtype == np.float64
    assert ds.classes is None and not ds.is_classification
    assert np.abs(ds.X).max() <= 1.0
    np.testing.assert_allclose(ds.y[:, 0], np.sin(3.0 * ds.X.sum(axis=1) / np.sqrt(d)))
    noisy = data.regression(n=2000, noise=0.1)
    residual = noisy.y[:, 0] - np.sin(3.0 * noisy.X[:, 0])
    assert 0.09 < residual.std() < 0.11


def test_dataset_validation_and_images():
    with pytest.raises(ValueError, match="lengths"):
        data.Dataset(np.zeros((3, 2)), np.zeros(4, dtype=np.int64))
    with pytest.raises(ValueError, match="2-D"):
        data.Dataset(np.zeros(3), np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="image_shape"):
        data.moons().images  # noqa: B018


# ---------------------------------------------------------------------------- digits

def test_digits_shipped_copy_properties():
    ds = data.digits()
    assert len(ds) == 1797 and ds.name == "digits"
    assert ds.X.shape == (1797, 64) and ds.X.dtype == np.float64
    assert ds.y.shape == (1797,) and ds.y.dtype == np.int64
    assert ds.X.min() == 0 and ds.X.max() == 16 and np.array_equal(ds.X, np.round(ds.X))
    assert ds.y[0] == 0 and ds.y[:10].tolist() == list(range(10))
    assert np.bincount(ds.y).tolist() == DIGIT_COUNTS and sum(DIGIT_COUNTS) == 1797
    np.testing.assert_array_equal(ds.classes, np.arange(10))
    assert ds.class_names == tuple("0123456789") and ds.image_shape == (8, 8)
    assert ds.images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(ds.images[5].ravel(), ds.X[5])


def test_digits_file_is_compact():
    path = os.path.join(ROOT, "optimlab", "data", "digits.npz")
    assert os.path.getsize(path) < 100_000
    with np.load(path) as archive:
        assert archive["images"].dtype == np.uint8 and archive["images"].shape == (1797, 8, 8)
        assert archive["labels"].dtype == np.uint8 and archive["labels"].shape == (1797,)


def test_digits_identical_to_sklearn():
    datasets = pytest.importorskip("sklearn.datasets")
    reference = datasets.load_digits()
    ds = data.digits()
    np.testing.assert_array_equal(ds.X, reference.data)
    np.testing.assert_array_equal(ds.y, reference.target)
    np.testing.assert_array_equal(ds.images, reference.images)


# ---------------------------------------------------------------------------- split

@pytest.mark.parametrize("stratify", [True, False])
@pytest.mark.parametrize("val, test", [(0.15, 0.15), (0.2, 0.1), (0.0, 0.25), (0.3, 0.0)])
def test_split_partitions_with_expected_sizes(val, test, stratify):
    ds = data.digits()
    parts = data.split_indices(ds.y, val, test, seed=0, stratify=stratify)
    everything = np.concatenate(parts)
    assert len(everything) == len(ds) and len(np.unique(everything)) == len(ds), "disjoint and covering"
    train, v, t = parts
    assert (len(v), len(t)) == (round(val * len(ds)), round(test * len(ds)))
    split = data.split(ds, val, test, seed=0, stratify=stratify)
    for part, index in zip(split, parts):
        np.testing.assert_array_equal(part.X, ds.X[index])
        np.testing.assert_array_equal(part.y, ds.y[index])
        assert part.name == "digits" and part.image_shape == (8, 8)


@pytest.mark.parametrize("ds", [data.digits(), data.spirals(n=301, classes=3), data.moons(n=97)],
                         ids=["digits", "spirals", "moons"])
def test_split_stratification_keeps_proportions(ds):
    val, test = 0.2, 0.15
    counts = np.bincount(ds.y)
    parts = data.split(ds, val=val, test=test, seed=5)
    for part, fraction in zip(parts, (1 - val - test, val, test)):
        assert np.all(np.abs(np.bincount(part.y, minlength=len(counts)) - fraction * counts) <= 1)


def test_split_is_seeded_and_handles_regression():
    ds = data.digits()
    a, b, c = (data.split_indices(ds.y, seed=s) for s in (1, 1, 2))
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    reg = data.split(data.regression(n=100), val=0.1, test=0.2)
    assert [len(p) for p in reg] == [70, 10, 20] and reg.train.y.shape == (70, 1)


@pytest.mark.parametrize("kwargs, name", [
    ({"val": -0.1}, "val"), ({"val": 1.0}, "val"), ({"test": 1.5}, "test"),
    ({"test": float("nan")}, "test"), ({"val": 0.5, "test": 0.5}, "val \\+ test"),
    ({"val": 0.7, "test": 0.6}, "val \\+ test"),
])
def test_split_rejects_bad_fractions(kwargs, name):
    with pytest.raises(ValueError, match=name):
        data.split(data.moons(), **kwargs)


# ---------------------------------------------------------------------------- standardization

def test_standardizer_fits_on_train_only():
    parts = data.split(data.blobs(n=400, std=2.0), seed=0)
    scaler = data.Standardizer().fit(parts.train.X)
    np.testing.assert_allclose(scaler.mean_, parts.train.X.mean(axis=0))
    np.testing.assert_allclose(scaler.scale_, parts.train.X.std(axis=0))
    std = data.standardize(parts)
    np.testing.assert_allclose(std.train.X.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(std.train.X.std(axis=0), 1.0)
    np.testing.assert_allclose(std.val.X, scaler.transform(parts.val.X))
    np.testing.assert_allclose(std.test.X, scaler.transform(parts.test.X))
    assert np.all(np.abs(std.val.X.mean(axis=0)) > 1e-6), "val is transformed with the train statistics"
    np.testing.assert_array_equal(std.val.y, parts.val.y)


def test_standardizer_zero_variance_and_round_trip():
    X = data.digits().X  # pixel 0 is always 0; add a constant non-zero column too
    X = np.column_stack([X, np.full(len(X), 0.1)])
    scaler = data.Standardizer()
    Z = scaler.fit_transform(X)
    assert np.isfinite(Z).all()
    assert scaler.scale_[0] == 1.0 and scaler.scale_[-1] == 1.0
    np.testing.assert_allclose(Z[:, [0, -1]], 0.0, atol=1e-12)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, atol=1e-12)


def test_standardizer_needs_fit():
    with pytest.raises(RuntimeError, match="fit"):
        data.Standardizer().transform(np.zeros((2, 2)))


# ---------------------------------------------------------------------------- minibatches

def _batches(n, batch_size, **kwargs):
    X = np.arange(n, dtype=np.float64)[:, None] * np.ones((1, 3))
    y = np.arange(n)
    out = list(data.minibatches(X, y, batch_size, **kwargs))
    for xb, yb in out:
        np.testing.assert_array_equal(xb[:, 0], yb)  # rows stay paired with their labels
    return [yb for _, yb in out]


@pytest.mark.parametrize("shuffle", [True, False])
def test_minibatches_cover_every_index_once(shuffle):
    batches = _batches(103, 10, shuffle=shuffle)
    assert [len(b) for b in batches] == [10] * 10 + [3]
    assert sorted(np.concatenate(batches).tolist()) == list(range(103))
    if not shuffle:
        assert np.concatenate(batches).tolist() == list(range(103))


def test_minibatches_drop_last():
    batches = _batches(103, 10, drop_last=True)
    assert [len(b) for b in batches] == [10] * 10
    assert len(np.unique(np.concatenate(batches))) == 100
    assert [len(b) for b in _batches(100, 10, drop_last=True)] == [10] * 10


def test_minibatches_seeded():
    a, b, c = (np.concatenate(_batches(50, 8, seed=s)) for s in (7, 7, 8))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    d = np.concatenate(_batches(50, 8, rng=np.random.default_rng(7)))
    np.testing.assert_array_equal(a, d)


@pytest.mark.parametrize("kwargs", [
    {"batch_size": 0}, {"batch_size": -4}, {"batch_size": 2.5}, {"batch_size": 11, "drop_last": True},
])
def test_minibatches_rejects_bad_batch_size(kwargs):
    with pytest.raises(ValueError, match="batch_size"):
        data.minibatches(np.zeros((10, 2)), np.zeros(10), **kwargs)  # raises before iteration


def test_minibatches_batch_larger_than_n_without_drop_last():
    assert [len(b) for b in _batches(5, 8)] == [5]


# ---------------------------------------------------------------------------- imports

def test_import_does_not_pull_in_sklearn_or_matplotlib():
    code = (
        "import sys, optimlab.data as d; d.digits(); d.split(d.spirals()); "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('sklearn', 'matplotlib', 'torch')]; "
        "assert not bad, bad"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
