"""The optimizer API: parameters, state_dict, dtypes, allocation, and refusing bad input."""

from __future__ import annotations

import inspect
import subprocess
import sys

import numpy as np
import pytest
from measure import bytes_allocated_by_step

from optimlab import optim

NAMES = list(optim.REGISTRY)
SETTINGS = {  # a non-default setting per optimizer that exercises most state
    "SGD": dict(lr=0.05, momentum=0.9, nesterov=True),
    "Adagrad": dict(lr=0.1, lr_decay=0.01),
    "RMSprop": dict(lr=0.01, centered=True, momentum=0.5),
    "Adadelta": dict(lr=1.0),
    "Adam": dict(lr=0.01, amsgrad=True),
    "AdamW": dict(lr=0.01),
    "Adamax": dict(lr=0.01),
    "NAdam": dict(lr=0.01),
    "RAdam": dict(lr=0.01),
    "AdaBelief": dict(lr=0.01, amsgrad=True),
    "Lion": dict(lr=0.001, weight_decay=0.1),
    "Amos": dict(lr=0.05, momentum=0.9),
    "Muon": dict(lr=0.02, weight_decay=0.05, adamw_lr=0.01),
    "Adafactor": dict(lr=0.05, weight_decay=0.1),
    "AdamWScheduleFree": dict(lr=0.01, warmup_steps=3, weight_decay=0.01),
}


def make_params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return {"w": rng.normal(size=(6, 4)).astype(dtype), "b": rng.normal(size=4).astype(dtype)}


def grads_for(params, step):
    return {k: (np.cos(p * (1 + 0.1 * step)) + 0.5 * p).astype(p.dtype) for k, p in params.items()}


def run(opt, params, steps, start=0):
    for s in range(start, start + steps):
        opt.step(grads_for(params, s))


def test_registry_lists_every_optimizer_with_defaults():
    table = optim.available()
    assert set(table) == {
        "SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "AdamW", "Adamax", "NAdam", "RAdam",
        "AdaBelief", "Lion", "Amos", "Muon", "Adafactor", "AdamWScheduleFree",
    }
    assert table["AdamW"]["weight_decay"] == 1e-2 and table["Adam"]["lr"] == 1e-3
    assert table["AdaBelief"]["eps"] == 1e-16 and table["AdaBelief"]["rectify"] is True
    assert table["Lion"] == dict(lr=1e-4, betas=(0.9, 0.99), weight_decay=0.0, maximize=False)
    assert table["Muon"]["lr"] == 1e-3 and table["Muon"]["weight_decay"] == 0.1
    assert table["Muon"]["ns_coefficients"] == (3.4445, -4.7750, 2.0315) and table["Muon"]["adamw_lr"] is None
    assert table["Adafactor"] == dict(
        lr=1e-2, beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, maximize=False
    )
    assert table["AdamWScheduleFree"] == dict(
        lr=0.0025, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, warmup_steps=0, r=0.0, weight_lr_power=2.0
    )


@pytest.mark.parametrize("name", [n for n in NAMES if n not in ("Lion", "AdaBelief", "Amos", "AdamWScheduleFree")])
def test_defaults_equal_torch_defaults(name):
    torch = pytest.importorskip("torch")
    signature = inspect.signature(getattr(torch.optim, name).__init__).parameters
    for key, value in optim.REGISTRY[name].defaults.items():
        if name == "Muon" and key.startswith("adamw_"):  # optimlab's fallback for non-matrices
            continue
        assert key in signature, f"{name}: torch has no {key}"
        assert signature[key].default == value, f"{name}.{key}: torch {signature[key].default}, optimlab {value}"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("use_file", [False, True])
def test_state_dict_round_trip_is_bit_identical(name, use_file, tmp_path):
    straight = make_params()
    opt = optim.create(name, straight, **SETTINGS[name])
    run(opt, straight, 15)

    resumed = make_params()
    first = optim.create(name, resumed, **SETTINGS[name])
    run(first, resumed, 7)
    saved = first.state_dict()
    if use_file:
        first.save(tmp_path / "opt.npz")
    copy = {k: v.copy() for k, v in resumed.items()}
    run(first, resumed, 3)  # later steps must not leak into `saved`
    second = optim.create(name, copy, **SETTINGS[name])
    if use_file:
        second.load(tmp_path / "opt.npz")
    else:
        second.load_state_dict(saved)
    assert second.step_count == 7
    run(second, copy, 8, start=7)
    for k in straight:
        assert np.array_equal(straight[k], copy[k]), k


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name):
    params = make_params(np.float32)
    opt = optim.create(name, params, **SETTINGS[name])
    run(opt, params, 5)
    assert all(p.dtype == np.float32 for p in params.values())
    assert all(a.dtype == np.float32 for s in opt.state.values() for a in s.values())


