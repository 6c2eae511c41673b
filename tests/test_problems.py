"""The 2-D test problems: derivatives, minima, vectorization, gradient noise, and the runner."""

from __future__ import annotations

import subprocess
import sys
import warnings

import numpy as np
import pytest

from optimlab import optim, problems
from optimlab.problems import Trajectory, run, steps_to_tolerance

# every factory with its defaults, plus non-default settings where it has parameters
CASES = {
    "quadratic": lambda: problems.quadratic(),
    "quadratic-rotated": lambda: problems.quadratic(condition_number=50.0, angle=0.7, scale=3.0),
    "rosenbrock": lambda: problems.rosenbrock(),
    "rosenbrock-a2-b10": lambda: problems.rosenbrock(a=2.0, b=10.0),
    "beale": lambda: problems.beale(),
    "himmelblau": lambda: problems.himmelblau(),
    "rastrigin": lambda: problems.rastrigin(),
    "rastrigin-A3": lambda: problems.rastrigin(A=3.0),
    "saddle": lambda: problems.saddle(),
}
H = 1e-5  # central-difference step: truncation error O(H²), round-off O(eps/H), both < 1e-7 here


@pytest.fixture(params=list(CASES), ids=list(CASES))
def problem(request):
    return CASES[request.param]()


def random_points(p, n=400, seed=0):
    """n uniform random points inside the problem's plotting bounds."""
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = p.bounds
    return np.stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)], axis=-1)


def rel_err(approx, exact, axis):
    """|approx − exact| / max(|exact|, 1), per point: relative, but sane where exact ≈ 0."""
    scale = np.maximum(np.linalg.norm(exact, axis=axis), 1.0)
    return np.linalg.norm(approx - exact, axis=axis) / scale


# ----------------------------------------------------------------------------- derivatives
def test_gradient_matches_central_differences(problem):
    X = random_points(problem)
    fd = np.stack([(problem.loss(X + H * e) - problem.loss(X - H * e)) / (2 * H) for e in np.eye(2)], -1)
    assert rel_err(fd, problem.grad(X), axis=-1).max() <= 1e-6


def test_hessian_matches_central_differences_of_the_gradient(problem):
    X = random_points(problem, seed=1)
    fd = np.stack([(problem.grad(X + H * e) - problem.grad(X - H * e)) / (2 * H) for e in np.eye(2)], -1)
    hess = problem.hessian(X)
    assert hess.shape == (len(X), 2, 2)
    np.testing.assert_array_equal(hess, np.swapaxes(hess, -1, -2))
    assert rel_err(fd, hess, axis=(-2, -1)).max() <= 1e-6


# ----------------------------------------------------------------------------- minima and metadata
def test_listed_minima_have_min_loss_and_zero_gradient(problem):
    m = problem.minima
    assert m.ndim == 2 and m.shape[1] == 2 and len(m) >= 1
    np.testing.assert_allclose(problem.loss(m), problem.min_loss, rtol=0, atol=1e-12)
    np.testing.assert_allclose(problem.grad(m), 0.0, rtol=0, atol=1e-10)
    # a minimum: the Hessian there is positive semidefinite
    assert np.all(np.linalg.eigvalsh(problem.hessian(m)) >= -1e-9)


def test_min_loss_is_the_minimum_over_the_plotting_window(problem):
    X, Y, Z = problem.grid(n=301)
    assert Z.min() >= problem.min_loss - 1e-12
    (x0, x1), (y0, y1) = problem.bounds
    for x, y in [*problem.minima, problem.start]:  # minima and start are inside the picture
        assert x0 <= x <= x1 and y0 <= y <= y1


def test_metadata(problem):
    assert problem.name in problems.PROBLEMS
    assert problem.description and problem.start.shape == (2,)
    assert not problem.start.flags.writeable  # run() copies it; nobody mutates the shared start
    assert problem.name in repr(problem)


