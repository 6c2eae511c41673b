"""optimlab.widgets: the explorers' logic, driven through their controls without a browser."""

import matplotlib

matplotlib.use("Agg")

import base64  # noqa: E402
import io  # noqa: E402

import ipywidgets  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

from optimlab import data, nn, optim, problems, schedules, train, widgets  # noqa: E402


@pytest.fixture(scope="module")
def pg():
    return widgets.playground(steps=150)


def _png_ok(b64: str) -> bool:
    return Image.open(io.BytesIO(base64.b64decode(b64))).format == "PNG"


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


# ----------------------------------------------------------------------------- playground
def test_lr_is_the_first_slider(pg):
    sliders = [w for w in _walk(pg.widget) if isinstance(w, ipywidgets.widgets.widget_float._Float
                                                              | ipywidgets.IntSlider)]
    assert sliders[0] is pg.controls["lr"]
    assert isinstance(pg.controls["lr"], ipywidgets.FloatLogSlider)
    assert {"momentum", "beta2", "steps", "start_x", "start_y", "problem", "opt:Momentum"} <= set(pg.controls)


def test_playground_shows_the_default_runs(pg):
    assert pg.selected == ["SGD", "Momentum", "Adam"]
    for o in pg.selected:
        np.testing.assert_array_equal(pg.lines[o].get_xydata(), pg.trajectories[o].points)
        assert pg.lines[o].get_visible()
    assert not pg.lines["RMSprop"].get_visible()
    name, hyper = pg.configs()["Momentum"]
    assert name == "SGD" and hyper["momentum"] == 0.9


def test_a_larger_lr_changes_the_sgd_line(pg):
    before = pg.lines["SGD"].get_xydata().copy()
    lr_before = pg.configs()["SGD"][1]["lr"]
    png_before = pg.png
    pg.controls["lr"].value = 2.0
    after = pg.lines["SGD"].get_xydata()
    assert pg.configs()["SGD"][1]["lr"] == pytest.approx(2 * lr_before)
    assert not np.array_equal(before, after)
    np.testing.assert_array_equal(after, problems.run(pg.problem, "SGD", steps=150, lr=2 * lr_before).points)
    assert pg.png != png_before
    shown = pg.output.outputs[0]["data"]["image/png"]
    assert base64.b64decode(shown) == pg.png
    loss = pg.loss_lines["SGD"].get_ydata()
    np.testing.assert_allclose(loss, pg.trajectories["SGD"].losses - pg.problem.min_loss)
    pg.controls["lr"].value = 1.0


def test_other_sliders_rerun(pg):
    pg.controls["steps"].value = 60
    assert len(pg.lines["Adam"].get_xydata()) == 61
    pg.controls["start_x"].value = -1.0
    assert pg.lines["Adam"].get_xydata()[0][0] == pytest.approx(-1.0)
    before = pg.lines["Adam"].get_xydata().copy()
    pg.controls["beta2"].value = 0.9
    assert pg.configs()["Adam"][1]["betas"] == (0.9, 0.9)
    assert not np.array_equal(before, pg.lines["Adam"].get_xydata())
    pg.set(steps=150, start_x=float(pg.problem.start[0]), beta2=0.999)


def test_selecting_an_optimizer_shows_its_line(pg):
    pg.controls["opt:RMSprop"].value = True
    assert pg.lines["RMSprop"].get_visible() and "RMSprop" in pg.trajectories
    assert "RMSprop" in [t.get_text() for t in pg.figure.legends[0].get_texts()]
    pg.controls["opt:RMSprop"].value = False
    assert not pg.lines["RMSprop"].get_visible()
    assert "RMSprop" not in [t.get_text() for t in pg.figure.legends[0].get_texts()]


def test_changing_the_problem_changes_the_contour(pg):
    old_contour, old_levels = pg.contour, pg.contour.levels.copy()
    pg.controls["problem"].value = "beale"
    beale = problems.beale()
    assert pg.contour is not old_contour and not np.array_equal(pg.contour.levels, old_levels)
    assert pg.ax_landscape.get_xlim() == beale.bounds[0]
    assert pg.ax_landscape.get_title() == "Beale"
    assert (pg.controls["start_x"].min, pg.controls["start_x"].max) == beale.bounds[0]
    assert pg.controls["start_x"].value == pytest.approx(beale.start[0])
    np.testing.assert_array_equal(pg.lines["Adam"].get_xydata()[0], beale.start)
    assert len(pg.figure.legends) == 1
    pg.controls["problem"].value = "rosenbrock"


