"""Property tests: the NumPy rules match torch.optim for any shape and hyperparameters."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions import adaptive as A  # noqa: N812
from solutions import beyond_adam as B  # noqa: N812

shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)
rates = st.floats(1e-4, 0.3)
betas = st.tuples(st.floats(0.0, 0.99), st.floats(0.5, 0.9999))
decays = st.sampled_from([0.0, 1e-3, 0.1])


def _compare(rule, state, torch_optimizer, shape, seed, hyper, steps=25):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    gradients = [rng.standard_normal(shape) * 10.0 ** rng.uniform(-3, 3) for _ in range(steps)]
    ours = x.copy()
    for g in gradients:
        ours, state = rule(ours, g, state, **hyper)
    theirs = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    optimizer = torch_optimizer([theirs])
    for g in gradients:
        theirs.grad = torch.tensor(g)
        optimizer.step()
    assert ours.shape == shape
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-6, atol=1e-10)


@given(shapes, st.integers(0, 10_000), rates, betas, st.floats(1e-10, 1e-3), decays,
       st.booleans(), st.booleans())
@settings(max_examples=60, deadline=None)
def test_adam_and_adamw(shape, seed, lr, b, eps, decay, amsgrad, decoupled):
    hyper = dict(lr=lr, beta1=b[0], beta2=b[1], eps=eps, weight_decay=decay, amsgrad=amsgrad,
                 decoupled=decoupled)
    cls = torch.optim.AdamW if decoupled else torch.optim.Adam
    _compare(A.adam, A.init_adam(np.zeros(shape)),
             lambda p: cls(p, lr=lr, betas=b, eps=eps, weight_decay=decay, amsgrad=amsgrad),
             shape, seed, hyper)


@given(shapes, st.integers(0, 10_000), rates, betas, decays)
@settings(max_examples=40, deadline=None)
def test_radam(shape, seed, lr, b, decay):
    _compare(B.radam, A.init_adam(np.zeros(shape)),
             lambda p: torch.optim.RAdam(p, lr=lr, betas=b, weight_decay=decay), shape, seed,
             dict(lr=lr, beta1=b[0], beta2=b[1], weight_decay=decay))


@given(shapes, st.integers(0, 10_000), rates, st.floats(0.5, 0.999), st.booleans(),
       st.sampled_from([0.0, 0.5, 0.9]), decays)
@settings(max_examples=40, deadline=None)
def test_rmsprop(shape, seed, lr, alpha, centered, momentum, decay):
    hyper = dict(lr=lr, alpha=alpha, centered=centered, momentum=momentum, weight_decay=decay)
    _compare(A.rmsprop, A.init_rmsprop(np.zeros(shape)),
             lambda p: torch.optim.RMSprop(p, **hyper), shape, seed, hyper)


@given(shapes, st.integers(0, 10_000), rates, st.sampled_from([0.0, 0.01]), decays)
@settings(max_examples=40, deadline=None)
def test_adagrad(shape, seed, lr, lr_decay, decay):
    hyper = dict(lr=lr, lr_decay=lr_decay, weight_decay=decay)
    _compare(A.adagrad, A.init_adagrad(np.zeros(shape)),
             lambda p: torch.optim.Adagrad(p, **hyper), shape, seed, hyper)


@given(shapes, st.integers(0, 10_000), rates, st.tuples(st.floats(0.1, 0.9),
                                                        st.floats(1.05, 2.0)),
       st.tuples(st.floats(1e-8, 1e-3), st.floats(0.05, 100.0)))
@settings(max_examples=40, deadline=None)
def test_rprop(shape, seed, lr, etas, step_sizes):
    hyper = dict(lr=lr, etas=etas, step_sizes=step_sizes)
    _compare(A.rprop, A.init_rprop(np.zeros(shape)),
             lambda p: torch.optim.Rprop(p, **hyper), shape, seed, hyper)


@given(shapes, st.integers(0, 10_000), rates, betas)
@settings(max_examples=40, deadline=None)
def test_first_adam_step_is_lr_sized(shape, seed, lr, b):
    """Bias correction: with eps = 0 the first step moves every coordinate by exactly lr,
    whatever the betas (Kingma & Ba, 2015, §2.1)."""
    rng = np.random.default_rng(seed)
    x, g = rng.standard_normal(shape), rng.standard_normal(shape) + 0.1
    x1, state = A.adam(x, g, A.init_adam(x), lr, b[0], b[1], eps=0.0)
    assert state.t == 1
    np.testing.assert_allclose(np.abs(x1 - x), lr, rtol=1e-9)
