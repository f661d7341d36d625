"""solutions.stable_training: dropout (statistically, and against torch with torch's own
mask), batch norm against torch.nn.BatchNorm1d and autograd, clipping against torch.nn.utils, early
stopping against an independent formulation, and the non-finite finder on known causes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn.functional import cross_entropy

from solutions import stable_training as S  # noqa: N812

torch.set_num_threads(1)


# -- dropout ------------------------------------------------------------------------------------
@pytest.mark.parametrize("p", [0.1, 0.3, 0.5, 0.8])
@pytest.mark.parametrize("shape", [(7,), (4, 9), (3, 5, 6)])
def test_inverted_dropout_reproduces_torch_with_torchs_mask(p, shape):
    torch.manual_seed(int(p * 100) + len(shape))
    x = torch.rand(shape, dtype=torch.float64) + 0.5  # no zeros: the kept entries are visible
    out = torch.nn.functional.dropout(x, p, training=True)
    mask = (out != 0).numpy()
    ours = S.inverted_dropout(x.numpy(), p, mask=mask)
    np.testing.assert_array_equal(ours, out.numpy())  # bit for bit
    np.testing.assert_array_equal(S.inverted_dropout(x.numpy(), p, train=False),
                                  torch.nn.functional.dropout(x, p, training=False).numpy())


def test_dropout_edge_probabilities_and_validation():
    x = np.random.default_rng(0).standard_normal((5, 4))
    rng = np.random.default_rng(1)
    np.testing.assert_array_equal(S.inverted_dropout(x, 0.0, rng), x)
    np.testing.assert_array_equal(S.inverted_dropout(x, 1.0, rng), np.zeros_like(x))
    np.testing.assert_array_equal(
        torch.nn.functional.dropout(torch.tensor(x), 1.0, training=True).numpy(), 0.0)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="between 0 and 1"):
            S.inverted_dropout(x, bad, rng)
        with pytest.raises(ValueError):
            torch.nn.Dropout(bad)
    with pytest.raises(ValueError, match="rng or a mask"):
        S.inverted_dropout(x, 0.5)


def test_dropout_mask_keeps_q_and_uses_one_draw():
    p, shape = 0.3, (400, 250)
    mask = S.dropout_mask(np.random.default_rng(0), shape, p)
    u = np.random.default_rng(0).random(shape)
    np.testing.assert_array_equal(mask, u < 1 - p)
    n = mask.size  # binomial: within 5 standard deviations of n·q
    assert abs(mask.sum() - n * (1 - p)) < 5 * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.7])
def test_inverted_and_direct_dropout_have_the_same_expectation_at_train_and_test(p):
    """Averaged over many masks, the training output equals the eval output (z-test); the
    mixed-up variants (inverted at train, direct at eval and vice versa) are rejected."""
    rng = np.random.default_rng(int(10 * p))
    x = rng.uniform(0.5, 2.0, 20)
    draws = 20_000
    q = 1 - p
    for kind, sd_factor in ((S.inverted_dropout, math.sqrt(p / q)),
                            (S.direct_dropout, math.sqrt(p * q))):
        samples = np.stack([kind(x, p, rng) for _ in range(draws)])
        eval_out = kind(x, p, train=False)
        z = (samples.mean(axis=0) - eval_out) / (x * sd_factor / math.sqrt(draws))
        assert np.max(np.abs(z)) < 5.0, kind.__name__
    inverted_train = np.stack([S.inverted_dropout(x, p, rng) for _ in range(draws)]).mean(0)
    direct_eval = S.direct_dropout(x, p, train=False)
    z = (inverted_train - direct_eval) / (x * math.sqrt(p / q) / math.sqrt(draws))
    assert np.min(np.abs(z)) > 10.0  # scaling at train *and* test is detected
    np.testing.assert_allclose(direct_eval, q * x)
    np.testing.assert_array_equal(S.inverted_dropout(x, p, train=False), x)


def test_dropout_leaves_its_input_alone():
    x = np.arange(12.0).reshape(3, 4)
    before = x.copy()
    for fn in (S.inverted_dropout, S.direct_dropout):
        for train in (True, False):
            out = fn(x, 0.5, np.random.default_rng(0), train=train)
            out[...] = -1
            np.testing.assert_array_equal(x, before)


@given(st.lists(st.integers(1, 6), min_size=1, max_size=4).map(tuple), st.floats(0.0, 0.95),
       st.integers(0, 1000), st.sampled_from([np.float32, np.float64]))
@settings(max_examples=60, deadline=None)
def test_dropout_shapes_dtypes_and_values(shape, p, seed, dtype):
    x = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    inv = S.inverted_dropout(x, p, np.random.default_rng(seed))
    mask = S.dropout_mask(np.random.default_rng(seed), shape, p)
    assert inv.shape == shape and inv.dtype == dtype
    np.testing.assert_allclose(inv, np.where(mask, x / dtype(1 - p), 0), rtol=1e-6)
    direct = S.direct_dropout(x, p, np.random.default_rng(seed))
    assert direct.shape == shape and direct.dtype == dtype
    np.testing.assert_array_equal(direct, np.where(mask, x, 0))


# -- max-norm constraint ------------------------------------------------------------------------
@given(st.lists(st.integers(1, 6), min_size=2, max_size=4).map(tuple), st.data(),
       st.floats(1e-3, 10.0), st.floats(-3, 2), st.integers(0, 10_000))
@settings(max_examples=100, deadline=None)
def test_max_norm_agrees_with_torch_renorm(shape, data, max_value, log_scale, seed):
    """torch.renorm(W, p=2, dim, maxnorm) rescales each slice W.select(dim, i); so does ours,
    for every dim (negative ones included), with the same 1e-7 in the denominator."""
    dim = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim")
    weight = np.random.default_rng(seed).standard_normal(shape) * 10.0 ** log_scale
    before = weight.copy()
    ours = S.max_norm(weight, max_value, dim)
    theirs = torch.renorm(torch.tensor(weight), p=2, dim=dim, maxnorm=max_value).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(weight, before)  # pure
    assert ours.shape == weight.shape and ours.dtype == weight.dtype
    norms = np.linalg.norm(np.moveaxis(ours, dim, 0).reshape(shape[dim], -1), axis=1)
    assert np.all(norms <= max_value * (1 + 1e-12))


def test_max_norm_on_a_linear_layer_constrains_each_units_incoming_weights():
    """nn.Linear stores weight as (out, in): unit i's incoming weights are row i, so dim=0.
    Rows inside the ball are untouched, longer rows are shortened to c in their direction."""
    layer = nn.Linear(5, 3).double()
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[3.0, 4.0, 0, 0, 0], [0.3, 0.4, 0, 0, 0],
                                         [0, 0, 6.0, 8.0, 0]]))
    weight = layer.weight.detach().numpy().copy()
    ours = S.max_norm(weight, 2.0, dim=0)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), [2.0, 0.5, 2.0], rtol=1e-7)
    np.testing.assert_array_equal(ours[1], weight[1])
    np.testing.assert_allclose(ours[0], weight[0] * 2 / 5, rtol=1e-7)
    with torch.no_grad():  # the way it is applied after optimizer.step()
        layer.weight.copy_(torch.renorm(layer.weight, p=2, dim=0, maxnorm=2.0))
    np.testing.assert_allclose(layer.weight.detach().numpy(), ours, rtol=1e-12)
    # dim=1 would constrain the *outgoing* weights of each input feature instead
    assert not np.allclose(S.max_norm(weight, 2.0, dim=1), ours)
    np.testing.assert_array_equal(S.max_norm(weight.astype(np.float32), 2.0).dtype, np.float32)


def test_max_norm_validates_its_arguments_like_torch():
    weight = np.ones((3, 4))
    with pytest.raises(ValueError, match="max_value"):
        S.max_norm(weight, -1.0)
    with pytest.raises(RuntimeError, match="maxnorm"):
        torch.renorm(torch.ones(3, 4), 2, 0, -1.0)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        S.max_norm(np.ones(4), 1.0)
    with pytest.raises(ValueError, match="dim"):
        S.max_norm(weight, 1.0, dim=2)
    np.testing.assert_array_equal(S.max_norm(weight, 0.0), 0.0)


# -- batch normalisation ------------------------------------------------------------------------
BN_SETTINGS = [((16, 5), 0.1, 1e-5), ((4, 3), 0.5, 1e-3), ((2, 7), 0.01, 1e-5),
               ((8, 4, 6), 0.1, 1e-5), ((3, 2, 1), 0.3, 1e-2), ((16, 5), None, 1e-5),
               ((5, 6, 3), None, 1e-4)]


@pytest.mark.parametrize("shape, momentum, eps", BN_SETTINGS)
def test_batch_norm_matches_torch_batchnorm1d_over_many_steps(shape, momentum, eps):
    rng = np.random.default_rng(len(shape) * 10 + shape[0])
    C = shape[1]
    theirs = nn.BatchNorm1d(C, eps=eps, momentum=momentum).double()
    ours = S.BatchNorm1d(C, eps=eps, momentum=momentum)
    gamma, beta = rng.uniform(0.5, 2.0, C), rng.standard_normal(C)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(gamma))
        theirs.bias.copy_(torch.tensor(beta))
    ours.gamma, ours.beta = gamma.copy(), beta.copy()
    for step in range(60):
        # shifting, scaled batches: the running statistics have something to track
        x = rng.standard_normal(shape) * (1 + step % 3) + np.sin(step) * 3
        y_theirs = theirs(torch.tensor(x)).detach().numpy()
        np.testing.assert_allclose(ours(x), y_theirs, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12,
                                   atol=1e-14)
        np.testing.assert_allclose(ours.running_var, theirs.running_var.numpy(), rtol=1e-12)
    assert ours.num_batches_tracked == theirs.num_batches_tracked.item() == 60
    theirs.eval()
    ours.training = False
    for _ in range(5):
        x = rng.standard_normal(shape) * 4 - 1
        np.testing.assert_allclose(ours(x), theirs(torch.tensor(x)).detach().numpy(),
                                   rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.running_mean, theirs.running_mean.numpy(), rtol=1e-12)


def test_batch_norm_functional_is_pure_and_eval_ignores_the_batch():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((10, 4)) * 3 + 2
    gamma, beta = np.ones(4), np.zeros(4)
    rm, rv = np.zeros(4), np.ones(4)
    copies = [a.copy() for a in (x, gamma, beta, rm, rv)]
    y, rm1, rv1 = S.batch_norm(x, gamma, beta, rm, rv, train=True, momentum=0.1)
    for a, b in zip((x, gamma, beta, rm, rv), copies, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(rm1, 0.1 * x.mean(0))
    np.testing.assert_allclose(rv1, 0.9 + 0.1 * x.var(0, ddof=1))  # unbiased in the estimate
    np.testing.assert_allclose(y.var(0), x.var(0) / (x.var(0) + 1e-5))  # biased to normalise
    y_eval, rm2, rv2 = S.batch_norm(x, gamma, beta, rm1, rv1, train=False)
    np.testing.assert_allclose(y_eval, (x - rm1) / np.sqrt(rv1 + 1e-5))
    assert rm2 is not rm1 and np.array_equal(rm2, rm1) and np.array_equal(rv2, rv1)
    # one example at eval time: fine; in training: no statistics to compute (as in torch)
    S.batch_norm(x[:1], gamma, beta, rm1, rv1, train=False)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        S.batch_norm(x[:1], gamma, beta, rm, rv, train=True)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nn.BatchNorm1d(4).double()(torch.tensor(x[:1]))


@pytest.mark.parametrize("shape", [(6, 3), (2, 5), (4, 3, 7)])
def test_batch_norm_backward_matches_autograd(shape):
    rng = np.random.default_rng(sum(shape))
    x = rng.standard_normal(shape) * 2 + 1
    gamma, beta = rng.uniform(0.5, 2, shape[1]), rng.standard_normal(shape[1])
    dy = rng.standard_normal(shape)
    xt = torch.tensor(x, requires_grad=True)
    bn = nn.BatchNorm1d(shape[1]).double()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
    bn(xt).backward(torch.tensor(dy))
    dx, dgamma, dbeta = S.batch_norm_backward(dy, x, gamma)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dgamma, bn.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(dbeta, bn.bias.grad.numpy(), rtol=1e-12)
    # a finite-difference check of one entry, independent of torch
    h, (i, c) = 1e-6, (1, 0)
    e = np.zeros_like(x)
    e[(i, c) + (0,) * (x.ndim - 2)] = h

    def loss(z):
        return float(np.sum(S.batch_norm(z, gamma, beta, 0 * beta, 1 + 0 * beta,
                                         train=True)[0] * dy))
    numeric = (loss(x + e) - loss(x - e)) / (2 * h)
    assert numeric == pytest.approx(dx[(i, c) + (0,) * (x.ndim - 2)], rel=1e-5, abs=1e-8)


@given(st.integers(2, 12), st.integers(1, 6), st.sampled_from([None, 1, 4]),
       st.integers(0, 1000), st.floats(0.0, 1.0))
@settings(max_examples=50, deadline=None)
def test_batch_norm_shapes_and_normalised_statistics(n, c, length, seed, momentum):
    shape = (n, c) if length is None else (n, c, length)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * rng.uniform(0.1, 10) + rng.uniform(-5, 5)
    gamma, beta = rng.uniform(0.5, 2, c), rng.standard_normal(c)
    y, rm, rv = S.batch_norm(x, gamma, beta, np.zeros(c), np.ones(c), train=True,
                             momentum=momentum)
    assert y.shape == shape and rm.shape == rv.shape == (c,)
    axes = (0,) if length is None else (0, 2)
    np.testing.assert_allclose(y.mean(axis=axes), beta, atol=1e-9)
    var = x.var(axis=axes)
    np.testing.assert_allclose(y.var(axis=axes), gamma**2 * var / (var + 1e-5), rtol=1e-7,
                               atol=1e-12)
    assert np.all(rv >= 0) and np.all(np.isfinite(rm))
    y_eval = S.batch_norm(x, gamma, beta, rm, rv, train=False)[0]
    assert y_eval.shape == shape


# -- gradient clipping --------------------------------------------------------------------------
def _random_grads(rng, count, scale):
    shapes = [tuple(rng.integers(1, 5, rng.integers(1, 4))) for _ in range(count)]
    return [rng.standard_normal(s) * scale * 10.0 ** rng.uniform(-1, 1) for s in shapes]


def _torch_clip(grads, max_norm, norm_type):
    params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, g in zip(params, grads, strict=True):
        p.grad = torch.tensor(g)
    total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    return [p.grad.numpy() for p in params], total.item()


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf, "inf"])
def test_clip_grad_norm_matches_torch(norm_type):
    rng = np.random.default_rng(7)
    for trial in range(40):
        scale = 10.0 ** rng.uniform(-8, 4)  # from norms where eps matters to huge ones
        grads = _random_grads(rng, int(rng.integers(1, 6)), scale)
        max_norm = float(10.0 ** rng.uniform(-9, 3))
        ours, total = S.clip_grad_norm(grads, max_norm, float(norm_type))
        theirs, their_total = _torch_clip(grads, max_norm, norm_type)
        assert total == pytest.approx(their_total, rel=1e-12), trial
        for a, b in zip(ours, theirs, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


def test_clip_grad_norm_eps_direction_and_the_unclipped_case():
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 2)) * 1e-6, rng.standard_normal(4) * 1e-6]
    total = S.global_norm(grads)
    clipped, returned = S.clip_grad_norm(grads, total / 10)
    assert returned == total
    factor = (total / 10) / (total + 1e-6)  # the eps is visible at this scale
    assert abs(factor - 0.1) > 0.02
    for c, g in zip(clipped, grads, strict=True):
        np.testing.assert_allclose(c, g * factor, rtol=1e-14)
    # one factor for all tensors: the concatenated direction is unchanged
    flat, flat_clipped = (np.concatenate([a.ravel() for a in gs]) for gs in (grads, clipped))
    cos = flat @ flat_clipped / np.linalg.norm(flat) / np.linalg.norm(flat_clipped)
    assert cos == pytest.approx(1.0, abs=1e-14)
    # clipping each tensor on its own changes it
    per_tensor = [S.clip_grad_norm([g], total / 10)[0][0] for g in grads]
    flat_pt = np.concatenate([a.ravel() for a in per_tensor])
    assert flat @ flat_pt / np.linalg.norm(flat) / np.linalg.norm(flat_pt) < 1 - 1e-6
    # below the threshold: untouched, and never scaled up
    big = [g * 1e6 for g in grads]
    same, _ = S.clip_grad_norm(big, 10 * S.global_norm(big))
    for a, b in zip(same, big, strict=True):
        np.testing.assert_array_equal(a, b)


def test_clip_grad_norm_nonfinite_and_empty_like_torch():
    grads = [np.array([1.0, np.nan]), np.array([3.0])]
    ours, total = S.clip_grad_norm(grads, 1.0)
    theirs, their_total = _torch_clip(grads, 1.0, 2.0)
    assert math.isnan(total) and math.isnan(their_total)
    assert all(np.isnan(a).all() for a in ours) and all(np.isnan(a).all() for a in theirs)
    ours, total = S.clip_grad_norm([np.array([np.inf, 1.0])], 1.0)
    assert total == math.inf and np.array_equal(ours[0], [np.nan, 0.0], equal_nan=True)
    assert S.clip_grad_norm([], 1.0) == ([], 0.0)
    assert torch.nn.utils.clip_grad_norm_([], 1.0).item() == 0.0
    with pytest.raises(ValueError, match="norm_type"):
        S.global_norm([np.ones(2)], 0.0)


def test_clip_grad_value_matches_torch():
    rng = np.random.default_rng(1)
    for _ in range(20):
        grads = _random_grads(rng, 3, 1.0)
        clip = float(rng.uniform(0.01, 2))
        params = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
        for p, g in zip(params, grads, strict=True):
            p.grad = torch.tensor(g)
        torch.nn.utils.clip_grad_value_(params, clip)
        for ours, p in zip(S.clip_grad_value(grads, clip), params, strict=True):
            np.testing.assert_array_equal(ours, p.grad.numpy())


@given(st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple), min_size=1,
                max_size=5),
       st.floats(1e-4, 1e3), st.sampled_from([1.0, 2.0, 3.0, math.inf]), st.integers(0, 10_000),
       st.floats(-6, 3))
@settings(max_examples=80, deadline=None)
def test_clip_grad_norm_properties_and_torch_parity(shapes, max_norm, norm_type, seed, log_scale):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(s) * 10.0 ** log_scale for s in shapes]
    clipped, total = S.clip_grad_norm(grads, max_norm, norm_type)
    assert [c.shape for c in clipped] == [np.shape(g) for g in grads]
    new_total = S.global_norm(clipped, norm_type)
    assert new_total <= max_norm * (1 + 1e-12) or new_total == pytest.approx(total)
    if total <= max_norm:
        for c, g in zip(clipped, grads, strict=True):
            np.testing.assert_array_equal(c, g)
    theirs, their_total = _torch_clip(grads, max_norm, norm_type)
    assert total == pytest.approx(their_total, rel=1e-12, abs=1e-300)
    for a, b in zip(clipped, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


# -- early stopping -----------------------------------------------------------------------------
@pytest.mark.parametrize("values, kwargs, expected", [
    ([1.0, 0.8, 0.85, 0.9, 0.95, 0.7], dict(patience=3), (4, 1)),
    ([1.0, 0.8, 0.85, 0.9, 0.95, 0.7], dict(patience=4), (None, 5)),
    ([1.0, 0.8, 0.85, 0.9, 0.95, 0.7], dict(patience=1), (2, 1)),
    ([1.0, 0.8, 0.85, 0.9, 0.95, 0.7], dict(patience=0), (2, 1)),
    ([1.0, 0.95, 0.949, 0.948, 0.947], dict(patience=3, min_delta=0.01), (4, 1)),
    ([1.0, 0.95, 0.949, 0.948, 0.947], dict(patience=3), (None, 4)),
    ([0.5, 0.7, 0.69, 0.72, 0.71, 0.71, 0.73], dict(patience=2, mode="max"), (5, 3)),
    ([0.5, 0.7, 0.69, 0.72, 0.71, 0.71, 0.73], dict(patience=2, mode="max", min_delta=0.05),
     (3, 1)),
    ([1.0, float("nan"), float("nan"), 0.5], dict(patience=2), (2, 0)),
    ([], dict(patience=2), (None, None)),
])
def test_early_stopping_on_hand_made_curves(values, kwargs, expected):
    assert S.early_stopping(values, **kwargs) == expected


def _stop_and_best(values, patience, min_delta):
    """Independent formulation (mode "min"): the improving epochs are those that beat the
    best of the earlier improving epochs by more than min_delta; training stops at the
    first epoch lying `patience` or more epochs after the last improving one."""
    improving, best = [], math.inf
    for t, v in enumerate(values):
        if v < best - min_delta:
            improving.append(t)
            best = v
        last = improving[-1] if improving else -1
        if t - last >= max(patience, 1):  # patience 0: stop at the first bad epoch
            return t, (improving[-1] if improving else None)
    return None, (improving[-1] if improving else None)


@given(st.lists(st.floats(0.0, 2.0), max_size=40), st.integers(0, 6),
       st.sampled_from([0.0, 0.01, 0.1]))
@settings(max_examples=200, deadline=None)
def test_early_stopping_agrees_with_an_independent_formulation(values, patience, min_delta):
    assert S.early_stopping(values, patience, min_delta) == _stop_and_best(values, patience,
                                                                          min_delta)
    # mode "max" on the negated curve is the same rule
    assert S.early_stopping([-v for v in values], patience, min_delta, "max") == \
        _stop_and_best(values, patience, min_delta)


def test_early_stopping_restores_the_best_weights_of_a_real_run():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X = torch.tensor(rng.standard_normal((40, 5)))
    y = torch.tensor(rng.integers(0, 3, 40))  # random labels: validation loss soon rises
    Xv, yv = torch.tensor(rng.standard_normal((40, 5))), torch.tensor(rng.integers(0, 3, 40))
    model = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 3)).double()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    stopper = S.EarlyStopping(patience=5)
    states, losses = [], []
    while True:
        optimizer.zero_grad()
        cross_entropy(model(X), y).backward()
        optimizer.step()
        with torch.no_grad():
            losses.append(cross_entropy(model(Xv), yv).item())
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        if stopper.step(losses[-1], model.state_dict()):
            break
    assert stopper.stopped_epoch == len(losses) - 1 == stopper.best_epoch + 5
    assert stopper.best_epoch == int(np.argmin(losses)) and stopper.best == min(losses)
    model.load_state_dict(stopper.best_state)  # a copy, untouched by the later steps
    for key, value in model.state_dict().items():
        assert torch.equal(value, states[stopper.best_epoch][key])
    with torch.no_grad():
        assert cross_entropy(model(Xv), yv).item() == min(losses)


def test_early_stopping_validates_its_arguments():
    for kwargs in (dict(patience=-1), dict(patience=1, min_delta=-0.1),
                   dict(patience=1, mode="lowest")):
        with pytest.raises(ValueError):
            S.EarlyStopping(**kwargs)


# -- finding the first non-finite value ---------------------------------------------------------
def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))


def _data(seed=0, n=32):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 8, generator=g), torch.randint(0, 4, (n,), generator=g)


def _assert_hooks_removed(model):
    for module in model.modules():
        assert not module._forward_hooks and not module._forward_pre_hooks
    for p in model.parameters():
        assert not p._backward_hooks


def test_finder_reports_nothing_and_takes_the_normal_step_when_all_is_finite():
    X, y = _data()
    model, twin = _net(), _net()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    twin_opt = torch.optim.SGD(twin.parameters(), lr=0.1)
    loss, report = S.checked_step(model, cross_entropy, X, y, opt)
    twin_opt.zero_grad()
    twin_loss = cross_entropy(twin(X), y)
    twin_loss.backward()
    twin_opt.step()
    assert report is None and loss == twin_loss.item()
    for a, b in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(a, b)
    _assert_hooks_removed(model)


def test_finder_names_a_nan_in_the_input_batch():
    X, y = _data()
    X[17, 5] = float("nan")
    X[3, 0] = float("inf")
    model = _net()
    before = [p.clone() for p in model.parameters()]
    _, report = S.checked_step(model, cross_entropy, X, y,
                               torch.optim.SGD(model.parameters(), lr=0.1))
    assert report.stage == "input" and report.step == 0
    assert "rows [3, 17]" in report.detail and "1 NaN, 1 inf" in report.detail
    assert "data" in report.advice
    for a, b in zip(before, model.parameters(), strict=True):  # the step was skipped
        assert torch.equal(a, b)
    _assert_hooks_removed(model)


def test_finder_names_log_of_zero_in_a_hand_written_loss():
    def hand_written_ce(logits, targets):
        p = torch.softmax(logits, dim=1)
        return -torch.log(p[torch.arange(len(targets)), targets]).mean()

    X, y = _data()
    model = _net()
    with torch.no_grad():
        model[2].weight.mul_(400.0)  # an overconfident network: some probabilities are 0
    _, report = S.checked_step(model, hand_written_ce, X, y,
                               torch.optim.SGD(model.parameters(), lr=0.1))
    assert report.stage == "loss" and report.op == "log"
    assert "torch.log returned" in report.detail and "log of 0" in report.advice
    assert math.isfinite(cross_entropy(model(X), y).item())  # the stable loss is fine


def test_finder_catches_a_too_large_learning_rate_after_some_steps():
    X, y = _data(n=64)
    batches = [(X, y)] * 300
    model = _net()
    ok = S.find_first_nonfinite(model, cross_entropy, batches,
                                torch.optim.SGD(model.parameters(), lr=0.1))
    assert ok.report is None and len(ok.losses) == 300
    model = _net()
    bad = S.find_first_nonfinite(model, cross_entropy, batches,
                                 torch.optim.SGD(model.parameters(), lr=30.0))
    report = bad.report
    assert report is not None and report.step == len(bad.losses) > 5
    assert all(math.isfinite(v) for v in bad.losses)
    assert max(bad.losses) > 1e3 * min(bad.losses)
    assert "learning rate is too large" in report.advice and str(report).startswith("step ")
    assert all(torch.isfinite(p).all() for p in model.parameters())  # never corrupted


def test_finder_names_the_module_whose_activation_overflows():
    X, y = _data()
    model = _net()
    with torch.no_grad():
        model[0].weight.fill_(1e38)  # float32: the first layer's output overflows
    _, report = S.checked_step(model, cross_entropy, X.abs() + 1, y,
                               torch.optim.SGD(model.parameters(), lr=0.1))
    assert report.stage == "forward" and report.where == "0" and report.op == "linear"
    assert "module '0' (Linear)" in report.detail


def test_finder_names_a_non_finite_gradient_and_an_overflowing_update():
    X, _ = _data()
    model = _net()
    with torch.no_grad():
        model[2].weight.zero_()
        model[2].bias.zero_()

    def distance(out, target):  # sqrt at 0: finite loss, infinite derivative
        return torch.sqrt(((out - target) ** 2).sum(dim=1)).mean()
    loss, report = S.checked_step(model, distance, X, torch.zeros(len(X), 4),
                                  torch.optim.SGD(model.parameters(), lr=0.1))
    assert loss == 0.0 and report.stage == "gradient"
    assert report.where in ("2.weight", "2.bias") and "sqrt" in report.advice
    model = _net()
    X, y = _data()
    _, report = S.checked_step(model, cross_entropy, 100 * X, y,
                               torch.optim.SGD(model.parameters(), lr=3e38))
    assert report.stage == "update" and "lr = 3e+38" in report.detail
    _, again = S.checked_step(model, cross_entropy, 100 * X, y,
                              torch.optim.SGD(model.parameters(), lr=0.1), step=1)
    assert again.stage == "parameter" and again.where == report.where and again.step == 1
