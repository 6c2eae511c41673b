"""Small datasets, splits, standardization and minibatches for the course.

Everything is plain NumPy and works offline: the synthetic sets are generated from a seed, and
the 8x8 handwritten digits ship with the package (``digits.npz``, credited in ``DIGITS_SOURCE.txt``).
All random numbers come from ``numpy.random.default_rng(seed)``, so the same seed always gives the
same data, the same split and the same minibatch order.

>>> from optimlab import data
>>> parts = data.standardize(data.split(data.spirals(n=300, seed=0), seed=0))
>>> for epoch in range(3):
...     for xb, yb in data.minibatches(parts.train.X, parts.train.y, 32, seed=epoch):
...         pass  # one optimizer step per batch
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources

import numpy as np

__all__ = [
    "Dataset", "Split", "Standardizer",
    "spirals", "moons", "circles", "blobs", "regression", "digits",
    "split", "split_indices", "standardize", "minibatches",
]


# --------------------------------------------------------------------------------------------------
# Containers
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Dataset:
    """Features ``X`` (n, d) and targets ``y`` (n,) or (n, k), with a name.

    ``class_names`` labels the integer classes (``class_names[y[i]]``); ``image_shape`` is set
    for image data so that ``images`` can reshape the flat rows, e.g. for ``plt.imshow``.
    """

    X: np.ndarray
    y: np.ndarray
    name: str = "dataset"
    class_names: tuple[str, ...] | None = None
    image_shape: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "X", np.asarray(self.X))
        object.__setattr__(self, "y", np.asarray(self.y))
        if self.X.ndim != 2:
            raise ValueError(f"X must be 2-D (n, d), got shape {self.X.shape}")
        if len(self.X) != len(self.y):
            raise ValueError(f"X and y have different lengths: {len(self.X)} and {len(self.y)}")

    def __len__(self) -> int:
        return len(self.X)

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def is_classification(self) -> bool:
        """True when the targets are integer class labels."""
        return np.issubdtype(self.y.dtype, np.integer)

    @property
    def classes(self) -> np.ndarray | None:
        """The sorted distinct labels of a classification set (None for regression)."""
        return np.unique(self.y) if self.is_classification else None

    @property
    def images(self) -> np.ndarray:
        """``X`` reshaped to ``(n, *image_shape)``; only for image datasets."""
        if self.image_shape is None:
            raise ValueError(f"dataset {self.name!r} has no image_shape")
        return self.X.reshape(len(self), *self.image_shape)

    def subset(self, index: np.ndarray) -> Dataset:
        """A new Dataset with the rows ``index`` (an index array or a boolean mask)."""
        return dataclasses.replace(self, X=self.X[index], y=self.y[index])


@dataclass(frozen=True)
class Split:
    """Train, validation and test parts of one Dataset; unpacks as ``train, val, test = parts``."""

    train: Dataset
    val: Dataset
    test: Dataset

    def __iter__(self) -> Iterator[Dataset]:
        return iter((self.train, self.val, self.test))


# --------------------------------------------------------------------------------------------------
# Synthetic datasets
# --------------------------------------------------------------------------------------------------

def _check_n(n: int, minimum: int = 1) -> None:
    if int(n) != n or n < minimum:
        raise ValueError(f"n must be an integer >= {minimum}, got {n!r}")


def _class_sizes(n: int, k: int) -> np.ndarray:
    """Split n samples into k classes whose sizes differ by at most one."""
    return np.array([n // k + (i < n % k) for i in range(k)])


def _shuffled(X: np.ndarray, y: np.ndarray, rng: np.random.Generator, name: str) -> Dataset:
    """Shuffle the rows so that no class sits in one contiguous block."""
    order = rng.permutation(len(X))
    return Dataset(X[order].astype(np.float64), y[order].astype(np.int64), name)


def spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int = 0) -> Dataset:
    """Interleaved spiral arms, one per class, in the unit disc (not linearly separable).

    Point ``j`` of class ``k`` lies at radius ``r = j/(m-1)`` and angle ``4k + 4r`` radians
    (plus Gaussian noise of std ``noise`` on the angle).
    """
    if int(classes) != classes or classes < 1:
        raise ValueError(f"classes must be an integer >= 1, got {classes!r}")
    _check_n(n, classes)
    rng = np.random.default_rng(seed)
    X, y = [], []
    for k, m in enumerate(_class_sizes(n, classes)):
        r = np.linspace(0.0, 1.0, m)
        t = 4.0 * (k + r) + noise * rng.standard_normal(m)
        X.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        y.append(np.full(m, k))
    return _shuffled(np.concatenate(X), np.concatenate(y), rng, "spirals")


def moons(n: int = 300, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles (class 0 on top, class 1 below), Gaussian noise of std ``noise``."""
    _check_n(n, 2)
    rng = np.random.default_rng(seed)
    m0, m1 = _class_sizes(n, 2)
    t0, t1 = np.linspace(0.0, np.pi, m0), np.linspace(0.0, np.pi, m1)
    X = np.concatenate([np.column_stack([np.cos(t0), np.sin(t0)]),
                        np.column_stack([1.0 - np.cos(t1), 0.5 - np.sin(t1)])])
    X += noise * rng.standard_normal(X.shape)
    y = np.repeat([0, 1], [m0, m1])
    return _shuffled(X, y, rng, "moons")


