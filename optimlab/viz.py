r"""Plots and animations for the course, with one look across every chapter.

    >>> from optimlab import problems, viz
    >>> p = problems.rosenbrock()
    >>> runs = [problems.run(p, "SGD", steps=300, lr=1e-3),
    ...         problems.run(p, "Adam", steps=300, lr=0.1)]
    >>> viz.landscape(p, runs)                       # contours, minimum, paths, legend
    >>> viz.loss_curves({r.label: r for r in runs})  # f(θ_t) − f* per step, log scale
    >>> viz.race(p, runs)                            # an animation that plays in the notebook

Every function returns a matplotlib :class:`~matplotlib.figure.Figure` (or, for :func:`race`, a
:class:`Race`) with a title, labelled axes and a legend whenever more than one line is drawn;
most accept ``ax=`` to draw into an Axes of your own. An optimizer keeps its colour everywhere
(:func:`color_for`): Adam is the same vermilion in every chapter.

The figures are made without pyplot: nothing piles up in ``plt.get_fignums()``, and a figure is
shown only when it is the value of a notebook cell (or saved with ``fig.savefig``). Its text form
is ``<Figure: its title>``, which is the same on every run, so notebook tests (nbval) that
compare text outputs stay stable. Use :func:`subplots` for figures of your own with the same look.
"""

from __future__ import annotations

import contextlib
import functools
import io
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
from cycler import cycler
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, ListedColormap, LogNorm, to_rgb
from matplotlib.figure import Figure as _MplFigure
from matplotlib.lines import Line2D

from . import problems as _problems

__all__ = [
    "COLORS", "SERIES", "STYLE", "Figure", "Race", "cap_diverged_ylim", "color_for", "contour_levels",
    "decision_regions", "effective_steps", "history_plot", "landscape", "loss_curves", "new_figure",
    "optimizer_name", "palette_png", "problem_title", "race", "schedule_plot", "schedule_values", "style",
    "subplots", "to_png",
]

# ----------------------------------------------------------------------------- colours
#: Okabe & Ito (2008) and Paul Tol's "muted" scheme: both safe for colour-blind readers.
_OKABE_ITO = {
    "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
    "blue": "#0072B2", "vermilion": "#D55E00", "purple": "#CC79A7", "black": "#000000",
}
_TOL_MUTED = {
    "indigo": "#332288", "cyan": "#88CCEE", "teal": "#44AA99", "green": "#117733",
    "olive": "#999933", "sand": "#DDCC77", "rose": "#CC6677", "wine": "#882255", "purple": "#AA4499",
}

#: The fixed colour of each optimizer of the course, the same in every chapter.
COLORS: dict[str, str] = {
    "SGD": "#222222",
    "Momentum": _OKABE_ITO["blue"],
    "Nesterov": _OKABE_ITO["sky"],
    "Adagrad": _OKABE_ITO["green"],
    "RMSprop": _OKABE_ITO["purple"],
    "Adadelta": _TOL_MUTED["teal"],
    "Adam": _OKABE_ITO["vermilion"],
    "AdamW": _TOL_MUTED["wine"],
    "Adamax": _TOL_MUTED["olive"],
    "NAdam": _OKABE_ITO["orange"],
    "RAdam": _TOL_MUTED["indigo"],
    "AdaBelief": _TOL_MUTED["purple"],
    "Lion": _TOL_MUTED["green"],
    "Amos": _TOL_MUTED["rose"],
}
#: Colours handed out, in order, to names that are not in COLORS.
_SPARE = [_TOL_MUTED["cyan"], _TOL_MUTED["sand"], "#777777", _OKABE_ITO["yellow"], "#AAAAAA", "#5D3A9B"]
_spare_given: dict[str, str] = {}

#: Lines that are not optimizers (schedules, classes): a fixed colour-blind-safe cycle.
SERIES = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#222222", "#999933"]

_ALIASES = {name.lower(): name for name in COLORS}
_ALIASES.update({"gd": "SGD", "heavyball": "Momentum", "heavy": "Momentum", "nag": "Nesterov"})


def optimizer_name(label: str) -> str | None:
    """The course optimizer a label names, or None: ``"Adam(lr=0.1)"`` → ``"Adam"``.

    SGD labels with a momentum become ``"Momentum"`` (``"SGD+momentum"``, ``"SGD(lr=0.01,
    momentum=0.9)"``), or ``"Nesterov"`` when they say so.
    """
    m = re.match(r"\s*([A-Za-z][A-Za-z0-9]*)", str(label))
    if not m:
        return None
    name = _ALIASES.get(m.group(1).lower())
    if name == "SGD":
        rest = str(label)[m.end():].lower()
        if "nesterov" in rest and not re.search(r"nesterov\s*=\s*false", rest):
            return "Nesterov"
        if "momentum" in rest and not re.search(r"momentum\s*=\s*0(\.0*)?(?![\d.e])", rest):
            return "Momentum"
    return name


def color_for(label: str) -> str:
    """The colour (hex) of a line labelled ``label``: fixed per optimizer (see COLORS) from the
    label's leading optimizer name, so Adam is the same colour in every figure. A label that
    names no course optimizer gets the next spare colour, kept for that name from then on."""
    name = optimizer_name(label)
    if name is not None:
        return COLORS[name]
    m = re.match(r"\s*([^\s(,:]+)", str(label))
    key = m.group(1) if m else str(label)
    if key not in _spare_given:
        _spare_given[key] = _SPARE[len(_spare_given) % len(_SPARE)]
    return _spare_given[key]


_DASHES = ["-", "--", ":", "-."]


