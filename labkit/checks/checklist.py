"""Grader-chosen inputs for exercise 13 (a training checklist)."""

from __future__ import annotations

import numpy as np

from labkit.checks import Case, Spec, call, register, value

# -- exercise 13's fixed problem (the notebook imports it from here) -------------------------------
EX13_SUBSET = 20
"""Exercise 13: the first EX13_SUBSET training examples of ``labkit.data.digits(seed=0)`` are
overfitted by ``labkit.models.mlp(64, EX13_HIDDEN, 10, seed=EX13_SEED)`` with full-batch plain
SGD (``torch.optim.SGD(model.parameters(), lr=EX13_LR)``) for EX13_STEPS updates."""
EX13_HIDDEN = 32
EX13_SEED = 13
EX13_LR = 0.1
EX13_STEPS = 100


# -- functions whose gradients are checked (they keep the dtype of their input) ---------------
def wave(x):
    """``Σ sin(3x) · Σ x² + ½ Σ x⁴``: couples every coordinate with every other."""
    return np.sum(np.sin(3 * x)) * np.sum(x**2) + 0.5 * np.sum(x**4)


def softplus_sum(x):
    """``Σ log(1 + eᵡ)``, a smooth relative of ReLU."""
    return np.sum(np.log1p(np.exp(x)))


def log_sum_exp(x):
    """``log Σ eᵡ`` (shifted by the maximum), the normaliser of a softmax."""
    top = np.max(x)
    return top + np.log(np.sum(np.exp(x - top)))