def circles(n: int = 300, noise: float = 0.05, factor: float = 0.5, seed: int = 0) -> Dataset:
    """A unit circle (class 0) around a smaller one of radius ``factor`` (class 1), plus noise."""
    _check_n(n, 2)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be in (0, 1), got {factor!r}")
    rng = np.random.default_rng(seed)
    X, y = [], []
    for k, (m, radius) in enumerate(zip(_class_sizes(n, 2), (1.0, factor))):
        t = np.linspace(0.0, 2.0 * np.pi, m, endpoint=False)
        X.append(radius * np.column_stack([np.cos(t), np.sin(t)]))
        y.append(np.full(m, k))
    X = np.concatenate(X)
    X += noise * rng.standard_normal(X.shape)
    return _shuffled(X, np.concatenate(y), rng, "circles")


def blobs(n: int = 300, centers: int | np.ndarray = 3, std: float = 1.0, seed: int = 0) -> Dataset:
    """Isotropic Gaussian clusters of std ``std``, one per class.

    ``centers`` is a number of clusters, spaced evenly on a circle of radius 5 (so ``std``
    alone sets how much they overlap), or an array (k, 2) of explicit centres.
    """
    if np.ndim(centers) == 0:
        k = int(centers)
        if k < 1:
            raise ValueError(f"centers must be >= 1, got {centers!r}")
        angle = 2.0 * np.pi * np.arange(k) / k
        centers = 5.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    centers = np.asarray(centers, dtype=np.float64)
    if centers.ndim != 2 or centers.shape[1] != 2:
        raise ValueError(f"centers must be an int or an array of shape (k, 2), got shape {centers.shape}")
    _check_n(n, len(centers))
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(centers)), _class_sizes(n, len(centers)))
    X = centers[y] + std * rng.standard_normal((n, 2))
    return _shuffled(X, y, rng, "blobs")


def regression(n: int = 200, noise: float = 0.1, seed: int = 0, d: int = 1) -> Dataset:
    """A smooth 1-D (or single-index) regression problem with Gaussian noise.

    Inputs ``X`` are uniform in ``[-1, 1]^d``, shape (n, d). Targets have shape (n, 1), ready for
    an MSE loss against a network output of shape (n, 1)::

        y = sin(3 * X @ w) + noise * N(0, 1),   w = (1, ..., 1) / sqrt(d)

    so for ``d=1`` it is simply ``y = sin(3x) + noise``.
    """
    _check_n(n)
    if int(d) != d or d < 1:
        raise ValueError(f"d must be an integer >= 1, got {d!r}")
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(n, d))
    w = np.full((d, 1), 1.0 / math.sqrt(d))
    y = np.sin(3.0 * X @ w) + noise * rng.standard_normal((n, 1))
    return Dataset(X, y, "regression")


# --------------------------------------------------------------------------------------------------
# Handwritten digits (shipped with the package)
# --------------------------------------------------------------------------------------------------

def digits() -> Dataset:
    """The 1,797 8x8 handwritten digits (UCI optdigits test set, as in scikit-learn's ``load_digits``).

    ``X`` is float64 (1797, 64) with pixel counts 0..16, ``y`` int64 labels 0..9 and
    ``images`` gives the (1797, 8, 8) view. Source and licence: ``DIGITS_SOURCE.txt``.
    """
    with resources.files(__name__).joinpath("digits.npz").open("rb") as f, np.load(f) as archive:
        images, labels = archive["images"], archive["labels"]
    return Dataset(
        X=images.reshape(len(images), -1).astype(np.float64),
        y=labels.astype(np.int64),
        name="digits",
        class_names=tuple(str(k) for k in range(10)),
        image_shape=(8, 8),
    )


# --------------------------------------------------------------------------------------------------
# Train / validation / test split
# --------------------------------------------------------------------------------------------------

def _check_fraction(name: str, value: float) -> None:
    if not (isinstance(value, (int, float, np.floating, np.integer)) and 0.0 <= value < 1.0):
        raise ValueError(f"{name} must be a fraction in [0, 1), got {value!r}")


def _allocate(counts: np.ndarray, fraction: float, capacity: np.ndarray) -> np.ndarray:
    """Per-class sizes, each floor or ceil of ``fraction * count``, totalling ``round(fraction * n)``.

    Largest remainders get the extra samples (ties: the lower class), never beyond ``capacity``.
    """
    target = fraction * counts
    sizes = np.floor(target).astype(np.int64)
    remainder = np.where(sizes < capacity, target - sizes, -1.0)
    extra = min(round(fraction * counts.sum()) - sizes.sum(), int((remainder >= 0).sum()))
    sizes[np.argsort(-remainder, kind="stable")[:max(extra, 0)]] += 1
    return sizes


