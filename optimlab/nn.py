"""A neural network from scratch: layers with hand-written forward and backward passes.

Everything a chapter trains is built from these parts, and every line can be read:

    model = nn.MLP([64, 128, 128, 10], activation="relu", seed=0)
    logits = model(X)                          # forward
    loss, dlogits = nn.cross_entropy(logits, y)
    model.backward(dlogits)                    # fills model.flat_gradients
    opt = optim.Adam(model); opt.step()        # one update over the whole model

Conventions: a batch is the first axis; ``Linear`` stores its weight as (in, out), so
y = x W + b. All parameters of a ``Sequential`` are views into one flat buffer
(``flat_parameters``) and all gradients views into another (``flat_gradients``): an optimizer
updates the whole model in a handful of whole-buffer operations. Activations are cached in
reused buffers, so a training step allocates (almost) nothing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

Array = np.ndarray


# ----------------------------------------------------------------------------- base
class Module:
    """A layer: ``forward(x)`` caches what ``backward(dy)`` needs; parameters are bound later."""

    training = True

    def __init__(self) -> None:
        self.params: dict[str, Array] = {}
        self.grads: dict[str, Array] = {}
        self._buffers: dict[str, Array] = {}

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """Shapes of this layer's parameters, in order (none for activations)."""
        return {}

    def bind(self, params: dict[str, Array], grads: dict[str, Array]) -> None:
        """Attach parameter and gradient views (into the model's flat buffers)."""
        self.params, self.grads = params, grads

    def reset_parameters(self, rng: np.random.Generator) -> None:
        """Initialize the parameters in place."""

    def buffer(self, key: str, shape: tuple[int, ...], dtype: Any) -> Array:
        """A scratch array reused across calls while the shape stays the same."""
        buf = self._buffers.get(key)
        if buf is None or buf.shape != shape or buf.dtype != dtype:
            buf = self._buffers[key] = np.empty(shape, dtype=dtype)
        return buf

    def forward(self, x: Array) -> Array:
        raise NotImplementedError

    def backward(self, dy: Array, need_input_grad: bool = True) -> Array | None:
        """Given dL/dy, write dL/dparams into ``self.grads`` and return dL/dx. ``dy`` is the
        caller's scratch and may be overwritten."""
        raise NotImplementedError

    def __call__(self, x: Array) -> Array:
        return self.forward(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


# ----------------------------------------------------------------------------- initializers
def he_normal(rng: np.random.Generator, fan_in: int, fan_out: int, dtype: Any) -> Array:
    """He et al. 2015: W ~ N(0, 2 / fan_in), keeps the activations' scale through ReLUs."""
    return rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out)).astype(dtype)


def xavier_uniform(rng: np.random.Generator, fan_in: int, fan_out: int, dtype: Any) -> Array:
    """Glorot & Bengio 2010: W ~ U(±sqrt(6 / (fan_in + fan_out))), for tanh and sigmoid."""
    bound = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(dtype)


INITIALIZERS = {"he": he_normal, "xavier": xavier_uniform}


# ----------------------------------------------------------------------------- layers
class Linear(Module):
    """y = x W + b, with W of shape (in_features, out_features).

    Backward: dW = xᵀ dy, db = Σ_batch dy, dx = dy Wᵀ.
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, init: str = "he"):
        super().__init__()
        if in_features <= 0 or out_features <= 0:
            raise ValueError(f"Linear needs positive sizes; got ({in_features}, {out_features})")
        if init not in INITIALIZERS:
            raise ValueError(f"unknown init {init!r}; choose from {sorted(INITIALIZERS)}")
        self.in_features, self.out_features, self.has_bias, self.init = (
            in_features, out_features, bias, init,
        )

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = {"weight": (self.in_features, self.out_features)}
        if self.has_bias:
            shapes["bias"] = (self.out_features,)
        return shapes

    def reset_parameters(self, rng: np.random.Generator) -> None:
        W = self.params["weight"]
        W[...] = INITIALIZERS[self.init](rng, self.in_features, self.out_features, W.dtype)
        if self.has_bias:
            self.params["bias"][...] = 0.0

    def forward(self, x: Array) -> Array:
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Linear({self.in_features}, {self.out_features}) got input of shape {x.shape}")
        self.x = x
        y = np.matmul(x, self.params["weight"], out=self.buffer("y", (x.shape[0], self.out_features), x.dtype))
        if self.has_bias:
            y += self.params["bias"]
        return y

    def backward(self, dy: Array, need_input_grad: bool = True) -> Array | None:
        np.matmul(self.x.T, dy, out=self.grads["weight"])  # dW = xᵀ dy
        if self.has_bias:
            np.sum(dy, axis=0, out=self.grads["bias"])  # db = Σ dy
        if not need_input_grad:
            return None
        return np.matmul(dy, self.params["weight"].T, out=self.buffer("dx", self.x.shape, dy.dtype))

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features}, bias={self.has_bias})"


class ReLU(Module):
    """y = max(x, 0); dx = dy · [x > 0]."""

    def forward(self, x: Array) -> Array:
        self.positive = np.greater(x, 0, out=self.buffer("mask", x.shape, bool))
        return np.maximum(x, 0, out=self.buffer("y", x.shape, x.dtype))

    def backward(self, dy: Array, need_input_grad: bool = True) -> Array | None:
        return np.multiply(dy, self.positive, out=dy)


class LeakyReLU(Module):
    """y = x for x > 0, else a·x (a = negative_slope); dx = dy · (1 or a)."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x: Array) -> Array:
        self.slope = np.where(x > 0, 1.0, self.negative_slope).astype(x.dtype)
        return np.multiply(x, self.slope, out=self.buffer("y", x.shape, x.dtype))

    def backward(self, dy: Array, need_input_grad: bool = True) -> Array | None:
        return np.multiply(dy, self.slope, out=dy)

    def __repr__(self) -> str:
        return f"LeakyReLU({self.negative_slope})"


