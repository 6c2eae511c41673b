r"""Interactive explorers for the notebooks (ipywidgets 8), each drawing with :mod:`optimlab.viz`.

    >>> from optimlab import widgets
    >>> widgets.playground()            # optimizers on a 2-D landscape; sliders redraw it
    >>> widgets.schedule_explorer()     # a learning-rate schedule and its effect on training
    >>> live = widgets.live_training()  # loss and accuracy curves that grow while fit() runs
    >>> history = train.fit(model, "cross_entropy", opt, data, epochs=30, callback=live, progress=False)

Each explorer draws a matplotlib figure and shows it as a PNG inside an ``Output`` widget; its
controls are in ``.controls`` (a dict of widgets by name) and its figure in ``.figure``, so the
logic can be driven and tested without a browser: ``pg.controls["lr"].value = 2.0`` redraws.

Where widgets cannot render (a notebook opened on GitHub, nbconvert to HTML), the output still
shows a picture: an explorer's mimebundle carries, besides the widget view, a PNG of its current
figure and the one-line note :data:`NOTE` as text. Without ipywidgets at all, the explorers are
static figures with that note.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import uuid
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from matplotlib import ticker

from . import problems as _problems
from . import viz

try:  # optional: without it, the explorers degrade to static figures
    import ipywidgets as W
except ImportError:  # pragma: no cover - exercised by monkeypatching W in the tests
    W = None

__all__ = ["NOTE", "LiveTraining", "Playground", "ScheduleExplorer", "live_training", "playground",
           "schedule_explorer"]

NOTE = "Interactive controls need JupyterLab with ipywidgets; showing a static figure."


class _Explorer:
    """A figure shown as PNG in an ``Output`` widget under a row of controls.

    Subclasses build ``self.figure``, ``self.controls`` and call :meth:`_show` with each new PNG.
    """

    figure: Any
    caption = "figure"

    def __init__(self) -> None:
        self.controls: dict[str, Any] = {}
        self.png = b""
        self.output = W.Output() if W is not None else None
        self.status = W.HTML() if W is not None else None
        self.widget: Any = None

    def _show(self, png: bytes) -> None:
        """Replace the picture in the Output widget (one message, no flicker)."""
        self.png = png
        if self.output is not None:
            self.output.outputs = ({
                "output_type": "display_data",
                "data": {"image/png": base64.b64encode(png).decode("ascii"), "text/plain": self.caption},
                "metadata": {},
            },)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        data: dict[str, Any] = {}
        if self.widget is not None:
            data.update(self.widget._repr_mimebundle_() or {})
        data["image/png"] = base64.b64encode(self.png).decode("ascii")
        data["text/plain"] = NOTE
        return data

    def _observe(self) -> None:
        for name, control in self.controls.items():
            control.observe(lambda change, name=name: self._changed(name, change["new"]), names="value")

    def _changed(self, name: str, value: Any) -> None:
        raise NotImplementedError


# ----------------------------------------------------------------------------- the playground
#: Playground optimizers: display name -> (registry name, learning-rate group, factor).
#: The lr of each is ``factor × BASE_LR[problem][group] × the lr slider``.
OPTIONS: dict[str, tuple[str, str, float]] = {
    "SGD": ("SGD", "gd", 1.0),
    "Momentum": ("SGD", "momentum", 1.0),
    "Nesterov": ("SGD", "momentum", 1.0),
    "Adagrad": ("Adagrad", "adaptive", 5.0),
    "RMSprop": ("RMSprop", "adaptive", 0.2),
    "Adam": ("Adam", "adaptive", 1.0),
    "AdamW": ("AdamW", "adaptive", 1.0),
    "NAdam": ("NAdam", "adaptive", 1.0),
    "RAdam": ("RAdam", "adaptive", 1.0),
    "AdaBelief": ("AdaBelief", "adaptive", 1.0),
    "Lion": ("Lion", "adaptive", 0.2),
}

#: Per problem: the lr of plain gradient descent, of momentum methods (μ = 0.9), and of
#: Adam-like methods (whose step is about lr per coordinate), chosen so that 300 steps make a
#: clear picture. Problems not listed get the last row.
BASE_LR: dict[str, tuple[float, float, float]] = {
    "quadratic": (0.5, 0.05, 0.05),
    "rosenbrock": (1e-3, 1e-3, 0.1),
    "beale": (0.01, 1e-3, 0.1),
    "himmelblau": (0.01, 1e-3, 0.1),
    "rastrigin": (2e-3, 2e-3, 0.1),
    "saddle": (0.05, 0.01, 0.05),
    "*": (0.01, 1e-3, 0.05),
}
_GROUPS = {"gd": 0, "momentum": 1, "adaptive": 2}


def optimizer_config(option: str, problem: str, lr_scale: float = 1.0, momentum: float = 0.9,
                     beta2: float = 0.999) -> tuple[str, dict[str, Any]]:
    """(registry name, hyperparameters) of a playground option on a problem.

    ``momentum`` is μ for Momentum/Nesterov and β₁ for the Adam family and Lion; ``beta2`` is
    β₂ of the Adam family and AdaBelief, and RMSprop's α (Lion keeps its β₂ = 0.99).
    """
    name, group, factor = OPTIONS[option]
    base = BASE_LR.get(problem, BASE_LR["*"])[_GROUPS[group]]
    hyper: dict[str, Any] = {"lr": float(f"{factor * base * lr_scale:.4g}")}
    if option in ("Momentum", "Nesterov") and momentum > 0:
        hyper["momentum"] = momentum
        hyper["nesterov"] = option == "Nesterov"
    elif option == "RMSprop":
        hyper["alpha"] = beta2
    elif option == "Lion":
        hyper["betas"] = (momentum, 0.99)
    elif name not in ("SGD", "Adagrad"):
        hyper["betas"] = (momentum, beta2)
    return name, hyper


class Playground(_Explorer):
    """Optimizers racing on a 2-D problem: the landscape with their paths (left) and
    f(θ_t) − f* per step (right), redrawn whenever a control moves.

    Controls (``.controls``): ``lr`` (the first slider: a log-scale multiplier of each optimizer's
    default lr on the problem, see :data:`BASE_LR` and :data:`OPTIONS`), ``momentum`` (μ, or β₁),
    ``beta2`` (β₂, or RMSprop's α), ``steps``, ``start_x``, ``start_y``, ``problem``, and one
    checkbox ``opt:<name>`` per optimizer. ``.trajectories`` holds the current runs.

    Speed: the contours are drawn once per problem; a slider change re-runs the optimizers,
    moves the path lines (``set_data``) and redraws only the paths and the loss panel over the
    saved picture (Agg blitting), then encodes the PNG.
    """

    caption = "optimizer playground"

    def __init__(self, problem: str | _problems.Problem = "rosenbrock",
                 optimizers: Sequence[str] = ("SGD", "Momentum", "Adam"), *, steps: int = 300,
                 lr: float = 1.0, momentum: float = 0.9, beta2: float = 0.999, dpi: float = 80):
        super().__init__()
        unknown = [o for o in optimizers if o not in OPTIONS]
        if unknown:
            raise ValueError(f"unknown playground optimizer(s) {unknown}; choose from {list(OPTIONS)}")
        self._custom = problem if isinstance(problem, _problems.Problem) else None
        self.problem = self._custom or _problems.get(problem)
        self.values: dict[str, Any] = dict(
            lr=lr, momentum=momentum, beta2=beta2, steps=steps, start_x=float(self.problem.start[0]),
            start_y=float(self.problem.start[1]), problem=self.problem.name,
            **{f"opt:{o}": o in optimizers for o in OPTIONS},
        )
        self.trajectories: dict[str, _problems.Trajectory] = {}
        self.messages: list[str] = []
        self.figure = viz.new_figure((11.0, 4.9), dpi)  # its two panels are made per problem
        self.lines: dict[str, Any] = {}  # option -> path line on the landscape
        self.ends: dict[str, Any] = {}  # option -> end-point marker
        self.loss_lines: dict[str, Any] = {}  # option -> loss line
        self._background = None
        self._legend = None
        self._hold = False
        if W is not None:
            self._build_controls()
        self._draw_problem()
        self.update()

    # -- controls
    def _build_controls(self) -> None:
        v = self.values
        style = {"description_width": "70px"}

        def wide() -> Any:
            return W.Layout(width="330px")

        c = self.controls
        c["lr"] = W.FloatLogSlider(value=v["lr"], base=10, min=-2, max=2, step=0.05, description="lr ×",
                                   readout_format=".3g", layout=wide(), style=style)
        c["momentum"] = W.FloatSlider(value=v["momentum"], min=0.0, max=0.99, step=0.01, description="μ / β₁",
                                      layout=wide(), style=style)
        c["beta2"] = W.FloatSlider(value=v["beta2"], min=0.8, max=0.9999, step=0.0001, readout_format=".4f",
                                   description="β₂", layout=wide(), style=style)
        c["steps"] = W.IntSlider(value=v["steps"], min=10, max=1000, step=10, description="steps",
                                 layout=wide(), style=style)
        c["start_x"] = W.FloatSlider(description="start x", layout=wide(), style=style)
        c["start_y"] = W.FloatSlider(description="start y", layout=wide(), style=style)
        self._set_start_ranges()
        names = list(_problems.PROBLEMS)
        if self._custom is not None and self._custom.name not in names:
            names.insert(0, self._custom.name)
        c["problem"] = W.Dropdown(options=names, value=v["problem"], description="problem",
                                  layout=W.Layout(width="260px"), style=style)
        for o in OPTIONS:
            c[f"opt:{o}"] = W.Checkbox(value=v[f"opt:{o}"], description=o, indent=False,
                                       layout=W.Layout(width="105px"))
        self._observe()
        boxes = W.GridBox([c[f"opt:{o}"] for o in OPTIONS],
                          layout=W.Layout(grid_template_columns="repeat(6, 110px)", grid_gap="0 4px"))
        sliders = W.HBox([
            W.VBox([c["lr"], c["momentum"], c["beta2"]]),
            W.VBox([c["steps"], c["start_x"], c["start_y"]]),
        ])
        self.widget = W.VBox([
            W.HBox([c["problem"], W.HTML("<b>optimizers</b>", layout=W.Layout(margin="0 8px 0 16px")), boxes]),
            sliders, self.output, self.status,
        ])

    def _set_start_ranges(self) -> None:
        """The start sliders span the problem's bounds."""
        if W is None:
            return
        (x0, x1), (y0, y1) = self.problem.bounds
        for key, lo, hi in (("start_x", x0, x1), ("start_y", y0, y1)):
            s = self.controls[key]
            s.min, s.max = -1e9, 1e9  # widen first so that min <= max always holds
            s.min, s.max, s.step = lo, hi, (hi - lo) / 200
            s.value = self.values[key]

    def _changed(self, name: str, value: Any) -> None:
        if self._hold:
            return
        self.values[name] = value
        if name == "problem":
            self.set_problem(value)
        elif name.startswith("opt:"):
            self.update(structure=True)
        else:
            self.update()

    # -- state
    @property
    def selected(self) -> list[str]:
        """The optimizers shown, in the order of OPTIONS."""
        return [o for o in OPTIONS if self.values[f"opt:{o}"]]

    def set(self, **values: Any) -> None:
        """Set several controls at once with a single redraw: ``pg.set(lr=2, steps=500)``;
        optimizers by ``pg.set(**{"opt:Adam": True})``."""
        problem = values.pop("problem", None)
        self._hold = True
        try:
            for k, val in values.items():
                if k not in self.values:
                    raise KeyError(f"no control {k!r}; controls: {list(self.values)}")
                self.values[k] = val
                if k in self.controls:
                    self.controls[k].value = val
        finally:
            self._hold = False
        if problem is not None and problem != self.problem.name:
            self.set_problem(problem)
        else:
            self.update(structure=any(k.startswith("opt:") for k in values))

    def set_problem(self, name: str) -> None:
        """Switch to another problem: new contours, start at its default start point."""
        self.problem = self._custom if self._custom is not None and name == self._custom.name else _problems.get(name)
        self.values["problem"] = self.problem.name
        self.values["start_x"], self.values["start_y"] = map(float, self.problem.start)
        self._hold = True
        try:
            if "problem" in self.controls:
                self.controls["problem"].value = self.problem.name
            self._set_start_ranges()
        finally:
            self._hold = False
        self._draw_problem()
        self.update()

    def configs(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """option -> (registry name, hyperparameters) for the selected optimizers."""
        v = self.values
        return {o: optimizer_config(o, self.problem.name, v["lr"], v["momentum"], v["beta2"]) for o in self.selected}

    # -- drawing
    def _draw_problem(self) -> None:
        """Everything that changes only with the problem: contours, colour bar, minima, start
        marker, and a path line, end marker and loss line per optimizer (all animated)."""
        with viz.style():
            self._draw_problem_styled()

    def _draw_problem_styled(self) -> None:
        fig = self.figure
        if self._legend is not None:
            self._legend.remove()
        for ax in list(fig.axes):
            fig.delaxes(ax)
        fig.set_layout_engine("constrained", wspace=0.07)
        self.ax_landscape, self.ax_loss = fig.subplots(1, 2, width_ratios=[1.15, 1])
        ax = self.ax_landscape
        self.contour = viz._draw_background(ax, self.problem, levels=22, resolution=181, bounds=None,
                                            colorbar=True)
        ax.set_title(viz.problem_title(self.problem))
        self.minimum_marker = next(line for line in ax.lines if line.get_label().startswith("global"))
        self.minimum_marker.set_animated(True)  # drawn over the paths' end points
        (self.start_marker,) = ax.plot(*self.problem.start, linestyle="none", marker="o", markersize=8, color="white",
                                       markeredgecolor="black", markeredgewidth=1.3, zorder=6, label="start",
                                       animated=True)
        lo = self.ax_loss
        lo.set_yscale("log")
        lo.set_xlabel("step $t$")
        lo.set_ylabel(r"$f(\theta_t) - f^*$")
        lo.set_title("Loss per step (log scale)")
        lo.set_animated(True)
        self.lines, self.ends, self.loss_lines = {}, {}, {}
        for o in OPTIONS:
            color = viz.color_for(o)
            self.lines[o], self.ends[o] = viz._path_line(ax, np.zeros((1, 2)), o, color, "-", False)
            self.loss_lines[o] = lo.plot([], [], color=color, label=o)[0]
            self.lines[o].set_animated(True)
            self.ends[o].set_animated(True)
        self._legend = None
        self._background = None

    def _rebuild_legend(self) -> None:
        if self._legend is not None:
            self._legend.remove()
        handles = [self.minimum_marker, self.start_marker] + [self.lines[o] for o in self.selected]
        with viz.style():
            self._legend = self.figure.legend(handles=handles, labels=[h.get_label() for h in handles],
                                              loc="outside lower center", ncols=min(len(handles), 7))
        self.figure.set_layout_engine("constrained", wspace=0.07)  # room for the new legend
        self._background = None

    def run(self) -> dict[str, _problems.Trajectory]:
        """Run every selected optimizer from the start point; returns option -> Trajectory."""
        v = self.values
        start = (v["start_x"], v["start_y"])
        self.trajectories, self.messages = {}, []
        for option, (name, hyper) in self.configs().items():
            problem = self.problem
            if problem.rng is not None:  # a noisy problem: every run (and redraw) sees the same noise
                problem = dataclasses.replace(problem, rng=copy.deepcopy(problem.rng))
            try:
                self.trajectories[option] = _problems.run(problem, name, start=start, steps=int(v["steps"]),
                                                          label=option, **hyper)
            except (ValueError, TypeError) as err:
                self.messages.append(f"{option}: {err}")
        return self.trajectories

    def update(self, structure: bool = False) -> None:
        """Re-run the optimizers and redraw (``structure``: the selection changed too)."""
        with viz.style():
            self._update(structure)

    def _update(self, structure: bool) -> None:
        trajs = self.run()
        for o in OPTIONS:
            t = trajs.get(o)
            shown = t is not None
            for artist in (self.lines[o], self.ends[o], self.loss_lines[o]):
                artist.set_visible(shown)
            if not shown:
                continue
            p = t.points
            self.lines[o].set_data(p[:, 0], p[:, 1])
            self.lines[o].set_markevery(viz._markevery(len(p)))
            self.ends[o].set_data(p[-1:, 0], p[-1:, 1])
            self.ends[o].set_marker("X" if t.diverged else "o")
            gap = t.losses - t.min_loss
            self.loss_lines[o].set_data(np.arange(len(gap)), np.where(gap > 0, gap, np.nan))
        self.start_marker.set_data([self.values["start_x"]], [self.values["start_y"]])
        lo = self.ax_loss
        lo.relim(visible_only=True)
        lo.autoscale_view()
        lo.set_xlim(0, max(int(self.values["steps"]), 1))
        viz.cap_diverged_ylim(lo, [t.losses[0] - t.min_loss for t in trajs.values()])
        if structure or self._legend is None:
            self._rebuild_legend()
        self._render()
        self._update_status()

    def _render(self) -> None:
        """Blit: the still picture is drawn once (then copied back), the paths and the loss panel
        are drawn over it, and the canvas is encoded as PNG."""
        fig = self.figure
        canvas = fig.canvas
        with viz.style():
            if self._background is None:
                self.ax_loss.set_animated(False)
                canvas.draw()  # lay out the whole figure once, loss panel included...
                fig.set_layout_engine("none")  # ...and keep that layout
                self.ax_loss.set_animated(True)
                canvas.draw()  # the still picture: everything but the animated artists
                self._background = canvas.copy_from_bbox(fig.bbox)
            else:
                canvas.restore_region(self._background)
            for o in self.selected:
                fig.draw_artist(self.lines[o])
                fig.draw_artist(self.ends[o])
            fig.draw_artist(self.start_marker)
            fig.draw_artist(self.minimum_marker)
            fig.draw_artist(self.ax_loss)
        self._show(viz.palette_png(canvas.buffer_rgba()))

    def _update_status(self) -> None:
        if self.status is None:
            return
        parts = []
        for o, (_, hyper) in self.configs().items():
            t = self.trajectories.get(o)
            end = "diverged" if t is not None and t.diverged else (
                f"f − f* = {t.losses[-1] - t.min_loss:.2e}" if t is not None else "not run")
            parts.append(f"<b>{o}</b> lr {hyper['lr']:g}: {end}")
        self.status.value = " &nbsp;·&nbsp; ".join(parts + self.messages)


def playground(problem: str | _problems.Problem = "rosenbrock",
               optimizers: Sequence[str] = ("SGD", "Momentum", "Adam"), **kwargs: Any) -> Playground:
    """An interactive playground: pick a problem and optimizers, move the learning rate (a
    multiplier of each optimizer's default lr on that problem), μ/β₁, β₂, the number of steps
    and the start point; the landscape and the loss curves redraw as the controls move.

    Options: SGD, Momentum (SGD with momentum μ), Nesterov, Adagrad, RMSprop, Adam, AdamW,
    NAdam, RAdam, AdaBelief, Lion. See :class:`Playground`."""
    return Playground(problem, optimizers, **kwargs)


# ----------------------------------------------------------------------------- schedules
#: Schedule explorer: schedule -> the controls it uses.
SCHEDULE_ARGS: dict[str, tuple[str, ...]] = {
    "constant": (),
    "step_decay": ("step_size", "gamma"),
    "exponential": ("exp_gamma",),
    "cosine": ("min_lr",),
    "linear_warmup": ("warmup_steps",),
    "warmup_cosine": ("warmup_steps", "min_lr"),
    "one_cycle": ("pct_start",),
    "cosine_restarts": ("first_period", "period_mult", "min_lr"),
}


class ScheduleExplorer(_Explorer):
    """A learning-rate schedule (left) and what it does to a short training run (right): a
    small MLP (2-16-16-2) trained with SGD + momentum 0.9 on the two-moons data, its minibatch loss
    (moving average) under the schedule and under a constant lr for comparison, and the final
    validation accuracy of both. Each redraw trains the network once (a few hundredths of a
    second) and caches the constant-lr run."""

    caption = "schedule explorer"

    def __init__(self, schedule: str = "warmup_cosine", *, lr: float = 0.1, epochs: int = 20, dpi: float = 80):
        super().__init__()
        from . import data

        if schedule not in SCHEDULE_ARGS:
            raise ValueError(f"unknown schedule {schedule!r}; choose from {list(SCHEDULE_ARGS)}")
        self.train_data = data.moons(n=240, noise=0.2, seed=0)
        self.val_data = data.moons(n=200, noise=0.2, seed=1)
        self.batch_size = 32
        self.values: dict[str, Any] = dict(
            schedule=schedule, lr=lr, epochs=epochs, step_size=40, gamma=0.5, exp_gamma=0.99, min_lr=0.0,
            warmup_steps=20, pct_start=0.3, first_period=40, period_mult=1,
        )
        self._reference: dict[tuple[float, int], Any] = {}
        self.figure, (self.ax_lr, self.ax_loss) = viz.subplots(1, 2, size=(11.0, 4.2), dpi=dpi)
        if W is not None:
            self._build_controls()
        self.update()

    @property
    def steps_per_epoch(self) -> int:
        return -(-len(self.train_data) // self.batch_size)

    def _build_controls(self) -> None:
        v = self.values
        style = {"description_width": "95px"}

        def lay() -> Any:  # one Layout per control: hiding one must not hide the others
            return W.Layout(width="330px")

        c = self.controls
        c["lr"] = W.FloatLogSlider(value=v["lr"], base=10, min=-3, max=0, step=0.05, description="peak lr",
                                   readout_format=".3g", layout=lay(), style=style)
        c["epochs"] = W.IntSlider(value=v["epochs"], min=5, max=60, step=5, description="epochs", layout=lay(),
                                  style=style)
        c["step_size"] = W.IntSlider(value=v["step_size"], min=5, max=200, step=5, description="step size",
                                     layout=lay(), style=style)
        c["gamma"] = W.FloatSlider(value=v["gamma"], min=0.05, max=1.0, step=0.05, description="γ", layout=lay(),
                                   style=style)
        c["exp_gamma"] = W.FloatSlider(value=v["exp_gamma"], min=0.95, max=1.0, step=0.001, readout_format=".3f",
                                       description="γ per step", layout=lay(), style=style)
        c["min_lr"] = W.FloatSlider(value=v["min_lr"], min=0.0, max=0.5, step=0.01, description="min lr / lr",
                                    layout=lay(), style=style)
        c["warmup_steps"] = W.IntSlider(value=v["warmup_steps"], min=1, max=100, step=1, description="warmup steps",
                                        layout=lay(), style=style)
        c["pct_start"] = W.FloatSlider(value=v["pct_start"], min=0.05, max=0.5, step=0.05, description="pct start",
                                       layout=lay(), style=style)
        c["first_period"] = W.IntSlider(value=v["first_period"], min=10, max=200, step=10,
                                        description="first period", layout=lay(), style=style)
        c["period_mult"] = W.IntSlider(value=v["period_mult"], min=1, max=3, description="period ×", layout=lay(),
                                       style=style)
        c["schedule"] = W.Dropdown(options=list(SCHEDULE_ARGS), value=v["schedule"], description="schedule",
                                   layout=lay(), style=style)
        self._observe()
        self._shape_box = W.VBox([c[k] for k in ("step_size", "gamma", "exp_gamma", "min_lr", "warmup_steps",
                                                 "pct_start", "first_period", "period_mult")])
        self._show_args()
        self.widget = W.VBox([
            W.HBox([W.VBox([c["schedule"], c["lr"], c["epochs"]]), self._shape_box]),
            self.output, self.status,
        ])

    def _show_args(self) -> None:
        used = SCHEDULE_ARGS[self.values["schedule"]]
        for k in ("step_size", "gamma", "exp_gamma", "min_lr", "warmup_steps", "pct_start", "first_period",
                  "period_mult"):
            self.controls[k].layout.display = None if k in used else "none"

    def _changed(self, name: str, value: Any) -> None:
        self.values[name] = value
        if name == "schedule":
            self._show_args()
        self.update()

    def schedule(self) -> Any:
        """The schedule the controls describe, over the whole run."""
        from . import schedules as S

        v = self.values
        lr, total = float(v["lr"]), int(v["epochs"]) * self.steps_per_epoch
        name = v["schedule"]
        if name == "constant":
            return S.constant(lr)
        if name == "step_decay":
            return S.step_decay(lr, int(v["step_size"]), float(v["gamma"]))
        if name == "exponential":
            return S.exponential(lr, float(v["exp_gamma"]))
        if name == "cosine":
            return S.cosine(lr, total, min_lr=lr * v["min_lr"])
        if name == "linear_warmup":
            return S.linear_warmup(lr, min(int(v["warmup_steps"]), total))
        if name == "warmup_cosine":
            return S.warmup_cosine(lr, min(int(v["warmup_steps"]), total - 1), total, min_lr=lr * v["min_lr"])
        if name == "one_cycle":
            return S.one_cycle(lr, total, pct_start=float(v["pct_start"]))
        return S.cosine_restarts(lr, int(v["first_period"]), int(v["period_mult"]), min_lr=lr * v["min_lr"])

    def _train(self, schedule: Any) -> Any:
        from . import nn, optim, train

        model = nn.MLP([2, 16, 16, 2], seed=0)
        opt = optim.SGD(model, lr=float(schedule(0)), momentum=0.9)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a diverging run is shown, not warned about
            return train.fit(model, "cross_entropy", opt, self.train_data, epochs=int(self.values["epochs"]),
                             batch_size=self.batch_size, schedule=schedule, validation=self.val_data, seed=0,
                             progress=False)

    def update(self) -> None:
        """Rebuild the schedule, train with it (and, once per lr and length, with a constant lr),
        redraw both panels."""
        from . import schedules as S

        v = self.values
        try:
            sched = self.schedule()
        except (ValueError, TypeError) as err:
            if self.status is not None:
                self.status.value = f"<span style='color:#b00'>{err}</span>"
            return
        history = self._train(sched)
        key = (float(v["lr"]), int(v["epochs"]))
        if key not in self._reference:
            self._reference[key] = self._train(S.constant(float(v["lr"])))
        reference = self._reference[key]
        total = int(v["epochs"]) * self.steps_per_epoch
        self.history, self.reference = history, reference
        with viz.style():
            for ax in (self.ax_lr, self.ax_loss):
                ax.clear()
            viz.schedule_plot({v["schedule"]: sched, "constant lr": S.constant(float(v["lr"]))}, total,
                              ax=self.ax_lr, title="Learning rate per step")
            window = self.steps_per_epoch
            runs = {f"{v['schedule']} (val acc {_acc(history)})": history,
                    f"constant lr (val acc {_acc(reference)})": reference}
            viz.loss_curves(runs, smooth=window, ax=self.ax_loss, colors=dict(zip(runs, viz.SERIES)),
                            title="Minibatch loss, SGD + momentum on moons")
            self.ax_loss.set_xlim(0, total)
        self.figure.canvas.draw()
        self._show(viz.palette_png(self.figure.canvas.buffer_rgba()))
        if self.status is not None:
            self.status.value = (f"{total} steps ({v['epochs']} epochs × {self.steps_per_epoch}); "
                                 f"final validation accuracy: {_acc(history)} with {v['schedule']}, "
                                 f"{_acc(reference)} with a constant lr" + (" — diverged" if history.diverged else ""))


def _acc(history: Any) -> str:
    return f"{history.val_accuracy[-1]:.0%}" if history.val_accuracy else "n/a (diverged)"


def schedule_explorer(schedule: str = "warmup_cosine", **kwargs: Any) -> ScheduleExplorer:
    """Pick a learning-rate schedule and its arguments; see the lr per step and its effect on a
    short training run (a small MLP on the two-moons data) next to a constant lr. See
    :class:`ScheduleExplorer`."""
    return ScheduleExplorer(schedule, **kwargs)


# ----------------------------------------------------------------------------- live training
class LiveTraining:
    """A ``fit`` callback that shows loss and accuracy per epoch, updating while training runs::

        live = widgets.live_training(epochs=30)
        history = train.fit(model, "cross_entropy", opt, data, epochs=30, validation=val,
                            callback=live, progress=False)

    The figure is shown (as a PNG in a notebook display that each epoch updates in place) at the
    first epoch, or where ``live`` is displayed. The final picture stays in the saved notebook, so
    the output reads everywhere; no widget is needed. ``.figure`` and ``.history`` are kept.
    """

    def __init__(self, epochs: int | None = None, *, title: str = "Training", dpi: float = 80):
        self.epochs, self.title = epochs, title
        self.history: Any = None
        self.figure, (self.ax_loss, self.ax_acc) = viz.subplots(1, 2, size=(10.0, 3.9), dpi=dpi)
        self.display_id = uuid.uuid4().hex
        self._displayed = False
        self.lines: dict[str, Any] = {}
        with viz.style():
            for ax, metric in ((self.ax_loss, "loss"), (self.ax_acc, "accuracy")):
                for part, color, ls in (("train", "#D55E00", "--"), ("val", "#0072B2", "-")):
                    label = "training" if part == "train" else "validation"
                    self.lines[f"{part}_{metric}"] = ax.plot([], [], color=color, linestyle=ls, marker="o",
                                                             markersize=3, label=label)[0]
                ax.set_xlabel("epoch")
                ax.set_ylabel(metric)
                ax.set_title(metric.capitalize())
                ax.xaxis.set_major_locator(ticker.MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
            self.ax_acc.yaxis.set_major_formatter(ticker.PercentFormatter(1.0, decimals=0))
            self.figure.legend(handles=[self.lines["train_loss"], self.lines["val_loss"]],
                               loc="outside lower center", ncols=2)
            self.suptitle = self.figure.suptitle(f"{title}: waiting for the first epoch")
        self._rescale()

    def _rescale(self) -> None:
        n = self.history.epochs if self.history is not None else 0
        right = max(self.epochs or n, n, 2)
        for ax in (self.ax_loss, self.ax_acc):
            ax.relim()
            ax.autoscale_view()
            ax.set_xlim(0.5, right + 0.5)

    def __call__(self, history: Any) -> None:
        """Called by ``fit`` after every epoch: redraw with the history so far."""
        self.history = history
        for key, line in self.lines.items():
            values = getattr(history, key)
            line.set_data(np.arange(1, len(values) + 1), values)
        self._rescale()
        total = f"/{self.epochs}" if self.epochs else ""
        self.suptitle.set_text(f"{self.title}: epoch {history.epochs}{total}")
        self._publish()

    def _bundle(self) -> dict[str, Any]:
        text = self.history.summary() if self.history is not None else "waiting for the first epoch"
        self.figure.canvas.draw()
        return {"image/png": base64.b64encode(viz.palette_png(self.figure.canvas.buffer_rgba())).decode("ascii"),
                "text/plain": f"{self.title}: {text}"}

    def _publish(self) -> None:
        try:
            from IPython import get_ipython
            from IPython.display import update_display
        except ImportError:  # pragma: no cover
            return
        if get_ipython() is None:
            return
        if self._displayed:
            update_display(self._bundle(), display_id=self.display_id, raw=True)
        else:
            self._ipython_display_()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self._bundle(), display_id=self.display_id, raw=True)
        self._displayed = True

    def __repr__(self) -> str:
        text = self.history.summary() if self.history is not None else "no epoch yet"
        return f"<LiveTraining: {text}>"


def live_training(epochs: int | None = None, **kwargs: Any) -> LiveTraining:
    """A callback for :func:`optimlab.train.fit` that draws loss and accuracy curves while it
    runs: ``fit(..., callback=live_training(epochs=30), progress=False)``. See :class:`LiveTraining`."""
    return LiveTraining(epochs, **kwargs)
