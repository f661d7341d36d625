"""Grader-chosen inputs for exercise 11 (stable training: dropout, batch norm, clipping,
early stopping)."""

from __future__ import annotations

import numpy as np

from labkit.checks import Case, Spec, call, register, value

# -- exercise 11's fixed problem (the notebook imports it from here) -------------------------------
EX11_TRAIN = 200
"""Exercise 11: an MLP trained full-batch on the first ``EX11_TRAIN`` training digits,
validated on the next ``EX11_VAL`` (early stopping), tested on the test split."""
EX11_VAL = 300
EX11_HIDDEN = 128
EX11_DEPTH = 2
EX11_SEED = 11
EX11_LR = 0.05
EX11_MOMENTUM = 0.9
EX11_MAX_EPOCHS = 300
EX11_PATIENCE = 10
EX11_MIN_DELTA = 1e-3


def ex11_split() -> tuple[np.ndarray, ...]:
    """``(X_train, y_train, X_val, y_val, X_test, y_test)`` of exercise 11 (NumPy arrays,
    float64 features): slices of ``labkit.data.digits(seed=0)``."""
    from labkit.data import digits

    split = digits(seed=0)
    end = EX11_TRAIN + EX11_VAL
    return (split.X_train[:EX11_TRAIN], split.y_train[:EX11_TRAIN],
            split.X_train[EX11_TRAIN:end], split.y_train[EX11_TRAIN:end],
            split.X_test, split.y_test)

# -- dropout ------------------------------------------------------------------------------------
_DROPOUT = [((6,), 0.5, 0), ((4, 5), 0.2, 1), ((3, 8), 0.75, 2), ((2, 3, 4), 0.1, 3),
            ((50,), 0.6, 4), ((5, 5), 0.0, 5)]
_DROPOUT_PRACTICE = [((5,), 0.3, 70), ((3, 4), 0.0, 71), ((2, 2, 3), 0.8, 72)]


def _dropout_cases(train: bool, settings: list[tuple] = _DROPOUT) -> list[Case]:
    cases = []
    for shape, p, seed in settings:
        x = np.random.default_rng(100 + seed).standard_normal(shape)
        cases.append(Case((x, p, seed, train), (), f"x of shape {shape} (standard normal), "
                          f"p={p}, rng=np.random.default_rng({seed}), train={train}"))
    return cases


def _dropout_train_practice() -> list[Case]:
    return _dropout_cases(True, _DROPOUT_PRACTICE)


def _dropout_eval_practice() -> list[Case]:
    return _dropout_cases(False, _DROPOUT_PRACTICE)


def _run_dropout(answer, case: Case) -> dict:
    x, p, seed, train = case.args
    return {"value": answer(x.copy(), p, np.random.default_rng(seed), train)}


# -- batch normalisation ------------------------------------------------------------------------
_BN_TRAIN = [(0, 8, 3, 5, 0.1, 1e-5), (1, 4, 2, 10, 0.3, 1e-5), (2, 16, 5, 3, 0.01, 1e-3),
             (3, 2, 4, 6, 0.5, 1e-2)]
_BN_TRAIN_PRACTICE = [(70, 5, 3, 3, 0.2, 1e-5), (71, 2, 2, 4, 0.05, 1e-3)]


def _bn_inputs(seed: int, n: int, c: int, steps: int) -> tuple:
    rng = np.random.default_rng(200 + seed)
    gamma, beta = rng.uniform(0.5, 2.0, c), rng.standard_normal(c)
    shift, scale = rng.standard_normal(c) * 3, rng.uniform(0.5, 4.0, c)
    batches = [rng.standard_normal((n, c)) * scale + shift for _ in range(steps)]
    return gamma, beta, batches


def _bn_train_cases(settings: list[tuple] = _BN_TRAIN) -> list[Case]:
    return [Case(args, (), f"{args[3]} training batches of shape ({args[1]}, {args[2]}) "
                 f"(channels with different means and scales), momentum={args[4]}, "
                 f"eps={args[5]}, starting from running_mean=0, running_var=1")
            for args in settings]


