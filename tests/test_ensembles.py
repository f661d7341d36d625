"""solutions.ensembles: prediction averaging, snapshot schedules, and running weight averages
against torch.optim.swa_utils.AveragedModel (PyTorch 2.13) over 150 updates in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.stats
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.optim import swa_utils

from solutions import ensembles as E  # noqa: N812
from solutions import schedules as S  # noqa: N812

members = st.integers(1, 7)
decays = st.floats(0.0, 1.0)
shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny tensors: one thread is fastest, and immune to a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _logits(seed: int, m: int, n: int, c: int, scale: float = 3.0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((m, n, c)) * scale


# -- combining predictions ----------------------------------------------------------------------
def test_average_probabilities_at_a_hand_computed_point():
    z = [np.array([[0.0, math.log(3.0)]]), np.array([[math.log(3.0), 0.0]]),
         np.array([[0.0, 0.0]])]
    # member probabilities (1/4, 3/4), (3/4, 1/4), (1/2, 1/2): their mean is (1/2, 1/2)
    np.testing.assert_allclose(E.average_probabilities(z), [[0.5, 0.5]], rtol=1e-15)
    np.testing.assert_allclose(E.average_probabilities(z, weights=[1, 0, 0]), [[0.25, 0.75]])
    # averaging logits gives softmax((log 3/3, log 3/3)) = (1/2, 1/2) too; but not here:
    z2 = [np.array([[0.0, 4.0]]), np.array([[0.0, -1.0]])]
    p = E.average_probabilities(z2)
    q = E.average_logits(z2)
    s = 1 / (1 + np.exp(-4.0))
    np.testing.assert_allclose(p, [[(1 - s + 1 / (1 + np.exp(-1.0))) / 2,
                                    (s + 1 - 1 / (1 + np.exp(-1.0))) / 2]], rtol=1e-14)
    np.testing.assert_allclose(q, [[1 / (1 + np.exp(1.5)), 1 / (1 + np.exp(-1.5))]],
                               rtol=1e-14)
    assert not np.allclose(p, q)


@given(st.integers(0, 10_000), members, st.integers(1, 6), st.integers(2, 6),
       st.floats(0.01, 300.0))
@settings(max_examples=60, deadline=None)
def test_average_probabilities_is_a_mean_of_distributions(seed, m, n, c, scale):
    z = _logits(seed, m, n, c, scale)
    p = E.average_probabilities(z)
    assert p.shape == (n, c) and np.all(np.isfinite(p))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    members_p = np.stack([E.softmax(member) for member in z])
    np.testing.assert_allclose(p, members_p.mean(axis=0), rtol=1e-12, atol=1e-300)
    # the order of the members does not matter; one member is its own softmax
    np.testing.assert_allclose(E.average_probabilities(z[::-1]), p, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(E.average_probabilities(z[:1]), members_p[0], rtol=1e-15)
    # adding a constant to a row of one member's logits changes nothing
    shifted = z.copy()
    shifted[0] += np.random.default_rng(seed).standard_normal((n, 1)) * 50
    np.testing.assert_allclose(E.average_probabilities(shifted), p, rtol=1e-9, atol=1e-15)


@given(st.integers(0, 10_000), members, st.integers(2, 6), st.floats(0.1, 20.0))
@settings(max_examples=60, deadline=None)
def test_ensembles_never_lose_in_cross_entropy_to_their_average_member(seed, m, c, scale):
    """Jensen: −log is convex and cross-entropy is convex in the logits, so both averaging
    ensembles have NLL ≤ the members' mean NLL."""
    n = 20
    z = _logits(seed, m, n, c, scale)
    y = np.random.default_rng(seed + 1).integers(0, c, n)
    mean_member = np.mean([E.nll(E.softmax(member), y) for member in z])
    assert E.nll(E.average_probabilities(z), y) <= mean_member + 1e-12
    assert E.nll(E.average_logits(z), y) <= mean_member + 1e-12


