"""Chapter 10 references against torch.nn.init, the published formulas and the statistics.

Bounds and standard deviations must equal PyTorch's floats exactly; the ``*_torch`` draws must
equal ``torch.nn.init``'s tensors bit for bit from equally seeded generators; the NumPy draws
must have the intended distribution (Kolmogorov–Smirnov); constant initialization must keep
the hidden units of an MLP identical under gradient descent while a random one breaks the tie.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from torch import nn

from labkit.checks.initialization import EX10_CONSTANT, EX10_HIDDEN, ex10_data, ex10_mlp
from solutions import initialization as I  # noqa: N812

torch.set_num_threads(1)

# 2-D (linear) and 3-D/4-D/5-D (convolution) weight shapes (out, in, *kernel).
shapes = st.one_of(
    st.tuples(st.integers(1, 300), st.integers(1, 300)),
    st.tuples(st.integers(1, 64), st.integers(1, 64), st.integers(1, 7)),
    st.tuples(st.integers(1, 32), st.integers(1, 32), st.integers(1, 5), st.integers(1, 5)),
    st.tuples(st.integers(1, 8), st.integers(1, 8), st.integers(1, 3), st.integers(1, 3),
              st.integers(1, 3)),
)
modes = st.sampled_from(["fan_in", "fan_out", "FAN_IN"])
nonlinearities = st.sampled_from(["relu", "leaky_relu", "tanh", "linear", "sigmoid", "selu",
                                  "conv2d"])
slopes = st.one_of(st.just(0), st.floats(0.0, 1.0), st.sampled_from([0.01, 0.2, 0.5]))
gains = st.one_of(st.floats(0.1, 3.0), st.sampled_from([1.0, math.sqrt(2.0), 5.0 / 3]))
seeds = st.integers(0, 2**31 - 1)


# -- fans and gains --------------------------------------------------------------------------
@given(shapes)
@settings(max_examples=200, deadline=None)
def test_fans_match_torch(shape):
    expected = nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    assert I.fan_in_and_fan_out(shape) == expected
    assert I.fan(shape, "fan_in") == expected[0] and I.fan(shape, "fan_out") == expected[1]


def test_fans_by_hand():
    assert I.fan_in_and_fan_out((10, 784)) == (784, 10)  # nn.Linear(784, 10).weight
    assert I.fan_in_and_fan_out((64, 3, 7, 7)) == (3 * 49, 64 * 49)  # nn.Conv2d(3, 64, 7)
    assert I.fan_in_and_fan_out((16, 8, 5)) == (40, 80)
    assert I.fan_in_and_fan_out([4, 2]) == (2, 4)  # a list works as well as a tuple
    for bad in [(), (5,)]:
        with pytest.raises(ValueError, match="at least 2 dimensions"):
            I.fan_in_and_fan_out(bad)
    with pytest.raises(ValueError, match="mode"):
        I.fan((3, 4), "fan_avg")


@given(nonlinearities, st.one_of(st.none(), slopes))
@settings(max_examples=100, deadline=None)
def test_gain_matches_torch(nonlinearity, param):
    assert I.calculate_gain(nonlinearity, param) == nn.init.calculate_gain(nonlinearity, param)


def test_gain_published_values():
    assert I.calculate_gain("relu") == math.sqrt(2.0)
    assert I.calculate_gain("tanh") == 5.0 / 3
    assert I.calculate_gain("selu") == 0.75
    assert I.calculate_gain("sigmoid") == I.calculate_gain("linear") == 1.0
    assert I.calculate_gain("leaky_relu") == math.sqrt(2.0 / (1 + 0.01**2))  # default slope
    assert I.calculate_gain("leaky_relu", 0) == I.calculate_gain("relu")
    assert I.calculate_gain("leaky_relu", 1.0) == 1.0  # slope 1 is the identity
    # a, not a^2, would give sqrt(2 / 1.5) here; the second moment of a·z is a²·E[z²]
    assert I.calculate_gain("leaky_relu", 0.5) == pytest.approx(math.sqrt(2 / 1.25))
    for bad in [("leaky_relu", True), ("leaky_relu", "0.1"), ("gelu", None)]:
        with pytest.raises(ValueError):
            I.calculate_gain(*bad)


# -- standard deviations and bounds: PyTorch's floats exactly --------------------------------
def _torch_uniform_bound(fill, shape, **kwargs) -> float:
    """The bound PyTorch used: fill a tensor through a spy on ``uniform_``."""
    seen = {}

    class Spy(torch.Tensor):
        def uniform_(self, a, b, generator=None):
            seen["a"], seen["b"] = a, b
            return self

    fill(torch.empty(shape).as_subclass(Spy), **kwargs)
    assert seen["a"] == -seen["b"]
    return seen["b"]


def _torch_normal_std(fill, shape, **kwargs) -> float:
    seen = {}

    class Spy(torch.Tensor):
        def normal_(self, mean, std, generator=None):
            seen["mean"], seen["std"] = mean, std
            return self

    fill(torch.empty(shape).as_subclass(Spy), **kwargs)
    assert seen["mean"] == 0
    return seen["std"]


@given(shapes, gains)
@settings(max_examples=100, deadline=None)
def test_xavier_std_and_bound_equal_torch(shape, gain):
    assert I.xavier_bound(shape, gain) == _torch_uniform_bound(nn.init.xavier_uniform_, shape,
                                                              gain=gain)
    assert I.xavier_std(shape, gain) == _torch_normal_std(nn.init.xavier_normal_, shape,
                                                          gain=gain)


@given(shapes, slopes, modes, st.sampled_from(["relu", "leaky_relu", "tanh", "linear"]))
@settings(max_examples=150, deadline=None)
def test_kaiming_std_and_bound_equal_torch(shape, a, mode, nonlinearity):
    kw = dict(a=a, mode=mode, nonlinearity=nonlinearity)
    assert I.kaiming_bound(shape, **kw) == _torch_uniform_bound(nn.init.kaiming_uniform_,
                                                                shape, **kw)
    assert I.kaiming_std(shape, **kw) == _torch_normal_std(nn.init.kaiming_normal_, shape, **kw)


def test_published_formulas_at_given_points():
    # Glorot & Bengio (2010), eq. 16: U[-sqrt(6)/sqrt(n_j + n_{j+1}), +...]
    assert I.xavier_bound((300, 500)) == pytest.approx(math.sqrt(6 / 800), rel=1e-15)
    assert I.xavier_std((300, 500)) == pytest.approx(math.sqrt(2 / 800), rel=1e-15)
    # He et al. (2015), eq. 10: std = sqrt(2 / n_l), n_l = k^2 c for a conv layer
    assert I.kaiming_std((64, 32, 3, 3)) == pytest.approx(math.sqrt(2 / (9 * 32)), rel=1e-15)
    assert I.kaiming_std((64, 32, 3, 3), mode="fan_out") == pytest.approx(
        math.sqrt(2 / (9 * 64)), rel=1e-15)
    # PReLU/leaky version, eq. 15: std = sqrt(2 / ((1 + a^2) n_l))
    assert I.kaiming_std((10, 50), a=0.25) == pytest.approx(math.sqrt(2 / (1.0625 * 50)),
                                                            rel=1e-15)
    assert I.kaiming_bound((10, 50), nonlinearity="relu") == pytest.approx(math.sqrt(6 / 50))
    assert I.uniform_bound(0.2) == math.sqrt(3.0) * 0.2


# -- the same values from the same torch generator -------------------------------------------
@given(shapes, slopes, modes, st.sampled_from(["relu", "leaky_relu", "tanh"]), seeds,
       st.sampled_from([torch.float32, torch.float64]))
@settings(max_examples=60, deadline=None)
def test_kaiming_torch_draws_equal_nn_init(shape, a, mode, nonlinearity, seed, dtype):
    kw = dict(a=a, mode=mode, nonlinearity=nonlinearity)
    for ours, theirs in [(I.kaiming_uniform_torch, nn.init.kaiming_uniform_),
                         (I.kaiming_normal_torch, nn.init.kaiming_normal_)]:
        w = theirs(torch.empty(shape, dtype=dtype), **kw,
                   generator=torch.Generator().manual_seed(seed))
        mine = ours(shape, **kw, generator=torch.Generator().manual_seed(seed), dtype=dtype)
        assert mine.dtype == dtype and mine.shape == w.shape
        assert torch.equal(mine, w)


@given(shapes, gains, seeds)
@settings(max_examples=60, deadline=None)
def test_xavier_torch_draws_equal_nn_init(shape, gain, seed):
    for ours, theirs in [(I.xavier_uniform_torch, nn.init.xavier_uniform_),
                         (I.xavier_normal_torch, nn.init.xavier_normal_)]:
        w = theirs(torch.empty(shape, dtype=torch.float64), gain=gain,
                   generator=torch.Generator().manual_seed(seed))
        mine = ours(shape, gain, generator=torch.Generator().manual_seed(seed),
                    dtype=torch.float64)
        assert torch.equal(mine, w)


def test_torch_draw_uses_the_default_dtype_and_generator():
    torch.manual_seed(3)
    w = nn.init.kaiming_uniform_(torch.empty(20, 30))
    torch.manual_seed(3)
    assert torch.equal(I.kaiming_uniform_torch((20, 30)), w)


# -- the NumPy draws have the intended distribution ------------------------------------------
def _ks_pvalue(sample: np.ndarray, dist) -> float:
    return stats.kstest(sample.ravel(), dist.cdf).pvalue


@pytest.mark.parametrize("shape", [(400, 300), (64, 32, 3, 3), (50, 20, 7)])
def test_draws_follow_the_intended_distribution(shape):
    """KS tests against the exact target; a wrong scale (σ as the bound, variance as the std,
    a missing gain) is rejected with p far below 1e-6 at these sample sizes."""
    rng = np.random.default_rng(0)
    cases = [
        (I.normal(rng, shape, 0.05), stats.norm(0, 0.05)),
        (I.uniform(rng, shape, 0.05), stats.uniform(-math.sqrt(3) * 0.05, 2 * math.sqrt(3) * 0.05)),
        (I.xavier_normal(rng, shape, 5 / 3), stats.norm(0, I.xavier_std(shape, 5 / 3))),
        (I.xavier_uniform(rng, shape), stats.uniform(-I.xavier_bound(shape),
                                                     2 * I.xavier_bound(shape))),
        (I.kaiming_normal(rng, shape, mode="fan_out"),
         stats.norm(0, I.kaiming_std(shape, mode="fan_out"))),
        (I.kaiming_uniform(rng, shape, a=0.2), stats.uniform(-I.kaiming_bound(shape, a=0.2),
                                                             2 * I.kaiming_bound(shape, a=0.2))),
    ]
    for sample, dist in cases:
        assert sample.shape == shape and sample.dtype == np.float64
        assert _ks_pvalue(sample, dist) > 1e-3
    # the test has the power to see the typical mistakes: σ used as the bound, σ² as the scale
    std = I.kaiming_std(shape)
    assert _ks_pvalue(I.kaiming_uniform(rng, shape), stats.uniform(-std, 2 * std)) < 1e-6
    assert _ks_pvalue(I.kaiming_normal(rng, shape), stats.norm(0, std**2)) < 1e-6


@given(shapes, seeds)
@settings(max_examples=30, deadline=None)
def test_draws_are_reproducible_and_in_bounds(shape, seed):
    a = I.xavier_uniform(np.random.default_rng(seed), shape, gain=2.0)
    b = I.xavier_uniform(np.random.default_rng(seed), shape, gain=2.0)
    assert np.array_equal(a, b)
    assert np.all(np.abs(a) <= I.xavier_bound(shape, 2.0))
    k = I.kaiming_uniform(np.random.default_rng(seed), shape, mode="fan_out")
    assert np.all(np.abs(k) <= I.kaiming_bound(shape, mode="fan_out"))
    # one call of the generator per draw: the same numbers as drawing by hand
    r = I.kaiming_bound(shape)
    assert np.array_equal(I.kaiming_uniform(np.random.default_rng(seed), shape),
                          np.random.default_rng(seed).uniform(-r, r, shape))


def test_sample_std_matches_the_formula():
    rng = np.random.default_rng(1)
    for draw, std in [(I.uniform(rng, (500, 400), 0.1), 0.1),
                      (I.xavier_uniform(rng, (500, 400)), I.xavier_std((500, 400))),
                      (I.kaiming_uniform(rng, (500, 400)), I.kaiming_std((500, 400)))]:
        assert draw.std() == pytest.approx(std, rel=0.01)
        assert abs(draw.mean()) < 0.01 * std


def test_constant_and_zeros():
    assert np.array_equal(I.zeros((3, 4)), np.zeros((3, 4)))
    c = I.constant((2, 3, 5), 0.7)
    assert c.shape == (2, 3, 5) and c.dtype == np.float64 and np.all(c == 0.7)
    with pytest.raises(ValueError, match="std"):
        I.normal(np.random.default_rng(0), (2, 2), -1.0)


# -- deep stacks: the gradients are right, and the inits do what they promise ----------------
@pytest.mark.parametrize("activation", ["tanh", "relu", "linear", "sigmoid"])
def test_propagate_matches_autograd(activation):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((7, 6))
    weights = [rng.standard_normal((6, 6)) / 2, rng.standard_normal((5, 6)) / 2,
               rng.standard_normal((4, 5)) / 2]
    grad_out = rng.standard_normal((7, 4))
    ours = I.propagate(X, weights, activation, grad_out)
    fn = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda z: z,
          "sigmoid": torch.sigmoid}[activation]
    Ws = [torch.tensor(W, requires_grad=True) for W in weights]
    h, pre = torch.tensor(X), []
    for W in Ws:
        z = h @ W.T
        z.retain_grad()
        pre.append(z)
        h = fn(z)
    (h * torch.tensor(grad_out)).sum().backward()
    np.testing.assert_allclose(ours.activations[-1], h.detach().numpy(), rtol=1e-12)
    for layer in range(3):
        np.testing.assert_allclose(ours.grad_weights[layer], Ws[layer].grad.numpy(),
                                   rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(ours.grad_preactivations[layer], pre[layer].grad.numpy(),
                                   rtol=1e-10, atol=1e-14)


def test_activation_scale_through_depth():
    """20 layers of width 200: Kaiming keeps ReLU activations at their scale, Xavier halves
    their second moment per layer, σ = 0.01 kills the signal; Xavier keeps tanh alive."""
    X = np.random.default_rng(3).standard_normal((300, 200))

    def stds(init, activation):
        rng = np.random.default_rng(4)
        return np.array(I.layer_stds(X, lambda s: init(rng, s), 20, activation))

    kaiming = stds(I.kaiming_normal, "relu")
    xavier = stds(I.xavier_normal, "relu")
    small = stds(lambda r, s: I.normal(r, s, 0.01), "relu")
    assert 0.5 < kaiming[-1] / kaiming[0] < 2.0
    assert xavier[-1] / xavier[0] == pytest.approx(2 ** -9.5, rel=0.5)  # (1/√2) per layer
    assert small[-1] < 1e-18
    tanh = stds(I.xavier_normal, "tanh")
    assert 0.1 < tanh[-1] < tanh[0]  # shrinks slowly, does not vanish
    assert stds(lambda r, s: I.normal(r, s, 0.01), "tanh")[-1] < 1e-15  # 0.14 per layer


def test_backward_gradients_vanish_with_small_weights_not_with_kaiming():
    X = np.random.default_rng(5).standard_normal((200, 100))
    rng = np.random.default_rng(6)
    for init, kept in [(lambda s: I.kaiming_normal(rng, s), True),
                       (lambda s: I.normal(rng, s, 0.05), False)]:
        weights = [init((100, 100)) for _ in range(15)]
        grads = I.propagate(X, weights, "relu",
                            rng.standard_normal((200, 100))).grad_preactivations
        ratio = grads[0].std() / grads[-1].std()
        assert (0.2 < ratio < 5) if kept else ratio < 1e-6


# -- symmetry --------------------------------------------------------------------------------
def test_ex10_mlp_gradients_match_autograd():
    X, y = ex10_data()
    rng = np.random.default_rng(7)
    params = (I.xavier_uniform(rng, (EX10_HIDDEN, 64)), rng.standard_normal(EX10_HIDDEN),
              I.xavier_uniform(rng, (10, EX10_HIDDEN)), rng.standard_normal(10))
    loss, grads = ex10_mlp(params, X, y)
    tp = [torch.tensor(p, requires_grad=True) for p in params]
    logits = torch.tanh(torch.tensor(X) @ tp[0].T + tp[1]) @ tp[2].T + tp[3]
    expected = nn.functional.cross_entropy(logits, torch.tensor(y))
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-12)
    for g, t in zip(grads, tp, strict=True):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("value", [0.0, EX10_CONSTANT, -0.3])
def test_constant_init_keeps_hidden_units_identical_forever(value):
    X, y = ex10_data()
    params = (I.constant((EX10_HIDDEN, 64), value), I.zeros((EX10_HIDDEN,)),
              I.constant((10, EX10_HIDDEN), value), I.zeros((10,)))
    trained, losses = I.gradient_descent(params, lambda p: ex10_mlp(p, X, y), 0.5, 600)
    W1, b1, W2, _ = trained
    assert I.distinct_units(W1) == 1
    assert np.all(b1 == b1[0]) and np.all(W2 == W2[:, :1])
    if value:
        assert not np.allclose(W1, value)  # the weights did move — all together
        assert losses[-1] < losses[0] - 0.3
    else:
        assert np.all(W1 == 0)  # zero: no gradient reaches the first layer at all


def test_random_init_breaks_the_symmetry_and_trains_further():
    X, y = ex10_data()
    rng = np.random.default_rng(8)
    params = (I.xavier_uniform(rng, (EX10_HIDDEN, 64)), I.zeros((EX10_HIDDEN,)),
              I.xavier_uniform(rng, (10, EX10_HIDDEN)), I.zeros((10,)))
    trained, losses = I.gradient_descent(params, lambda p: ex10_mlp(p, X, y), 0.5, 300)
    constant = (I.constant((EX10_HIDDEN, 64), EX10_CONSTANT), I.zeros((EX10_HIDDEN,)),
                I.constant((10, EX10_HIDDEN), EX10_CONSTANT), I.zeros((10,)))
    _, constant_losses = I.gradient_descent(constant, lambda p: ex10_mlp(p, X, y), 0.5, 300)
    assert I.distinct_units(trained[0]) == EX10_HIDDEN
    assert losses[-1] < 0.2 < 1.0 < constant_losses[-1]


def test_symmetry_in_torch_with_nn_init_constant_and_sgd():
    """The same statement for a PyTorch MLP trained with torch.optim.SGD on mini-batches."""
    X, y = (torch.tensor(a) for a in ex10_data())
    torch.manual_seed(0)
    for init, expect_identical in [(lambda w: nn.init.constant_(w, 0.2), True),
                                   (nn.init.kaiming_uniform_, False)]:
        model = nn.Sequential(nn.Linear(64, 12), nn.ReLU(), nn.Linear(12, 12), nn.Tanh(),
                              nn.Linear(12, 10)).double()
        for layer in model[::2]:
            init(layer.weight)
            nn.init.zeros_(layer.bias)
        opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        for step in range(200):
            batch = slice(50 * (step % 10), 50 * (step % 10) + 50)
            opt.zero_grad()
            nn.functional.cross_entropy(model(X[batch]), y[batch]).backward()
            opt.step()
        for layer in model[:3:2]:
            rows = layer.weight.detach().numpy()
            assert (I.distinct_units(rows) == 1) == expect_identical