@pytest.mark.parametrize("name", NAMES)
def test_a_step_allocates_no_array(name):
    params = {"w": np.ones((500, 400)), "b": np.ones(400)}
    grads = {"w": np.full((500, 400), 0.1), "b": np.full(400, -0.1)}
    opt = optim.create(name, params, **SETTINGS[name])
    peak = bytes_allocated_by_step(opt, grads)
    assert peak < 0.01 * params["w"].nbytes, f"{name} allocated {peak} bytes in a step"


def test_list_and_dict_params_give_the_same_result():
    a, b = make_params(), make_params()
    opt_list = optim.Adam(list(a.values()), lr=0.01)
    opt_dict = optim.Adam(b, lr=0.01)
    for s in range(5):
        g = grads_for(a, s)
        opt_list.step(list(g.values()))
        opt_dict.step(grads_for(b, s))
    for x, y in zip(a.values(), b.values()):
        assert np.array_equal(x, y)


def test_the_callers_gradient_is_never_modified():
    params = make_params()
    opt = optim.Adam(params, lr=0.1, weight_decay=0.5, maximize=True)
    g = grads_for(params, 0)
    kept = {k: v.copy() for k, v in g.items()}
    opt.step(g)
    for k in g:
        assert np.array_equal(g[k], kept[k])


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "name, kwargs, culprit",
    [
        ("SGD", dict(lr=-0.1), "lr"),
        ("Adam", dict(lr=float("nan")), "lr"),
        ("Adam", dict(betas=(1.0, 0.999)), "betas[0]"),
        ("Adam", dict(betas=(0.9, -0.1)), "betas[1]"),
        ("Adam", dict(betas=(0.9,)), "betas"),
        ("Adam", dict(eps=-1e-8), "eps"),
        ("AdamW", dict(weight_decay=-0.01), "weight_decay"),
        ("SGD", dict(momentum=-0.9), "momentum"),
        ("SGD", dict(nesterov=True), "nesterov"),
        ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1), "nesterov"),
        ("RMSprop", dict(alpha=1.5), "alpha"),
        ("Lion", dict(betas=(0.9, 1.0)), "betas[1]"),
        ("Amos", dict(beta=1.0), "beta"),
        ("Amos", dict(eta=-1.0), "eta"),
    ],
)
def test_bad_hyperparameters_are_refused_by_name(name, kwargs, culprit):
    with pytest.raises(ValueError, match=culprit.replace("[", r"\[").replace("]", r"\]")):
        optim.create(name, make_params(), **kwargs)


def test_unknown_hyperparameter_is_named():
    with pytest.raises(TypeError, match="'momentun'"):
        optim.SGD(make_params(), momentun=0.9)


def test_bad_params_are_refused():
    with pytest.raises(TypeError, match="'x'.*int64"):
        optim.SGD({"x": np.arange(3)})
    with pytest.raises(TypeError, match="single array"):
        optim.SGD(np.zeros(3))
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([])


def test_lr_setter_validates():
    opt = optim.SGD(make_params())
    with pytest.raises(ValueError, match="lr"):
        opt.lr = -1.0


def snapshot(opt, params):
    return (
        {k: v.copy() for k, v in params.items()},
        {n: {k: a.copy() for k, a in s.items()} for n, s in opt.state.items()},
        opt.step_count,
    )


def assert_unchanged(opt, params, snap):
    kept_params, kept_state, kept_step = snap
    assert opt.step_count == kept_step
    for k in params:
        assert np.array_equal(params[k], kept_params[k])
    for n, s in opt.state.items():
        for k, a in s.items():
            assert np.array_equal(a, kept_state[n][k])


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (lambda g: {**g, "w": g["w"][:3]}, ValueError, r"'w' has shape \(3, 4\), its parameter \(6, 4\)"),
        (lambda g: {**g, "b": g["b"].astype(np.int64)}, TypeError, "'b' must be a real floating-point"),
        (lambda g: {**g, "b": g["b"].astype(np.complex128)}, TypeError, "'b' must be a real floating-point"),
        (lambda g: {**g, "b": g["b"].astype(np.float32)}, TypeError, "'b' has dtype float32"),
        (lambda g: {**g, "b": list(g["b"])}, TypeError, "'b' must be a real floating-point"),
        (lambda g: {"w": g["w"]}, ValueError, r"missing gradient\(s\) for parameter\(s\) \['b'\]"),
        (lambda g: {**g, "c": g["b"]}, ValueError, r"unknown parameter\(s\) \['c'\]"),
        (lambda g: [g["w"]], ValueError, "expected 2 gradient"),
    ],
)
def test_bad_gradients_are_refused_and_nothing_changes(bad, error, message):
    params = make_params()
    opt = optim.Adam(params, lr=0.1, amsgrad=True)
    run(opt, params, 3)
    snap = snapshot(opt, params)
    with pytest.raises(error, match=message):
        opt.step(bad(grads_for(params, 3)))
    assert_unchanged(opt, params, snap)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("name", NAMES)
