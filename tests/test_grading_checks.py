"""The exercise checks: the reference passes, every catalogued mistake is named, reports read well."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys

import numpy as np
import pytest

from optimlab import grading
from optimlab.grading import checks, reference, runner, specs
from optimlab.grading.mistakes import CATALOGUE

ALL = list(specs.SPECS)
MISTAKES = [(name, m) for name, ms in CATALOGUE.items() for m in ms]
ADAPTIVE = ["adagrad_step", "rmsprop_step", "adadelta_step", "adam_step", "amsgrad_step", "adamw_step",
            "lion_step", "adabelief_step"]
REQUIRED = ["gd_step", "momentum_step", "nesterov_step", "adagrad_step", "rmsprop_step", "adam_step", "adamw_step",
            "lion_step", "adabelief_step", "warmup_cosine_lr", "minibatches", "linear_backward",
            "softmax_cross_entropy", "batchnorm_backward", "newton_schulz", "muon_step"]


def test_at_least_fifteen_exercises_including_the_required_ones():
    assert len(ALL) >= 15
    assert set(REQUIRED) <= set(ALL)
    assert set(grading.exercises()) == set(ALL)
    assert {s.chapter for s in specs.SPECS.values()} == {
        "01_gradient_descent", "02_sgd", "03_momentum", "04_adagrad", "05_rmsprop", "06_adam", "07_adamw",
        "08_new_optimizers", "09_schedules", "10_putting_it_together", "11_beyond_adam"}


def declared_parameters(signature: str) -> list[tuple[str, object]]:
    """(name, default) pairs of an exercise's documented signature."""
    fn = ast.parse(f"def {signature.split(' -> ')[0]}: pass").body[0]
    args = fn.args.args
    defaults = [inspect.Parameter.empty] * (len(args) - len(fn.args.defaults)) + [
        ast.literal_eval(d) for d in fn.args.defaults]
    return [(a.arg, d) for a, d in zip(args, defaults)]


@pytest.mark.parametrize("name", ALL)
def test_reference_has_the_exercise_signature(name):
    spec = specs.get(name)
    actual = [(p.name, p.default) for p in inspect.signature(getattr(reference, name)).parameters.values()]
    assert declared_parameters(spec.signature) == actual
    assert spec.positional == tuple(n for n, d in actual if d is inspect.Parameter.empty)


@pytest.mark.parametrize("name", ALL)
def test_reference_passes_its_own_check(name):
    result = checks.check(name, getattr(reference, name), quiet=True)
    assert result.passed, result.message
    assert result.status == "passed" and result.first_failure is None and result.mistake is None
    assert result.message.startswith(f"✔ {name} is correct")


@pytest.mark.parametrize("name", ALL)
def test_checks_cover_several_cases_and_steps(name):
    trials = specs.get(name).trials()
    assert len({t.case for t in trials}) >= 3
    assert len(trials) >= 5


def test_reference_leaves_its_arguments_alone():
    rng = np.random.default_rng(0)
    theta, grad, m, v = (rng.standard_normal(4) for _ in range(4))
    v = np.abs(v)
    copies = [a.copy() for a in (theta, grad, m, v)]
    reference.adam_step(theta, grad, m, v, 3)
    for a, b in zip((theta, grad, m, v), copies):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ADAPTIVE)
def test_every_adaptive_optimizer_has_at_least_three_named_mistakes(name):
    assert len(CATALOGUE[name]) >= 3


@pytest.mark.parametrize("name", ["newton_schulz", "muon_step"])
def test_every_muon_exercise_has_at_least_three_named_mistakes(name):
    assert len([m for m in CATALOGUE[name] if m.detect == "output"]) >= 3
    assert "in_place" in {m.key for m in CATALOGUE[name]}


def test_newton_schulz_reference_is_the_iterate_not_the_svd():
    """The check compares with the reference's quintic iterate: near U Vᵀ, but not equal to it."""
    rng = np.random.default_rng(11)
    for shape in [(4, 4), (3, 6), (7, 3)]:
        G = rng.standard_normal(shape)
        X = reference.newton_schulz(G)
        U, _, Vt = np.linalg.svd(G, full_matrices=False)
        sigma = np.linalg.svd(X, compute_uv=False)
        assert X.shape == G.shape and np.all((sigma > 0.6) & (sigma < 1.25)), sigma
        assert not np.allclose(X, U @ Vt, rtol=1e-3)  # the quintic does not converge to 1
        D = U.T @ X @ Vt.T  # the singular vectors are G's: D is diagonal
        np.testing.assert_allclose(D - np.diag(np.diag(D)), 0.0, atol=1e-10)
    np.testing.assert_array_equal(reference.newton_schulz(np.zeros((2, 3))), np.zeros((2, 3)))