@given(st.integers(0, 10_000), members, st.integers(1, 6), st.integers(2, 6))
@settings(max_examples=40, deadline=None)
def test_averaging_logits_is_the_normalised_geometric_mean(seed, m, n, c):
    z = _logits(seed, m, n, c)
    probs = np.stack([E.softmax(member) for member in z])
    geometric = np.exp(np.log(probs).mean(axis=0))
    np.testing.assert_allclose(E.average_logits(z), geometric / geometric.sum(1, keepdims=True),
                               rtol=1e-10)


@given(st.integers(0, 10_000), st.integers(1, 9), st.integers(1, 30), st.integers(2, 5))
@settings(max_examples=60, deadline=None)
def test_majority_vote_matches_scipy_mode_ties_to_the_smallest_class(seed, m, n, c):
    z = np.round(_logits(seed, m, n, c))  # rounded logits: ties inside members too
    labels = z.argmax(axis=2)
    expected = scipy.stats.mode(labels, axis=0, keepdims=False).mode
    np.testing.assert_array_equal(E.majority_vote(z), expected)
    np.testing.assert_allclose(E.vote_fractions(z).sum(axis=1), 1.0)
    np.testing.assert_array_equal(E.predict(z, "vote"), expected)


def test_predict_methods_and_validation():
    z = _logits(3, 5, 40, 4)
    np.testing.assert_array_equal(E.predict(z), E.average_probabilities(z).argmax(1))
    np.testing.assert_array_equal(E.predict(z, "logits"), E.average_logits(z).argmax(1))
    with pytest.raises(ValueError, match="method"):
        E.predict(z, "median")
    with pytest.raises(ValueError, match="members"):
        E.average_probabilities(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="weights"):
        E.average_probabilities(z, weights=[1, 1])


def test_softmax_survives_huge_logits():
    p = E.softmax(np.array([[1000.0, 0.0], [-1000.0, -1001.0]]))
    np.testing.assert_allclose(p, [[1.0, 0.0], [1 / (1 + np.exp(-1.0)), 1 / (1 + np.e)]])


@given(st.integers(0, 10_000), members, st.integers(2, 5))
@settings(max_examples=40, deadline=None)
def test_accuracy_by_size_is_the_ensemble_of_each_prefix(seed, m, c):
    n = 25
    z = _logits(seed, m, n, c)
    y = np.random.default_rng(seed).integers(0, c, n)
    order = np.random.default_rng(seed + 7).permutation(m)
    accuracy, losses = E.accuracy_by_size(z, y, order)
    for k in range(1, m + 1):
        p = E.average_probabilities(z[order[:k]])
        assert accuracy[k - 1] == np.mean(p.argmax(1) == y)
        assert losses[k - 1] == pytest.approx(E.nll(p, y), rel=1e-12)


def test_top_k_best_first_with_stable_ties():
    scores = [0.9, 0.95, 0.8, 0.95, 0.7]
    assert E.top_k(scores, 3) == [1, 3, 0]
    assert E.top_k(scores, 2, higher_is_better=False) == [4, 2]
    assert E.top_k(scores, 5) == [1, 3, 0, 2, 4]
    with pytest.raises(ValueError):
        E.top_k(scores, 0)
    with pytest.raises(ValueError):
        E.top_k(scores, 6)


# -- snapshot schedule --------------------------------------------------------------------------
@pytest.mark.parametrize("total, cycles", [(300, 6), (1000, 7), (10, 4), (10, 10), (97, 1)])
def test_snapshot_lr_is_huangs_formula_and_sgdr_with_a_fixed_period(total, cycles):
    lr = 0.2
    period = math.ceil(total / cycles)
    ours = [E.snapshot_lr(step, lr, total, cycles) for step in range(total)]
    for t in range(1, total + 1):  # Huang et al. (2017), eq. 2, iterations t = 1 … T
        huang = lr / 2 * (math.cos(math.pi * ((t - 1) % period) / period) + 1)
        assert ours[t - 1] == pytest.approx(huang, rel=1e-15, abs=1e-18)
    np.testing.assert_allclose(ours, [S.cosine_restarts(k, lr, period) for k in range(total)],
                               rtol=1e-12, atol=1e-16)
    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=lr)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(optimizer, T_0=period)
    theirs = []
    for _ in range(total):
        theirs.append(optimizer.param_groups[0]["lr"])
        parameter.grad = torch.ones(1)
        optimizer.step()
        scheduler.step()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-15)


