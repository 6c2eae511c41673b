"""optimlab.viz: every figure kind carries its data, a title, labelled axes and a legend."""

import matplotlib

matplotlib.use("Agg")

import subprocess  # noqa: E402
import sys  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402
from PIL import Image  # noqa: E402

from optimlab import data, nn, optim, problems, schedules, train, viz  # noqa: E402


@pytest.fixture(scope="module")
def rosenbrock_runs():
    p = problems.rosenbrock()
    return p, [
        problems.run(p, "SGD", steps=120, lr=1e-3),
        problems.run(p, "SGD", steps=120, lr=1e-3, momentum=0.9, label="Momentum"),
        problems.run(p, "Adam", steps=120, lr=0.1),
    ]


@pytest.fixture(scope="module")
def trained():
    ds = data.moons(n=120, noise=0.1, seed=0)
    model = nn.MLP([2, 16, 2], seed=0)
    history = train.fit(model, "cross_entropy", optim.Adam(model, lr=0.05), ds, epochs=8, batch_size=32,
                        validation=ds, progress=False)
    return model, ds, history


def _plot_axes(fig):
    """The axes that hold plots (colour bars excluded)."""
    return [ax for ax in fig.axes if not hasattr(ax, "_colorbar")]


def _assert_textbook(fig):
    """Title, labelled axes, and a legend wherever more than one line is drawn."""
    assert isinstance(fig, matplotlib.figure.Figure)
    sup = fig._suptitle.get_text() if fig._suptitle is not None else ""
    legends = list(fig.legends)
    for ax in _plot_axes(fig):
        assert ax.get_title() or sup, "every panel needs a title"
        assert ax.get_xlabel() and ax.get_ylabel(), "both axes need labels"
        if ax.get_legend() is not None:
            legends.append(ax.get_legend())
        labelled = [line for line in ax.get_lines() if not line.get_label().startswith("_")]
        if len(labelled) > 1:
            assert legends, f"{len(labelled)} lines but no legend in {ax.get_title()!r}"
    for legend in legends:
        assert all(t.get_text() for t in legend.get_texts())


# ----------------------------------------------------------------------------- colours and look
def test_colors_are_fixed_per_optimizer():
    assert viz.color_for("Adam") == viz.color_for("Adam(lr=0.1)") == viz.COLORS["Adam"]
    assert viz.color_for("AdamW(lr=0.001)") == viz.COLORS["AdamW"] != viz.COLORS["Adam"]
    assert viz.color_for("SGD+momentum") == viz.color_for("Momentum") == viz.COLORS["Momentum"]
    assert viz.color_for("SGD(lr=0.002, momentum=0.9)") == viz.COLORS["Momentum"]
    assert viz.color_for("SGD(lr=0.1, momentum=0.9, nesterov=True)") == viz.COLORS["Nesterov"]
    assert viz.color_for("SGD(lr=0.1)") == viz.COLORS["SGD"]
    assert len(set(viz.COLORS.values())) == len(viz.COLORS), "two optimizers share a colour"
    a, b = viz.color_for("MyOptimizer(lr=1)"), viz.color_for("OtherOpt")
    assert a != b and viz.color_for("MyOptimizer(lr=2)") == a
    assert a not in viz.COLORS.values() and b not in viz.COLORS.values()


def test_same_optimizer_twice_gets_another_linestyle():
    styles = viz._line_styles(["Adam(lr=0.1)", "Adam(lr=0.01)", "SGD"])
    assert styles[0][0] == styles[1][0] and styles[0][1] != styles[1][1]


def test_figures_stay_out_of_pyplot_and_have_a_stable_repr(rosenbrock_runs):
    p, runs = rosenbrock_runs
    before = plt.get_fignums()
    fig = viz.landscape(p, runs)
    assert plt.get_fignums() == before
    assert repr(fig) == "<Figure: Rosenbrock>"
    png = fig._repr_png_()
    assert png.startswith(b"\x89PNG") and Image.open(__import__("io").BytesIO(png)).size == (640, 530)


