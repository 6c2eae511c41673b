"""The training loop: minibatches in, a History of what happened out.

    history = fit(model, "cross_entropy", optim.Adam(model, lr=1e-3), (X, y),
                  epochs=10, batch_size=64, validation=(X_val, y_val), seed=0)
    history.val_accuracy[-1]

One step = forward on a minibatch, loss and its gradient, backward, optimizer step. The
learning rate of step k (counting from 0) is ``schedule(k)`` when a schedule is given.
Everything random (the minibatch order of epoch e) comes from ``seed + e``, so the same call
gives the same History.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import nn
from .data import minibatches

LossFn = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


@dataclass
class History:
    """What a run of :func:`fit` recorded.

    Per step: ``loss`` (of the minibatch), ``lr``, ``grad_norm`` (‖∇L‖₂ over all parameters).
    Per epoch: ``train_loss`` and ``train_accuracy`` (averaged over the epoch's minibatches, as
    the model changed during the epoch), ``val_loss`` and ``val_accuracy`` (the whole validation
    set in evaluation mode, at the end of the epoch), ``epoch_time`` in seconds.
    ``diverged`` is True when the loss became NaN or Inf; ``message`` says where.
    """

    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    diverged: bool = False
    message: str = ""

    @property
    def steps(self) -> int:
        return len(self.loss)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def summary(self) -> str:
        """One line: the last epoch's numbers (no timings, so it is the same on every machine)."""
        if not self.train_loss:
            return self.message or "no epoch completed"
        parts = [f"epochs {self.epochs}", f"steps {self.steps}", f"train loss {self.train_loss[-1]:.4f}"]
        if self.train_accuracy:
            parts.append(f"train acc {self.train_accuracy[-1]:.3f}")
        if self.val_loss:
            parts.append(f"val loss {self.val_loss[-1]:.4f}")
        if self.val_accuracy:
            parts.append(f"val acc {self.val_accuracy[-1]:.3f}")
        return ", ".join(parts) + (f" ({self.message})" if self.message else "")


def _xy(data: Any, what: str) -> tuple[np.ndarray, np.ndarray]:
    if hasattr(data, "X") and hasattr(data, "y"):
        return np.asarray(data.X), np.asarray(data.y)
    try:
        X, y = data
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a Dataset or a pair (X, y)") from None
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"{what}: X has {len(X)} rows but y has {len(y)}")
    return X, y


def _loss_fn(loss: str | LossFn) -> LossFn:
    if isinstance(loss, str):
        if loss not in nn.LOSSES:
            raise ValueError(f"unknown loss {loss!r}; choose from {sorted(nn.LOSSES)} or pass a function")
        return nn.LOSSES[loss]
    if not callable(loss):
        raise TypeError("loss must be a name or a function (outputs, targets) -> (value, gradient)")
    return loss


def evaluate(model: nn.Sequential, loss: str | LossFn, data: Any, batch_size: int = 4096) -> tuple[float, float | None]:
    """(mean loss, accuracy or None) of the model in evaluation mode on a whole data set."""
    X, y = _xy(data, "data")
    loss_fn = _loss_fn(loss)
    out = model.predict(X, batch_size=batch_size)
    value, _ = loss_fn(out, y)
    acc = nn.accuracy(out, y) if np.issubdtype(y.dtype, np.integer) else None
    return value, acc


def _progress(total: int, enabled: bool, desc: str):
    if not enabled:
        return None
    from tqdm.auto import tqdm  # terminal bar, or a widget in Jupyter

    return tqdm(total=total, desc=desc, leave=False)


def fit(
    model: nn.Sequential,
    loss: str | LossFn,
    optimizer: Any,
    data: Any,
    epochs: int = 1,
    batch_size: int = 32,
    schedule: Callable[[int], float] | None = None,
    validation: Any = None,
    seed: int = 0,
    shuffle: bool = True,
    drop_last: bool = False,
    progress: bool = True,
    callback: Callable[[History], None] | None = None,
) -> History:
    """Train ``model`` in place and return its :class:`History`.

    ``optimizer`` is an optimizer built on the model (``optim.Adam(model, lr=1e-3)``).
    ``callback(history)`` runs after every epoch (a live plot uses it). When the loss becomes
    NaN or Inf, training stops with a warning and the History so far is returned.
    """
    if epochs < 0 or int(epochs) != epochs:
        raise ValueError(f"epochs must be a whole number >= 0; got {epochs!r}")
    if batch_size <= 0 or int(batch_size) != batch_size:
        raise ValueError(f"batch_size must be a whole number > 0; got {batch_size!r}")
    if getattr(optimizer, "params", None) is not None and getattr(optimizer.params, "model", None) is not model:
        raise ValueError("the optimizer was built on other parameters: pass optim.X(model, ...)")
    X, y = _xy(data, "data")
    loss_fn = _loss_fn(loss)
    classify = np.issubdtype(y.dtype, np.integer)
    history = History()
    steps_per_epoch = len(X) // batch_size if drop_last else math.ceil(len(X) / batch_size)
    bar = _progress(epochs * steps_per_epoch, progress, type(optimizer).__name__)
    step = 0
    try:
        for epoch in range(epochs):
            model.train()
            start = time.perf_counter()
            losses, correct, seen = [], 0, 0
            for xb, yb in minibatches(X, y, batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed + epoch):
                if schedule is not None:
                    optimizer.lr = schedule(step)
                out = model.forward(xb)
                value, grad = loss_fn(out, yb)
                if not math.isfinite(value):
                    history.diverged = True
                    history.message = f"stopped: the loss became {value} at step {step + 1} (epoch {epoch + 1})"
                    warnings.warn(history.message, RuntimeWarning, stacklevel=2)
                    return history
                model.backward(grad)
                g = model.flat_gradients
                history.loss.append(value)
                history.lr.append(float(optimizer.lr))
                history.grad_norm.append(float(np.sqrt(np.dot(g, g))))
                try:
                    optimizer.step()
                except FloatingPointError as err:
                    history.diverged = True
                    history.message = f"stopped at step {step + 1} (epoch {epoch + 1}): {err}"
                    warnings.warn(history.message, RuntimeWarning, stacklevel=2)
                    return history
                losses.append(value * len(xb))
                if classify:
                    correct += int(np.sum(np.argmax(out, axis=1) == yb))
                seen += len(xb)
                step += 1
                if bar is not None:
                    bar.update(1)
            history.train_loss.append(float(np.sum(losses) / max(seen, 1)))
            if classify:
                history.train_accuracy.append(correct / max(seen, 1))
            if validation is not None:
                val_loss, val_acc = evaluate(model, loss_fn, validation)
                history.val_loss.append(val_loss)
                if val_acc is not None:
                    history.val_accuracy.append(val_acc)
            history.epoch_time.append(time.perf_counter() - start)
            if bar is not None:
                bar.set_postfix_str(history.summary().split(", ", 2)[-1])
            if callback is not None:
                callback(history)
    finally:
        if bar is not None:
            bar.close()
        model.train()
    return history