class Tanh(Module):
    """y = tanh(x); dx = dy · (1 − y²)."""

    def forward(self, x: Array) -> Array:
        self.y = np.tanh(x, out=self.buffer("y", x.shape, x.dtype))
        return self.y

    def backward(self, dy: Array, need_input_grad: bool = True) -> Array | None:
        return np.multiply(dy, 1.0 - self.y * self.y, out=dy)


class Sigmoid(Module):
    """y = 1 / (1 + e^(−x)); dx = dy · y (1 − y)."""

    def forward(self, x: Array) -> Array:
        # written so that no exp overflows: σ(x) = ½ (1 + tanh(x / 2))
        y = np.multiply(x, 0.5, out=self.buffer("y", x.shape, x.dtype))
        np.tanh(y, out=y)
        y += 1.0
        y *= 0.5
        self.y = y
        return y

    def backward(self, dy: Array, need_input_grad: bool = True) -> Array | None:
        return np.multiply(dy, self.y * (1.0 - self.y), out=dy)


class BatchNorm1d(Module):
    """Batch normalization (Ioffe & Szegedy 2015) over the batch axis, torch's conventions.

    Training: x̂ = (x − μ_B) / sqrt(σ²_B + ε), y = γ x̂ + β, with the batch mean μ_B and the
    biased batch variance σ²_B; the running statistics follow
    running ← (1 − momentum)·running + momentum·batch (the variance unbiased, n/(n − 1)).
    Evaluation: the running statistics replace the batch's.
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        if not 0 <= momentum <= 1:
            raise ValueError(f"BatchNorm1d momentum must be in [0, 1]; got {momentum}")
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.running_mean = np.zeros(num_features)
        self.running_var = np.ones(num_features)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {"weight": (self.num_features,), "bias": (self.num_features,)}

    def reset_parameters(self, rng: np.random.Generator) -> None:
        self.params["weight"][...] = 1.0
        self.params["bias"][...] = 0.0
        self.running_mean = np.zeros(self.num_features, dtype=self.params["weight"].dtype)
        self.running_var = np.ones(self.num_features, dtype=self.params["weight"].dtype)

    def forward(self, x: Array) -> Array:
        if x.ndim != 2 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}) got input of shape {x.shape}")
        if self.training:
            n = x.shape[0]
            if n < 2:
                raise ValueError("BatchNorm1d needs at least 2 samples per batch in training mode")
            mean = x.mean(axis=0)
            var = x.var(axis=0)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * var * (n / (n - 1))
        else:
            mean, var = self.running_mean, self.running_var
        self.inv_std = (1.0 / np.sqrt(var + self.eps)).astype(x.dtype)
        x_hat = np.subtract(x, mean.astype(x.dtype), out=self.buffer("x_hat", x.shape, x.dtype))
        x_hat *= self.inv_std
        self.x_hat = x_hat
        y = np.multiply(x_hat, self.params["weight"], out=self.buffer("y", x.shape, x.dtype))
        y += self.params["bias"]
        return y

    def backward(self, dy: Array, need_input_grad: bool = True) -> Array | None:
        """dγ = Σ dy·x̂, dβ = Σ dy; in training
        dx = γ / (n sqrt(σ² + ε)) · (n dy − Σ dy − x̂ Σ dy·x̂); in evaluation dx = γ dy / sqrt(σ² + ε)."""
        gamma, x_hat = self.params["weight"], self.x_hat
        np.sum(dy * x_hat, axis=0, out=self.grads["weight"])
        np.sum(dy, axis=0, out=self.grads["bias"])
        if not need_input_grad:
            return None
        scale = gamma * self.inv_std
        if not self.training:
            return np.multiply(dy, scale, out=dy)
        n = dy.shape[0]
        dx = np.multiply(dy, n, out=self.buffer("dx", dy.shape, dy.dtype))
        dx -= self.grads["bias"]
        dx -= x_hat * self.grads["weight"]
        dx *= scale / n
        return dx

    def __repr__(self) -> str:
        return f"BatchNorm1d({self.num_features}, eps={self.eps}, momentum={self.momentum})"


class Dropout(Module):
    """Inverted dropout: in training, y = x·mask / (1 − p) with mask ~ Bernoulli(1 − p);
    in evaluation, y = x. The mask comes from the layer's own seeded generator."""

    def __init__(self, p: float = 0.5, seed: int = 0):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"Dropout p must be in [0, 1); got {p}")
        self.p, self.seed = p, seed
        self.rng = np.random.default_rng(seed)

    def reset_parameters(self, rng: np.random.Generator) -> None:
        self.rng = np.random.default_rng(self.seed)

    def forward(self, x: Array) -> Array:
        if not self.training or self.p == 0:
            self.mask = None
            return x
        keep = self.rng.random(x.shape) >= self.p
        self.mask = keep.astype(x.dtype) / (1.0 - self.p)
        return np.multiply(x, self.mask, out=self.buffer("y", x.shape, x.dtype))

    def backward(self, dy: Array, need_input_grad: bool = True) -> Array | None:
        return dy if self.mask is None else np.multiply(dy, self.mask, out=dy)

    def __repr__(self) -> str:
        return f"Dropout(p={self.p})"