@given(st.integers(1, 400), st.data())
@settings(max_examples=80, deadline=None)
def test_snapshots_are_taken_where_the_rate_is_lowest(total, data):
    cycles = data.draw(st.integers(1, total))
    lr = 0.1
    period = E.snapshot_period(total, cycles)
    steps = E.snapshot_steps(total, cycles)
    assert steps[-1] == total - 1 and len(steps) == math.ceil(total / period) <= cycles
    rates = [E.snapshot_lr(s, lr, total, cycles) for s in range(total)]
    for s in steps[:-1]:  # each cycle ends at its smallest rate, and the next starts at lr
        assert rates[s + 1] == lr
        start = s + 1 - period
        assert rates[s] == min(rates[start:s + 1])
        assert rates[start] == lr
    assert all(rates[s] > 0 for s in range(total))


def test_snapshot_validation():
    with pytest.raises(ValueError):
        E.snapshot_lr(0, 0.1, 10, 11)
    with pytest.raises(ValueError):
        E.snapshot_period(0, 1)


# -- running averages: rules --------------------------------------------------------------------
def test_ema_decay_weighs_the_old_average():
    avg = {"w": np.array([1.0, 2.0]), "b": np.array(4.0)}
    new = {"w": np.array([3.0, 2.0]), "b": np.array(0.0)}
    out = E.ema_update(avg, new, 0.9)
    np.testing.assert_allclose(out["w"], [1.2, 2.0])
    np.testing.assert_allclose(out["b"], 3.6)
    assert avg["w"].tolist() == [1.0, 2.0] and new["w"].tolist() == [3.0, 2.0]
    assert E.ema_update([1.0, np.ones(2)], [2.0, np.zeros(2)], 0.5)[0] == 1.5
    assert isinstance(E.ema_update((np.ones(1),), (np.zeros(1),), 0.5), tuple)
    np.testing.assert_array_equal(E.ema_update(avg, new, 0.0)["w"], new["w"])
    np.testing.assert_array_equal(E.ema_update(avg, new, 1.0)["w"], avg["w"])
    with pytest.raises(ValueError, match="decay"):
        E.ema_update(avg, new, 1.5)
    with pytest.raises(ValueError, match="keys"):
        E.ema_update({"w": avg["w"]}, new, 0.5)


@given(st.integers(0, 10_000), shapes, st.integers(1, 60))
@settings(max_examples=60, deadline=None)
def test_polyak_update_is_the_mean_of_everything_seen(seed, shape, count):
    rng = np.random.default_rng(seed)
    iterates = [rng.standard_normal(shape) for _ in range(count)]
    avg = {"x": np.full(shape, 7.0)}  # whatever it held: n = 0 replaces it
    for n, x in enumerate(iterates):
        old, before, x_before = avg, avg["x"].copy(), x.copy()
        avg = E.polyak_update(avg, {"x": x}, n)
        assert np.shape(avg["x"]) == shape
        np.testing.assert_array_equal(old["x"], before)  # inputs left as they were
        np.testing.assert_array_equal(x, x_before)
    np.testing.assert_allclose(avg["x"], np.mean(iterates, axis=0), rtol=1e-12, atol=1e-14)
    with pytest.raises(ValueError):
        E.polyak_update(avg, {"x": iterates[0]}, -1)