def _bn_train_practice() -> list[Case]:
    return _bn_train_cases(_BN_TRAIN_PRACTICE)


def _run_bn_sequence(answer, case: Case) -> tuple[list, np.ndarray, np.ndarray]:
    seed, n, c, steps, momentum, eps = case.args
    gamma, beta, batches = _bn_inputs(seed, n, c, steps)
    running_mean, running_var = np.zeros(c), np.ones(c)
    outputs = []
    for x in batches:
        out, running_mean, running_var = answer(x, gamma.copy(), beta.copy(),
                                                np.array(running_mean, dtype=float),
                                                np.array(running_var, dtype=float), train=True,
                                                momentum=momentum, eps=eps)
        outputs.append(out)
    return outputs, running_mean, running_var


def _run_bn_train(answer, case: Case) -> dict:
    return {"value": _run_bn_sequence(answer, case)[0]}


def _run_bn_running(answer, case: Case) -> dict:
    _, running_mean, running_var = _run_bn_sequence(answer, case)
    return {"value": [running_mean, running_var]}


def _bn_evals(first_seed: int, settings: list[tuple[int, int, float]]) -> list[Case]:
    cases = []
    for seed, (n, c, eps) in enumerate(settings, start=first_seed):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((n, c)) * 2 + 1
        gamma, beta = rng.uniform(0.5, 2.0, c), rng.standard_normal(c)
        running_mean, running_var = rng.standard_normal(c), rng.uniform(0.2, 3.0, c)
        cases.append(Case((x, gamma, beta, running_mean, running_var, eps), (),
                          f"train=False on a batch of shape ({n}, {c}) with running_mean="
                          f"{np.round(running_mean, 3).tolist()}, running_var="
                          f"{np.round(running_var, 3).tolist()}, eps={eps}"))
    return cases


def _bn_eval_cases() -> list[Case]:
    return _bn_evals(300, [(6, 3, 1e-5), (1, 4, 1e-5), (10, 2, 1e-2), (3, 5, 1e-5)])


def _bn_eval_practice() -> list[Case]:
    return _bn_evals(370, [(4, 3, 1e-5), (1, 2, 1e-3)])


def _run_bn_eval(answer, case: Case) -> dict:
    x, gamma, beta, running_mean, running_var, eps = (
        np.copy(a) if isinstance(a, np.ndarray) else a for a in case.args)
    out = answer(x, gamma, beta, running_mean, running_var, train=False, momentum=0.1, eps=eps)
    return {"value": list(out) if isinstance(out, tuple) else out}


# -- clipping -----------------------------------------------------------------------------------
def _clips(seed: int, settings: list[tuple[list, list, float, str]]) -> list[Case]:
    rng = np.random.default_rng(seed)
    cases = []
    for shapes, scales, max_norm, what in settings:
        grads = [rng.standard_normal(s) * k for s, k in zip(shapes, scales, strict=True)]
        cases.append(Case.of(f"{what}: gradients of shapes {shapes} with scales {scales}, "
                             f"max_norm={max_norm}", grads=grads,
                             max_norm=max_norm))
    return cases


def _clip_cases() -> list[Case]:
    return _clips(400, [  # (shapes, scales, max_norm, what)
        ([(3, 2), (4,), (2, 2)], [1.0, 1.0, 1.0], 1.0, "norm above max_norm"),
        ([(5,), (3, 3)], [10.0, 0.1], 2.0, "one large and one small tensor"),
        ([(4,), (2, 3)], [0.1, 0.1], 5.0, "norm below max_norm"),
        ([(6,)], [3.0], 0.5, "a single tensor"),
        ([(3,), (3,)], [1e-6, 1e-6], 1e-7, "tiny gradients (the 1e-6 matters)"),
        ([(2, 2), (1,), (3,)], [100.0, 1.0, 0.01], 10.0, "very different scales"),
        ([(3, 3), (2,)], [0.01, 0.02], 1.0, "norm below max_norm"),
    ])


