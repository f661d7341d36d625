"""solutions.schedules against torch.optim.lr_scheduler over long horizons, and the Paddle
formulas at chosen steps."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim import lr_scheduler as tls

from solutions import cyclical as C  # noqa: N812
from solutions import schedules as S  # noqa: N812

HORIZON = 1500


def _torch_lrs(make_scheduler, steps: int = HORIZON, lr: float = 0.1, momentum: float = 0.9,
               metrics=None) -> tuple[list[float], list[float]]:
    """The learning rate (and momentum) in effect for each of ``steps`` optimizer steps."""
    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=lr, momentum=momentum)
    scheduler = make_scheduler(optimizer)
    lrs, momenta = [], []
    for k in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        momenta.append(optimizer.param_groups[0]["momentum"])
        parameter.grad = torch.ones(1)
        optimizer.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scheduler.step(metrics[k]) if metrics is not None else scheduler.step()
    return lrs, momenta


def _assert_same(ours, theirs):
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-15)


CASES = [
    ("StepLR", lambda o: tls.StepLR(o, step_size=30, gamma=0.5),
     lambda k: S.step_decay(k, 0.1, 30, 0.5)),
    ("MultiStepLR", lambda o: tls.MultiStepLR(o, milestones=[100, 400, 400, 900], gamma=0.3),
     lambda k: S.multistep(k, 0.1, [100, 400, 400, 900], 0.3)),
    ("ExponentialLR", lambda o: tls.ExponentialLR(o, gamma=0.997),
     lambda k: S.exponential(k, 0.1, 0.997)),
    ("PolynomialLR", lambda o: tls.PolynomialLR(o, total_iters=700, power=2.0),
     lambda k: S.polynomial(k, 0.1, 700, power=2.0)),
    ("LambdaLR", lambda o: tls.LambdaLR(o, lambda k: 1 / (1 + 0.01 * k)),
     lambda k: S.lambda_lr(k, 0.1, lambda j: 1 / (1 + 0.01 * j))),
    ("CosineAnnealingLR past T_max", lambda o: tls.CosineAnnealingLR(o, T_max=400, eta_min=1e-3),
     lambda k: S.cosine_annealing(k, 0.1, 400, 1e-3)),
    ("CosineAnnealingWarmRestarts", lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=50),
     lambda k: S.cosine_restarts(k, 0.1, 50)),
    ("CosineAnnealingWarmRestarts T_mult=2",
     lambda o: tls.CosineAnnealingWarmRestarts(o, T_0=20, T_mult=2, eta_min=0.01),
     lambda k: S.cosine_restarts(k, 0.1, 20, 2, 0.01)),
    ("CyclicLR triangular", lambda o: tls.CyclicLR(o, 0.01, 0.1, step_size_up=100),
     lambda k: C.cyclical(k, 0.01, 0.1, 100)),
    ("CyclicLR triangular2 asymmetric",
     lambda o: tls.CyclicLR(o, 0.001, 0.1, step_size_up=70, step_size_down=130,
                            mode="triangular2"),
     lambda k: C.cyclical(k, 0.001, 0.1, 70, 130, "triangular2")),
    ("CyclicLR exp_range", lambda o: tls.CyclicLR(o, 0.01, 0.1, step_size_up=80,
                                                  mode="exp_range", gamma=0.999),
     lambda k: C.cyclical(k, 0.01, 0.1, 80, mode="exp_range", gamma=0.999)),
    ("OneCycleLR", lambda o: tls.OneCycleLR(o, max_lr=0.5, total_steps=HORIZON),
     lambda k: C.one_cycle(k, 0.5, HORIZON)),
    ("OneCycleLR linear three-phase",
     lambda o: tls.OneCycleLR(o, max_lr=0.5, total_steps=HORIZON, pct_start=0.25,
                              anneal_strategy="linear", three_phase=True, div_factor=10.0,
                              final_div_factor=100.0),
     lambda k: C.one_cycle(k, 0.5, HORIZON, 0.25, "linear", 10.0, 100.0, True)),
]


@pytest.mark.parametrize(("name", "make", "ours"), CASES, ids=[c[0] for c in CASES])
def test_learning_rates_match_torch(name, make, ours):
    theirs, _ = _torch_lrs(make)
    _assert_same([ours(k) for k in range(HORIZON)], theirs)


def test_cyclical_momentum_matches_torch():
    _, momenta = _torch_lrs(lambda o: tls.CyclicLR(o, 0.01, 0.1, step_size_up=60,
                                                   step_size_down=40, mode="triangular2",
                                                   base_momentum=0.85, max_momentum=0.95))
    ours = [C.cyclical_momentum(k, 0.85, 0.95, 60, 40, "triangular2") for k in range(HORIZON)]
    _assert_same(ours, momenta)


@pytest.mark.parametrize("three_phase", [False, True])
def test_one_cycle_momentum_matches_torch(three_phase):
    _, momenta = _torch_lrs(lambda o: tls.OneCycleLR(o, max_lr=0.5, total_steps=HORIZON,
                                                     three_phase=three_phase))
    ours = [C.one_cycle(k, 0.5, HORIZON, three_phase=three_phase,
                        momentum_range=(0.85, 0.95)) for k in range(HORIZON)]
    _assert_same(ours, momenta)


def test_one_cycle_refuses_steps_past_the_end():
    with pytest.raises(ValueError, match="total_steps"):
        C.one_cycle(11, 0.1, 10)


def test_cyclical_scheduler_class_drops_into_a_torch_loop():
    ours, _ = _torch_lrs(lambda o: C.CyclicalLR(o, 0.001, 0.1, 70, 130, "triangular2"))
    theirs, _ = _torch_lrs(lambda o: tls.CyclicLR(o, 0.001, 0.1, step_size_up=70,
                                                  step_size_down=130, mode="triangular2",
                                                  cycle_momentum=False))
    _assert_same(ours, theirs)
    with pytest.raises(ValueError, match="mode"):
        C.CyclicalLR(torch.optim.SGD([torch.zeros(1)], lr=0.1), 0.1, 1.0, mode="sawtooth")


# -- reduce on plateau -----------------------------------------------------------------------
def _noisy_plateau(seed: int, n: int = 400) -> list[float]:
    """A loss that falls, stalls, falls again, with noise: plateaus of several lengths."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    base = np.exp(-t / 60) + 0.3 * (t > 200) * np.exp(-(t - 200) / 40) + 0.05
    return list(base * (1 + 0.02 * rng.standard_normal(n)))