@given(st.integers(0, 10_000), shapes, st.integers(1, 80), decays)
@settings(max_examples=60, deadline=None)
def test_copy_first_ema_is_the_weighted_average_of_ema_weights(seed, shape, t, decay):
    rng = np.random.default_rng(seed)
    iterates = [rng.standard_normal(shape) for _ in range(t)]
    avg = iterates[0].copy()
    for x in iterates[1:]:
        avg = E.ema_update(avg, x, decay)
    weights = E.ema_weights(t, decay)
    assert weights.sum() == pytest.approx(1.0, rel=1e-12)
    np.testing.assert_allclose(avg, np.tensordot(weights, np.array(iterates), axes=1),
                               rtol=1e-9, atol=1e-12)


@given(st.integers(0, 10_000), st.integers(1, 80), st.floats(0.0, 0.999))
@settings(max_examples=60, deadline=None)
def test_debiased_ema_weights_and_constant_sequences(seed, t, decay):
    rng = np.random.default_rng(seed)
    iterates = [rng.standard_normal(3) for _ in range(t)]
    state = E.init_debiased_ema(iterates[0])
    for x in iterates:
        state, estimate = E.debiased_ema_update(state, x, decay)
    weights = E.ema_weights(t, decay, debias=True)
    assert weights.sum() == pytest.approx(1.0, rel=1e-9)
    np.testing.assert_allclose(estimate, np.tensordot(weights, np.array(iterates), axes=1),
                               rtol=1e-8, atol=1e-10)
    # a constant sequence comes back unchanged at every step; the raw zero-started EMA does not
    state = E.init_debiased_ema({"x": np.zeros(2)})
    for _ in range(3):
        state, estimate = E.debiased_ema_update(state, {"x": np.array([2.0, -1.0])}, decay)
        np.testing.assert_allclose(estimate["x"], [2.0, -1.0], rtol=1e-10)
    np.testing.assert_allclose(state.biased["x"], (1 - decay**3) * np.array([2.0, -1.0]),
                               rtol=1e-12)


def test_copy_first_ema_remembers_the_start():
    """β = 0.999: the first iterate still weighs β^999 ≈ 37 % after 1000 updates; the
    bias-corrected EMA gives it (1 − β)β^999/(1 − β^1000) ≈ 0.06 %."""
    w = E.ema_weights(1000, 0.999)
    assert w[0] == pytest.approx(0.999**999) and 0.36 < w[0] < 0.37
    assert E.ema_weights(1000, 0.999, debias=True)[0] == pytest.approx(
        0.001 * 0.999**999 / (1 - 0.999**1000))
    np.testing.assert_allclose(E.ema_weights(4, 1.0, debias=True), 0.25)


# -- running averages: parity with torch.optim.swa_utils.AveragedModel --------------------------
def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).double()


def _state(model: nn.Module) -> tuple[dict, dict]:
    return ({k: v.detach().numpy().copy() for k, v in model.named_parameters()},
            {k: v.detach().numpy().copy() for k, v in model.named_buffers()})


def _train_alongside(steps: int, torch_average, ours_kw: dict):
    """Noisy SGD on a BatchNorm network; after every step both averages are updated."""
    model = _net()
    averaged = torch_average(model)
    state = E.init_average()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.3, momentum=0.5)
    generator = torch.Generator().manual_seed(1)
    history = []
    for _ in range(steps):
        x = torch.randn(16, 5, generator=generator, dtype=torch.float64) * 3
        y = torch.randint(0, 3, (16,), generator=generator)
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
        averaged.update_parameters(model)
        params, buffers = _state(model)
        state = E.update_average(state, params, buffers, **ours_kw)
        history.append(params)
    return averaged, state, history


