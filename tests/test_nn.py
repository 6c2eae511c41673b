"""optimlab.nn: finite-difference gradient checks, and the same numbers as torch.nn."""

from __future__ import annotations

import numpy as np
import pytest

from optimlab import nn, optim

RNG = np.random.default_rng(0)


def numeric_grad(f, x, h=1e-6):
    """Central differences of the scalar f() with respect to the array x (perturbed in place)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        up = f()
        x[i] = old - h
        down = f()
        x[i] = old
        g[i] = (up - down) / (2 * h)
    return g


def rel_err(a, b):
    return np.max(np.abs(a - b)) / max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-12)


def model_of(layer, seed=0):
    """Wrap one layer in a float64 Sequential so its parameters are bound and initialized."""
    return nn.Sequential([layer], seed=seed, dtype=np.float64)


LAYERS = {
    "linear": lambda: nn.Linear(5, 4),
    "linear-nobias-xavier": lambda: nn.Linear(5, 4, bias=False, init="xavier"),
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.1),
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "batchnorm-train": lambda: nn.BatchNorm1d(5),
    "dropout": lambda: nn.Dropout(0.3, seed=1),
}


@pytest.mark.parametrize("kind", LAYERS)
def test_layer_gradients_match_finite_differences(kind):
    layer = LAYERS[kind]()
    model = model_of(layer)
    if kind == "batchnorm-train":  # non-trivial γ and β
        layer.params["weight"][...] = RNG.uniform(0.5, 2.0, 5)
        layer.params["bias"][...] = RNG.normal(size=5)
    x = RNG.normal(size=(7, 5))
    x[np.abs(x) < 1e-3] = 0.5  # keep finite differences away from ReLU's kink
    R = RNG.normal(size=model.forward(x).shape)

    def loss():
        if isinstance(layer, nn.Dropout):
            layer.rng = np.random.default_rng(3)  # the same mask every time
        return float(np.sum(model.forward(x) * R))

    loss()
    dx = model.backward(R, need_input_grad=True)
    assert rel_err(dx, numeric_grad(loss, x)) <= 1e-6
    for name, p in model.named_parameters().items():
        loss()
        model.backward(R)
        analytic = model.named_gradients()[name].copy()
        assert rel_err(analytic, numeric_grad(loss, p)) <= 1e-6, name


@pytest.mark.parametrize("loss_fn, target", [
    (nn.cross_entropy, lambda n: RNG.integers(0, 4, n)),
    (nn.mse, lambda n: RNG.normal(size=(n, 4))),
])
def test_loss_gradients_match_finite_differences(loss_fn, target):
    z = RNG.normal(size=(6, 4)) * 3
    t = target(6)
    _, grad = loss_fn(z, t)
    assert rel_err(grad, numeric_grad(lambda: loss_fn(z, t)[0], z)) <= 1e-6


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1000.0, 0.0, -1000.0], [0.0, 1e4, 0.0]])
    loss, grad = nn.cross_entropy(z, np.array([0, 2]))
    assert np.isfinite(loss) and np.isfinite(grad).all()
    assert loss == pytest.approx(1e4 / 2)


def test_bad_labels_are_refused():
    with pytest.raises(ValueError, match="labels must lie in"):
        nn.cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match="integers"):
        nn.cross_entropy(np.zeros((2, 3)), np.array([0.0, 1.0]))


def test_whole_mlp_gradient_matches_finite_differences():
    model = nn.MLP([3, 6, 5, 4], activation="tanh", batchnorm=True, seed=2, dtype=np.float64)
    x, y = RNG.normal(size=(8, 3)), RNG.integers(0, 4, 8)

    def loss():
        return nn.cross_entropy(model.forward(x), y)[0]

    loss()
    model.backward(nn.cross_entropy(model.forward(x), y)[1])
    analytic = model.flat_gradients.copy()
    assert rel_err(analytic, numeric_grad(loss, model.flat_parameters)) <= 1e-6


def test_parameters_and_gradients_are_views_of_flat_buffers():
    model = nn.MLP([4, 8, 3], seed=0)
    for name, p in model.named_parameters().items():
        assert p.base is model.flat_parameters, name
    for name, g in model.named_gradients().items():
        assert g.base is model.flat_gradients, name
    assert model.num_parameters == 4 * 8 + 8 + 8 * 3 + 3
    assert list(model.named_parameters()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_same_seed_same_weights_and_dtype():
    a, b = nn.MLP([4, 8, 3], seed=5), nn.MLP([4, 8, 3], seed=5)
    assert np.array_equal(a.flat_parameters, b.flat_parameters)
    assert a.flat_parameters.dtype == np.float32
    assert not np.array_equal(a.flat_parameters, nn.MLP([4, 8, 3], seed=6).flat_parameters)


def test_he_and_xavier_scales():
    rng = np.random.default_rng(0)
    assert nn.he_normal(rng, 1000, 500, np.float64).std() == pytest.approx(np.sqrt(2 / 1000), rel=0.02)
    bound = np.sqrt(6 / 1500)
    w = nn.xavier_uniform(rng, 1000, 500, np.float64)
    assert np.abs(w).max() <= bound and w.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)


def test_batchnorm_eval_uses_running_statistics():
    bn = nn.BatchNorm1d(3, momentum=0.5)
    model = model_of(bn)
    x = RNG.normal(loc=2.0, scale=3.0, size=(50, 3))
    model.train().forward(x)
    mean, var = x.mean(0), x.var(0, ddof=1)
    assert np.allclose(bn.running_mean, 0.5 * mean)
    assert np.allclose(bn.running_var, 0.5 + 0.5 * var)
    z = RNG.normal(size=(4, 3))
    out = model.eval().forward(z)
    assert np.allclose(out, (z - bn.running_mean) / np.sqrt(bn.running_var + bn.eps))


def test_dropout_is_seeded_and_off_in_eval():
    x = np.ones((1000, 10))
    a, b = model_of(nn.Dropout(0.25, seed=4)), model_of(nn.Dropout(0.25, seed=4))
    ya, yb = a.forward(x), b.forward(x)
    assert np.array_equal(ya, yb)
    assert set(np.unique(ya)) == {0.0, 1 / 0.75}
    assert np.mean(ya == 0) == pytest.approx(0.25, abs=0.02)
    assert np.array_equal(a.eval().forward(x), x)


def test_optimizer_takes_the_model_and_updates_it_in_one_pass():
    model = nn.MLP([4, 8, 3], seed=0, dtype=np.float64)
    opt = optim.Adam(model, lr=0.05)
    assert len(opt._units) == 1 and opt._units[0].param is model.flat_parameters
    x, y = RNG.normal(size=(16, 4)), RNG.integers(0, 3, 16)
    first = nn.cross_entropy(model.forward(x), y)[0]
    for _ in range(100):
        model.backward(nn.cross_entropy(model.forward(x), y)[1])
        opt.step()
    assert nn.cross_entropy(model.forward(x), y)[0] < 0.1 * first


def test_state_dict_round_trip():
    a = nn.MLP([4, 8, 3], batchnorm=True, seed=0)
    a.forward(RNG.normal(size=(10, 4)))
    b = nn.MLP([4, 8, 3], batchnorm=True, seed=1)
    b.load_state_dict(a.state_dict())
    x = RNG.normal(size=(5, 4))
    assert np.array_equal(a.eval().forward(x), b.eval().forward(x))


# ----------------------------------------------------------------------------- torch
def to_torch(model):
    torch = pytest.importorskip("torch")
    layers = []
    for layer in model.layers:
        if isinstance(layer, nn.Linear):
            t = torch.nn.Linear(layer.in_features, layer.out_features, bias=layer.has_bias, dtype=torch.float64)
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(layer.params["weight"].T.copy()))
                if layer.has_bias:
                    t.bias.copy_(torch.from_numpy(layer.params["bias"]))
        elif isinstance(layer, nn.BatchNorm1d):
            t = torch.nn.BatchNorm1d(layer.num_features, eps=layer.eps, momentum=layer.momentum, dtype=torch.float64)
            with torch.no_grad():
                t.weight.copy_(torch.from_numpy(layer.params["weight"]))
                t.bias.copy_(torch.from_numpy(layer.params["bias"]))
        elif isinstance(layer, nn.LeakyReLU):
            t = torch.nn.LeakyReLU(layer.negative_slope)
        else:
            t = {nn.ReLU: torch.nn.ReLU, nn.Tanh: torch.nn.Tanh, nn.Sigmoid: torch.nn.Sigmoid}[type(layer)]()
        layers.append(t)
    return torch.nn.Sequential(*layers)


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("batchnorm", [False, True])
def test_same_outputs_and_gradients_as_torch(activation, batchnorm):
    torch = pytest.importorskip("torch")
    model = nn.MLP([6, 16, 12, 5], activation=activation, batchnorm=batchnorm, seed=3, dtype=np.float64)
    tmodel = to_torch(model)
    x, y = RNG.normal(size=(32, 6)), RNG.integers(0, 5, 32)
    for step in range(3):  # several passes: BatchNorm's running statistics must follow too
        logits = model.forward(x)
        loss, dlogits = nn.cross_entropy(logits, y)
        model.backward(dlogits)
        tx = torch.from_numpy(x)
        tlogits = tmodel(tx)
        tloss = torch.nn.functional.cross_entropy(tlogits, torch.from_numpy(y))
        tmodel.zero_grad()
        tloss.backward()
        assert np.allclose(logits, tlogits.detach().numpy(), rtol=1e-10, atol=1e-12)
        assert loss == pytest.approx(tloss.item(), rel=1e-12)
        ours = model.named_gradients()
        for i, layer in enumerate(tmodel):
            for name, p in layer.named_parameters():
                g = ours[f"{i}.{name}"]
                expected = p.grad.numpy().T if name == "weight" and g.ndim == 2 else p.grad.numpy()
                assert np.allclose(g, expected, rtol=1e-10, atol=1e-12), (step, i, name)
    if batchnorm:
        assert np.allclose(model.layers[1].running_var, tmodel[1].running_var.numpy(), rtol=1e-10)
        model.eval(), tmodel.eval()
        assert np.allclose(model.forward(x), tmodel(torch.from_numpy(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


def test_mse_matches_torch():
    torch = pytest.importorskip("torch")
    p, t = RNG.normal(size=(9, 2)), RNG.normal(size=(9, 2))
    tp = torch.tensor(p, requires_grad=True)
    tl = torch.nn.functional.mse_loss(tp, torch.from_numpy(t))
    tl.backward()
    loss, grad = nn.mse(p, t)
    assert loss == pytest.approx(tl.item(), rel=1e-12)
    assert np.allclose(grad, tp.grad.numpy(), rtol=1e-12)
