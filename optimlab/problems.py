"""Two-dimensional test functions for the chapters' landscape pictures, and a runner.

    >>> from optimlab import problems
    >>> p = problems.rosenbrock()
    >>> traj = problems.run(p, "SGD", steps=500, lr=2e-3, momentum=0.9)
    >>> traj.label, traj.points.shape, traj.diverged
    ('SGD(lr=0.002, momentum=0.9)', (501, 2), False)
    >>> problems.steps_to_tolerance(traj, 1e-3)  # first step with loss − min_loss <= 1e-3
    365

Every problem is a function f(x, y) with its analytic gradient (and Hessian where it is
easy), vectorized over points of shape ``(..., 2)``: a grid ``(H, W, 2)`` gives losses
``(H, W)`` and gradients ``(H, W, 2)``; a single point ``(2,)`` gives a float and a ``(2,)``
gradient. Each knows its global minimizers, a start point and plotting bounds that make a
clear picture.

``problem.with_noise(std, seed)`` adds Gaussian noise to the gradient, as a minibatch does;
``run(problem, optimizer, ...)`` records an optimizer's trajectory and stops cleanly (with
``diverged=True``) when the iterate blows up.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

Array = np.ndarray
Bounds = tuple[tuple[float, float], tuple[float, float]]


def _points(x: Any) -> Array:
    """``x`` as a floating array of points, shape (..., 2) (float dtypes are kept)."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    if x.ndim == 0 or x.shape[-1] != 2:
        raise ValueError(f"points must have shape (..., 2); got shape {x.shape}")
    return x


def _frozen(a: Any) -> Array:
    a = np.array(a, dtype=np.float64)
    a.setflags(write=False)
    return a


# ----------------------------------------------------------------------------- the problem
@dataclass(eq=False)
class Problem:
    """A 2-D loss f(x, y) with its analytic derivatives and what a picture of it needs.

    ``f(x, y)``, ``df(x, y) -> (∂f/∂x, ∂f/∂y)`` and ``d2f(x, y) -> (f_xx, f_xy, f_yy)`` take
    the two coordinates as broadcastable arrays; use :meth:`loss`, :meth:`grad` and
    :meth:`hessian` on points of shape (..., 2).
    """

    name: str
    f: Callable[[Array, Array], Array] = field(repr=False)
    df: Callable[[Array, Array], tuple[Array, Array]] = field(repr=False)
    minima: Array  # (k, 2): every global minimizer
    min_loss: float
    start: Array  # (2,): a start point that makes a good picture
    bounds: Bounds  # ((xmin, xmax), (ymin, ymax)) for plotting
    description: str = field(default="", repr=False)
    d2f: Callable[[Array, Array], tuple[Array, Array, Array]] | None = field(default=None, repr=False)
    params: dict[str, float] = field(default_factory=dict)  # the factory's arguments
    noise_std: float = 0.0
    rng: np.random.Generator | None = field(default=None, repr=False)

    def loss(self, x: Any) -> Array:
        """f at points ``x`` of shape (..., 2): shape (...), a float for a single point."""
        x = _points(x)
        return self.f(x[..., 0], x[..., 1])

    def grad(self, x: Any) -> Array:
        """∇f at points ``x`` of shape (..., 2), plus N(0, noise_std²) noise if the problem is
        noisy (see :meth:`with_noise`). Same shape and float dtype as ``x``."""
        x = _points(x)
        g = np.stack(np.broadcast_arrays(*self.df(x[..., 0], x[..., 1])), axis=-1).astype(x.dtype)
        if self.noise_std > 0:
            g += (self.noise_std * self.rng.standard_normal(g.shape)).astype(x.dtype)
        return g

    def hessian(self, x: Any) -> Array:
        """∇²f at points ``x`` of shape (..., 2): shape (..., 2, 2)."""
        if self.d2f is None:
            raise NotImplementedError(f"{self.name} has no analytic Hessian")
        x = _points(x)
        fxx, fxy, fyy = np.broadcast_arrays(*self.d2f(x[..., 0], x[..., 1]), x[..., 0])[:3]
        return np.stack([np.stack([fxx, fxy], -1), np.stack([fxy, fyy], -1)], -2).astype(x.dtype)

    def with_noise(self, std: float, seed: int = 0) -> Problem:
        """The same problem with a noisy gradient: ``grad`` adds N(0, std²) noise to each
        coordinate, drawn from ``numpy.random.default_rng(seed)``; ``loss`` stays exact.

        This imitates the gradient of a minibatch: an unbiased estimate of the full gradient
        whose standard deviation shrinks like 1/sqrt(batch size). The noise generator is part
        of the returned problem and advances with every ``grad`` call, so the same seed gives
        the same noise sequence: to repeat a run exactly, make the noisy problem anew.
        """
        if not std >= 0:
            raise ValueError(f"invalid std: {std!r} (must be a number >= 0)")
        return dataclasses.replace(self, noise_std=float(std), rng=np.random.default_rng(seed))

    def grid(self, n: int = 201, bounds: Bounds | None = None) -> tuple[Array, Array, Array]:
        """``X, Y, Z`` of shape (n, n) over ``bounds`` (default: the problem's), for contour
        plots: ``plt.contour(X, Y, Z)``. Z is the exact loss."""
        (x0, x1), (y0, y1) = self.bounds if bounds is None else bounds
        X, Y = np.meshgrid(np.linspace(x0, x1, n), np.linspace(y0, y1, n))
        return X, Y, self.loss(np.stack([X, Y], axis=-1))

    def __repr__(self) -> str:
        args = [f"{k}={v!r}" for k, v in self.params.items()]
        if self.noise_std > 0:
            args.append(f"noise_std={self.noise_std!r}")
        return f"{self.name}({', '.join(args)})"