def _compare(averaged, state, exact: bool):
    assert int(averaged.n_averaged) == state.n_averaged
    theirs = dict(averaged.module.named_parameters())
    for name, value in state.params.items():
        got = theirs[name].detach().numpy()
        assert got.dtype == value.dtype == np.float64
        if exact:
            np.testing.assert_array_equal(value, got, err_msg=name)
        else:
            np.testing.assert_allclose(value, got, rtol=1e-12, atol=1e-14, err_msg=name)
    for name, buffer in averaged.module.named_buffers():
        got = buffer.detach().numpy()
        assert got.dtype == state.buffers[name].dtype
        if exact or got.dtype.kind == "i":
            np.testing.assert_array_equal(state.buffers[name], got, err_msg=name)
        else:
            np.testing.assert_allclose(state.buffers[name], got, rtol=1e-12, atol=1e-14)


STEPS = 150


@pytest.mark.parametrize("use_buffers", [False, True])
def test_uniform_average_matches_averaged_model_bit_for_bit(use_buffers):
    averaged, state, history = _train_alongside(
        STEPS, lambda m: swa_utils.AveragedModel(m, use_buffers=use_buffers),
        dict(use_buffers=use_buffers))
    _compare(averaged, state, exact=True)
    for name, value in state.params.items():  # and it is the mean of every iterate
        np.testing.assert_allclose(value, np.mean([h[name] for h in history], axis=0),
                                   rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("decay", [0.9, 0.99, 0.5, 0.0])
@pytest.mark.parametrize("use_buffers", [False, True])
def test_ema_matches_averaged_model_with_get_ema_avg_fn_bit_for_bit(decay, use_buffers):
    averaged, state, _ = _train_alongside(
        STEPS, lambda m: swa_utils.AveragedModel(m, avg_fn=swa_utils.get_ema_avg_fn(decay),
                                                 use_buffers=use_buffers),
        dict(decay=decay, use_buffers=use_buffers))
    _compare(averaged, state, exact=True)


@pytest.mark.parametrize("decay", [0.999, 0.9, 0.3])
@pytest.mark.parametrize("use_buffers", [False, True])
def test_ema_matches_get_ema_multi_avg_fn(decay, use_buffers):
    """The multi-tensor form uses a fused lerp (FMA on the CPU): equal to the last bits."""
    averaged, state, _ = _train_alongside(
        STEPS, lambda m: swa_utils.AveragedModel(
            m, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(decay), use_buffers=use_buffers),
        dict(decay=decay, use_buffers=use_buffers))
    _compare(averaged, state, exact=False)


def test_swa_multi_avg_fn_rounds_its_weights_to_float32():
    """``get_swa_multi_avg_fn`` computes the weight ``1 / (n_averaged + 1)`` from the integer
    counter tensor, which PyTorch divides in its default dtype, float32: the float64 average
    then drifts from the exact mean by ~1e-8 (relative). Replaying the same float32 weights
    through a lerp reproduces PyTorch to the last bits; the reference keeps exact weights."""
    averaged, state, history = _train_alongside(
        STEPS, lambda m: swa_utils.AveragedModel(
            m, multi_avg_fn=swa_utils.get_swa_multi_avg_fn()), {})
    drift = 0.0
    for name, value in state.params.items():
        replay = history[0][name].copy()
        for n, x in enumerate(history[1:], start=1):
            w = float(np.float32(1.0) / np.float32(n + 1))
            replay = replay + w * (x[name] - replay) if w < 0.5 else (
                x[name] - (x[name] - replay) * (1 - w))
        got = dict(averaged.module.named_parameters())[name].detach().numpy()
        np.testing.assert_allclose(replay, got, rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(value, got, rtol=1e-6, atol=1e-8)
        drift = max(drift, float(np.max(np.abs(value - got) / np.abs(got))))
    assert drift > 1e-10  # the float32 weights are visible in a float64 average


def test_torch_swa_multi_avg_fn_cannot_average_integer_buffers():
    """A limit of PyTorch 2.13 (not of the reference): with ``use_buffers=True`` the
    multi-tensor uniform average reaches BatchNorm's integer ``num_batches_tracked`` through
    ``_foreach_addcdiv_``, which refuses integer division. The default (``multi_avg_fn=None``)
    works on the CPU and truncates, as :func:`update_average` does."""
    with pytest.raises(RuntimeError, match="Integer division with addcdiv"):
        _train_alongside(2, lambda m: swa_utils.AveragedModel(
            m, multi_avg_fn=swa_utils.get_swa_multi_avg_fn(), use_buffers=True),
            dict(use_buffers=True))


def test_first_update_copies_and_buffers_follow_the_model_without_use_buffers():
    model = _net()
    params, buffers = _state(model)
    state = E.update_average(E.init_average(), params, buffers, decay=0.999)
    assert state.n_averaged == 1
    for name in params:  # a copy, not a 0.001-weighted blend with zeros
        np.testing.assert_array_equal(state.params[name], params[name])
        assert state.params[name] is not params[name]
    moved = {k: v + 1.0 for k, v in params.items()}
    stats = {k: (v + 1 if v.dtype.kind == "f" else v + 5) for k, v in buffers.items()}
    plain = E.update_average(state, moved, stats, decay=0.5)
    both = E.update_average(state, moved, stats, decay=0.5, use_buffers=True)
    for name in params:
        np.testing.assert_allclose(plain.params[name], params[name] + 0.5)
    np.testing.assert_array_equal(plain.buffers["1.running_mean"], stats["1.running_mean"])
    np.testing.assert_allclose(both.buffers["1.running_mean"], buffers["1.running_mean"] + 0.5)
    # the counter is an integer: 0.5·0 + 0.5·5 = 2.5, truncated to 2 as Tensor.copy_ does
    assert both.buffers["1.num_batches_tracked"] == 2
    assert both.buffers["1.num_batches_tracked"].dtype == np.int64


@given(st.integers(0, 10_000), st.integers(1, 40), st.one_of(st.none(), decays))
@settings(max_examples=40, deadline=None)
def test_running_average_of_random_dicts_matches_averaged_model(seed, count, decay):
    """Any shapes, any decay (or the uniform mean), float and integer tensors."""
    rng = np.random.default_rng(seed)
    model = nn.Module()
    model.w = nn.Parameter(torch.zeros(tuple(rng.integers(1, 4, 2)), dtype=torch.float64))
    model.register_buffer("count", torch.zeros(3, dtype=torch.long))
    fn = None if decay is None else swa_utils.get_ema_avg_fn(decay)
    averaged = swa_utils.AveragedModel(model, avg_fn=fn, use_buffers=True)
    state = E.init_average()
    for _ in range(count):
        with torch.no_grad():
            model.w.copy_(torch.tensor(rng.standard_normal(tuple(model.w.shape)) * 5))
            model.count.copy_(torch.tensor(rng.integers(-50, 50, 3)))
        averaged.update_parameters(model)
        state = E.update_average(state, {"w": model.w.detach().numpy().copy()},
                                 {"count": model.count.numpy().copy()}, decay=decay,
                                 use_buffers=True)
    np.testing.assert_array_equal(state.params["w"], averaged.module.w.detach().numpy())
    np.testing.assert_array_equal(state.buffers["count"], averaged.module.count.numpy())


# -- the NumPy network the chapter's experiments train ------------------------------------------
def test_numpy_mlp_gradient_matches_finite_differences():
    from labkit.numpy_mlp import init_mlp, mlp_logits, mlp_loss

    rng = np.random.default_rng(0)
    params = init_mlp(rng, n_in=6, n_hidden=5, n_out=4)
    params = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in params.items()}
    X, y = rng.standard_normal((9, 6)), rng.integers(0, 4, 9)
    loss, grads = mlp_loss(params, X, y)
    assert loss == pytest.approx(E.nll(E.softmax(mlp_logits(params, X)), y), rel=1e-12)
    h = 1e-6
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][index] += h
            minus[name][index] -= h
            numeric[index] = (mlp_loss(plus, X, y)[0] - mlp_loss(minus, X, y)[0]) / (2 * h)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-8, err_msg=name)
