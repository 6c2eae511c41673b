"""What the shared API tests cannot see in Muon, Adafactor and Schedule-Free AdamW: Muon's
(in, out) layout and shape scale, its AdamW fallback, Adafactor's factored memory, and the
schedule-free train/eval switch."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from optimlab import optim
from optimlab.optim.muon import newton_schulz, shape_scale


def _grad(w):
    return np.sin(3.0 * w) + 0.5 * w - 0.2


# ----------------------------------------------------------------------------- Muon
@pytest.mark.parametrize("adjust_lr_fn", [None, "match_rms_adamw"])
@pytest.mark.parametrize("shape", [(3, 7), (7, 3), (5, 5)])  # (in, out): wide, tall, square
def test_muon_on_an_in_out_matrix_follows_torch_on_its_transpose(shape, adjust_lr_fn):
    torch = pytest.importorskip("torch")
    import torch.optim._muon as torch_muon
    from reference_runs import _newton_schulz_float64

    rng = np.random.default_rng(1)
    w = rng.normal(size=shape)
    tw = torch.tensor(w.T.copy(), dtype=torch.float64)  # torch's (out, in)
    opt = optim.Muon([w], lr=0.05, adjust_lr_fn=adjust_lr_fn)
    topt = torch.optim.Muon([tw], lr=0.05, adjust_lr_fn=adjust_lr_fn)
    saved = torch_muon._zeropower_via_newtonschulz
    torch_muon._zeropower_via_newtonschulz = _newton_schulz_float64
    try:
        for _ in range(30):
            opt.step([_grad(w)])
            tw.grad = torch.from_numpy(_grad(tw.numpy()))
            topt.step()
    finally:
        torch_muon._zeropower_via_newtonschulz = saved
    np.testing.assert_allclose(w, tw.numpy().T, rtol=1e-10, atol=1e-12)


def test_muon_shape_scale_reads_fan_out_over_fan_in_from_the_in_out_layout():
    assert shape_scale((3, 12), None) == pytest.approx(2.0)  # fan_in 3, fan_out 12
    assert shape_scale((12, 3), None) == 1.0
    assert shape_scale((3, 12), "match_rms_adamw") == pytest.approx(0.2 * np.sqrt(12))


def test_newton_schulz_pushes_singular_values_towards_one():
    rng = np.random.default_rng(0)
    G = rng.normal(size=(40, 24)) @ np.diag(np.logspace(-2, 1, 24))
    work = [np.empty(G.size) for _ in range(4)]
    O = newton_schulz(G, work=work)
    s_in = np.linalg.svd(G, compute_uv=False)
    s = np.linalg.svd(O, compute_uv=False)
    assert O.shape == G.shape and s.max() < 1.25
    assert s_in.max() / s_in.min() > 1000 and s.max() / s.min() < 10  # not orthogonal, but close
    # the singular vectors are G's: O = U diag(p(σ)) Vᵀ
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    assert np.allclose(U.T @ O @ Vt.T, np.diag(np.diag(U.T @ O @ Vt.T)), atol=1e-10)


def test_muon_updates_non_matrices_with_its_adamw_fallback():
    rng = np.random.default_rng(2)
    params = {"w": rng.normal(size=(4, 6)), "b": rng.normal(size=6), "s": rng.normal(size=(2, 2, 3))}
    ref = {"b": params["b"].copy(), "s": params["s"].copy()}
    opt = optim.Muon(params, lr=0.02, adamw_lr=0.01, adamw_betas=(0.9, 0.95), adamw_weight_decay=0.1)
    adamw = optim.AdamW(ref, lr=0.01, betas=(0.9, 0.95), weight_decay=0.1)
    assert set(opt.state["w"]) == {"momentum_buffer"} and set(opt.state["b"]) == {"exp_avg", "exp_avg_sq"}
    for _ in range(10):
        g = {k: _grad(v) for k, v in params.items()}
        opt.step(g)
        adamw.step({k: g[k] for k in ref})
    for k in ref:
        assert np.array_equal(params[k], ref[k])


def test_muon_adamw_lr_none_follows_the_muon_lr():
    a = {"b": np.ones(3)}
    b = {"b": np.ones(3)}
    opt = optim.Muon(a, lr=0.03)
    ref = optim.AdamW(b, lr=0.03, weight_decay=0.0)
    opt.lr = ref.lr = 0.01  # a schedule moves both
    for _ in range(3):
        opt.step({"b": _grad(a["b"])})
        ref.step({"b": _grad(b["b"])})
    assert np.array_equal(a["b"], b["b"])


@pytest.mark.parametrize(
    "kwargs, culprit",
    [
        (dict(ns_steps=100), "ns_steps"), (dict(ns_coefficients=(1.0, 2.0)), "ns_coefficients"),
        (dict(adjust_lr_fn="spectral"), "adjust_lr_fn"), (dict(momentum=1.0), "momentum"),
        (dict(adamw_lr=-1.0), "adamw_lr"), (dict(adamw_betas=(0.9, 1.0)), r"adamw_betas\[1\]"),
    ],
)
def test_muon_refuses_bad_hyperparameters_by_name(kwargs, culprit):
    with pytest.raises(ValueError, match=culprit):
        optim.Muon([np.ones((2, 2))], **kwargs)


# ----------------------------------------------------------------------------- Adafactor
def test_adafactor_keeps_rows_plus_columns_for_a_matrix():
    params = {"w": np.zeros((500, 400)), "b": np.zeros(400), "k": np.zeros((3, 8, 5))}
    opt = optim.Adafactor(params)
    assert opt.state["w"]["row_var"].shape == (500, 1) and opt.state["w"]["col_var"].shape == (1, 400)
    assert opt.state["k"]["row_var"].shape == (3, 8, 1) and opt.state["k"]["col_var"].shape == (3, 1, 5)
    assert opt.state_bytes() == 8 * ((500 + 400) + 400 + 3 * (8 + 5))
    adam_bytes = optim.Adam({k: v.copy() for k, v in params.items()}).state_bytes()
    assert opt.state_bytes() < adam_bytes / 100


def test_adafactor_on_a_3d_tensor_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    w = rng.normal(size=(3, 4, 5))
    tw = torch.tensor(w.copy(), dtype=torch.float64)
    opt, topt = optim.Adafactor([w], lr=0.05), torch.optim.Adafactor([tw], lr=0.05)
    for _ in range(40):
        opt.step([_grad(w)])
        tw.grad = torch.from_numpy(_grad(tw.numpy()))
        topt.step()
    np.testing.assert_allclose(w, tw.numpy(), rtol=1e-10, atol=1e-12)


def test_adafactor_refuses_bad_hyperparameters_by_name():
    with pytest.raises(ValueError, match="beta2_decay"):
        optim.Adafactor([np.ones(2)], beta2_decay=0.5)
    with pytest.raises(ValueError, match=r"eps\[1\]"):
        optim.Adafactor([np.ones(2)], eps=(None, -1.0))
    with pytest.raises(ValueError, match="d"):
        optim.Adafactor([np.ones(2)], d=0.5)


# ----------------------------------------------------------------------------- Schedule-Free
def test_schedulefree_defaults_equal_the_package_defaults():
    schedulefree = pytest.importorskip("schedulefree")
    signature = inspect.signature(schedulefree.AdamWScheduleFree.__init__).parameters
    for key, value in optim.AdamWScheduleFree.defaults.items():
        assert signature[key].default == value, key


def test_schedulefree_eval_and_train_swap_x_and_y_in_place():
    rng = np.random.default_rng(4)
    w = rng.normal(size=(5, 3))
    opt = optim.AdamWScheduleFree([w], lr=0.05, betas=(0.8, 0.999))
    for _ in range(20):
        opt.step([_grad(w)])
    y = w.copy()
    z = opt.state["param[0]"]["z"]
    opt.eval()
    assert not opt.training
    np.testing.assert_allclose(w, (y - 0.2 * z) / 0.8, rtol=1e-12)  # x = (y − (1 − β1) z)/β1
    opt.eval()  # no-op
    np.testing.assert_allclose(w, (y - 0.2 * z) / 0.8, rtol=1e-12)
    with pytest.raises(RuntimeError, match=r"eval mode.*opt\.train\(\)"):
        opt.step([_grad(w)])
    assert opt.step_count == 20
    opt.train()
    np.testing.assert_allclose(w, y, rtol=1e-12)


def test_schedulefree_state_dict_keeps_the_mode_and_scalars(tmp_path):
    w = np.linspace(-1, 1, 6)
    opt = optim.AdamWScheduleFree([w], lr=0.05, warmup_steps=3)
    for _ in range(5):
        opt.step([_grad(w)])
    opt.eval()
    opt.save(tmp_path / "sf.npz")
    saved_w = w.copy()
    other_w = saved_w.copy()
    other = optim.AdamWScheduleFree([other_w], lr=0.05, warmup_steps=3)
    other.load(tmp_path / "sf.npz")
    assert not other.training
    assert other.scalars["k"] == 5 and other.scalars["lr_max"] == 0.05
    assert other.scalars["weight_sum"] == opt.scalars["weight_sum"]
    for o, p in ((opt, w), (other, other_w)):
        o.train()
        for _ in range(3):
            o.step([_grad(p)])
        o.eval()
    assert np.array_equal(w, other_w)


def test_schedulefree_refuses_beta1_zero():
    with pytest.raises(ValueError, match="beta1"):
        optim.AdamWScheduleFree([np.ones(2)], betas=(0.0, 0.999))