def test_himmelblau_has_four_distinct_minima_and_saddle_two():
    assert len(problems.himmelblau().minima) == 4
    s = problems.saddle()
    np.testing.assert_allclose(s.minima, [[0, np.sqrt(2)], [0, -np.sqrt(2)]])
    assert s.min_loss == -1.0
    np.testing.assert_array_equal(s.grad(np.zeros(2)), [0.0, 0.0])  # the saddle point
    np.testing.assert_allclose(np.linalg.eigvalsh(s.hessian(np.zeros(2))), [-2.0, 2.0])


# ----------------------------------------------------------------------------- vectorization
def test_vectorized_over_a_grid_equals_pointwise(problem):
    pts = random_points(problem, n=12, seed=2).reshape(3, 4, 2)
    loss, grad, hess = problem.loss(pts), problem.grad(pts), problem.hessian(pts)
    assert loss.shape == (3, 4) and grad.shape == (3, 4, 2) and hess.shape == (3, 4, 2, 2)
    for i in range(3):
        for j in range(4):
            single = problem.loss(pts[i, j])
            assert np.ndim(single) == 0 and float(single) == pytest.approx(loss[i, j], rel=1e-14, abs=1e-14)
            np.testing.assert_allclose(problem.grad(pts[i, j]), grad[i, j], rtol=1e-14, atol=1e-14)
            np.testing.assert_allclose(problem.hessian(pts[i, j]), hess[i, j], rtol=1e-14, atol=1e-14)


def test_grid_helper(problem):
    X, Y, Z = problem.grid(n=7)
    assert X.shape == Y.shape == Z.shape == (7, 7)
    np.testing.assert_array_equal(Z, problem.loss(np.stack([X, Y], -1)))
    assert (X.min(), X.max()) == pytest.approx(problem.bounds[0])
    assert (Y.min(), Y.max()) == pytest.approx(problem.bounds[1])


def test_float32_points_give_float32_gradients_and_bad_shapes_are_refused():
    p = problems.rosenbrock()
    assert p.grad(np.ones(2, dtype=np.float32)).dtype == np.float32
    assert p.grad([1, 2]).dtype == np.float64
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        p.loss(np.ones(3))


# ----------------------------------------------------------------------------- the quadratic
@pytest.mark.parametrize(
    "kappa, angle, scale", [(10.0, 0.0, 1.0), (100.0, 0.7, 3.0), (1.0, 1.3, 0.5), (4.0, -np.pi / 3, 2.0)]
)
def test_quadratic_eigenvalues_and_condition_number(kappa, angle, scale):
    q = problems.quadratic(condition_number=kappa, angle=angle, scale=scale)
    assert q.L == scale and q.mu == pytest.approx(scale / kappa, rel=1e-15)
    assert q.condition_number == pytest.approx(kappa, rel=1e-14)
    np.testing.assert_array_equal(q.A, q.A.T)
    for x in (np.zeros(2), np.array([0.3, -2.0])):  # constant Hessian A
        np.testing.assert_allclose(q.hessian(x), q.A, rtol=0, atol=1e-15)
    mu, L = np.linalg.eigvalsh(q.A)
    assert L == pytest.approx(scale, rel=1e-13) and mu == pytest.approx(scale / kappa, rel=1e-13)
    assert L / mu == pytest.approx(kappa, rel=1e-12)
    if kappa > 1:  # the steep direction is the x axis rotated by `angle`
        steep = np.array([np.cos(angle), np.sin(angle)])
        np.testing.assert_allclose(q.A @ steep, L * steep, atol=1e-13)


def test_quadratic_rejects_bad_arguments():
    for kwargs in (dict(condition_number=0.5), dict(condition_number=np.inf), dict(scale=0.0)):
        with pytest.raises(ValueError):
            problems.quadratic(**kwargs)