@dataclass(eq=False, kw_only=True, repr=False)
class Quadratic(Problem):
    """f = ½ xᵀ A x, with the eigenvalues L (largest) and mu (smallest) of A."""

    A: Array
    L: float
    mu: float

    @property
    def condition_number(self) -> float:
        """κ = L / mu."""
        return self.L / self.mu


# ----------------------------------------------------------------------------- the problems
def quadratic(condition_number: float = 10.0, angle: float = 0.0, scale: float = 1.0) -> Quadratic:
    """f(x) = ½ xᵀ A x with A = R diag(L, mu) Rᵀ, L = ``scale``, mu = scale / condition_number,
    and R the rotation by ``angle`` radians (counter-clockwise).

    ∇f = A x, ∇²f = A; the minimum is f(0) = 0. At ``angle=0`` the steep direction (curvature L)
    is x and the valley runs along y; ``angle=np.pi / 2`` lays the valley along x. Gradient
    descent converges iff lr < 2/L, fastest at lr = 2/(L + mu); momentum helps when κ is large.
    """
    if not 1 <= condition_number < np.inf:
        raise ValueError(f"invalid condition_number: {condition_number!r} (must be finite and >= 1)")
    if not scale > 0:
        raise ValueError(f"invalid scale: {scale!r} (must be > 0)")
    L, mu = float(scale), float(scale) / condition_number
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    A = R @ np.diag([L, mu]) @ R.T
    A = (A + A.T) / 2  # exactly symmetric
    (a, b), (_, d) = A
    start = R @ np.array([1.0, 2.0])  # 1 across the valley, 2 along it
    r = 1.25 * np.hypot(*start)
    return Quadratic(
        name="quadratic",
        f=lambda x, y: 0.5 * (a * x * x + 2 * b * x * y + d * y * y),
        df=lambda x, y: (a * x + b * y, b * x + d * y),
        d2f=lambda x, y: (a, b, d),
        minima=_frozen([[0.0, 0.0]]),
        min_loss=0.0,
        start=_frozen(start),
        bounds=((-r, r), (-r, r)),
        description=f"½ xᵀAx, eigenvalues L={L:g}, mu={mu:g} (κ={condition_number:g}), "
        f"rotated by {angle:g} rad",
        params=dict(condition_number=condition_number, angle=angle, scale=scale),
        A=_frozen(A),
        L=L,
        mu=mu,
    )


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Problem:
    """Rosenbrock's banana valley: f(x, y) = (a − x)² + b (y − x²)².

    The minimum is f(a, a²) = 0, at the end of a narrow curved valley along y = x². Finding the
    valley is easy; following it is slow (the curvature across it is about 2b(1 + 4x²), along
    it about 2), which is what momentum and adaptive methods are for.
    """
    return Problem(
        name="rosenbrock",
        f=lambda x, y: (a - x) ** 2 + b * (y - x * x) ** 2,
        df=lambda x, y: (-2 * (a - x) - 4 * b * x * (y - x * x), 2 * b * (y - x * x)),
        d2f=lambda x, y: (2 - 4 * b * y + 12 * b * x * x, -4 * b * x, 2 * b),
        minima=_frozen([[a, a * a]]),
        min_loss=0.0,
        start=_frozen([a - 2.2, a * a]),  # (-1.2, 1), Rosenbrock's own start: around the bend
        bounds=((a - 3.0, a + 1.0), (a * a - 2.0, a * a + 2.0)),
        description="banana-shaped valley along y = x²; slow to follow",
        params=dict(a=a, b=b),
    )