def _line_styles(labels: Sequence[str], colors: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(colour, linestyle) per label: ``colors[label]`` if given, else the optimizer's colour;
    when two lines of one figure get the same colour (two runs of Adam), the later ones are
    dashed, dotted, dash-dotted."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        c = (colors or {}).get(label) or color_for(label)
        k = seen.get(c, 0)
        seen[c] = k + 1
        out.append((c, _DASHES[k % len(_DASHES)]))
    return out


def _lighten(color: str, amount: float) -> tuple[float, float, float]:
    r, g, b = to_rgb(color)
    return (r + (1 - r) * amount, g + (1 - g) * amount, b + (1 - b) * amount)


#: Filled contours: near-white at the minimum, a quiet slate blue up the walls, so coloured paths
#: stay readable everywhere.
LANDSCAPE_CMAP = LinearSegmentedColormap.from_list(
    "optimlab_landscape", ["#FFFFFF", "#EEF2F7", "#D6DEE9", "#B6C3D5", "#95A5BD"]
)

# ----------------------------------------------------------------------------- the look
PANEL = (6.4, 4.8)  # inches per panel
STYLE: dict[str, Any] = {
    "figure.figsize": PANEL,
    "figure.dpi": 100,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.dpi": 100,
    "font.size": 11,
    "axes.titlesize": 12.5,
    "axes.titlelocation": "center",
    "axes.labelsize": 11.5,
    "axes.edgecolor": "0.25",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "axes.prop_cycle": cycler(color=SERIES),
    "grid.color": "0.88",
    "grid.linewidth": 0.6,
    "grid.linestyle": "-",
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 9.5,
    "legend.framealpha": 0.92,
    "legend.edgecolor": "0.8",
    "legend.fancybox": False,
    "legend.title_fontsize": 9.5,
    "lines.linewidth": 1.8,
    "lines.solid_capstyle": "round",
    "mathtext.fontset": "dejavusans",
    "figure.titlesize": 13.5,
    "figure.titleweight": "bold",
    "animation.embed_limit": 8.0,  # MB
}


def style() -> contextlib.AbstractContextManager:
    """The course look as a context manager, for figures made with pyplot::

        with viz.style():
            fig, ax = plt.subplots()
    """
    return mpl.rc_context(STYLE)


def _styled(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with mpl.rc_context(STYLE):
            return fn(*args, **kwargs)

    return wrapper


class Figure(_MplFigure):
    """A matplotlib Figure (rendered with Agg, not registered with pyplot) whose text form is
    ``<Figure: its title>``: stable between runs, unlike ``<Figure size 640x480 with 1 Axes>``."""

    def describe(self) -> str:
        """The figure's title, or the titles of its axes."""
        sup = self._suptitle.get_text() if self._suptitle is not None else ""
        if sup:
            return sup
        titles = [ax.get_title() for ax in self.axes if ax.get_title()]
        return "; ".join(titles) or "untitled"

    def __repr__(self) -> str:
        return f"<Figure: {self.describe()}>"

    def _repr_png_(self) -> bytes:
        return to_png(self)


def new_figure(size: tuple[float, float] = PANEL, dpi: float | None = None) -> Figure:
    """An empty course :class:`Figure` (constrained layout, rendered with Agg, not in pyplot)."""
    fig = Figure(figsize=size, dpi=dpi or STYLE["figure.dpi"], layout="constrained")
    FigureCanvasAgg(fig)
    return fig


@_styled
def subplots(nrows: int = 1, ncols: int = 1, *, size: tuple[float, float] | None = None,
             dpi: float | None = None, sharex: bool | str = False, sharey: bool | str = False,
             **subplot_kw: Any) -> tuple[Figure, Any]:
    """A course-styled :class:`Figure` and its axes, like ``plt.subplots`` (without pyplot).

    ``size`` defaults to 6.4 × 4.8 inches per panel; the layout is constrained, so titles and
    labels are never clipped. ``sharex``/``sharey`` are matplotlib's; other keywords go to each
    axes (e.g. ``projection="3d"``)."""
    w, h = PANEL
    fig = new_figure(size or (w * ncols, h * nrows), dpi)
    axes = fig.subplots(nrows, ncols, sharex=sharex, sharey=sharey, squeeze=True, subplot_kw=subplot_kw or None)
    return fig, axes


def _fig_ax(ax: Any, **kw: Any) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax
    return subplots(**kw)


def to_png(fig: Any, dpi: float | None = None) -> bytes:
    """The figure rendered as PNG bytes (what a notebook shows)."""
    buf = io.BytesIO()
    with mpl.rc_context(STYLE):
        fig.savefig(buf, format="png", dpi=dpi or fig.dpi, facecolor="white")
    return buf.getvalue()


def _legend(ax: Any, **kw: Any) -> None:
    """A legend when there is more than one labelled artist (or ``force``)."""
    force = kw.pop("force", False)
    handles, labels = ax.get_legend_handles_labels()
    if len(handles) > 1 or (force and handles):
        ax.legend(**kw)


# ----------------------------------------------------------------------------- landscapes
def _problem(problem: Any) -> _problems.Problem:
    return _problems.get(problem) if isinstance(problem, str) else problem


def problem_title(problem: _problems.Problem) -> str:
    """``"Rosenbrock"``, ``"Quadratic, κ = 100"``, ``"Beale, gradient noise σ = 0.5"``."""
    title = problem.name.capitalize()
    kappa = getattr(problem, "condition_number", None)
    if kappa is not None:
        title += f", κ = {kappa:g}"
    if problem.noise_std > 0:
        title += f", gradient noise σ = {problem.noise_std:g}"
    return title


def contour_levels(gap: np.ndarray, n: int = 24, low_quantile: float = 0.002, span: float = 1e-5,
                   decades: float = 9.0) -> np.ndarray:
    """``n`` log-spaced levels for filled contours of ``gap = f − f*`` over a grid, from ``lo`` up
    to the grid's largest value ``hi``. ``lo`` is the smaller of ``span · hi`` (at least five
    decades, so that shallow bumps show) and the value below which ``low_quantile`` of the grid
    lies (so the minimum's basin gets levels of its own, however steep the walls around it),
    but at most ``decades`` powers of ten below ``hi``."""
    finite = gap[np.isfinite(gap)]
    hi = float(np.max(finite)) if finite.size else 1.0
    positive = finite[finite > 0]
    lo = hi * span
    if positive.size:
        lo = min(lo, float(np.quantile(positive, low_quantile)))
    lo = max(lo, hi * 10.0**-decades)
    if not hi > lo:
        hi = lo * 10
    return np.geomspace(lo, hi, n)


def _trajectory_list(trajectories: Any) -> list[tuple[str, np.ndarray, bool]]:
    """(label, points (n, 2), diverged) from a Trajectory, a sequence of them, or a mapping
    label -> Trajectory or (n, 2) array."""
    if trajectories is None:
        return []
    if isinstance(trajectories, _problems.Trajectory):
        trajectories = [trajectories]
    items = trajectories.items() if isinstance(trajectories, Mapping) else [
        (getattr(t, "label", f"path {i + 1}"), t) for i, t in enumerate(trajectories)
    ]
    out = []
    for label, t in items:
        points = np.asarray(getattr(t, "points", t), dtype=np.float64)
        if points.ndim != 2 or points.shape[1] != 2:
            raise ValueError(f"trajectory {label!r}: points must have shape (n, 2); got {points.shape}")
        out.append((str(label), points, bool(getattr(t, "diverged", False))))
    return out


def _markevery(n: int) -> int:
    """Every iterate gets a marker up to ~120 points, then every k-th."""
    return max(1, int(np.ceil(n / 120)))


def _draw_background(ax: Any, problem: _problems.Problem, *, levels: int, resolution: int,
                     bounds: Any, colorbar: bool) -> Any:
    """Filled log-spaced contours of f − f*, thin contour lines, the minima (stars); returns the
    filled ContourSet. Axes limits are the bounds; aspect is equal."""
    (x0, x1), (y0, y1) = bounds or problem.bounds
    X, Y, Z = problem.grid(resolution, bounds)
    gap = Z - problem.min_loss
    lv = contour_levels(gap, levels)
    shown = np.clip(gap, lv[0] * 0.5, None)
    filled = ax.contourf(X, Y, shown, levels=lv, cmap=LANDSCAPE_CMAP, norm=LogNorm(lv[0], lv[-1]),
                         extend="both", zorder=0)
    ax.contour(X, Y, shown, levels=lv[::2], colors="white", linewidths=0.45, alpha=0.7, zorder=1)
    if colorbar:
        _log_colorbar(ax, filled, r"$f(x, y) - f^*$  (log scale)")
    minima = problem.minima
    inside = minima[(minima[:, 0] >= x0) & (minima[:, 0] <= x1) & (minima[:, 1] >= y0) & (minima[:, 1] <= y1)]
    ax.plot(inside[:, 0], inside[:, 1], linestyle="none", marker="*", markersize=15, color="#FFD23F",
            markeredgecolor="black", markeredgewidth=0.9, zorder=6,
            label="global minimum" if len(inside) == 1 else "global minima")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="box")
    ax.grid(False)
    ax.set_xlabel("$x$")
    ax.set_ylabel("$y$")
    for side in ("top", "right"):
        ax.spines[side].set_visible(True)
    return filled


def _log_colorbar(ax: Any, mappable: Any, label: str) -> Any:
    """A colour bar for log-spaced filled contours, ticked at the powers of ten (or at a few
    round values when the range spans less than two decades)."""
    cbar = ax.figure.colorbar(mappable, ax=ax, shrink=0.9, pad=0.03, aspect=24)
    cbar.set_label(label)
    cbar.outline.set_linewidth(0.5)
    lo, hi = mappable.norm.vmin, mappable.norm.vmax
    exps = np.arange(np.ceil(np.log10(lo)), np.floor(np.log10(hi)) + 1)
    if len(exps) >= 2:
        exps = exps[:: int(np.ceil(len(exps) / 6))]
        cbar.set_ticks(10.0**exps)
        cbar.ax.yaxis.set_major_formatter(mpl.ticker.LogFormatterSciNotation())
    else:
        cbar.set_ticks([float(f"{v:.1g}") for v in np.geomspace(lo, hi, 4)[1:-1]])
        cbar.ax.yaxis.set_major_formatter(mpl.ticker.FormatStrFormatter("%g"))
    cbar.ax.minorticks_off()
    return cbar


def _legend_below(fig: Any, ax: Any, own: bool, loc: str | None = "below") -> None:
    """The legend outside, below the plot (figures made here), else inside ``ax`` at ``loc``."""
    if loc is None:
        return
    handles, labels = ax.get_legend_handles_labels()
    if len(handles) <= 1:
        return
    if loc == "below" and own:
        ncols, _ = _legend_grid(labels, fig.get_figwidth())
        fig.legend(handles, labels, loc="outside lower center", ncols=ncols)
    else:
        ax.legend(loc="best" if loc == "below" else loc)


def _legend_grid(labels: Sequence[str], width_in: float) -> tuple[int, int]:
    """(columns, rows) for a legend of these labels across a figure ``width_in`` inches wide
    (about 13 characters per inch at the legend's font size, plus room for each handle)."""
    per_entry = max(len(lab) for lab in labels) + 6
    ncols = max(1, min(len(labels), int(width_in * 13 // per_entry)))
    return ncols, -(-len(labels) // ncols)


def _path_line(ax: Any, points: np.ndarray, label: str, color: str, ls: str, diverged: bool,
               markers: bool = True) -> tuple[Line2D, Line2D]:
    """A trajectory: the path with small markers at the iterates, and its end point (a dot, or a
    cross if it diverged). The path line carries exactly the points."""
    (line,) = ax.plot(points[:, 0], points[:, 1], color=color, linestyle=ls, linewidth=1.7,
                      marker="o" if markers else None, markersize=2.6, markeredgewidth=0,
                      markevery=_markevery(len(points)), label=label + (" (diverged)" if diverged else ""),
                      zorder=4)
    (end,) = ax.plot(points[-1:, 0], points[-1:, 1], linestyle="none", color=color,
                     marker="X" if diverged else "o", markersize=8 if diverged else 6.5,
                     markeredgecolor="white", markeredgewidth=1.0, zorder=5, label="_nolegend_")
    return line, end


@_styled
def landscape(problem: Any, trajectories: Any = (), *, ax: Any = None, title: str | None = None,
              levels: int = 24, resolution: int = 241, bounds: Any = None, colorbar: bool = True,
              markers: bool = True, start: Any = None, legend: str | None = "below") -> Any:
    """Filled contours of f − f* (log-spaced levels, with a colour bar) of a 2-D problem, its
    minima (stars), the start point, and each trajectory as a line with a marker at every
    iterate (every k-th for long runs) ending in a dot (a cross if it diverged).

    ``problem`` is a :class:`~optimlab.problems.Problem` or its name; ``trajectories`` a
    Trajectory, a list of them (labelled by ``.label``) or a mapping label -> Trajectory or
    (n, 2) array. ``bounds`` ((xmin, xmax), (ymin, ymax)) defaults to the problem's; ``start``
    (points (k, 2)) to the trajectories' first points, or the problem's start without any.
    ``legend="below"`` puts the legend under the plot (inside ``ax`` when you pass one); any
    other matplotlib ``loc`` puts it inside; None leaves it out.
    """
    problem = _problem(problem)
    own = ax is None
    paths = _trajectory_list(trajectories)
    size = None
    if own and legend == "below" and paths:  # make room under the plot for the legend
        _, rows = _legend_grid(["global minimum", "start"] + [p[0] + " (diverged)" * p[2] for p in paths], PANEL[0])
        size = (PANEL[0], PANEL[1] + 0.25 * rows)
    fig, ax = _fig_ax(ax, size=size)
    _draw_background(ax, problem, levels=levels, resolution=resolution, bounds=bounds, colorbar=colorbar)
    if start is None:
        start = [p[0] for _, p, _ in paths] if paths else problem.start[None]
    starts = np.unique(np.reshape(np.asarray(start, dtype=np.float64), (-1, 2)), axis=0)
    ax.plot(starts[:, 0], starts[:, 1], linestyle="none", marker="o", markersize=8, color="white",
            markeredgecolor="black", markeredgewidth=1.3, zorder=6, label="start")
    for (label, points, diverged), (color, ls) in zip(paths, _line_styles([p[0] for p in paths])):
        _path_line(ax, points, label, color, ls, diverged, markers)
    ax.set_title(title if title is not None else problem_title(problem))
    _legend_below(fig, ax, own, legend)
    return fig


# ----------------------------------------------------------------------------- loss curves
def _is_run(x: Any) -> bool:
    from .train import History

    return isinstance(x, (_problems.Trajectory, History)) or (isinstance(x, np.ndarray) and x.ndim == 1)


def _curve(run: Any) -> tuple[np.ndarray, str, bool]:
    """(values per step, kind, diverged) of one run."""
    from .train import History

    if isinstance(run, _problems.Trajectory):
        return np.asarray(run.losses - run.min_loss, dtype=np.float64), "gap", run.diverged
    if isinstance(run, History):
        return np.asarray(run.loss, dtype=np.float64), "minibatch", run.diverged
    y = np.asarray(run, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"a loss curve must be 1-D; got shape {y.shape}")
    return y, "raw", False


def _as_runs(runs: Any) -> dict[str, Any]:
    if isinstance(runs, Mapping):
        return {str(k): v for k, v in runs.items()}
    if _is_run(runs):
        runs = [runs]
    out = {}
    for i, r in enumerate(runs):
        out[getattr(r, "label", None) or ("training" if not isinstance(r, np.ndarray) else f"run {i + 1}")] = r
    return out


def _moving_average(y: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over up to ``window`` steps (shorter at the start)."""
    c = np.concatenate([[0.0], np.nancumsum(y)])
    idx = np.arange(1, len(y) + 1)
    lo = np.maximum(idx - window, 0)
    return (c[idx] - c[lo]) / (idx - lo)


_YLABELS = {
    "gap": r"$f(\theta_t) - f^*$  (loss − min loss)",
    "minibatch": "minibatch loss",
    "raw": "loss",
}


@_styled
def loss_curves(runs: Any, *, log: bool = True, band: str | None = "minmax", smooth: int | None = None,
                ax: Any = None, title: str | None = None, ylabel: str | None = None,
                colors: Mapping[str, str] | None = None) -> Any:
    """Loss per step of one or several runs, on a log y axis when ``log`` (and the values are
    positive).

    ``runs`` maps a label to a 1-D array, a :class:`~optimlab.problems.Trajectory` (plotted as
    ``losses − min_loss``), a :class:`~optimlab.train.History` (its per-step minibatch ``loss``),
    or a list of those: several seeds, drawn as their mean with a shaded band (``band="minmax"``:
    min to max over the seeds; ``"std"``: mean ± 1 standard deviation; None: no band), which
    the legend states. Runs of different lengths (diverged seeds) are averaged where present.
    ``smooth=k`` draws a trailing k-step moving average over the faint raw curve (with several
    seeds, the mean and the band of the seeds' moving averages). Colours come
    from :func:`color_for` (by optimizer), or from ``colors`` (label -> colour) where given.
    """
    runs = _as_runs(runs)
    if band not in ("minmax", "std", None):
        raise ValueError(f"band must be 'minmax', 'std' or None; got {band!r}")
    band_text = {"minmax": "band: min–max", "std": "band: ±1 std", None: "no band"}[band]
    fig, ax = _fig_ax(ax)
    groups = {label: ([run] if _is_run(run) else list(run)) for label, run in runs.items()}
    seed_counts = {len(g) for g in groups.values() if len(g) > 1}
    # One shared note in the legend's title when every averaged run has the same number of seeds.
    shared_note = len(seed_counts) == 1 and all(len(g) > 1 for g in groups.values())
    kinds: set[str] = set()
    any_positive = False
    for (label, seeds), (color, ls) in zip(groups.items(), _line_styles(list(groups), colors)):
        curves = [_curve(s) for s in seeds]
        kinds.update(k for _, k, _ in curves)
        n = max(len(y) for y, _, _ in curves)
        Y = np.full((len(curves), n), np.nan)
        for i, (y, _, _) in enumerate(curves):
            Y[i, : len(y)] = y
        any_positive |= bool(np.any(Y > 0))
        steps = np.arange(n)
        legend = label
        with np.errstate(all="ignore"), _quiet_nan_warnings():
            raw_mean = np.nanmean(Y, axis=0)
            if smooth:  # the mean and the band of the seeds' smoothed curves (not of their noise)
                for i, (y, _, _) in enumerate(curves):
                    Y[i, : len(y)] = _moving_average(y, int(smooth))
            mean = np.nanmean(Y, axis=0)
            if len(curves) > 1:
                if not shared_note:
                    legend += f" (mean of {len(curves)} seeds; {band_text})"
                if band is not None:
                    if band == "minmax":
                        lo, hi = np.nanmin(Y, axis=0), np.nanmax(Y, axis=0)
                    else:
                        sd = np.nanstd(Y, axis=0)
                        lo, hi = mean - sd, mean + sd
                    ax.fill_between(steps, _positive(lo, log), hi, color=color, alpha=0.18, linewidth=0, zorder=2)
        if smooth:
            ax.plot(steps, _positive(raw_mean, log), color=color, linewidth=0.7, alpha=0.3, zorder=2)
        if len(curves) == 1 and curves[0][2]:
            legend += " (diverged)"
            last = np.flatnonzero(np.isfinite(_positive(mean, log)))
            if last.size:
                ax.plot(last[-1], mean[last[-1]], marker="X", color=color, markersize=8,
                        markeredgecolor="white", linestyle="none", zorder=4)
        ax.plot(steps, _positive(mean, log), color=color, linestyle=ls, label=legend, zorder=3)
    if log and any_positive:
        ax.set_yscale("log")
        if any(d for g in groups.values() for _, _, d in map(_curve, g)):
            cap_diverged_ylim(ax, [_curve(s)[0][0] for g in groups.values() for s in g])
    ax.set_xlabel("step $t$")
    ax.set_ylabel(ylabel or (_YLABELS[kinds.pop()] if len(kinds) == 1 else "loss"))
    ax.set_title(title if title is not None else "Loss per step")
    ax.set_xlim(left=0)
    notes = []
    if shared_note:
        notes.append(f"mean of {seed_counts.pop()} seeds, {band_text}")
    if smooth:
        notes.append(f"moving average over {int(smooth)} steps")
    _legend(ax, force=bool(notes), title="; ".join(notes) or None)
    return fig


def cap_diverged_ylim(ax: Any, initial: Sequence[float], factor: float = 100.0) -> None:
    """Keep a diverging run from squashing the others: the y axis stops at ``factor`` times the
    largest initial loss (the diverging curve leaves through the top edge)."""
    initial = [v for v in initial if np.isfinite(v) and v > 0]
    if not initial:
        return
    bottom, top = ax.get_ylim()
    cap = factor * max(initial)
    if top > cap:
        ax.set_ylim(bottom, cap)


def _positive(y: np.ndarray, log: bool) -> np.ndarray:
    """On a log axis, values <= 0 cannot be drawn: leave a gap (NaN) rather than fake a value."""
    return np.where(y > 0, y, np.nan) if log else y


@contextlib.contextmanager
def _quiet_nan_warnings() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "All-NaN slice", RuntimeWarning)
        warnings.filterwarnings("ignore", "Degrees of freedom", RuntimeWarning)
        yield


# ----------------------------------------------------------------------------- schedules
def schedule_values(schedule: Callable[[Any], Any], steps: Any) -> tuple[np.ndarray, np.ndarray]:
    """(steps, lr at each step) of a schedule: vectorized when it accepts an array, else one
    call per step. ``steps`` is a number of steps or an array of steps."""
    e = np.arange(int(steps)) if np.ndim(steps) == 0 else np.asarray(steps, dtype=np.int64)
    try:
        values = np.asarray(schedule(e), dtype=np.float64)
        if values.shape != e.shape:
            raise TypeError
    except (TypeError, ValueError):
        values = np.array([float(schedule(int(k))) for k in e])
    return e, values


@_styled
def schedule_plot(schedules: Any, steps: Any, *, log: bool = False, ax: Any = None,
                  title: str | None = None) -> Any:
    r"""Learning-rate schedules side by side: x the step e, y the lr η_e that the (e+1)-th
    update uses. ``schedules`` maps a label to a schedule (any callable step -> lr), or is a
    list of schedules (labelled by their repr); ``steps`` is a count or an array of steps."""
    if callable(schedules):
        schedules = [schedules]
    if not isinstance(schedules, Mapping):
        schedules = {repr(s): s for s in schedules}
    fig, ax = _fig_ax(ax)
    for (label, s), color in zip(schedules.items(), _cycle(SERIES)):
        e, lr = schedule_values(s, steps)
        ax.plot(e, lr, color=color, label=label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step $e$")
    ax.set_ylabel(r"learning rate $\eta_e$")
    ax.set_title(title if title is not None else "Learning-rate schedules")
    ax.set_xlim(left=0)
    if not log:
        ax.set_ylim(bottom=0)
    _legend(ax)
    return fig


def _cycle(colors: Sequence[str]) -> Iterator[str]:
    while True:
        yield from colors


# ----------------------------------------------------------------------------- effective steps
class _Recorder:
    """Wraps an optimizer and keeps a copy of every gradient it is given."""

    def __init__(self, opt: Any):
        self.opt, self.grads = opt, []

    def step(self, grads: Any) -> Any:
        self.grads.append(np.array(grads[0], dtype=np.float64))
        return self.opt.step(grads)


def _optimizer_specs(optimizers: Any, hyperparams: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(label, registry name, hyperparameters) from a name, a list of names or (name, dict)
    pairs, or a mapping label -> name or (name, dict)."""
    if isinstance(optimizers, (str, tuple)) and not (isinstance(optimizers, tuple) and len(optimizers)
                                                      and not isinstance(optimizers[-1], dict)):
        optimizers = [optimizers]
    items = optimizers.items() if isinstance(optimizers, Mapping) else [(None, o) for o in optimizers]
    specs = []
    for label, spec in items:
        name, hyper = (spec, {}) if isinstance(spec, str) else spec
        hyper = {**hyperparams, **hyper}
        if label is None:
            shown = ", ".join(f"{k}={v!r}" for k, v in hyper.items())
            label = f"{name}({shown})" if shown else name
        specs.append((str(label), name, hyper))
    return specs


@_styled
def effective_steps(problem: Any, optimizers: Any = ("Adagrad", "Adam"), steps: int = 200, *,
                    start: Any = None, ax: Any = None, title: str | None = None, **hyperparams: Any) -> Any:
    r"""The per-coordinate learning rate an optimizer actually applies: run it on a 2-D problem
    and plot, per coordinate i and step t, the effective step

    .. math:: \eta^{\mathrm{eff}}_{t,i} = |\theta_{t,i} - \theta_{t-1,i}| \,/\, |g_{t,i}|

    on a log axis (x coordinate solid, y dashed). Plain SGD gives the flat line η; Adagrad's
    falls like 1/√t; Adam's adapts to each coordinate's gradient scale.

    ``optimizers``: a registry name, a list of names or (name, hyperparams) pairs, or a mapping
    label -> name or (name, hyperparams); ``hyperparams`` apply to all of them (``lr=0.1``).
    Steps where |g_i| < 1e-12 are left out (the ratio is undefined there).
    """
    from . import optim

    problem = _problem(problem)
    fig, ax = _fig_ax(ax)
    specs = _optimizer_specs(optimizers, hyperparams)
    for (label, name, hyper), (color, _) in zip(specs, _line_styles([s[0] for s in specs])):
        box: list[_Recorder] = []

        def make(params: Any, name: str = name, hyper: dict = hyper, box: list = box) -> _Recorder:
            box.append(_Recorder(optim.create(name, params, **hyper)))
            return box[0]

        traj = _problems.run(problem, make, start=start, steps=steps, label=label)
        n = traj.steps
        g = np.array(box[0].grads[:n]).reshape(n, 2)
        dtheta = np.abs(np.diff(traj.points, axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            eff = np.where(np.abs(g) > 1e-12, dtheta / np.abs(g), np.nan)
        t = np.arange(1, n + 1)
        suffix = " (diverged)" if traj.diverged else ""
        ax.plot(t, eff[:, 0], color=color, linestyle="-", label=f"{label}: $x${suffix}")
        ax.plot(t, eff[:, 1], color=color, linestyle="--", label=f"{label}: $y${suffix}")
    ax.set_yscale("log")
    ax.set_xlabel("step $t$")
    ax.set_ylabel(r"effective step $|\Delta\theta_i| \, / \, |g_i|$")
    ax.set_title(title if title is not None else f"Per-coordinate effective learning rate, {problem_title(problem)}")
    ax.set_xlim(left=0)
    _legend(ax)
    return fig


# ----------------------------------------------------------------------------- classifiers
def _xy(dataset: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    if hasattr(dataset, "X"):
        return np.asarray(dataset.X), np.asarray(dataset.y), dataset
    X, y = dataset
    return np.asarray(X), np.asarray(y), None


@_styled
def decision_regions(model: Any, dataset: Any, *, resolution: int = 300, margin: float = 0.1,
                     ax: Any = None, title: str | None = None) -> Any:
    """A trained classifier's predicted class over a grid covering a 2-D dataset (light colours,
    with the decision boundaries drawn), and the data points on top, coloured by their true class.

    ``model`` is anything with ``predict(X) -> logits (n, classes)`` (an optimlab MLP) or a
    callable; ``dataset`` a :class:`~optimlab.data.Dataset` or a pair (X, y). The title gives
    the accuracy on these points.
    """
    X, y, ds = _xy(dataset)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_regions needs 2-D inputs; got X of shape {X.shape}")
    fig, ax = _fig_ax(ax)
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = margin * (hi - lo)
    gx = np.linspace(lo[0] - pad[0], hi[0] + pad[0], resolution)
    gy = np.linspace(lo[1] - pad[1], hi[1] + pad[1], resolution)
    GX, GY = np.meshgrid(gx, gy)
    predict = getattr(model, "predict", model)
    dtype = getattr(model, "dtype", np.float64)

    def classes_of(points: np.ndarray) -> np.ndarray:
        out = np.asarray(predict(points.astype(dtype)))
        return (out[:, 0] > 0.5).astype(int) if out.ndim == 2 and out.shape[1] == 1 else np.argmax(out, axis=1)

    pred = classes_of(np.column_stack([GX.ravel(), GY.ravel()])).reshape(GX.shape)
    k = int(max(pred.max(), y.max())) + 1
    colors = [SERIES[i % len(SERIES)] for i in range(k)]
    ax.imshow(pred, origin="lower", extent=(gx[0], gx[-1], gy[0], gy[-1]), aspect="auto",
              cmap=ListedColormap([_lighten(c, 0.72) for c in colors]), vmin=-0.5, vmax=k - 0.5,
              interpolation="nearest", zorder=0)
    ax.contour(GX, GY, pred, levels=np.arange(k - 1) + 0.5, colors="0.35", linewidths=0.8, zorder=1)
    names = getattr(ds, "class_names", None)
    for c in range(k):
        mask = y == c
        if mask.any():
            ax.scatter(X[mask, 0], X[mask, 1], s=16, color=colors[c], edgecolors="white", linewidths=0.5,
                       label=names[c] if names else f"class {c}", zorder=3)
    acc = float(np.mean(classes_of(X) == y))
    name = getattr(ds, "name", None)
    ax.set_title(title if title is not None else
                 f"Decision regions{' on ' + name if name else ''} (accuracy {acc:.1%})")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.grid(False)
    ax.set_xlim(gx[0], gx[-1])
    ax.set_ylim(gy[0], gy[-1])
    _legend(ax, title="class" if not names else None, loc="best", markerscale=1.5)
    return fig


@_styled
def history_plot(history: Any, *, title: str | None = None, log: bool = False) -> Any:
    """Training and validation loss (left) and accuracy (right) per epoch from a
    :class:`~optimlab.train.History`, or from a mapping label -> History to compare runs
    (colour: the optimizer; solid: validation, dashed: training), with one legend below both
    panels. Without accuracies (a regression) only the loss panel is drawn; ``log`` puts the
    loss on a log axis."""
    runs = history if isinstance(history, Mapping) else {"": history}
    single = len(runs) == 1
    has_acc = any(h.train_accuracy or h.val_accuracy for h in runs.values())
    fig, axes = subplots(1, 2 if has_acc else 1, size=(11.5, 4.4) if has_acc else None)
    axes = np.atleast_1d(axes)
    panels = [("loss", axes[0])] + ([("accuracy", axes[1])] if has_acc else [])
    styles = [("#0072B2", "-")] if single else _line_styles(list(runs))
    handles: list[Any] = []
    for (label, h), (color, _) in zip(runs.items(), styles):
        for metric, ax in panels:
            for part, ls in (("train", "--"), ("val", "-")):
                values = getattr(h, f"{part}_{metric}")
                if not values:
                    continue
                c = ("#D55E00" if part == "train" else color) if single else color
                (line,) = ax.plot(np.arange(1, len(values) + 1), values, color=c, linestyle=ls,
                                  marker="o" if len(values) <= 30 else None, markersize=3.5,
                                  label="training" if part == "train" else "validation")
                if single and ax is axes[0]:
                    handles.append(line)
        if not single:
            handles.append(Line2D([], [], color=color, label=label))
    if not single:
        handles += [Line2D([], [], color="0.45", linestyle="--", label="training"),
                    Line2D([], [], color="0.45", linestyle="-", label="validation")]
    for metric, ax in panels:
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.set_title(metric.capitalize())
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
        if metric == "accuracy":
            ax.yaxis.set_major_formatter(mpl.ticker.PercentFormatter(1.0, decimals=None))
        elif log:
            ax.set_yscale("log")
    if len(handles) > 1:
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6))
    fig.suptitle(title if title is not None else "Training history")
    return fig


# ----------------------------------------------------------------------------- animation
def palette_png(rgba: Any) -> bytes:
    """PNG bytes of an (h, w, 3 or 4) uint8 image, reduced to a 256-colour palette: about a third
    of the bytes of a full-colour PNG for pictures of flat colours such as filled contours, with
    no visible change (no dithering)."""
    from PIL import Image

    image = Image.fromarray(np.ascontiguousarray(np.asarray(rgba)[..., :3]))
    image = image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    image.save(buf, format="png")
    return buf.getvalue()


class _PaletteFigure(Figure):
    """A Figure whose PNGs use a 256-colour palette (:func:`palette_png`), so that an
    animation's HTML stays small."""

    def savefig(self, fname: Any, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("format") != "png":
            return super().savefig(fname, *args, **kwargs)
        super().savefig(io.BytesIO(), *args, **{**kwargs, "format": "rgba"})  # draws on the canvas
        png = palette_png(self.canvas.buffer_rgba())
        if hasattr(fname, "write"):
            fname.write(png)
        else:
            Path(fname).write_bytes(png)


class Race:
    """An animation of optimizers moving on one landscape. In a notebook it plays inline
    (``_repr_html_``: matplotlib's ``to_jshtml``, no external encoder); ``save_gif(path)``
    writes a GIF with Pillow. ``figure`` is the underlying figure (never shown on its own)."""

    def __init__(self, figure: Figure, draw_frame: Callable[[int], Any], frames: int, fps: float, description: str):
        self.figure, self._draw_frame, self.frames, self.fps = figure, draw_frame, frames, fps
        self.description = description
        self._html: str | None = None

    def animation(self) -> Any:
        """A fresh :class:`matplotlib.animation.FuncAnimation` of the race."""
        from matplotlib.animation import FuncAnimation

        return FuncAnimation(self.figure, self._draw_frame, frames=self.frames,
                             interval=1000 / self.fps, repeat=False, blit=False)

    def to_html(self) -> str:
        """The animation as self-contained HTML/JavaScript (computed once)."""
        if self._html is None:
            with mpl.rc_context({**STYLE, "savefig.dpi": "figure"}):
                self._html = self.animation().to_jshtml(fps=self.fps, default_mode="once")
            self._draw_frame(self.frames - 1)
        return self._html

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_png_(self) -> bytes:
        """The last frame, for viewers that cannot run the animation's JavaScript."""
        self._draw_frame(self.frames - 1)
        return to_png(self.figure)

    def save_gif(self, path: str | Path, fps: float | None = None) -> Path:
        """Write the animation as a GIF (matplotlib's PillowWriter) and return its path."""
        from matplotlib.animation import PillowWriter

        path = Path(path)
        with mpl.rc_context(STYLE):
            self.animation().save(str(path), writer=PillowWriter(fps=fps or self.fps), dpi=self.figure.dpi)
        self._draw_frame(self.frames - 1)
        return path

    def __repr__(self) -> str:
        return f"<Race: {self.description}, {self.frames} frames>"


@_styled
def race(problem: Any, trajectories: Any, *, frames: int = 48, fps: float = 12, title: str | None = None,
         dpi: float = 72, size: tuple[float, float] | None = None) -> Race:
    """An animation of several optimizers moving on one landscape: each path grows from its
    start, with a dot at its current iterate and the step counter in the corner. Long runs are
    subsampled to at most ``frames`` frames (every run is shown at the same steps), so that the
    notebook's HTML stays small (about 1 MB at the defaults).

    The static picture (contours, colour bar, legend) is drawn once and each frame only adds the
    paths over it, so rendering is quick."""
    problem = _problem(problem)
    paths = _trajectory_list(trajectories)
    if not paths:
        raise ValueError("race needs at least one trajectory")
    longest = max(len(p) for _, p, _ in paths)
    idx = np.unique(np.linspace(0, longest - 1, max(2, min(frames, longest))).round().astype(int))
    styles = _line_styles([p[0] for p in paths])
    if size is None:
        _, rows = _legend_grid(["global minimum", "start"] + [p[0] + " (diverged)" * p[2] for p in paths], PANEL[0])
        size = (PANEL[0], PANEL[1] + 0.25 * rows)

    # The still picture, drawn once: a landscape without paths, whose legend lists the racers.
    still, bg_ax = subplots(size=size, dpi=dpi)
    landscape(problem, {}, ax=bg_ax, start=[p[0] for _, p, _ in paths], legend=None,
              title=title if title is not None else f"{problem_title(problem)}: a race")
    for (label, _, diverged), (color, ls) in zip(paths, styles):
        bg_ax.plot([], [], color=color, linestyle=ls, label=label + (" (diverged)" if diverged else ""))
    _legend_below(still, bg_ax, own=True)
    still.canvas.draw()
    background = np.asarray(still.canvas.buffer_rgba()).copy()

    # The animated figure: that picture as pixels, and a bare Axes at the same place for the paths.
    fig = _PaletteFigure(figsize=size, dpi=dpi)
    FigureCanvasAgg(fig)
    fig.figimage(background, origin="upper", zorder=-1)
    ax = fig.add_axes(bg_ax.get_position())
    ax.set_xlim(bg_ax.get_xlim())
    ax.set_ylim(bg_ax.get_ylim())
    ax.set_axis_off()
    ax.set_title(bg_ax.get_title(), alpha=0)  # for the figure's text form only
    artists = []
    for (_, points, _), (color, ls) in zip(paths, styles):
        (line,) = ax.plot([], [], color=color, linestyle=ls, linewidth=1.8, zorder=4)
        (head,) = ax.plot([], [], linestyle="none", marker="o", markersize=7, color=color,
                          markeredgecolor="white", markeredgewidth=1.0, zorder=5)
        artists.append((points, line, head))
    counter = ax.text(0.02, 0.97, "", transform=ax.transAxes, va="top", ha="left", fontsize=10,
                      bbox=dict(boxstyle="round,pad=0.3", facecolor="white", edgecolor="0.7", alpha=0.9), zorder=7)

    def draw_frame(i: int) -> list[Any]:
        t = int(idx[i])
        for points, line, head in artists:
            k = min(t, len(points) - 1)
            line.set_data(points[: k + 1, 0], points[: k + 1, 1])
            head.set_data(points[k : k + 1, 0], points[k : k + 1, 1])
        counter.set_text(f"step {t}")
        return [a for _, line, head in artists for a in (line, head)] + [counter]

    draw_frame(len(idx) - 1)
    names = ", ".join(label for label, _, _ in paths)
    return Race(fig, draw_frame, len(idx), fps, f"{problem.name}, {names}")