# ----------------------------------------------------------------------------- gradient noise
def test_noise_is_reproducible_per_seed():
    p = problems.rosenbrock()
    a, b, c = p.with_noise(0.5, seed=3), p.with_noise(0.5, seed=3), p.with_noise(0.5, seed=4)
    x = np.array([0.2, -0.4])
    seq_a = [a.grad(x) for _ in range(5)]
    seq_b = [b.grad(x) for _ in range(5)]
    seq_c = [c.grad(x) for _ in range(5)]
    np.testing.assert_array_equal(seq_a, seq_b)
    assert not np.array_equal(seq_a, seq_c)
    assert not np.array_equal(seq_a[0], seq_a[1])  # fresh noise at every call
    # same seed, same trajectory
    np.testing.assert_array_equal(
        run(p.with_noise(1.0, seed=7), "SGD", lr=1e-3, steps=30).points,
        run(p.with_noise(1.0, seed=7), "SGD", lr=1e-3, steps=30).points,
    )


def test_noise_statistics_and_exact_loss():
    p = problems.quadratic(condition_number=10.0, angle=0.4)
    std = 0.3
    noisy = p.with_noise(std, seed=0)
    X = random_points(p, n=20_000, seed=5)
    noise = noisy.grad(X) - p.grad(X)
    n = noise.size
    assert abs(noise.mean()) < 5 * std / np.sqrt(n)
    assert noise.std() == pytest.approx(std, rel=0.03)
    assert abs(np.corrcoef(noise[:, 0], noise[:, 1])[0, 1]) < 0.05  # independent coordinates
    np.testing.assert_array_equal(noisy.loss(X), p.loss(X))
    np.testing.assert_array_equal(p.grad(X), p.grad(X))  # the original stays exact
    np.testing.assert_array_equal(p.with_noise(0.0).grad(X), p.grad(X))


def test_noisy_problem_keeps_its_kind():
    q = problems.quadratic(condition_number=20.0).with_noise(0.1)
    assert isinstance(q, problems.Quadratic) and q.condition_number == pytest.approx(20.0)
    assert "noise_std=0.1" in repr(q)
    with pytest.raises(ValueError):
        q.with_noise(-1.0)


# ----------------------------------------------------------------------------- run
def test_gd_converges_below_2_over_L_and_diverges_above():
    q = problems.quadratic(condition_number=10.0, angle=0.3, scale=2.0)
    good = run(q, "SGD", lr=1.9 / q.L, steps=300)
    assert not good.diverged and good.points.shape == (301, 2) and good.losses.shape == (301,)
    assert good.grad_norms.shape == (300,)
    assert good.losses[-1] < 1e-20
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings, no exception
        bad = run(q, "SGD", lr=2.1 / q.L, steps=5000)
    assert bad.diverged and 1 < bad.steps < 5000
    assert len(bad.points) == len(bad.losses) == len(bad.grad_norms) + 1 == bad.steps + 1
    assert np.all(np.isfinite(bad.points)) and np.all(np.isfinite(bad.losses))
    assert np.all(np.diff(bad.losses) > 0)  # the loss grows at every step


def test_overflow_stops_the_run_quietly():
    p = problems.rosenbrock()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = run(p, "SGD", lr=0.5, steps=100, max_norm=np.inf)  # only overflow can stop it
    assert t.diverged and t.steps < 100
    assert np.all(np.isfinite(t.points)) and np.all(np.isfinite(t.losses))


