"""optimlab.train.fit: reaches the accuracy the course promises, deterministic, stops on NaN."""

from __future__ import annotations

import time

import numpy as np
import pytest

from optimlab import data, nn, optim
from optimlab.train import evaluate, fit


@pytest.fixture(scope="module")
def digits_split():
    return data.standardize(data.split(data.digits(), val=0.15, test=0.15, seed=0))


def test_adam_mlp_reaches_95_percent_on_digits(digits_split):
    train, val, test = digits_split
    model = nn.MLP([64, 128, 128, 10], seed=0)
    start = time.perf_counter()
    history = fit(model, "cross_entropy", optim.Adam(model, lr=1e-3), train, epochs=10,
                  batch_size=32, validation=val, seed=0, progress=False)
    elapsed = time.perf_counter() - start
    print(f"digits MLP: {history.summary()} in {elapsed:.1f} s")
    assert history.val_accuracy[-1] >= 0.95
    assert evaluate(model, "cross_entropy", test)[1] >= 0.93
    assert history.epochs == 10 and len(history.val_loss) == 10
    assert history.steps == 10 * int(np.ceil(len(train) / 32))


def test_same_seed_same_history(digits_split):
    train, val, _ = digits_split
    runs = []
    for _ in range(2):
        model = nn.MLP([64, 32, 10], seed=1, dropout=0.1)
        runs.append(fit(model, "cross_entropy", optim.SGD(model, lr=0.05, momentum=0.9), train,
                        epochs=2, batch_size=64, validation=val, seed=3, progress=False))
    assert runs[0].loss == runs[1].loss and runs[0].val_accuracy == runs[1].val_accuracy
    model = nn.MLP([64, 32, 10], seed=1, dropout=0.1)
    other = fit(model, "cross_entropy", optim.SGD(model, lr=0.05, momentum=0.9), train,
                epochs=2, batch_size=64, seed=4, progress=False)
    assert other.loss != runs[0].loss


def test_schedule_sets_every_steps_learning_rate(digits_split):
    train = digits_split.train
    model = nn.MLP([64, 16, 10], seed=0)
    history = fit(model, "cross_entropy", optim.SGD(model, lr=1.0), train, epochs=1, batch_size=256,
                  schedule=lambda k: 0.1 / (1 + k), progress=False)
    assert history.lr == [0.1 / (1 + k) for k in range(history.steps)]


def test_divergence_stops_with_a_message_and_keeps_the_history(digits_split):
    train = digits_split.train
    model = nn.MLP([64, 64, 10], seed=0)
    with pytest.warns(RuntimeWarning, match="stopped"):
        history = fit(model, "cross_entropy", optim.SGD(model, lr=1e6), train, epochs=3,
                      batch_size=32, progress=False)
    assert history.diverged and "step" in history.message
    assert 0 < history.steps < 3 * len(train) // 32
    assert all(np.isfinite(history.loss))


def test_regression_with_mse():
    ds = data.regression(n=256, seed=0)
    model = nn.MLP([1, 32, 32, 1], activation="tanh", seed=0, dtype=np.float64)
    history = fit(model, "mse", optim.Adam(model, lr=1e-2), ds, epochs=40, batch_size=32,
                  validation=ds, progress=False)
    assert history.val_loss[-1] < 0.2 * history.val_loss[0]
    assert history.train_accuracy == [] and history.val_accuracy == []


def test_progress_bar_runs_in_a_terminal(capsys, digits_split):
    model = nn.MLP([64, 16, 10], seed=0)
    fit(model, "cross_entropy", optim.Adam(model), digits_split.train, epochs=1, batch_size=128, progress=True)
    assert "Adam" in capsys.readouterr().err


def test_bad_arguments_are_refused(digits_split):
    model = nn.MLP([64, 16, 10], seed=0)
    opt = optim.Adam(model)
    with pytest.raises(ValueError, match="batch_size"):
        fit(model, "cross_entropy", opt, digits_split.train, batch_size=0)
    with pytest.raises(ValueError, match="unknown loss"):
        fit(model, "hinge", opt, digits_split.train)
    with pytest.raises(ValueError, match="other parameters"):
        fit(nn.MLP([64, 16, 10]), "cross_entropy", opt, digits_split.train)
    with pytest.raises(ValueError, match="rows"):
        fit(model, "cross_entropy", opt, (np.zeros((5, 64)), np.zeros(4, dtype=int)))