def test_figures_and_artists_stay_bounded_over_50_redraws(pg):
    counts = (len(pg.figure.axes), len(pg.figure.legends), len(pg.ax_landscape.lines), len(pg.ax_loss.lines))
    problems_cycle = ["quadratic", "rosenbrock"]
    for i in range(50):
        if i % 10 == 9:
            pg.controls["problem"].value = problems_cycle[(i // 10) % 2]
        elif i % 7 == 3:
            pg.controls["opt:Nesterov"].value = not pg.controls["opt:Nesterov"].value
        else:
            pg.controls["lr"].value = 0.5 + (i % 5) * 0.25
        assert len(plt.get_fignums()) <= 5
    pg.set(**{"opt:Nesterov": False, "lr": 1.0})
    assert counts == (len(pg.figure.axes), len(pg.figure.legends), len(pg.ax_landscape.lines), len(pg.ax_loss.lines))
    assert plt.get_fignums() == []


def test_mimebundle_has_the_widget_a_png_and_the_note(pg):
    bundle = pg._repr_mimebundle_()
    assert bundle["text/plain"] == widgets.NOTE
    assert _png_ok(bundle["image/png"])
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == pg.widget.model_id


def test_divergence_is_shown_not_raised():
    pg = widgets.playground("quadratic", ("SGD",), steps=100, lr=10.0)
    assert pg.trajectories["SGD"].diverged
    assert pg.ends["SGD"].get_marker() == "X"
    assert "diverged" in pg.status.value


def test_a_noisy_custom_problem_redraws_reproducibly():
    noisy = problems.quadratic(condition_number=30).with_noise(0.5, seed=3)
    pg = widgets.playground(noisy, ("SGD", "Adam"), steps=40)
    assert pg.controls["problem"].value == "quadratic" and pg.problem is noisy
    first = pg.lines["SGD"].get_xydata().copy()
    pg.controls["momentum"].value = 0.5  # does not touch SGD
    np.testing.assert_array_equal(pg.lines["SGD"].get_xydata(), first)
    fresh = problems.quadratic(condition_number=30).with_noise(0.5, seed=3)
    lr = pg.configs()["SGD"][1]["lr"]
    np.testing.assert_array_equal(first, problems.run(fresh, "SGD", steps=40, lr=lr).points)


def test_without_ipywidgets_the_playground_is_a_static_figure(monkeypatch):
    monkeypatch.setattr(widgets, "W", None)
    pg = widgets.playground(steps=50)
    assert pg.widget is None and pg.controls == {}
    bundle = pg._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain"} and bundle["text/plain"] == widgets.NOTE
    before = pg.lines["SGD"].get_xydata().copy()
    pg.set(lr=3.0)
    assert not np.array_equal(before, pg.lines["SGD"].get_xydata())
    se = widgets.schedule_explorer(epochs=5)
    assert _png_ok(se._repr_mimebundle_()["image/png"])


# ----------------------------------------------------------------------------- schedule explorer
def test_schedule_explorer_plots_the_chosen_schedule():
    se = widgets.schedule_explorer(epochs=5)
    total = 5 * se.steps_per_epoch

    def lr_line():
        (line,) = [line for line in se.ax_lr.get_lines() if line.get_label() == se.values["schedule"]]
        return line.get_ydata()

    np.testing.assert_allclose(lr_line(), schedules.warmup_cosine(0.1, 20, total)(np.arange(total)))
    se.controls["schedule"].value = "step_decay"
    assert se.controls["step_size"].layout.display is None and se.controls["pct_start"].layout.display == "none"
    se.controls["gamma"].value = 0.25
    np.testing.assert_allclose(lr_line(), schedules.step_decay(0.1, 40, 0.25)(np.arange(total)))
    assert se.history.steps == total and se.reference.steps == total
    se.controls["lr"].value = 0.01
    np.testing.assert_allclose(lr_line()[0], 0.01)
    assert "validation accuracy" in se.status.value
    assert _png_ok(se._repr_mimebundle_()["image/png"])
    assert plt.get_fignums() == []


# ----------------------------------------------------------------------------- live training
def test_live_training_follows_fit(monkeypatch):
    import IPython
    import IPython.display

    shown, updated = [], []
    monkeypatch.setattr(IPython, "get_ipython", lambda: object())
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append((obj, kw)))
    monkeypatch.setattr(IPython.display, "update_display", lambda obj, **kw: updated.append((obj, kw)))

    ds = data.moons(n=96, seed=0)
    model = nn.MLP([2, 8, 2], seed=0)
    live = widgets.live_training(epochs=4)
    history = train.fit(model, "cross_entropy", optim.Adam(model, lr=0.05), ds, epochs=4, batch_size=32,
                        validation=ds, callback=live, progress=False)
    assert live.history is history
    np.testing.assert_allclose(live.lines["val_accuracy"].get_ydata(), history.val_accuracy)
    np.testing.assert_allclose(live.lines["train_loss"].get_ydata(), history.train_loss)
    assert len(shown) == 1 and len(updated) == 3
    assert {kw["display_id"] for _, kw in shown + updated} == {live.display_id}
    bundle = updated[-1][0]
    assert _png_ok(bundle["image/png"]) and "epochs 4" in bundle["text/plain"]
    assert live.suptitle.get_text() == "Training: epoch 4/4"
    assert plt.get_fignums() == []