def _numerical_gradients(seed: int, specs: list[tuple]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for f, shape, dtype, h in specs:
        x = rng.standard_normal(shape).astype(dtype)
        cases.append(Case.of(f"f = {f.__name__} ({f.__doc__.split(':')[0].rstrip('.')}), x: a "
                             f"{np.dtype(dtype).name} array of shape {shape}, h={h}",
                             f=f, x=x, h=h))
    return cases


def _numerical_gradient_cases() -> list[Case]:
    return _numerical_gradients(1301, [
        (wave, (5,), np.float64, 1e-5), (softplus_sum, (3, 4), np.float64, 1e-4),
        (log_sum_exp, (2, 3, 2), np.float64, 1e-3), (wave, (2, 2), np.float64, 1e-2),
        (wave, (6,), np.float32, 1e-3), (log_sum_exp, (3, 3), np.float32, 1e-5)])


def _numerical_gradient_practice() -> list[Case]:
    return _numerical_gradients(9131, [
        (softplus_sum, (4,), np.float64, 1e-5), (log_sum_exp, (2, 2), np.float64, 1e-4),
        (wave, (3,), np.float32, 1e-2)])


def _relative_error_cases() -> list[Case]:
    rng = np.random.default_rng(1302)
    a = rng.standard_normal(8)
    close = a * (1 + 1e-7 * rng.standard_normal(8))
    mixed_a = np.array([1.0, -2.0, 0.0, 0.0, 3e-3, 5.0, 1e-14, -4.0])
    mixed_b = np.array([1.5, 2.0, 0.0, 1e-3, 3e-3, 0.5, 3e-14, -1.0])
    matrix_a, matrix_b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    return [Case.of("b = a·(1 + 1e-7·noise), 8 entries, tiny=1e-12", a=a, b=close, tiny=1e-12),
            Case.of(f"a={mixed_a.tolist()}, b={mixed_b.tolist()}, tiny=1e-12", a=mixed_a,
                    b=mixed_b, tiny=1e-12),
            Case.of("the same pair, swapped, tiny=1e-12", a=mixed_b, b=mixed_a, tiny=1e-12),
            Case.of("two unrelated 3×4 arrays, tiny=1e-12", a=matrix_a, b=matrix_b, tiny=1e-12),
            Case.of(f"a={mixed_a.tolist()}, b={mixed_b.tolist()}, tiny=0.01", a=mixed_a, b=mixed_b,
                    tiny=1e-2)]


def _relative_error_practice() -> list[Case]:
    rng = np.random.default_rng(9132)
    a = rng.standard_normal(5)
    close = a * (1 + 1e-6 * rng.standard_normal(5))
    mixed_a = np.array([2.0, 0.0, -1.0, 1e-13, 0.0, 4e-2])
    mixed_b = np.array([2.5, 0.0, 1.0, 2e-13, 2e-3, 4e-2])
    return [Case.of("b = a·(1 + 1e-6·noise), 5 entries, tiny=1e-12", a=a, b=close, tiny=1e-12),
            Case.of(f"a={mixed_a.tolist()}, b={mixed_b.tolist()}, tiny=1e-12", a=mixed_a,
                    b=mixed_b, tiny=1e-12),
            Case.of(f"a={mixed_a.tolist()}, b={mixed_b.tolist()}, tiny=0.001", a=mixed_a,
                    b=mixed_b, tiny=1e-3)]


def _cross_entropies(seed: int, settings: list[tuple[int, int, float, float]]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for n, classes, scale, shift in settings:
        logits = rng.standard_normal((n, classes)) * scale + shift
        y = rng.integers(0, classes, n)
        cases.append(Case.of(f"logits: {n}×{classes}, standard deviation {scale}, all shifted by "
                             f"{shift}; y: {y.tolist()}", logits=logits, y=y))
    return cases


def _cross_entropy_cases() -> list[Case]:
    return _cross_entropies(1303, [(8, 10, 1.0, 0.0), (5, 4, 3.0, -2.0), (1, 3, 1.0, 0.0),
                                   (6, 2, 0.1, 0.0), (4, 5, 50.0, 1000.0)])


def _cross_entropy_practice() -> list[Case]:
    return _cross_entropies(9133, [(4, 3, 1.0, 0.0), (3, 6, 40.0, -500.0)])


def _classes(counts: tuple[int, ...]) -> list[Case]:
    return [Case.of(f"num_classes={c}", num_classes=c) for c in counts]


def _classes_cases() -> list[Case]:
    return _classes((2, 3, 10, 100, 1000))


def _classes_practice() -> list[Case]:
    return _classes((4, 50))


def _update_ratio_settings(seed: int, settings: list[tuple[tuple, float]]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for shape, lr in settings:
        w, dw = rng.standard_normal(shape), rng.standard_normal(shape) * 0.1
        cases.append(Case.of(f"w, dw: float64 arrays of shape {shape}, lr={lr}", w=w, dw=dw, lr=lr))
    return cases


def _update_ratio_cases() -> list[Case]:
    return _update_ratio_settings(1304, [((5,), 0.1), ((4, 3), 1e-3), ((2, 3, 4), 0.5),
                                         ((10, 10), 0.02)])


def _update_ratio_practice() -> list[Case]:
    return _update_ratio_settings(9134, [((6,), 0.05), ((3, 2), 1e-2)])


_OPTIMIZERS = [("SGD", dict(lr=0.1)), ("SGD", dict(lr=0.05, momentum=0.9)),
               ("SGD", dict(lr=0.1, weight_decay=0.01)), ("Adam", dict(lr=1e-3)),
               ("AdamW", dict(lr=1e-2, weight_decay=0.1))]


def _update_ratio_runs(first_seed: int, optimizers: list[tuple[str, dict]]) -> list[Case]:
    return [Case((seed, name, hyper, 3), (), f"a 6-5-3 float64 MLP (labkit.models.mlp, seed "
                 f"{seed}) on 10 random examples, torch.optim.{name}(**{hyper}), three calls")
            for seed, (name, hyper) in enumerate(optimizers, start=first_seed)]


def _update_ratios_cases() -> list[Case]:
    return _update_ratio_runs(0, _OPTIMIZERS)


def _update_ratios_practice() -> list[Case]:
    return _update_ratio_runs(60, [("SGD", dict(lr=0.2, momentum=0.5)),
                                   ("Adam", dict(lr=5e-3, weight_decay=0.01))])


def _run_update_ratios(answer, case: Case) -> dict:
    """Call ``answer(model, optimizer, compute_loss)`` three times in a row; record the
    returned dicts as plain floats per parameter name."""
    import torch
    from torch.nn.functional import cross_entropy

    from labkit.models import mlp

    seed, name, hyper, steps = case.args
    model = mlp(6, 5, 3, seed=seed)
    rng = np.random.default_rng(seed)
    X = torch.tensor(rng.standard_normal((10, 6)))
    y = torch.tensor(rng.integers(0, 3, 10))
    optimizer = getattr(torch.optim, name)(model.parameters(), **hyper)
    out = []
    for _ in range(steps):
        ratios = answer(model, optimizer, lambda: cross_entropy(model(X), y))
        out.append({str(k): float(v) for k, v in dict(ratios).items()})
    return {"value": out}


def _experiment_case() -> list[Case]:
    return [Case((), (), "your dict overfit")]


register(Spec("checklist.numerical_gradient", _numerical_gradient_cases, call,
              "centred differences", practice=_numerical_gradient_practice))
register(Spec("checklist.relative_error", _relative_error_cases, call, "relative error",
              practice=_relative_error_practice))
register(Spec("checklist.cross_entropy", _cross_entropy_cases, call, "softmax cross-entropy",
              practice=_cross_entropy_practice))
register(Spec("checklist.expected_initial_loss", _classes_cases, call, "ln C",
              practice=_classes_practice))
register(Spec("checklist.update_ratio", _update_ratio_cases, call, "SGD's update ratio",
              practice=_update_ratio_practice))
register(Spec("checklist.update_ratios", _update_ratios_cases, _run_update_ratios,
              "measured update ratios", practice=_update_ratios_practice))
register(Spec("checklist.overfit", _experiment_case, value, "overfitting 20 digits"))