# ----------------------------------------------------------------------------- the model
class Sequential(Module):
    """Layers applied in order. Owns the flat parameter and gradient buffers.

    Parameter names follow torch's: ``"<index>.<name>"``, e.g. ``"0.weight"``, ``"0.bias"``.
    """

    def __init__(self, layers: Iterable[Module], seed: int = 0, dtype: Any = np.float32):
        super().__init__()
        self.layers = list(layers)
        self.dtype = np.dtype(dtype)
        if not np.issubdtype(self.dtype, np.floating):
            raise TypeError(f"dtype must be a floating-point type; got {self.dtype}")
        shapes = [(f"{i}.{name}", layer, name, shape)
                  for i, layer in enumerate(self.layers) for name, shape in layer.param_shapes().items()]
        total = sum(math.prod(shape) for *_, shape in shapes)
        self.flat_parameters = np.zeros(total, dtype=self.dtype)
        self.flat_gradients = np.zeros(total, dtype=self.dtype)
        self._names: list[str] = []
        offset = 0
        per_layer: dict[int, tuple[dict, dict]] = {id(layer): ({}, {}) for layer in self.layers}
        for full_name, layer, name, shape in shapes:
            size = math.prod(shape)
            p, g = per_layer[id(layer)]
            p[name] = self.flat_parameters[offset : offset + size].reshape(shape)
            g[name] = self.flat_gradients[offset : offset + size].reshape(shape)
            self._names.append(full_name)
            offset += size
        for layer in self.layers:
            layer.bind(*per_layer[id(layer)])
        self.reset_parameters(seed)

    def reset_parameters(self, seed: int | np.random.Generator = 0) -> None:  # type: ignore[override]
        """Initialize every layer from one seeded generator (same seed, same weights)."""
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        for layer in self.layers:
            layer.reset_parameters(rng)

    # -- parameters
    def named_parameters(self) -> dict[str, Array]:
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.params.items()}

    def named_gradients(self) -> dict[str, Array]:
        return {f"{i}.{k}": v for i, layer in enumerate(self.layers) for k, v in layer.grads.items()}

    @property
    def num_parameters(self) -> int:
        return self.flat_parameters.size

    def zero_grad(self) -> None:
        self.flat_gradients[...] = 0.0

    # -- modes
    def train(self, mode: bool = True) -> Sequential:
        self.training = mode
        for layer in self.layers:
            layer.training = mode
        return self

    def eval(self) -> Sequential:
        return self.train(False)

    # -- passes
    def forward(self, x: Array) -> Array:
        """The output for a batch x (a fresh array; the layers' buffers stay internal)."""
        x = np.asarray(x)
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        for layer in self.layers:
            x = layer.forward(x)
        return x.copy()

    def backward(self, dy: Array, need_input_grad: bool = False) -> Array | None:
        """Backpropagate dL/doutput; fills ``flat_gradients`` (overwriting, not accumulating)."""
        dy = np.array(dy, dtype=self.dtype)  # a private copy the layers may overwrite
        last = len(self.layers) - 1
        for i in range(last, -1, -1):
            need = need_input_grad or i > 0
            dy = self.layers[i].backward(dy, need_input_grad=need)
        return dy

    def predict(self, x: Array, batch_size: int = 4096) -> Array:
        """Outputs in evaluation mode, in batches; restores the previous mode."""
        was_training = self.training
        self.eval()
        try:
            outs = [self.forward(x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
        finally:
            self.train(was_training)
        return np.concatenate(outs)

    # -- saving
    def state_dict(self) -> dict[str, Array]:
        """Parameters and BatchNorm running statistics, as copies."""
        state = {k: v.copy() for k, v in self.named_parameters().items()}
        for i, layer in enumerate(self.layers):
            if isinstance(layer, BatchNorm1d):
                state[f"{i}.running_mean"] = layer.running_mean.copy()
                state[f"{i}.running_var"] = layer.running_var.copy()
        return state

    def load_state_dict(self, state: dict[str, Array]) -> None:
        expected = self.state_dict()
        if set(state) != set(expected):
            raise ValueError(f"state keys differ: expected {sorted(expected)}, got {sorted(state)}")
        for k, v in state.items():
            if np.shape(v) != expected[k].shape:
                raise ValueError(f"{k!r} has shape {np.shape(v)}, expected {expected[k].shape}")
        params = self.named_parameters()
        for i, layer in enumerate(self.layers):
            if isinstance(layer, BatchNorm1d):
                layer.running_mean = np.array(state[f"{i}.running_mean"])
                layer.running_var = np.array(state[f"{i}.running_var"])
        for k, p in params.items():
            p[...] = state[k]

    def __repr__(self) -> str:
        inner = "\n".join(f"  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"Sequential(\n{inner}\n)  # {self.num_parameters:,} parameters, {self.dtype}"


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid}


def MLP(
    sizes: Sequence[int], activation: str = "relu", batchnorm: bool = False, dropout: float = 0.0,
    init: str | None = None, seed: int = 0, dtype: Any = np.float32,
) -> Sequential:
    """A multilayer perceptron: [Linear → (BatchNorm1d) → activation → (Dropout)] × depth,
    then a final Linear. ``sizes`` lists the widths, input first: [64, 128, 128, 10].

    ``init`` defaults to He for ReLU-like activations and Xavier for tanh and sigmoid.
    """
    if len(sizes) < 2:
        raise ValueError(f"MLP needs at least an input and an output size; got {list(sizes)}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}")
    init = init or ("he" if "relu" in activation else "xavier")
    layers: list[Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(fan_in, fan_out, init=init))
        if i < len(sizes) - 2:
            if batchnorm:
                layers.append(BatchNorm1d(fan_out))
            layers.append(ACTIVATIONS[activation]())
            if dropout:
                layers.append(Dropout(dropout, seed=seed + 1 + i))
    return Sequential(layers, seed=seed, dtype=dtype)


# ----------------------------------------------------------------------------- losses
def cross_entropy(logits: Array, labels: Array) -> tuple[float, Array]:
    """Softmax cross-entropy averaged over the batch, and its gradient with respect to the logits.

        L = −(1/n) Σ_i log softmax(z_i)[y_i],   ∂L/∂z_i = (softmax(z_i) − onehot(y_i)) / n

    The log-sum-exp is shifted by the row maximum, so no exp overflows.
    """
    labels = np.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(f"logits must be (batch, classes); got shape {logits.shape}")
    if labels.shape != (logits.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integers of shape ({logits.shape[0]},); got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= logits.shape[1]):
        raise ValueError(f"labels must lie in [0, {logits.shape[1]}); got {labels.min()}..{labels.max()}")
    n = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_sum_exp = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_probs = shifted - log_sum_exp
    rows = np.arange(n)
    loss = -log_probs[rows, labels].mean()
    grad = np.exp(log_probs)
    grad[rows, labels] -= 1.0
    grad /= n
    return float(loss), grad


def mse(predictions: Array, targets: Array) -> tuple[float, Array]:
    """Mean squared error over all entries, and its gradient: L = mean((p − t)²), ∂L/∂p = 2(p − t)/N."""
    targets = np.asarray(targets, dtype=predictions.dtype)
    if targets.shape != predictions.shape:
        raise ValueError(f"targets have shape {targets.shape}, predictions {predictions.shape}")
    diff = predictions - targets
    return float(np.mean(diff * diff)), diff * (2.0 / diff.size)


def accuracy(logits: Array, labels: Array) -> float:
    """Fraction of rows whose largest logit is at the true label."""
    return float(np.mean(np.argmax(logits, axis=1) == np.asarray(labels)))


LOSSES = {"cross_entropy": cross_entropy, "mse": mse}