_BEALE_C = (1.5, 2.25, 2.625)


def _beale_terms(x: Array, y: Array):
    """t_i = c_i − x + x yⁱ (i = 1, 2, 3) with ∂t_i/∂x, ∂t_i/∂y and ∂²t_i/∂x∂y, ∂²t_i/∂y²."""
    for i, c in enumerate(_BEALE_C, start=1):
        yield (c - x + x * y**i, y**i - 1, i * x * y ** (i - 1), i * y ** (i - 1),
               i * (i - 1) * x * y ** max(i - 2, 0))


def _beale_grad(x: Array, y: Array) -> tuple[Array, Array]:
    gx = gy = 0.0
    for t, tx, ty, _, _ in _beale_terms(x, y):  # ∇f = 2 Σ t_i ∇t_i
        gx, gy = gx + 2 * t * tx, gy + 2 * t * ty
    return gx, gy


def _beale_hessian(x: Array, y: Array) -> tuple[Array, Array, Array]:
    hxx = hxy = hyy = 0.0
    for t, tx, ty, txy, tyy in _beale_terms(x, y):  # ∇²f = 2 Σ (∇t_i ∇t_iᵀ + t_i ∇²t_i)
        hxx = hxx + 2 * tx * tx
        hxy = hxy + 2 * (tx * ty + t * txy)
        hyy = hyy + 2 * (ty * ty + t * tyy)
    return hxx, hxy, hyy


def beale() -> Problem:
    """Beale's function: f(x, y) = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)².

    The minimum is f(3, 0.5) = 0, in a flat curved valley; the function rises steeply (like
    y⁶) away from it, so large steps explode and small ones crawl.
    """
    return Problem(
        name="beale",
        f=lambda x, y: sum(t**2 for t, *_ in _beale_terms(x, y)),
        df=_beale_grad,
        d2f=_beale_hessian,
        minima=_frozen([[3.0, 0.5]]),
        min_loss=0.0,
        start=_frozen([1.0, 1.5]),
        bounds=((-4.5, 4.5), (-4.5, 4.5)),
        description="flat curved valley with very steep walls",
    )


