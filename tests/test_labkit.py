"""labkit: exact derivatives of the test surfaces, datasets, models; and it holds no answers."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import labkit
from labkit import data, functions, models


def _random_quadratic(seed: int, d: int, indefinite: bool = False) -> functions.Surface:
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    eigenvalues = rng.uniform(0.2, 4.0, d) * (np.where(np.arange(d) % 2, -1, 1)
                                               if indefinite else 1)
    A = Q @ np.diag(eigenvalues) @ Q.T
    return functions.quadratic((A + A.T) / 2, rng.standard_normal(d))


SURFACES = {**functions.SURFACES,
            "quadratic 2-d": functions.quadratic(np.array([[2.0, 0.5], [0.5, 1.0]]),
                                                 np.array([1.0, -1.0])),
            "quadratic 5-d": _random_quadratic(0, 5),
            "indefinite quadratic 4-d": _random_quadratic(1, 4, indefinite=True)}


def _numeric_grad(f, x, h=1e-6):
    """Centred differences with a step relative to the point's size."""
    steps = h * np.maximum(1.0, np.abs(x))
    return np.array([(f(x + s * e) - f(x - s * e)) / (2 * s)
                     for s, e in zip(steps, np.eye(len(x)), strict=True)])


def _dimension(surface: functions.Surface) -> int:
    return len(surface.hessian(surface.start))  # quadratics ignore the point


def _points(surface: functions.Surface, seed: int, count: int = 6) -> np.ndarray:
    d = _dimension(surface)
    xmin, xmax, ymin, ymax = surface.window
    rng = np.random.default_rng(seed)
    if d == 2:
        return np.column_stack([rng.uniform(xmin, xmax, count), rng.uniform(ymin, ymax, count)])
    return rng.uniform(-2, 2, (count, d))


