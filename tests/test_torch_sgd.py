"""solutions.torch_sgd.SGD against torch.optim.SGD: parity over many steps, validation, state."""

from __future__ import annotations

import copy
import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions.torch_sgd import SGD

SETTINGS = [dict(momentum=m, dampening=d, weight_decay=w, nesterov=n)
            for m, d, w, n in itertools.product([0.0, 0.5, 0.9], [0.0, 0.3], [0.0, 0.05],
                                                [False, True])
            if not (n and (m == 0 or d != 0))]


def _problem(seed: int, shapes):
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(*s, generator=g, dtype=torch.float64) for s in shapes]
    targets = [torch.randn(*s, generator=g, dtype=torch.float64) for s in shapes]
    return params, targets


def _run(optimizer_class, seed, shapes, steps, hyper, groups=False, schedule=None,
         skip_every=0):
    """Train copies of the same parameters; every ``skip_every`` steps the last one gets none."""
    init, targets = _problem(seed, shapes)
    params = [p.clone().requires_grad_(True) for p in init]
    if groups:
        param_groups = [{"params": params[:1], "lr": 0.03}, {"params": params[1:]}]
        optimizer = optimizer_class(param_groups, lr=0.01, **hyper)
    else:
        optimizer = optimizer_class(params, lr=0.01, **hyper)
    scheduler = schedule(optimizer) if schedule else None
    for step in range(steps):
        optimizer.zero_grad()
        used = params[:-1] if skip_every and step % skip_every == 0 else params
        loss = sum(((torch.sin(p) - t) ** 2).sum() + 0.1 * (p**4).sum()
                   for p, t in zip(used, targets, strict=False))
        loss.backward()
        optimizer.step()
        if scheduler:
            scheduler.step()
    return [p.detach() for p in params]


@pytest.mark.parametrize("hyper", SETTINGS,
                         ids=lambda h: ",".join(f"{k}={v}" for k, v in h.items()))
def test_matches_torch_sgd_for_200_steps(hyper):
    shapes = [(3, 4), (5,), (2, 2, 2)]
    ours = _run(SGD, 0, shapes, 200, hyper, groups=True, skip_every=7)
    theirs = _run(torch.optim.SGD, 0, shapes, 200, hyper, groups=True, skip_every=7)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("nesterov", [False, True])
def test_matches_torch_sgd_under_a_learning_rate_schedule(nesterov):
    def schedule(opt):
        return torch.optim.lr_scheduler.StepLR(opt, step_size=25, gamma=0.5)

    hyper = dict(momentum=0.9, nesterov=nesterov, weight_decay=0.01)
    ours = _run(SGD, 3, [(4,), (3, 3)], 150, hyper, schedule=schedule)
    theirs = _run(torch.optim.SGD, 3, [(4,), (3, 3)], 150, hyper, schedule=schedule)
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-12)


def test_zero_gradients_and_huge_gradients_match():
    for scale in (0.0, 1e6):
        p1 = torch.ones(3, dtype=torch.float64, requires_grad=True)
        p2 = torch.ones(3, dtype=torch.float64, requires_grad=True)
        o1 = SGD([p1], lr=0.1, momentum=0.9, weight_decay=0.1)
        o2 = torch.optim.SGD([p2], lr=0.1, momentum=0.9, weight_decay=0.1)
        for _ in range(100):
            for p, o in ((p1, o1), (p2, o2)):
                o.zero_grad()
                (scale * p.sum()).backward()
                o.step()
        torch.testing.assert_close(p1, p2, rtol=1e-6, atol=0)


@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       lr=st.floats(1e-4, 0.1), momentum=st.floats(0.0, 0.99),
       dampening=st.sampled_from([0.0, 0.1, 0.5]), weight_decay=st.floats(0.0, 0.1),
       nesterov=st.booleans(), seed=st.integers(0, 10_000))
def test_property_parity_over_shapes_and_hyperparameters(shape, lr, momentum, dampening,
                                                         weight_decay, nesterov, seed):
    nesterov = nesterov and momentum > 0 and dampening == 0
    hyper = dict(momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                 nesterov=nesterov)
    results = []
    for cls in (SGD, torch.optim.SGD):
        g = torch.Generator().manual_seed(seed)
        p = torch.randn(*shape, generator=g, dtype=torch.float64, requires_grad=True)
        opt = cls([p], lr=lr, **hyper)
        for _ in range(100):
            opt.zero_grad()
            (torch.cos(p).sum() + 0.5 * (p**2).sum()).backward()
            opt.step()
        results.append(p.detach())
    torch.testing.assert_close(results[0], results[1], rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(lr=0.0), "Invalid learning rate: 0.0"),
    (dict(lr=-1.0), "Invalid learning rate"),
    (dict(lr=0.1, momentum=-0.1), "Invalid momentum value: -0.1"),
    (dict(lr=0.1, dampening=1.0), "Invalid dampening value"),
    (dict(lr=0.1, weight_decay=-1e-3), "Invalid weight_decay value"),
    (dict(lr=0.1, nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    (dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
])
def test_invalid_hyperparameters_are_refused_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SGD([torch.zeros(2, requires_grad=True)], **kwargs)


def test_state_dict_round_trip_continues_identically():
    def train(opt, p, steps):
        for _ in range(steps):
            opt.zero_grad()
            ((p - 3) ** 2).sum().backward()
            opt.step()

    p = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = SGD([p], lr=0.05, momentum=0.9, nesterov=True)
    train(opt, p, 10)
    saved_p = p.detach().clone()
    saved_state = copy.deepcopy(opt.state_dict())  # state_dict shares the live buffers
    train(opt, p, 10)
    q = saved_p.clone().requires_grad_(True)
    fresh = SGD([q], lr=0.05, momentum=0.9, nesterov=True)
    fresh.load_state_dict(saved_state)
    train(fresh, q, 10)
    torch.testing.assert_close(p.detach(), q.detach(), rtol=0, atol=0)


def test_closure_is_called_and_its_loss_returned():
    p = torch.ones(2, requires_grad=True)
    opt = SGD([p], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == pytest.approx(2.0)
    torch.testing.assert_close(p.detach(), torch.full((2,), 0.8))