def test_importing_the_core_does_not_import_matplotlib():
    code = ("import sys, optimlab, optimlab.optim, optimlab.problems, optimlab.train; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# ----------------------------------------------------------------------------- landscapes
def test_landscape_lines_carry_exactly_the_points(rosenbrock_runs):
    p, runs = rosenbrock_runs
    fig = viz.landscape(p, runs)
    ax = fig.axes[0]
    for r in runs:
        (line,) = [line for line in ax.get_lines() if line.get_label() == r.label]
        np.testing.assert_array_equal(line.get_xydata(), r.points)
    star = [line for line in ax.get_lines() if line.get_marker() == "*"]
    np.testing.assert_array_equal(star[0].get_xydata(), p.minima)
    start = [line for line in ax.get_lines() if line.get_label() == "start"]
    np.testing.assert_array_equal(start[0].get_xydata(), p.start[None])
    assert ax.get_xlim() == p.bounds[0] and ax.get_ylim() == p.bounds[1]
    _assert_textbook(fig)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["global minimum", "start"] + [r.label for r in runs]


@pytest.mark.parametrize("name", list(problems.PROBLEMS))
def test_landscape_works_for_every_problem(name):
    p = problems.get(name)
    traj = problems.run(p, "Adam", steps=30, lr=0.05)
    fig = viz.landscape(p, [traj])
    ax = fig.axes[0]
    assert len(fig.axes) == 2  # the plot and its colour bar
    levels = ax.collections[0].levels
    assert np.all(np.diff(np.log(levels)) > 0) and np.allclose(np.diff(np.log(levels)), np.diff(np.log(levels))[0])
    assert [line for line in ax.get_lines() if line.get_marker() == "*"]
    _assert_textbook(fig)


def test_landscape_marks_divergence_and_draws_into_a_given_axes():
    p = problems.quadratic(condition_number=10)
    bad = problems.run(p, "SGD", steps=500, lr=3.0)
    assert bad.diverged
    fig, ax = viz.subplots()
    assert viz.landscape(p, {"too large": bad}, ax=ax) is fig
    assert "too large (diverged)" in [line.get_label() for line in ax.get_lines()]
    assert any(line.get_marker() == "X" for line in ax.get_lines())


def test_contour_levels_are_log_spaced_and_resolve_the_basin():
    lv = viz.contour_levels(np.linspace(0, 100, 1001), 10)
    assert lv[-1] == pytest.approx(100) and lv[0] == pytest.approx(1e-3)  # five decades
    assert np.allclose(np.diff(np.log10(lv)), np.log10(lv[1] / lv[0]))
    steep = viz.contour_levels(np.concatenate([np.linspace(0, 1, 999), [1e5]]), 10)
    assert steep[-1] == pytest.approx(1e5) and steep[0] < 0.01  # the flat basin still gets levels


# ----------------------------------------------------------------------------- curves
def test_loss_curves_of_trajectories_use_the_gap(rosenbrock_runs):
    p, runs = rosenbrock_runs
    fig = viz.loss_curves({r.label: r for r in runs})
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and "min loss" in ax.get_ylabel()
    for r in runs:
        (line,) = [line for line in ax.get_lines() if line.get_label() == r.label]
        np.testing.assert_allclose(line.get_ydata(), r.losses - p.min_loss)
    _assert_textbook(fig)


def test_loss_curves_of_several_seeds_draw_mean_and_band():
    runs = {name: [problems.run(problems.quadratic(20).with_noise(0.3, seed=s), name, steps=60, lr=lr)
                   for s in range(4)] for name, lr in (("SGD", 0.3), ("Adam", 0.05))}
    fig = viz.loss_curves(runs)
    ax = fig.axes[0]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2
    (sgd,) = [line for line in ax.get_lines() if line.get_label() == "SGD"]
    np.testing.assert_allclose(sgd.get_ydata(), np.mean([r.losses for r in runs["SGD"]], axis=0))
    assert ax.get_legend().get_title().get_text() == "mean of 4 seeds, band: min–max"
    _assert_textbook(fig)
    std = viz.loss_curves(runs, band="std").axes[0]
    assert "±1 std" in std.get_legend().get_title().get_text()
    mixed = viz.loss_curves({"SGD": runs["SGD"], "one Adam run": runs["Adam"][0]}).axes[0]
    assert "SGD (mean of 4 seeds; band: min–max)" in [t.get_text() for t in mixed.get_legend().get_texts()]


def test_loss_curves_of_histories_and_arrays(trained):
    _, _, history = trained
    fig = viz.loss_curves({"Adam": history, "ones": np.ones(history.steps)}, smooth=5)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "loss"
    (adam,) = [line for line in ax.get_lines() if line.get_label() == "Adam"]
    np.testing.assert_allclose(adam.get_ydata()[0], history.loss[0])
    assert "moving average over 5 steps" in ax.get_legend().get_title().get_text()
    assert viz.loss_curves({"Adam": history}).axes[0].get_ylabel() == "minibatch loss"


def test_schedule_plot_lines_equal_the_schedule_values():
    N = 120
    sch = {"step": schedules.step_decay(0.1, 30, 0.5), "cosine": schedules.cosine(0.1, N),
           "warmup": schedules.warmup_cosine(0.1, 10, N), "one-cycle": schedules.one_cycle(0.1, N),
           "plain callable": lambda e: 0.05}
    fig = viz.schedule_plot(sch, N)
    ax = fig.axes[0]
    for label, s in sch.items():
        (line,) = [line for line in ax.get_lines() if line.get_label() == label]
        np.testing.assert_array_equal(line.get_xdata(), np.arange(N))
        np.testing.assert_allclose(line.get_ydata(), [s(int(e)) for e in range(N)])
    _assert_textbook(fig)


def test_effective_steps_of_sgd_is_its_lr():
    p = problems.quadratic(condition_number=10)
    fig = viz.effective_steps(p, {"SGD": ("SGD", {"lr": 0.3}), "Adagrad": ("Adagrad", {"lr": 0.3})}, steps=40)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and len(ax.get_lines()) == 4
    for line in ax.get_lines():
        if line.get_label().startswith("SGD"):
            y = np.asarray(line.get_ydata(), dtype=float)
            np.testing.assert_allclose(y[np.isfinite(y)], 0.3, rtol=1e-9)
    adagrad = [line for line in ax.get_lines() if line.get_label() == "Adagrad: $x$"][0].get_ydata()
    assert adagrad[-1] < adagrad[0]  # the vanishing step
    _assert_textbook(fig)
    assert viz.effective_steps(p, "Adam", steps=10, lr=0.1).axes[0].get_lines()[0].get_label() == "Adam(lr=0.1): $x$"


def test_decision_regions_on_a_trained_mlp(trained):
    model, ds, _ = trained
    fig = viz.decision_regions(model, ds, resolution=60)
    ax = fig.axes[0]
    assert ax.images and ax.images[0].get_array().shape == (60, 60)
    assert "accuracy" in ax.get_title()
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]
    _assert_textbook(fig)