@pytest.mark.parametrize("name", SURFACES)
def test_gradients_match_centred_finite_differences(name):
    surface = SURFACES[name]
    for x in _points(surface, seed=0):
        exact = surface.grad(x)
        numeric = _numeric_grad(surface.value, x)
        assert exact.shape == x.shape
        scale = 1.0 + np.abs(numeric).max()
        np.testing.assert_allclose(exact, numeric, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("name", SURFACES)
def test_hessians_match_finite_differences_of_the_gradient(name):
    surface = SURFACES[name]
    d = _dimension(surface)
    for x in _points(surface, seed=1):
        exact = surface.hessian(x)
        numeric = np.array([_numeric_grad(lambda z, i=i: surface.grad(z)[i], x)
                            for i in range(d)])
        assert exact.shape == (d, d)
        np.testing.assert_allclose(exact, exact.T, rtol=1e-12, atol=1e-12)
        scale = 1.0 + np.abs(numeric).max()
        np.testing.assert_allclose(exact, numeric, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("name", SURFACES)
def test_minimisers_have_zero_gradient_and_a_positive_definite_hessian(name):
    surface = SURFACES[name]
    if surface.minimum is None:  # unbounded below: the saddle, an indefinite quadratic
        assert np.linalg.eigvalsh(surface.hessian(np.zeros(_dimension(surface)))).min() < 0
        return
    x_star = surface.minimum
    np.testing.assert_allclose(surface.grad(x_star), 0, atol=1e-12)
    assert np.linalg.eigvalsh(surface.hessian(x_star)).min() > 0
    rng = np.random.default_rng(2)
    for _ in range(10):  # a strict local minimum: nearby points are higher
        assert surface.value(x_star + 1e-3 * rng.standard_normal(len(x_star))) > \
            surface.value(x_star)


def test_known_values_of_the_classic_surfaces():
    assert functions.ROSENBROCK.value(np.array([1.0, 1.0])) == 0.0
    assert functions.ROSENBROCK.value(np.array([0.0, 0.0])) == 1.0
    assert functions.BEALE.value(np.array([3.0, 0.5])) == 0.0
    assert functions.BEALE.value(np.array([0.0, 0.0])) == pytest.approx(1.5**2 + 2.25**2
                                                                        + 2.625**2)
    np.testing.assert_allclose(functions.SADDLE.grad(np.zeros(2)), 0)
    assert functions.SADDLE.minimum is None
    bowl = functions.ill_conditioned_quadratic(50.0)
    np.testing.assert_allclose(np.linalg.eigvalsh(bowl.hessian(None)), [1.0, 50.0])
    assert bowl.value(np.array([1.0, 1.0])) == pytest.approx(25.5)


def test_quadratic_value_gradient_and_validation():
    A, b = np.array([[3.0, 1.0], [1.0, 2.0]]), np.array([1.0, 1.0])
    surface = functions.quadratic(A, b)
    x = np.array([0.5, -1.0])
    assert surface.value(x) == pytest.approx(0.5 * x @ A @ x - b @ x)
    np.testing.assert_allclose(surface.grad(x), A @ x - b)
    np.testing.assert_allclose(surface.minimum, np.linalg.solve(A, b))
    surface.hessian(x)[0, 0] = 99.0  # a caller scribbling on the Hessian changes nothing
    assert surface.hessian(x)[0, 0] == 3.0
    with pytest.raises(ValueError, match="square"):
        functions.quadratic(np.ones((2, 3)))
    with pytest.raises(ValueError, match="symmetric"):
        functions.quadratic(np.array([[1.0, 2.0], [0.0, 1.0]]))


def test_digits_split_shapes_labels_and_determinism():
    a, b = data.digits(seed=0), data.digits(seed=0)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.X_train.shape == (1348, 64) and a.X_test.shape == (449, 64)
    assert a.y_train.shape == (1348,) and a.y_test.shape == (449,)
    assert a.X_train.dtype == np.float64 and a.y_train.dtype == np.int64
    assert a.num_classes == 10
    for labels in (a.y_train, a.y_test):
        assert set(np.unique(labels)) == set(range(10))
    raw_labels = np.bincount(data._raw_digits()[1])
    np.testing.assert_array_equal(np.bincount(np.concatenate([a.y_train, a.y_test])),
                                  raw_labels)  # a partition of the 1,797 images
    other = data.digits(seed=1)
    assert not np.array_equal(other.y_train, a.y_train)
    half = data.digits(test_fraction=0.5)
    assert len(half.y_test) == round(0.5 * 1797) and len(half.y_train) + len(half.y_test) == 1797


def test_digits_are_standardised_with_training_statistics_only():
    a = data.digits(seed=0)
    varying = a.X_train.std(axis=0) > 0
    np.testing.assert_allclose(a.X_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(a.X_train.std(axis=0)[varying], 1, rtol=1e-12)
    np.testing.assert_array_equal(a.X_train[:, ~varying], 0)  # constant pixels stay at zero
    assert np.abs(a.X_test.mean(axis=0)[varying]).max() > 1e-3  # test stats were not used


def test_digits_standardisation_against_a_synthetic_raw_set(monkeypatch):
    """A raw set whose label is the row number lets every row be traced: train *and* test rows
    must be shifted and scaled by the mean and standard deviation of the *training* rows."""
    n = 40
    rng = np.random.default_rng(0)
    raw_X = np.column_stack([rng.normal(5, 3, n), rng.uniform(0, 16, n), np.full(n, 7.0)])
    raw_y = np.arange(n)
    monkeypatch.setattr(data, "_raw_digits", lambda: (raw_X, raw_y))
    split = data.digits(test_fraction=0.25, seed=3)
    train, test = split.y_train, split.y_test
    assert len(test) == 10 and len(train) == 30
    np.testing.assert_array_equal(np.sort(np.concatenate([train, test])), np.arange(n))
    mean, std = raw_X[train].mean(axis=0), raw_X[train].std(axis=0)
    np.testing.assert_allclose(split.X_train[:, :2], (raw_X[train, :2] - mean[:2]) / std[:2],
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(split.X_test[:, :2], (raw_X[test, :2] - mean[:2]) / std[:2],
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(split.X_train[:, 2], 0)  # constant in train: left at zero
    np.testing.assert_array_equal(split.X_test[:, 2], 0)
    np.testing.assert_array_equal(raw_X[:, 2], 7.0)  # the raw set itself is not modified
    with pytest.raises(ValueError, match="test_fraction"):
        data.digits(test_fraction=1.0)
    with pytest.raises(ValueError, match="test_fraction"):
        data.digits(test_fraction=0.0)


def test_digits_callers_get_private_copies():
    first = data.digits(seed=0)
    first.X_train[:] = 0.0
    second = data.digits(seed=0)
    assert np.abs(second.X_train).max() > 0
    raw_X, _ = data._raw_digits()
    assert raw_X.min() == 0 and raw_X.max() == 16  # the cached raw pixels are untouched


def _digits_subset(n=60):
    split = data.digits(seed=0)
    return split.X_train[:n], split.y_train[:n]


def test_softmax_regression_loss_at_zero_is_log_of_the_class_count():
    X, y = _digits_subset()
    loss, dW = models.softmax_regression(np.zeros((65, 10)), X, y)
    assert loss == pytest.approx(np.log(10), rel=1e-12)
    assert dW.shape == (65, 10)
    np.testing.assert_allclose(dW.sum(axis=1), 0, atol=1e-12)  # softmax gradients sum to 0


@pytest.mark.parametrize("l2", [0.0, 0.3])
def test_softmax_regression_gradient_matches_finite_differences(l2):
    X, y = _digits_subset(40)
    X = X[:, :12]
    rng = np.random.default_rng(0)
    W = 0.3 * rng.standard_normal((13, 10))
    W_copy = W.copy()
    loss, dW = models.softmax_regression(W, X, y, l2=l2)
    np.testing.assert_array_equal(W, W_copy)

    def flat(w):
        return models.softmax_regression(w.reshape(W.shape), X, y, l2=l2)[0]

    np.testing.assert_allclose(dW.ravel(), _numeric_grad(flat, W.ravel()), rtol=1e-5,
                               atol=1e-8)
    # the bias row (the last one) is not regularised
    unregularised = models.softmax_regression(W, X, y)[0]
    assert loss - unregularised == pytest.approx(0.5 * l2 * np.sum(W[:-1] ** 2), abs=1e-12)


def test_softmax_is_stable_for_huge_logits_and_accuracy_counts_argmax():
    probs = models.softmax(np.array([[1000.0, 0.0, -1000.0], [5.0, 5.0, 5.0]]))
    np.testing.assert_allclose(probs, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], atol=1e-15)
    X, y = _digits_subset()
    loss, dW = models.softmax_regression(1e4 * np.ones((65, 10)) * np.arange(10), X, y)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))
    W = np.zeros((3, 2))
    W[0, 1] = 1.0  # class 1 iff the first feature is positive
    X2 = np.array([[1.0, 0.0], [-1.0, 0.0], [2.0, 5.0], [-0.5, 1.0]])
    assert models.accuracy(W, X2, np.array([1, 0, 1, 1])) == 0.75


def test_least_squares_value_and_gradient():
    X, y, w_star = data.linear_regression(n=30, d=3, seed=1)
    w = np.array([0.3, -1.0, 2.0])
    loss, grad = models.least_squares(w, X, y)
    assert loss == pytest.approx(0.5 * np.mean((X @ w - y) ** 2))
    np.testing.assert_allclose(grad, _numeric_grad(lambda z: models.least_squares(z, X, y)[0], w),
                               rtol=1e-6, atol=1e-9)
    w_hat = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(models.least_squares(w_hat, X, y)[1], 0, atol=1e-12)
    assert np.linalg.norm(w_hat - w_star) < 0.2  # noise 0.1: the fit recovers w*


@pytest.mark.parametrize("depth", [1, 3])
def test_mlp_dtype_depth_shapes_and_seed(depth):
    net = models.mlp(64, 16, 10, depth=depth, seed=0)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    assert len(linears) == depth + 1
    assert sum(isinstance(m, torch.nn.ReLU) for m in net) == depth
    assert isinstance(net[-1], torch.nn.Linear)  # logits: no activation after the last layer
    assert (linears[0].in_features, linears[-1].out_features) == (64, 10)
    assert all(p.dtype == torch.float64 for p in net.parameters())
    assert net(torch.zeros(2, 64, dtype=torch.float64)).shape == (2, 10)
    again, other = models.mlp(64, 16, 10, depth=depth, seed=0), models.mlp(64, 16, 10,
                                                                           depth=depth, seed=1)
    for p, q in zip(net.parameters(), again.parameters(), strict=True):
        assert torch.equal(p, q)
    assert not torch.equal(linears[0].weight, next(other.parameters()))
    with pytest.raises(ValueError, match="depth"):
        models.mlp(4, 4, 2, depth=0)


LABKIT = Path(labkit.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    """Every module named by an import statement or a literal ``importlib``/``__import__``."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and node.args and \
                isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__"):
                names.add(node.args[0].value)
    return names


def test_labkit_source_never_imports_the_solutions():
    """Students receive labkit; an import of ``solutions`` would hand them the answers (or
    break on their machine). Docstrings may *mention* solutions/, so the imports are parsed."""
    files = sorted(LABKIT.rglob("*.py"))
    assert len(files) >= 8
    for path in files:
        offending = {m for m in _imported_modules(path) if m.split(".")[0] == "solutions"}
        assert not offending, f"{path.relative_to(LABKIT.parent)} imports {offending}"


def test_the_import_scan_would_catch_an_import(tmp_path):
    sample = tmp_path / "sample.py"
    for line in ("import solutions.momentum", "from solutions import momentum as m",
                 "import importlib\nimportlib.import_module('solutions.momentum')",
                 "def f():\n    from solutions.sgd import sgd_step"):
        sample.write_text(line + "\n")
        assert any(m.startswith("solutions") for m in _imported_modules(sample)), line


def test_importing_every_labkit_module_does_not_load_solutions():
    modules = sorted({".".join(p.relative_to(LABKIT.parent).with_suffix("").parts)
                      .removesuffix(".__init__") for p in LABKIT.rglob("*.py")})
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    importlib.import_module(name)\n"
            "leaked = sorted(m for m in sys.modules if m.split('.')[0] == 'solutions')\n"
            "assert not leaked, leaked\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, cwd=LABKIT.parent)
    assert result.returncode == 0, result.stderr[-2000:]