def test_muon_step_reference_follows_the_muon_optimizer():
    from optimlab import optim

    rng = np.random.default_rng(12)
    for shape in [(3, 5), (6, 4)]:
        w = rng.standard_normal(shape)
        theta, buf = w.copy(), np.zeros(shape)
        opt = optim.Muon([w], lr=0.02, weight_decay=0.1, momentum=0.9)
        for _ in range(5):
            g = rng.standard_normal(shape)
            opt.step([g])
            theta, buf = reference.muon_step(theta, g, buf, lr=0.02, momentum=0.9, weight_decay=0.1)
        np.testing.assert_array_equal(theta, w)


def test_adam_catalogue_has_the_classic_mistakes():
    keys = {m.key for m in CATALOGUE["adam_step"]}
    assert {"no_bias_correction", "t_from_zero", "eps_inside_sqrt", "wrong_moment_corrected", "in_place"} <= keys
    assert "l2_instead_of_decoupled" in {m.key for m in CATALOGUE["adamw_step"]}


@pytest.mark.parametrize("name, mistake", MISTAKES, ids=[f"{n}-{m.key}" for n, m in MISTAKES])
def test_each_catalogued_mistake_is_diagnosed(name, mistake):
    result = checks.check(name, mistake.impl, quiet=True)
    assert not result.passed
    assert result.status == "failed", result.message
    assert result.mistake is not None and result.mistake.key == mistake.key, result.message
    assert f"Likely mistake: {mistake.title}." in result.message
    f = result.first_failure
    assert f is not None and f.case and f.step and f.variable


def test_failure_report_shows_step_variable_expected_and_got():
    bad = next(m for m in CATALOGUE["adam_step"] if m.key == "no_bias_correction").impl
    result = checks.check("adam_step", bad, quiet=True)
    f = result.first_failure
    assert f.step.startswith("step 1 of") and "(t = 1)" in f.step
    assert f.variable == "theta"  # m and v are right: only the step uses the corrected moments
    assert isinstance(f.expected, float) and isinstance(f.got, float) and f.expected != f.got
    assert re.search(r"expected -?\d", result.message) and re.search(r"got +-?\d", result.message)
    assert "Traceback" not in result.message