def test_history_plot_has_two_panels(trained):
    _, _, history = trained
    fig = viz.history_plot(history)
    loss, acc = _plot_axes(fig)
    assert loss.get_title() == "Loss" and acc.get_title() == "Accuracy"
    (val,) = [line for line in acc.get_lines() if line.get_label() == "validation"]
    np.testing.assert_allclose(val.get_ydata(), history.val_accuracy)
    assert fig.legends and fig._suptitle.get_text() == "Training history"
    _assert_textbook(fig)
    compare = viz.history_plot({"Adam": history, "SGD": history})
    assert [t.get_text() for t in compare.legends[0].get_texts()] == ["Adam", "SGD", "training", "validation"]


# ----------------------------------------------------------------------------- animation
def test_race_plays_in_html_and_saves_a_gif(rosenbrock_runs, tmp_path):
    p, runs = rosenbrock_runs
    r = viz.race(p, runs, frames=8)
    assert r.frames == 8 and "rosenbrock" in repr(r)
    html = r._repr_html_()
    assert "<script" in html and html.count("data:image/png;base64") == 8
    assert len(html) < 2_000_000
    path = r.save_gif(tmp_path / "race.gif")
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == 8
    # the last frame shows every path in full
    ax = r.figure.axes[0]
    for traj in runs:
        assert any(np.array_equal(line.get_xydata(), traj.points) for line in ax.get_lines())
    assert plt.get_fignums() == []


def test_race_subsamples_long_runs(rosenbrock_runs):
    p, runs = rosenbrock_runs
    assert viz.race(p, runs).frames == 48
    assert viz.race(p, runs[:1], frames=500).frames == len(runs[0].points)


def test_subplots_shares_axes_like_matplotlib():
    fig, (left, right) = viz.subplots(1, 2, sharey=True)
    assert left.get_shared_y_axes().joined(left, right)  # it used to be passed to each axes, and lost
    assert not left.get_shared_x_axes().joined(left, right)
    fig, axes = viz.subplots(2, 1, sharex="col", projection="polar")
    assert axes[0].get_shared_x_axes().joined(axes[0], axes[1]) and axes[0].name == "polar"


def test_smoothed_seeds_get_the_band_of_their_moving_averages():
    rng = np.random.default_rng(0)
    seeds = [np.exp(-np.arange(200) / 50) * (1 + 0.5 * rng.standard_normal(200) ** 2) for _ in range(3)]
    fig = viz.loss_curves({"Adam": seeds}, smooth=20, log=False)
    ax = fig.axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_label().startswith("Adam")]
    smoothed = np.array([np.convolve(s, np.ones(20) / 20, mode="full")[:200] for s in seeds])
    smoothed[:, :19] = [np.cumsum(s[:19]) / np.arange(1, 20) for s in seeds]  # shorter window at the start
    np.testing.assert_allclose(line.get_ydata(), smoothed.mean(axis=0))
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    # the band spans the smoothed seeds, much narrower than the raw minibatch noise
    assert band.max() <= smoothed.max() + 1e-12 and band.min() >= smoothed.min() - 1e-12