def himmelblau() -> Problem:
    """Himmelblau's function: f(x, y) = (x² + y − 11)² + (x + y² − 7)².

    Four global minima with f = 0, at (3, 2), (−2.805118, 3.131313), (−3.779310, −3.283186)
    and (3.584428, −1.848127), and a local maximum near (−0.270845, −0.923039): which minimum
    an optimizer finds depends on where it starts and how it moves.
    """
    return Problem(
        name="himmelblau",
        f=lambda x, y: (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2,
        df=lambda x, y: (
            4 * x * (x * x + y - 11) + 2 * (x + y * y - 7),
            2 * (x * x + y - 11) + 4 * y * (x + y * y - 7),
        ),
        d2f=lambda x, y: (12 * x * x + 4 * y - 42, 4 * (x + y), 4 * x + 12 * y * y - 26),
        minima=_frozen([
            [3.0, 2.0],
            [-2.805118086952745, 3.131312518250573],
            [-3.779310253377747, -3.283185991286169],
            [3.5844283403304917, -1.8481265269644034],
        ]),
        min_loss=0.0,
        start=_frozen([0.0, -1.0]),  # near the local maximum: GD and Adam part ways
        bounds=((-5.0, 5.0), (-5.0, 5.0)),
        description="four global minima; the one found depends on the path",
    )


def rastrigin(A: float = 10.0) -> Problem:
    """Rastrigin's function: f(x, y) = 2A + (x² − A cos 2πx) + (y² − A cos 2πy).

    The global minimum is f(0, 0) = 0, surrounded by a lattice of local minima near the
    integer points: gradient methods stop in the nearest one unless noise or momentum carries
    them over the bumps.
    """
    k = 2 * np.pi
    return Problem(
        name="rastrigin",
        f=lambda x, y: 2 * A + (x * x - A * np.cos(k * x)) + (y * y - A * np.cos(k * y)),
        df=lambda x, y: (2 * x + k * A * np.sin(k * x), 2 * y + k * A * np.sin(k * y)),
        d2f=lambda x, y: (2 + k * k * A * np.cos(k * x), 0.0, 2 + k * k * A * np.cos(k * y)),
        minima=_frozen([[0.0, 0.0]]),
        min_loss=0.0,
        start=_frozen([2.7, -3.3]),
        bounds=((-5.12, 5.12), (-5.12, 5.12)),
        description="a bowl covered in a lattice of local minima",
        params=dict(A=A),
    )


def saddle() -> Problem:
    """A saddle point between two minima: f(x, y) = x² − y² + y⁴/4.

    ∇f = (2x, −2y + y³) vanishes at the saddle (0, 0), where the Hessian is diag(2, −2), and at
    the two global minima (0, ±√2) with f = −1. Started on the x axis, gradient descent goes
    to the saddle and stays there (∂f/∂y = 0 on it); started a hair off it, it lingers near the
    saddle and then escapes at rate (1 + 2 lr) per step. Gradient noise escapes too.
    """
    r = np.sqrt(2.0)
    return Problem(
        name="saddle",
        f=lambda x, y: x * x - y * y + y**4 / 4,
        df=lambda x, y: (2 * x, -2 * y + y**3),
        d2f=lambda x, y: (2.0, 0.0, -2 + 3 * y * y),
        minima=_frozen([[0.0, r], [0.0, -r]]),
        min_loss=-1.0,
        start=_frozen([2.0, 1e-3]),  # a hair off the x axis
        bounds=((-2.5, 2.5), (-2.5, 2.5)),
        description="saddle at the origin between minima at (0, ±√2)",
    )


PROBLEMS: dict[str, Callable[..., Problem]] = {
    "quadratic": quadratic,
    "rosenbrock": rosenbrock,
    "beale": beale,
    "himmelblau": himmelblau,
    "rastrigin": rastrigin,
    "saddle": saddle,
}


def get(name: str, **kwargs: Any) -> Problem:
    """Make a problem by name: ``get("quadratic", condition_number=100)``."""
    try:
        factory = PROBLEMS[name]
    except KeyError:
        raise ValueError(f"unknown problem {name!r}; available: {', '.join(PROBLEMS)}") from None
    return factory(**kwargs)


# ----------------------------------------------------------------------------- running
@dataclass(eq=False)
class Trajectory:
    """The path of one run: ``points[t]`` is the iterate after t steps, ``losses[t]`` its
    (exact) loss, and ``grad_norms[t]`` the norm of the gradient (noise included) used to step
    from ``points[t]`` to ``points[t + 1]``. A diverged run is shorter than ``steps + 1``."""

    points: Array  # (n + 1, 2)
    losses: Array  # (n + 1,)
    grad_norms: Array  # (n,)
    label: str
    diverged: bool = False
    min_loss: float = 0.0

    @property
    def steps(self) -> int:
        """How many steps were taken (fewer than asked for if the run diverged)."""
        return len(self.points) - 1


def _label(opt: Any, with_lr: bool = True) -> str:
    """``Adam(lr=0.1, ...)``: the learning rate and every hyperparameter not at its default."""
    hyper, defaults = getattr(opt, "hyper", {}), getattr(opt, "defaults", {})
    shown = [f"{k}={v!r}" for k, v in hyper.items()
             if (k == "lr" and with_lr) or (k != "lr" and not _same(v, defaults.get(k)))]
    return f"{type(opt).__name__}({', '.join(shown)})"


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:
        return False


def run(
    problem: Problem, optimizer: Any = "SGD", start: Any = None, steps: int = 100, *,
    label: str | None = None, max_norm: float = 1e6, schedule: Callable[[int], float] | None = None,
    **hyperparams: Any,
) -> Trajectory:
    """Run ``optimizer`` on ``problem`` for ``steps`` steps from ``start`` (default
    ``problem.start``) and record the trajectory.

    With ``schedule``, the learning rate of step k (counting from 0) is ``schedule(k)``, as in
    :func:`optimlab.train.fit`; e.g. ``schedule=schedules.cosine(0.1, total_steps=200)``.

    ``optimizer`` is a registry name (``"Adam"``), an optimlab ``Optimizer`` class, or a
    callable ``params_list -> optimizer``; ``hyperparams`` go to it: ``run(p, "SGD", lr=0.1,
    momentum=0.9)``. The iterate is a float64 array of shape (2,) and each step calls
    ``opt.step([problem.grad(x)])``.

    If the gradient, the iterate or the loss stops being finite, or ``|x|`` exceeds
    ``max_norm`` (far outside every picture), the run stops with ``diverged=True`` and keeps
    every finite point so far; no exception is raised. (Just above lr = 2/L on a quadratic the
    iterate grows only by |1 − lr·L| per step and may not reach ``max_norm`` within ``steps``:
    the losses rise, but ``diverged`` stays False.) ``label`` defaults to e.g. ``"Adam(lr=0.1)"``:
    the learning rate and every hyperparameter not at its default.
    """
    from . import optim

    x = np.array(problem.start if start is None else start, dtype=np.float64)
    if x.shape != (2,):
        raise ValueError(f"start must be a point of shape (2,); got shape {x.shape}")
    if isinstance(optimizer, str):
        opt = optim.create(optimizer, [x], **hyperparams)
    else:  # an Optimizer class or any callable params_list -> optimizer
        opt = optimizer([x], **hyperparams)

    if schedule is not None and not callable(schedule):
        raise TypeError(f"schedule must be a function of the step, e.g. schedules.cosine(...); got {schedule!r}")
    if label is None:  # with a schedule, the lr it sets is not the optimizer's initial one
        label = _label(opt) if schedule is None else f"{_label(opt, with_lr=False)} + {type(schedule).__name__.lower()}"
    points, losses, grad_norms = [x.copy()], [float(problem.loss(x))], []
    diverged = False
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for k in range(steps):
            if schedule is not None:
                opt.lr = float(schedule(k))
            g = problem.grad(x)
            if not np.all(np.isfinite(g)):
                diverged = True
                break
            opt.step([g])
            loss = float(problem.loss(x))
            if not (np.all(np.isfinite(x)) and np.isfinite(loss)):
                diverged = True
                break
            points.append(x.copy())
            losses.append(loss)
            grad_norms.append(float(np.linalg.norm(g)))
            if np.linalg.norm(x) > max_norm:
                diverged = True
                break
    return Trajectory(
        points=np.array(points),
        losses=np.array(losses),
        grad_norms=np.array(grad_norms),
        label=label,
        diverged=diverged,
        min_loss=problem.min_loss,
    )


def steps_to_tolerance(trajectory: Trajectory, tol: float) -> int | None:
    """The first step t with ``losses[t] − min_loss <= tol``, or None if the run never got there."""
    hits = np.flatnonzero(trajectory.losses - trajectory.min_loss <= tol)
    return int(hits[0]) if hits.size else None
