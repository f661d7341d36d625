"""The LR range test: the sweep, its suggestions, determinism and a bit-for-bit restore."""

from __future__ import annotations

import copy
import random

import numpy as np
import pytest
import torch

from solutions.cyclical import (
    debiased_ema,
    exponential_rates,
    lr_find,
    min_over_10,
    steepest,
    valley,
)


def _problem(dropout: float = 0.1):
    torch.manual_seed(0)
    X = torch.randn(256, 8)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).long()
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.BatchNorm1d(16),
                                torch.nn.ReLU(), torch.nn.Dropout(dropout),
                                torch.nn.Linear(16, 2))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=32,
                                         shuffle=True)
    return model, loader, torch.nn.functional.cross_entropy


def _state(model, optimizer):
    return ({k: v.clone() for k, v in model.state_dict().items()},
            [None if p.grad is None else p.grad.clone() for p in model.parameters()],
            {name: m.training for name, m in model.named_modules()},
            copy.deepcopy(optimizer.state_dict()))


def _assert_same(before, after):
    for key in before[0]:
        assert torch.equal(before[0][key], after[0][key]), key
    for a, b in zip(before[1], after[1], strict=True):
        assert (a is None and b is None) or torch.equal(a, b)
    assert before[2] == after[2]
    groups_before, groups_after = before[3]["param_groups"], after[3]["param_groups"]
    assert groups_before == groups_after
    assert before[3]["state"].keys() == after[3]["state"].keys()
    for index, state in before[3]["state"].items():
        for key, value in state.items():
            other = after[3]["state"][index][key]
            assert torch.equal(value, other) if torch.is_tensor(value) else value == other


@pytest.mark.parametrize("optimizer_name", ["sgd_momentum", "adam_warm", "adamw_fresh"])
def test_lr_find_restores_model_optimizer_grads_and_generators_bit_for_bit(optimizer_name):
    model, loader, loss_fn = _problem()
    params = list(model.parameters())
    optimizer = {"sgd_momentum": lambda: torch.optim.SGD(params, lr=0.05, momentum=0.9),
                 "adam_warm": lambda: torch.optim.Adam(params, lr=1e-3),
                 "adamw_fresh": lambda: torch.optim.AdamW(params, lr=1e-3)}[optimizer_name]()
    if optimizer_name != "adamw_fresh":  # some training first, so the state is not empty
        for inputs, targets in loader:
            optimizer.zero_grad()
            loss_fn(model(inputs), targets).backward()
            optimizer.step()
    model.eval()  # a mode the sweep must switch away from and back
    before = _state(model, optimizer)
    rng_before = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    result = lr_find(model, loss_fn, loader, optimizer, num_iter=60)
    assert len(result.lrs) > 10
    _assert_same(before, _state(model, optimizer))
    assert torch.equal(rng_before[0], torch.get_rng_state())
    assert np.array_equal(rng_before[1], np.random.get_state()[1])
    assert rng_before[2] == random.getstate()
    # The optimizer still drives the same parameter objects.
    assert all(p is q for p, q in zip(optimizer.param_groups[0]["params"], params, strict=True))


def test_restore_holds_when_the_loss_raises_midway():
    model, loader, _ = _problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    before = _state(model, optimizer)
    calls = {"n": 0}

    def failing_loss(output, target):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("boom")
        return torch.nn.functional.cross_entropy(output, target)

    with pytest.raises(RuntimeError, match="boom"):
        lr_find(model, failing_loss, loader, optimizer, num_iter=20)
    _assert_same(before, _state(model, optimizer))


def test_lr_find_is_deterministic_under_a_seed_and_the_sweep_is_real():
    model, loader, loss_fn = _problem(dropout=0.3)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    first = lr_find(model, loss_fn, loader, optimizer, start_lr=1e-4, end_lr=100, num_iter=80)
    second = lr_find(model, loss_fn, loader, optimizer, start_lr=1e-4, end_lr=100, num_iter=80)
    np.testing.assert_array_equal(first.losses, second.losses)
    assert first.suggestions == second.suggestions
    other = lr_find(model, loss_fn, loader, optimizer, start_lr=1e-4, end_lr=100, num_iter=80,
                    seed=1)
    assert not np.array_equal(other.losses, first.losses)
    # At 100 the loss blows up: the sweep stops early and says so; the loss fell first.
    assert first.diverged and len(first.lrs) < 80
    assert first.smoothed.min() < first.smoothed[0] - 0.1
    for name, lr in first.suggestions.items():
        assert 1e-4 <= lr <= first.lrs[-1], name
    np.testing.assert_allclose(first.lrs, exponential_rates(1e-4, 100, 80)[:len(first.lrs)])


def test_exponential_rates_span_the_range_geometrically():
    rates = exponential_rates(1e-6, 1.0, 7)
    np.testing.assert_allclose(rates, np.logspace(-6, 0, 7))


def test_debiased_ema_starts_at_the_first_value_and_tracks_a_constant():
    np.testing.assert_allclose(debiased_ema([3.0, 3.0, 3.0], 0.98), [3.0, 3.0, 3.0])
    values = [1.0, 2.0]
    assert debiased_ema(values, 0.9)[1] == pytest.approx((0.09 * 1 + 0.1 * 2) / (1 - 0.81))


def test_suggestion_rules_on_a_constructed_curve():
    lrs = np.logspace(-5, 1, 61)
    x = np.log10(lrs)
    # Flat, then falling steepest at 1e-2, lowest at 10^-0.5, then rising.
    loss = 2 - np.tanh(2 * (x + 2)) + np.where(x > -0.5, 4 * (x + 0.5) ** 2, 0)
    assert steepest(lrs, loss) == pytest.approx(1e-2)
    assert min_over_10(lrs, loss) == pytest.approx(lrs[np.argmin(loss)] / 10)
    assert 10**-3.5 < valley(lrs, loss) < 10**-0.5


def test_plot_marks_every_suggestion():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model, loader, loss_fn = _problem()
    result = lr_find(model, loss_fn, loader, torch.optim.SGD(model.parameters(), lr=0.1),
                     num_iter=40)
    fig, ax = plt.subplots()
    result.plot(ax)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert sum(label.startswith(tuple(result.suggestions)) for label in labels) == 3
    plt.close(fig)