def split_indices(
    y: np.ndarray, val: float = 0.15, test: float = 0.15, seed: int = 0, stratify: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted index arrays (train, val, test) that partition ``range(len(y))``; see ``split``."""
    _check_fraction("val", val)
    _check_fraction("test", test)
    if val + test >= 1.0:
        raise ValueError(f"val + test must be < 1 to leave a training set, got val={val!r}, test={test!r}")
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    if stratify and np.issubdtype(y.dtype, np.integer) and y.ndim == 1:
        groups = [np.flatnonzero(y == c) for c in np.unique(y)]
    else:
        groups = [np.arange(len(y))]
    counts = np.array([len(g) for g in groups])
    n_test = _allocate(counts, test, counts)
    n_val = _allocate(counts, val, counts - n_test)
    parts: tuple[list, list, list] = ([], [], [])
    for group, t, v in zip(groups, n_test, n_val):
        group = rng.permutation(group)
        parts[2].append(group[:t])
        parts[1].append(group[t:t + v])
        parts[0].append(group[t + v:])
    return tuple(np.sort(np.concatenate(p)).astype(np.int64) for p in parts)


def split(
    dataset: Dataset, val: float = 0.15, test: float = 0.15, seed: int = 0, stratify: bool = True
) -> Split:
    """Random train / validation / test split, reproducible from ``seed``.

    ``val`` and ``test`` are fractions of the whole set (each in [0, 1), summing to < 1); the
    sizes are ``round(val * n)`` and ``round(test * n)``, the training set gets the rest. With
    ``stratify`` (and integer labels) each class is split separately, so every part keeps the class
    proportions to within one sample per class. Float targets are split without stratification.
    Each part keeps the rows in their original order.
    """
    train, val_idx, test_idx = split_indices(dataset.y, val, test, seed, stratify)
    return Split(dataset.subset(train), dataset.subset(val_idx), dataset.subset(test_idx))


# --------------------------------------------------------------------------------------------------
# Standardization
# --------------------------------------------------------------------------------------------------

class Standardizer:
    """Per-feature ``(X - mean) / std``, fitted on the training set only.

    A feature with (numerically) zero standard deviation gets scale 1, so it is only centred
    instead of being divided by zero.
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> Standardizer:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or len(X) == 0:
            raise ValueError(f"X must be a non-empty 2-D array, got shape {X.shape}")
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 1e-12 * np.maximum(np.abs(self.mean_), 1.0), std, 1.0)
        return self

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.mean_ is None or self.scale_ is None:
            raise RuntimeError("Standardizer is not fitted yet: call fit(X_train) first")
        return self.mean_, self.scale_

    def transform(self, X: np.ndarray) -> np.ndarray:
        mean, scale = self._fitted()
        return (np.asarray(X, dtype=np.float64) - mean) / scale

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, Z: np.ndarray) -> np.ndarray:
        mean, scale = self._fitted()
        return np.asarray(Z, dtype=np.float64) * scale + mean


def standardize(parts: Split) -> Split:
    """Fit a Standardizer on ``parts.train.X`` and apply it to the features of all three parts.

    Targets are left alone. Use ``Standardizer`` directly to keep the fitted mean and scale.
    """
    scaler = Standardizer().fit(parts.train.X)
    return Split(*(dataclasses.replace(d, X=scaler.transform(d.X)) for d in parts))


# --------------------------------------------------------------------------------------------------
# Minibatches
# --------------------------------------------------------------------------------------------------

def minibatches(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    shuffle: bool = True,
    drop_last: bool = False,
    seed: int = 0,
    rng: np.random.Generator | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of ``(X_batch, y_batch)`` pairs.

    With ``shuffle`` the rows are permuted once, by ``rng`` if given, else by
    ``numpy.random.default_rng(seed)``; the same seed gives the same order. To get a fresh order
    every epoch, pass a new seed each epoch, e.g. ``seed=seed + epoch`` in the training loop (or
    share one ``rng`` across epochs). Every row appears exactly once per epoch; the last batch is
    smaller when ``batch_size`` does not divide ``n``, unless ``drop_last`` drops it.
    Arguments are checked immediately, not at the first ``next()``.
    """
    n = len(X)
    if len(y) != n:
        raise ValueError(f"X and y have different lengths: {n} and {len(y)}")
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if drop_last and batch_size > n:
        raise ValueError(f"batch_size={batch_size} > n={n} with drop_last=True would give no batches")
    if shuffle:
        order = (rng if rng is not None else np.random.default_rng(seed)).permutation(n)
    else:
        order = np.arange(n)
    stop = n - n % batch_size if drop_last else n

    def batches() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, stop, batch_size):
            index = order[start:start + batch_size]
            yield X[index], y[index]

    return batches()