@pytest.mark.parametrize("options", [
    dict(),
    dict(mode="min", factor=0.5, patience=3, cooldown=5),
    dict(mode="max", factor=0.5, patience=2, threshold=0.01, cooldown=2),
    dict(mode="min", factor=0.2, patience=0, threshold=0.001, threshold_mode="abs",
         min_lr=1e-4),
    dict(mode="min", factor=0.9, patience=1, min_lr=0.0999, eps=1e-3),  # eps blocks the cut
    dict(mode="max", factor=0.3, patience=4, threshold=0.002, threshold_mode="abs",
         cooldown=10, min_lr=1e-5),
])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reduce_on_plateau_matches_torch(options, seed):
    metrics = _noisy_plateau(seed)
    if options.get("mode") == "max":
        metrics = [-m for m in metrics]
    theirs, _ = _torch_lrs(lambda o: tls.ReduceLROnPlateau(o, **options), steps=len(metrics),
                           metrics=metrics)
    plateau = S.ReduceOnPlateau(0.1, **options)
    ours = [0.1] + [plateau.step(m) for m in metrics[:-1]]
    _assert_same(ours, theirs)
    assert min(theirs) < 0.1 or options.get("eps") == 1e-3  # the cases do cut the rate


def test_plateau_cooldown_and_patience_by_hand():
    plateau = S.ReduceOnPlateau(1.0, factor=0.5, patience=1, cooldown=2, threshold=0.0)
    lrs = [plateau.step(v) for v in [5, 5, 5, 5, 5, 5, 5, 4, 4, 4]]
    # bad epochs 1, 2 → cut at the 3rd value; the cooldown swallows the next 2; 2 more bad
    # epochs → the second cut at the 7th; the improvement to 4 and the cooldown reset the count
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25]
    with pytest.raises(ValueError, match="factor"):
        S.ReduceOnPlateau(0.1, factor=1.0)