def test_first_diverging_state_variable_is_named():
    def wrong_m(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        theta, m, v = reference.adam_step(theta, grad, m, v, t, lr, beta1, beta2, eps)
        return theta, m * 1.5, v

    result = checks.check("adam_step", wrong_m, quiet=True)
    assert result.first_failure.variable == "m" and result.mistake is None
    assert "No mistake from the catalogue reproduces your numbers" in result.message


def test_stub_is_reported_calmly():
    def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        raise NotImplementedError("write your code here, then run the check below")

    result = checks.check("adam_step", adam_step, quiet=True)
    assert result.status == "not implemented" and not result.passed and not result
    assert "not implemented yet" in result.message and "Traceback" not in result.message


def test_generator_stub_is_reported_calmly():
    def minibatches(X, y, batch_size, shuffle=True, drop_last=False, seed=0):
        raise NotImplementedError
        yield  # a generator whose body was replaced by the stub

    assert checks.check("minibatches", minibatches, quiet=True).status == "not implemented"


def test_errors_name_the_line_of_the_student_code():
    def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        m = beta1 * m + (1 - beta1) * gard  # noqa: F821
        return theta, m, v

    result = checks.check("adam_step", adam_step, quiet=True)
    assert result.status == "error"
    assert "NameError" in result.message and "gard" in result.message and "line" in result.message


@pytest.mark.parametrize("returned, words", [
    (lambda theta, m, v: (theta, m), "tuple of 3"),
    (lambda theta, m, v: "done", "tuple of 3"),
    (lambda theta, m, v: (theta[:1], m, v), "shape"),
    (lambda theta, m, v: (object(), m, v), "array of numbers"),
])
def test_wrong_kinds_of_return_value_are_explained(returned, words):
    def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        return returned(theta, m, v)

    result = checks.check("adam_step", adam_step, quiet=True)
    assert not result.passed and words in result.message, result.message


def test_always_equal_objects_do_not_pass():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

        __hash__ = object.__hash__

    def gd_step(theta, grad, lr):
        return AlwaysEqual()

    assert not checks.check("gd_step", gd_step, quiet=True).passed


def test_renamed_hyperparameter_is_an_error_not_a_crash():
    def adam_step(theta, grad, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        return reference.adam_step(theta, grad, m, v, t, learning_rate, beta1, beta2, eps)

    result = checks.check("adam_step", adam_step, quiet=True)
    assert result.status == "error" and "unexpected keyword argument 'lr'" in result.message, result.message


def test_wrong_default_is_caught_by_the_defaults_case():
    def adam_step(theta, grad, m, v, t, lr=1e-2, beta1=0.9, beta2=0.999, eps=1e-8):
        return reference.adam_step(theta, grad, m, v, t, lr, beta1, beta2, eps)

    result = checks.check("adam_step", adam_step, quiet=True)
    assert not result.passed and result.first_failure.case == "defaults"


def test_not_a_function():
    result = checks.check("gd_step", 3, quiet=True)
    assert result.status == "error" and "your function gd_step itself" in result.message


def test_public_check_functions_print_a_report_and_return_a_result(capsys):
    result = grading.check_gd_step(reference.gd_step)
    assert isinstance(result, grading.CheckResult) and result.passed
    assert "✔ gd_step is correct" in capsys.readouterr().out
    assert grading.results()[-1] is result
    assert "gd_step(theta, grad, lr)" in grading.check_gd_step.__doc__
    with pytest.raises(AttributeError):
        grading.check_no_such_exercise  # noqa: B018


def test_result_is_plain_data_and_html():
    bad = next(m for m in CATALOGUE["lion_step"] if m.key == "no_sign").impl
    result = checks.check("lion_step", bad, quiet=True)
    d = result.to_dict()
    assert d["passed"] is False and d["mistake"]["key"] == "no_sign"
    assert d["first_failure"]["variable"] == "theta"
    import json

    json.dumps(d)
    assert result._repr_html_().startswith("<div") and "Likely mistake" in result._repr_html_()
    assert repr(result) == "CheckResult(name='lion_step', status='failed', mistake='no_sign')"


def test_reports_are_deterministic():
    bad = next(m for m in CATALOGUE["adam_step"] if m.key == "eps_inside_sqrt").impl
    a = checks.check("adam_step", bad, quiet=True).message
    b = checks.check("adam_step", bad, quiet=True).message
    assert a == b


def test_json_transport_is_exact():
    rng = np.random.default_rng(5)
    args = {"x": rng.standard_normal((3, 2)), "labels": np.array([1, 0, 2]), "lr": 0.1, "flag": True}
    back = runner.decode(__import__("json").loads(__import__("json").dumps(runner.encode(args))))
    np.testing.assert_array_equal(back["x"], args["x"])
    assert back["labels"].dtype == np.int64 and back["lr"] == 0.1 and back["flag"] is True


def test_importing_grading_is_lazy():
    code = ("import sys, optimlab.grading; "
            "print(sorted(m for m in ('optimlab.optim', 'optimlab.nn', 'nbclient', 'IPython', 'tqdm') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_command_line():
    run = [sys.executable, "-m", "optimlab.cli"]
    out = subprocess.run([*run, "exercises"], capture_output=True, text=True, check=True).stdout
    assert out.count("(") >= len(ALL) and "adam_step(theta, grad, m, v, t," in out
    assert subprocess.run([*run, "bogus"], capture_output=True).returncode == 2
    assert "make-exercises" in subprocess.run([*run, "--help"], capture_output=True, text=True).stdout
    assert subprocess.run([*run, "grade", "/no/such/file.ipynb"], capture_output=True).returncode == 2


# ----------------------------------------------------------------------------- reports after review
def flat(message: str) -> str:
    """A report with its line wrapping undone."""
    return " ".join(message.split())


def test_an_overflow_is_not_blamed_on_a_catalogued_mistake():
    """The variant with b and c swapped overflows too; Inf agreeing with Inf identifies nothing."""
    def newton_schulz(G, steps=5, coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7):
        a, b, c = coefficients
        X = G / (np.sqrt(np.linalg.norm(G)) + eps)  # should divide by the norm itself
        tall = X.shape[0] > X.shape[1]
        X = X.T if tall else X
        for _ in range(steps):
            A = X @ X.T
            X = a * X + (b * A + c * A @ A) @ X
        return X.T if tall else X

    result = checks.check("newton_schulz", newton_schulz, quiet=True)
    assert result.status == "failed" and result.mistake is None, result.message
    assert "Likely mistake" not in result.message and "No mistake from the catalogue" not in result.message
    assert "yours include NaN or Inf" in result.message and "overflow" in result.message


def test_a_function_that_calls_an_unfinished_exercise_names_it():
    def newton_schulz(G, steps=5, coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7):
        raise NotImplementedError("write your code here, then run the check below")

    def muon_step(theta, grad, buf, lr=1e-3, momentum=0.95, nesterov=True, weight_decay=0.1):
        buf = momentum * buf + grad
        update = grad + momentum * buf if nesterov else buf
        return theta * (1 - lr * weight_decay) - lr * newton_schulz(update), buf

    result = checks.check("muon_step", muon_step, quiet=True)
    assert result.status == "not implemented"
    assert result.message.startswith("… muon_step calls newton_schulz, which still raises NotImplementedError")
    assert "muon_step is not implemented" not in result.message


@pytest.mark.parametrize("name, fn, said", [
    ("adamw_step", lambda theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0:
     reference.adamw_step(theta, grad, m, v, t, lr, beta1, beta2, eps, weight_decay),
     "Your default weight_decay is 0.0; the statement says 0.01."),
    ("adabelief_step", lambda theta, grad, m, s, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0:
     reference.adabelief_step(theta, grad, m, s, t, lr, beta1, beta2, eps, weight_decay),
     "Your default eps is 1e-08; the statement says 1e-16."),
])
def test_a_wrong_default_is_named_instead_of_a_wrong_rule(name, fn, said):
    result = checks.check(name, fn, quiet=True)
    assert result.status == "failed" and result.first_failure.case == "defaults"
    assert result.mistake is None and "Likely mistake" not in result.message
    lines = result.message.splitlines()
    assert lines[1] == f"   {said}"  # first, right under the headline
    assert "This case uses your default" in result.message


def test_a_wrong_default_fails_even_when_no_call_shows_it():
    def newton_schulz(G, steps=5, coefficients=(3.4445, -4.7750, 2.0315), eps=1e-8):
        return reference.newton_schulz(G, steps, coefficients, eps)

    result = checks.check("newton_schulz", newton_schulz, quiet=True)
    assert result.status == "failed" and result.points == 0 and result.first_failure.kind == "signature"
    assert "Your default eps is 1e-08; the statement says 1e-07." in result.message


def test_missing_renamed_and_extra_parameters_are_named():
    def adam_step(theta, grad, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999):
        return reference.adam_step(theta, grad, m, v, t, learning_rate, beta1, beta2)

    message = checks.check("adam_step", adam_step, quiet=True).message
    assert "Your parameter learning_rate is called lr in the statement." in message
    assert "Your adam_step has no parameter eps." in message

    def gd_step(params, grad, lr, momentum):
        return params - lr * grad

    message = checks.check("gd_step", gd_step, quiet=True).message
    assert "Your gd_step has a parameter momentum that the statement does not have." in message
    assert "params" not in message.splitlines()[1]  # a positional parameter may have any name

    def gd_step(params, g, lr):  # noqa: F811
        return params - lr * g

    assert checks.check("gd_step", gd_step, quiet=True).passed


def test_parameters_read_from_source_without_running_it():
    import ast as ast_

    node = ast_.parse("def f(a, b, /, c, lr=LR, eps=1e-8, *, k=(1, -2.5), q=None): pass").body[0]
    assert checks.parameters_of_def(node) == [("a", checks.NO_DEFAULT), ("b", checks.NO_DEFAULT),
                                              ("c", checks.NO_DEFAULT), ("lr", checks.UNKNOWN), ("eps", 1e-8),
                                              ("k", (1, -2.5)), ("q", None)]
    assert checks.parameters_of_def(ast_.parse("def f(*args): pass").body[0]) is None
    assert checks.parameters_of_def(ast_.parse("@wrap\ndef f(a): pass").body[0]) is None
    problems, wrong = checks.signature_problems(specs.get("adam_step"), [
        ("theta", checks.NO_DEFAULT), ("grad", checks.NO_DEFAULT), ("m", checks.NO_DEFAULT), ("v", checks.NO_DEFAULT),
        ("t", checks.NO_DEFAULT), ("lr", checks.UNKNOWN), ("beta1", 0.9), ("beta2", 0.999), ("eps", 1e-8)])
    assert (problems, wrong) == ([], set())  # an unreadable default is not held against the student


@pytest.mark.parametrize("returned, words", [
    (lambda dx, dw, db: (dx, dw, db[None]), "keepdims"),
    (lambda dx, dw, db: (dx, dw, float(db.max())), "np.maximum"),
])
def test_shape_errors_get_a_hint_instead_of_the_catalogue_line(returned, words):
    def linear_backward(x, weight, dy):
        return returned(*reference.linear_backward(x, weight, dy))

    result = checks.check("linear_backward", linear_backward, quiet=True)
    assert result.first_failure.kind == "shape" and words in result.message, result.message
    assert "No mistake from the catalogue" not in result.message


@pytest.mark.parametrize("name, swap, said", [
    ("adam_step", lambda a, b, c: (a, c, b), "expected (theta, m, v); yours are (theta, v, m)"),
    ("momentum_step", lambda a, b: (b, a), "expected (theta, buf); yours are (buf, theta)"),
])
def test_outputs_in_the_wrong_order_are_recognized(name, swap, said):
    ref = getattr(reference, name)
    result = checks.check(name, lambda *a, **k: swap(*ref(*a, **k)), quiet=True)
    assert result.first_failure.kind == "order"
    assert "returns the right values in the wrong order" in flat(result.message) and said in flat(result.message)


def test_batch_counts_are_explained():
    def minibatches(X, y, batch_size, shuffle=True, drop_last=False, seed=0):
        yield from reference.minibatches(X, y, batch_size, shuffle, drop_last, seed)
        if batch_size >= len(X):
            yield X[:0], y[:0]

    result = checks.check("minibatches", minibatches, quiet=True)
    assert "The epoch should have 1 batch; yours has 2." in result.message, result.message
    assert "extra, empty batch" in result.message and "equation" not in result.message


def test_wrong_batches_are_not_compared_with_an_equation():
    def minibatches(X, y, batch_size, shuffle=True, drop_last=False, seed=0):
        yield from reference.minibatches(X, y, batch_size, shuffle, drop_last, seed + 1)

    result = checks.check("minibatches", minibatches, quiet=True)
    assert result.first_failure.kind == "value" and "equation" not in result.message, result.message
    assert "which rows batch 0 holds" in result.message


def test_a_changed_gradient_gets_a_hint_that_fits():
    def adagrad_step(theta, grad, sum_sq, lr=1e-2, eps=1e-10):
        out = reference.adagrad_step(theta, grad, sum_sq, lr, eps)
        grad *= 2
        return out

    result = checks.check("adagrad_step", adagrad_step, quiet=True)
    assert result.first_failure.kind == "mutation" and result.first_failure.variable == "grad"
    assert "g = grad + ... rather than grad += ..." in flat(result.message) and "return them" not in result.message


def test_return_values_and_non_functions_are_described_grammatically():
    def momentum_step(theta, grad, buf, t, lr, momentum=0.9, dampening=0.0):
        return reference.momentum_step(theta, grad, buf, t, lr, momentum, dampening)[0]

    message = checks.check("momentum_step", momentum_step, quiet=True).message
    assert "Your function should return a tuple of 2 values (theta, buf); it returned an ndarray." in message
    assert checks.check("gd_step", 3, quiet=True).message.endswith("got an int.")
    assert runner.article("tuple") == "a tuple" and runner.article("AlwaysEqual") == "an AlwaysEqual"


def test_float32_arithmetic_is_suspected():
    def adam_step(theta, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        f = np.float32
        theta, grad, m, v = (np.asarray(a, dtype=f) for a in (theta, grad, m, v))
        m = f(beta1) * m + f(1 - beta1) * grad
        v = f(beta2) * v + f(1 - beta2) * grad * grad
        m_hat, v_hat = m / f(1 - beta1**t), v / f(1 - beta2**t)
        return theta - f(lr) * m_hat / (np.sqrt(v_hat) + f(eps)), m, v

    result = checks.check("adam_step", adam_step, quiet=True)
    assert "did you compute in float32?" in result.message, result.message
    assert "No mistake from the catalogue" not in result.message