def test_nonfinite_gradient_raises_naming_parameter_and_step(name, value):
    params = make_params()
    opt = optim.create(name, params, **SETTINGS[name])
    run(opt, params, 2)
    snap = snapshot(opt, params)
    g = grads_for(params, 2)
    g["b"][1] = value
    with pytest.raises(FloatingPointError, match=rf"{name} step 3: the gradient of 'b' contains NaN or Inf"):
        opt.step(g)
    assert_unchanged(opt, params, snap)


def test_nonfinite_gradient_can_skip_the_step():
    params = make_params()
    opt = optim.Adam(params, lr=0.1, nonfinite="skip")
    run(opt, params, 2)
    snap = snapshot(opt, params)
    g = grads_for(params, 2)
    g["w"][0, 0] = np.nan
    with pytest.warns(RuntimeWarning, match="'w'.*skipped"):
        assert opt.step(g) is False
    assert_unchanged(opt, params, snap)
    assert opt.skipped_steps == 1
    assert opt.step(grads_for(params, 2)) is True and opt.step_count == 3


def test_huge_but_finite_gradients_are_not_mistaken_for_nonfinite():
    params = {"w": np.zeros(4)}
    opt = optim.Adam(params, lr=0.1)
    assert opt.step({"w": np.full(4, 1e308)})  # their sum overflows; the entries are finite


def test_load_state_dict_checks_before_changing_anything():
    params = make_params()
    opt = optim.Adam(params, lr=0.1)
    run(opt, params, 3)
    sd = opt.state_dict()
    sd["state"]["b"]["exp_avg"] = np.zeros(5)
    other_params = make_params(seed=1)
    other = optim.Adam(other_params, lr=0.1)
    run(other, other_params, 2)
    snap = snapshot(other, other_params)
    with pytest.raises(ValueError, match="'exp_avg' of 'b' has shape"):
        other.load_state_dict(sd)
    assert_unchanged(other, other_params, snap)
    with pytest.raises(ValueError, match="from Adam, not SGD"):
        optim.SGD(make_params()).load_state_dict(opt.state_dict())


class FlatModel:
    """A stand-in for an optimlab.nn model: parameters and gradients are views of flat buffers."""

    def __init__(self, seed=0):
        rng = np.random.default_rng(seed)
        self.flat_parameters = rng.normal(size=28)
        self.flat_gradients = np.zeros(28)
        self._shapes = {"w": (6, 4), "b": (4,)}

    def _views(self, flat):
        out, offset = {}, 0
        for name, shape in self._shapes.items():
            n = int(np.prod(shape))
            out[name] = flat[offset : offset + n].reshape(shape)
            offset += n
        return out

    def named_parameters(self):
        return self._views(self.flat_parameters)

    def named_gradients(self):
        return self._views(self.flat_gradients)


@pytest.mark.parametrize("name", NAMES)
def test_a_flat_model_steps_in_one_pass_with_the_same_result(name):
    model = FlatModel()
    params = {k: v.copy() for k, v in model.named_parameters().items()}
    opt_model = optim.create(name, model, **SETTINGS[name])
    opt_list = optim.create(name, params, **SETTINGS[name])
    assert len(opt_model._units) == (1 if opt_model.elementwise else 2)
    for s in range(6):
        g = grads_for(model.named_parameters(), s)
        for k, v in model.named_gradients().items():
            v[...] = g[k]
        opt_model.step()
        opt_list.step(g)
    for k, v in model.named_parameters().items():
        assert np.array_equal(v, params[k]), k
    assert set(opt_model.state) == {"w", "b"}


def test_a_flat_model_names_the_parameter_with_a_nan():
    model = FlatModel()
    opt = optim.Adam(model)
    model.named_gradients()["b"][2] = np.nan
    with pytest.raises(FloatingPointError, match="'b'"):
        opt.step()


def test_importing_optim_stays_light():
    code = (
        "import sys, optimlab.optim; "
        "heavy = [m for m in ('matplotlib', 'ipywidgets', 'torch', 'IPython', 'tqdm') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