# -- Paddle's formulas -----------------------------------------------------------------------
def test_paddle_formulas_at_chosen_steps():
    assert S.piecewise(0, [10, 20], [1.0, 0.5, 0.1]) == 1.0
    assert S.piecewise(10, [10, 20], [1.0, 0.5, 0.1]) == 0.5  # the boundary belongs to the next
    assert S.piecewise(25, [10, 20], [1.0, 0.5, 0.1]) == 0.1
    with pytest.raises(ValueError, match="one more value"):
        S.piecewise(0, [10], [1.0])
    assert S.natural_exp(10, 0.5, 0.1) == pytest.approx(0.5 * math.exp(-1.0))
    assert S.inverse_time(10, 0.5, 0.1) == pytest.approx(0.25)
    # polynomial: stays at end_lr after decay_steps; with cycle, D grows to the next multiple
    assert S.polynomial(150, 0.1, 100, end_lr=0.01) == pytest.approx(0.01)
    assert S.polynomial(50, 0.1, 100, end_lr=0.01, power=2) == pytest.approx(0.09 * 0.25 + 0.01)
    assert S.polynomial(0, 0.1, 100, 0.01, cycle=True) == pytest.approx(0.1)
    assert S.polynomial(150, 0.1, 100, 0.01, cycle=True) == pytest.approx(0.09 * 0.25 + 0.01)
    assert S.polynomial(100, 0.1, 100, 0.01, cycle=True) == pytest.approx(0.01)
    assert S.polynomial(101, 0.1, 100, 0.01, cycle=True) > 0.05  # jumps back up
    # Noam: 0 at step 0, a linear ramp, the peak at warmup_steps, then 1/√step
    assert S.noam(0, 512, 4000) == 0.0
    assert S.noam(2000, 512, 4000) == pytest.approx(512**-0.5 * 2000 * 4000**-1.5)
    peak = S.noam(4000, 512, 4000)
    assert peak == pytest.approx(512**-0.5 * 4000**-0.5)
    assert S.noam(16000, 512, 4000) == pytest.approx(peak / 2)
    # linear warm-up wrapping a schedule that starts at its own step 0
    wrapped = S.linear_warmup(15, lambda k: S.step_decay(k, 0.1, 5, 0.5), 10, 0.0, 0.1)
    assert wrapped == pytest.approx(0.05)
    assert S.linear_warmup(5, 0.1, 10, 0.0, 0.1) == pytest.approx(0.05)
    assert S.linear_warmup(10, 0.3, 10, 0.0, 0.1) == 0.3


@given(st.integers(0, 10_000), st.integers(1, 500), st.floats(0.0, 1e-2))
@settings(max_examples=200, deadline=None)
def test_cosine_stays_between_its_bounds(step, T_max, eta_min):  # noqa: N803
    lr = S.cosine_annealing(step, 0.1, T_max, eta_min)
    assert eta_min - 1e-15 <= lr <= 0.1 + 1e-15
    restart = S.cosine_restarts(step, 0.1, T_max, 2, eta_min)
    assert eta_min - 1e-15 <= restart <= 0.1 + 1e-15


@given(st.integers(0, 5000), st.integers(1, 300), st.integers(1, 300),
       st.sampled_from(["triangular", "triangular2", "exp_range"]))
@settings(max_examples=200, deadline=None)
def test_cyclical_stays_in_its_band_and_starts_at_base(step, up, down, mode):
    lr = C.cyclical(step, 0.01, 0.1, up, down, mode, gamma=0.999)
    assert 0.01 - 1e-12 <= lr <= 0.1 + 1e-12
    assert C.cyclical(0, 0.01, 0.1, up, down, mode) == pytest.approx(0.01)
    assert C.cyclical(up, 0.01, 0.1, up, down, "triangular") == pytest.approx(0.1)