def _clip_practice() -> list[Case]:
    return _clips(9400, [
        ([(2, 3), (3,)], [1.0, 1.0], 1.5, "norm above max_norm"),
        ([(4,), (2,)], [0.05, 0.05], 3.0, "norm below max_norm"),
        ([(2,), (2, 2)], [1e-6, 1e-6], 2e-7, "tiny gradients (the 1e-6 matters)"),
    ])


# -- early stopping -----------------------------------------------------------------------------
_CURVE = [2.0, 1.2, 0.9, 0.8, 0.78, 0.779, 0.785, 0.79, 0.77, 0.775, 0.78, 0.79, 0.8, 0.81,
          0.82]


def _noisy_curve(seed: int, n: int = 40) -> list[float]:
    rng = np.random.default_rng(500 + seed)
    t = np.arange(n)
    return [float(v) for v in 1.0 / (1 + 0.3 * t) + 0.004 * t + 0.02 * rng.standard_normal(n)]


def _early_settings(settings: list[tuple[list[float], int, float]]) -> list[Case]:
    return [Case.of(f"val_losses={[round(v, 3) for v in values][:12]}"
                    f"{'…' if len(values) > 12 else ''} ({len(values)} epochs), "
                    f"patience={patience}, min_delta={min_delta}",
                    val_losses=list(values), patience=patience,
                    min_delta=min_delta)
            for values, patience, min_delta in settings]


def _early_cases() -> list[Case]:
    return _early_settings([(_CURVE, 3, 0.0), (_CURVE, 2, 0.0), (_CURVE, 3, 0.005),
                            (_CURVE, 1, 0.0), (_CURVE, 6, 0.0), ([1.0, 0.9, 0.8, 0.7, 0.6], 2, 0.0),
                            ([1.0, 1.0, 1.0, 1.0], 3, 0.0), (_noisy_curve(0), 4, 0.0),
                            (_noisy_curve(1), 5, 0.01), (_noisy_curve(2), 3, 0.0),
                            ([1.0, 0.95, 0.949, 0.948, 0.947, 0.946], 3, 0.01)])


def _early_practice() -> list[Case]:
    return _early_settings([([1.5, 1.0, 0.8, 0.82, 0.79, 0.81, 0.83, 0.84], 2, 0.0),
                            (_noisy_curve(70, 25), 3, 0.01), ([0.5, 0.5, 0.5], 2, 0.0)])


def _experiment_case() -> list[Case]:
    return [Case((), (), "your dict early")]


register(Spec("stable_training.dropout_train", lambda: _dropout_cases(True), _run_dropout,
              "inverted dropout, training mode",
              practice=_dropout_train_practice))
register(Spec("stable_training.dropout_eval", lambda: _dropout_cases(False), _run_dropout,
              "inverted dropout, eval mode",
              practice=_dropout_eval_practice))
register(Spec("stable_training.batchnorm_train", _bn_train_cases, _run_bn_train,
              "batch norm outputs in training mode", practice=_bn_train_practice))
register(Spec("stable_training.batchnorm_running", _bn_train_cases, _run_bn_running,
              "batch norm running statistics", practice=_bn_train_practice))
register(Spec("stable_training.batchnorm_eval", _bn_eval_cases, _run_bn_eval,
              "batch norm in eval mode", practice=_bn_eval_practice))
register(Spec("stable_training.clip_by_global_norm", _clip_cases, call, "clipping by global norm",
              practice=_clip_practice))
register(Spec("stable_training.early_stopping", _early_cases, call, "early stopping",
              practice=_early_practice))
register(Spec("stable_training.early", _experiment_case, value, "early stopping on digits"))