def test_gd_on_a_quadratic_is_the_closed_form():
    kappa, angle, scale, lr, steps = 20.0, 0.4, 2.0, 0.3, 40
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    A = R @ np.diag([scale, scale / kappa]) @ R.T  # built here, not taken from the problem
    x0 = np.array([1.5, -0.7])
    q = problems.quadratic(condition_number=kappa, angle=angle, scale=scale)
    t = run(q, "SGD", start=x0, lr=lr, steps=steps)
    M = np.eye(2) - lr * A
    expected = np.array([np.linalg.matrix_power(M, k) @ x0 for k in range(steps + 1)])
    np.testing.assert_allclose(t.points, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(t.losses, 0.5 * np.einsum("ti,ij,tj->t", expected, A, expected), rtol=1e-12)
    np.testing.assert_allclose(t.grad_norms, np.linalg.norm(expected[:-1] @ A, axis=1), rtol=1e-12)
    np.testing.assert_array_equal(x0, [1.5, -0.7])  # the caller's start is not touched


@pytest.mark.parametrize("name", list(optim.REGISTRY))
def test_every_optimizer_runs_on_rosenbrock(name):
    p = problems.rosenbrock()
    t = run(p, name, steps=50)
    assert t.points.shape == (51, 2) and not t.diverged
    assert np.all(np.isfinite(t.points))
    assert t.label.startswith(f"{name}(lr=")


def test_optimizer_as_name_class_or_callable_and_labels():
    p = problems.himmelblau()
    by_name = run(p, "SGD", lr=0.01, momentum=0.9, steps=20)
    by_class = run(p, optim.SGD, lr=0.01, momentum=0.9, steps=20)
    by_callable = run(p, lambda params: optim.SGD(params, lr=0.01, momentum=0.9), steps=20)
    for t in (by_class, by_callable):
        np.testing.assert_array_equal(t.points, by_name.points)
    assert by_name.label == by_class.label == by_callable.label == "SGD(lr=0.01, momentum=0.9)"
    assert run(p, "Adam", lr=0.1, steps=1).label == "Adam(lr=0.1)"
    assert run(p, "Adam", lr=0.1, steps=1, label="mine").label == "mine"
    np.testing.assert_array_equal(run(p, "SGD", steps=0).points, [p.start])
    with pytest.raises(ValueError, match="unknown optimizer"):
        run(p, "NoSuchOptimizer")
    with pytest.raises(ValueError, match="shape"):
        run(p, "SGD", start=[1.0, 2.0, 3.0])


def test_steps_to_tolerance():
    t = Trajectory(
        points=np.zeros((6, 2)), losses=np.array([5.0, 3.0, 1.5, 1.2, 0.9, 1.1]),
        grad_norms=np.zeros(5), label="hand-made", min_loss=1.0,
    )
    assert steps_to_tolerance(t, 0.5) == 2  # 1.5 − 1 <= 0.5 (inclusive)
    assert steps_to_tolerance(t, 0.2) == 3
    assert steps_to_tolerance(t, 0.0) == 4  # below min_loss counts
    assert steps_to_tolerance(t, 10.0) == 0
    assert steps_to_tolerance(t, -1.0) is None


# ----------------------------------------------------------------------------- registry
def test_get_and_problems_dict():
    for name, factory in problems.PROBLEMS.items():
        assert factory().name == name and problems.get(name).name == name
        assert factory.__doc__ and "f(" in factory.__doc__  # each docstring gives the formula
    assert problems.get("quadratic", condition_number=5.0).condition_number == pytest.approx(5.0)
    assert problems.get("rosenbrock", a=2.0).minima.tolist() == [[2.0, 4.0]]
    with pytest.raises(ValueError, match="unknown problem"):
        problems.get("nope")


def test_import_pulls_in_neither_matplotlib_nor_the_optimizers():
    code = (
        "import sys, optimlab.problems; "
        "print('matplotlib' in sys.modules, 'optimlab.optim' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_run_follows_a_schedule_as_fit_does():
    from optimlab import optim, schedules

    p = problems.quadratic(condition_number=10)
    sched = schedules.cosine(0.05, total_steps=30)
    traj = problems.run(p, "SGD", steps=30, schedule=sched, momentum=0.5)
    x = np.array(p.start, dtype=np.float64)
    opt = optim.SGD([x], lr=0.05, momentum=0.5)
    expected = [x.copy()]
    for k in range(30):
        opt.lr = float(sched(k))  # step k (from 0) uses schedule(k)
        opt.step([p.grad(x)])
        expected.append(x.copy())
    np.testing.assert_array_equal(traj.points, np.array(expected))
    assert traj.label == "SGD(momentum=0.5) + cosine"  # no initial lr: the schedule sets it
    with pytest.raises(TypeError, match="schedule must be a function of the step"):
        problems.run(p, "SGD", steps=3, schedule=0.1)
