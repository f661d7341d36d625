"""solutions.momentum.SGD against torch.optim.SGD: parity over many steps, validation, state.

Every parity test runs the hand-written optimizer and ``torch.optim.SGD`` side by side on the
same float64 problem (same initial parameters, same losses, same schedule) and compares the
parameters with ``rtol=1e-6``: PyTorch is the ground truth (DESIGN.md, principle 1).
"""

from __future__ import annotations

import copy
import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from solutions.momentum import SGD, sgd_update

RTOL, ATOL = 1e-6, 1e-12
SHAPES = [(3, 4), (5,), (2, 2, 2), (1,)]

SETTINGS = [dict(momentum=m, dampening=d, weight_decay=w, nesterov=n)
            for m, d, w, n in itertools.product([0.0, 0.5, 0.9], [0.0, 0.3], [0.0, 0.05],
                                                [False, True])
            if not (n and (m == 0 or d != 0))]
IDS = [",".join(f"{k}={v}" for k, v in h.items()) for h in SETTINGS]


def _problem(seed: int, shapes):
    g = torch.Generator().manual_seed(seed)
    init = [torch.randn(tuple(s), generator=g, dtype=torch.float64) for s in shapes]
    targets = [torch.randn(tuple(s), generator=g, dtype=torch.float64) for s in shapes]
    return init, targets


def _loss(params, targets):
    """A smooth non-quadratic loss; each tensor has its own target."""
    return sum(((torch.sin(p) - t) ** 2).sum() + 0.1 * (p**4).sum()
               for p, t in zip(params, targets, strict=True))


def _uses(step: int, skip: str) -> list[bool]:
    """Which of the four parameters enter the loss at ``step``.

    The last parameter is left out of the loss for the first 4 steps (its gradient does not
    exist yet when momentum would initialise its buffer) and then every 7th step; the second
    one every 5th step.
    """
    if skip == "never":
        return [True] * 4
    return [True, step % 5 != 3, True, step >= 4 and step % 7 != 0]


def _run(optimizer_class, hyper, *, seed=0, steps=100, skip="never", set_to_none=True,
         schedule=None):
    """Train four tensors in three parameter groups with different ``lr`` (and one with its
    own ``weight_decay``); return the final parameters and the momentum buffers."""
    init, targets = _problem(seed, SHAPES)
    params = [p.clone().requires_grad_(True) for p in init]
    groups = [{"params": params[:1], "lr": 0.03},
              {"params": params[1:3]},
              {"params": params[3:], "lr": 0.005, "weight_decay": 0.1}]
    optimizer = optimizer_class(groups, lr=0.01, **hyper)
    scheduler = schedule(optimizer) if schedule else None
    for step in range(steps):
        optimizer.zero_grad(set_to_none=set_to_none)
        used = _uses(step, skip)
        _loss([p for p, u in zip(params, used, strict=True) if u],
              [t for t, u in zip(targets, used, strict=True) if u]).backward()
        optimizer.step()
        if scheduler:
            scheduler.step()
    buffers = [optimizer.state[p].get("momentum_buffer") for p in params]
    return [p.detach() for p in params], buffers


def _assert_same(ours, theirs):
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("hyper", SETTINGS, ids=IDS)
def test_matches_torch_sgd_for_100_steps_with_groups_and_missing_gradients(hyper):
    ours, our_buffers = _run(SGD, hyper, skip="sometimes")
    theirs, their_buffers = _run(torch.optim.SGD, hyper, skip="sometimes")
    _assert_same(ours, theirs)
    # the state holds PyTorch's gradient buffer, not a velocity in some other convention
    for a, b in zip(our_buffers, their_buffers, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("hyper", [SETTINGS[i] for i in (1, 4, 11, 15)],
                         ids=[IDS[i] for i in (1, 4, 11, 15)])
def test_zero_gradient_is_not_the_same_as_no_gradient(hyper):
    """``zero_grad(set_to_none=False)`` leaves a *zero* gradient on a parameter that is not in
    the loss, and PyTorch still applies momentum and weight decay to it; with ``None`` the
    parameter is skipped entirely. Both must match torch, and they must differ from each
    other (otherwise the comparison could not tell the two behaviours apart)."""
    zeros, _ = _run(SGD, hyper, skip="sometimes", set_to_none=False)
    _assert_same(zeros, _run(torch.optim.SGD, hyper, skip="sometimes", set_to_none=False)[0])
    nones, _ = _run(SGD, hyper, skip="sometimes", set_to_none=True)
    assert not torch.allclose(zeros[3], nones[3], rtol=1e-6, atol=1e-9)


def test_a_parameter_without_gradient_is_left_exactly_alone():
    p = torch.randn(3, dtype=torch.float64, requires_grad=True)
    q = torch.randn(2, dtype=torch.float64, requires_grad=True)
    opt = SGD([p, q], lr=0.1, momentum=0.9, weight_decay=0.1)
    (p.sum() + q.sum()).backward()
    opt.step()
    q_before = q.detach().clone()
    buffer_before = opt.state[q]["momentum_buffer"].clone()
    opt.zero_grad()
    (p**2).sum().backward()  # q gets no gradient: q.grad is None
    assert q.grad is None
    opt.step()
    torch.testing.assert_close(q.detach(), q_before, rtol=0, atol=0)
    torch.testing.assert_close(opt.state[q]["momentum_buffer"], buffer_before, rtol=0, atol=0)


@pytest.mark.parametrize("hyper", [SETTINGS[i] for i in (0, 7, 10, 11, 15)],
                         ids=[IDS[i] for i in (0, 7, 10, 11, 15)])
def test_matches_torch_sgd_under_step_lr(hyper):
    """``StepLR`` steps the ``lr`` of both optimizers' groups; PyTorch applies the current
    rate to its whole gradient buffer, and so must the hand-written optimizer."""
    def schedule(opt):
        return torch.optim.lr_scheduler.StepLR(opt, step_size=25, gamma=0.5)

    ours, _ = _run(SGD, hyper, seed=3, steps=120, skip="sometimes", schedule=schedule)
    theirs, _ = _run(torch.optim.SGD, hyper, seed=3, steps=120, skip="sometimes",
                     schedule=schedule)
    _assert_same(ours, theirs)


def test_huge_and_exactly_zero_gradients_match():
    for scale in (0.0, 1e6):
        results = []
        for cls in (SGD, torch.optim.SGD):
            p = torch.linspace(-1, 1, 5, dtype=torch.float64).requires_grad_(True)
            opt = cls([p], lr=0.1, momentum=0.9, weight_decay=0.1)
            for _ in range(100):
                opt.zero_grad()
                (scale * p.sum()).backward()
                opt.step()
            results.append(p.detach())
        torch.testing.assert_close(results[0], results[1], rtol=RTOL, atol=0)


@st.composite
def _hyperparameters(draw):
    momentum = draw(st.one_of(st.just(0.0), st.floats(0.0, 0.99)))
    dampening = draw(st.one_of(st.just(0.0), st.floats(0.0, 0.9)))
    nesterov = draw(st.booleans()) and momentum > 0 and dampening == 0
    return dict(lr=draw(st.floats(1e-4, 0.5)), momentum=momentum, dampening=dampening,
                weight_decay=draw(st.one_of(st.just(0.0), st.floats(0.0, 0.1))),
                nesterov=nesterov)


@settings(max_examples=30, deadline=None)
@given(shapes=st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple),
                       min_size=1, max_size=3),
       hyper=_hyperparameters(), seed=st.integers(0, 2**31 - 1))
def test_property_parity_over_shapes_and_hyperparameters(shapes, hyper, seed):
    init, targets = _problem(seed, shapes)
    results = []
    for cls in (SGD, torch.optim.SGD):
        params = [p.clone().requires_grad_(True) for p in init]
        opt = cls(params, **hyper)
        for _ in range(100):
            opt.zero_grad()
            # curvature in [0, 2] (+ weight decay): stable for every drawn (lr, momentum)
            sum((torch.cos(p) + 0.5 * (p - t) ** 2).sum()
                for p, t in zip(params, targets, strict=True)).backward()
            opt.step()
        results.append([p.detach() for p in params])
    for a, b in zip(*results, strict=True):
        assert torch.isfinite(a).all()
        torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize(("kwargs", "pattern"), [
    (dict(lr=0.0), r"learning rate: 0\.0"),
    (dict(lr=-1.0), r"learning rate: -1\.0"),
    (dict(lr=math.nan), r"learning rate: nan"),
    (dict(lr=0.1, momentum=-0.1), r"momentum value: -0\.1"),
    (dict(lr=0.1, momentum=0.5, dampening=1.0), r"dampening value: 1\.0"),
    (dict(lr=0.1, momentum=0.5, dampening=-0.2), r"dampening value: -0\.2"),
    (dict(lr=0.1, weight_decay=-1e-3), r"weight_decay value: -0\.001"),
    (dict(lr=0.1, nesterov=True), r"Nesterov.*momentum"),
    (dict(lr=0.1, momentum=0.9, dampening=0.1, nesterov=True), r"Nesterov.*zero dampening"),
])
def test_invalid_hyperparameters_are_refused_naming_the_parameter(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        SGD([torch.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("kwargs", [
    dict(lr=1e-8), dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0),
    dict(lr=0.1, momentum=0.9, nesterov=True), dict(lr=0.1, momentum=0.9, dampening=0.99),
])
def test_valid_edge_hyperparameters_are_accepted(kwargs):
    opt = SGD([torch.zeros(2, requires_grad=True)], **kwargs)
    assert all(opt.param_groups[0][k] == v for k, v in kwargs.items())


def _train(optimizer, scheduler, params, targets, steps):
    for _ in range(steps):
        optimizer.zero_grad()
        _loss(params, targets).backward()
        optimizer.step()
        scheduler.step()


@pytest.mark.parametrize("nesterov", [False, True])
def test_state_dict_round_trip_continues_exactly_like_an_uninterrupted_run(nesterov):
    init, targets = _problem(5, SHAPES[:2])

    def make(params, lr):
        opt = SGD([{"params": params[:1], "lr": 2 * lr}, {"params": params[1:]}], lr=lr,
                  momentum=0.9, nesterov=nesterov, weight_decay=0.01)
        return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=7, gamma=0.5)

    params = [p.clone().requires_grad_(True) for p in init]
    opt, sched = make(params, 0.02)
    _train(opt, sched, params, targets, 10)
    saved_params = [p.detach().clone() for p in params]
    saved_opt = copy.deepcopy(opt.state_dict())  # state_dict shares the live buffers
    saved_sched = copy.deepcopy(sched.state_dict())
    _train(opt, sched, params, targets, 15)

    resumed = [p.clone().requires_grad_(True) for p in saved_params]
    fresh, fresh_sched = make(resumed, 0.5)  # a different lr: the loaded state must win
    fresh.load_state_dict(saved_opt)
    fresh_sched.load_state_dict(saved_sched)
    assert fresh.param_groups[1]["lr"] == saved_opt["param_groups"][1]["lr"]
    _train(fresh, fresh_sched, resumed, targets, 15)
    for a, b in zip(params, resumed, strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=0, atol=0)


def test_a_torch_sgd_checkpoint_resumes_in_the_hand_written_optimizer():
    """Same state layout as PyTorch (``momentum_buffer``): a checkpoint of ``torch.optim.SGD``
    continues in :class:`SGD` exactly as it would have in PyTorch."""
    init, targets = _problem(8, SHAPES[:3])
    hyper = dict(lr=0.02, momentum=0.8, weight_decay=0.01)
    params = [p.clone().requires_grad_(True) for p in init]
    theirs = torch.optim.SGD(params, **hyper)
    sched = torch.optim.lr_scheduler.StepLR(theirs, step_size=100)
    _train(theirs, sched, params, targets, 10)
    checkpoint = copy.deepcopy(theirs.state_dict())
    resumed = [p.detach().clone().requires_grad_(True) for p in params]
    _train(theirs, sched, params, targets, 20)
    ours = SGD(resumed, **hyper)
    ours.load_state_dict(checkpoint)
    _train(ours, torch.optim.lr_scheduler.StepLR(ours, step_size=100), resumed, targets, 20)
    _assert_same([p.detach() for p in resumed], [p.detach() for p in params])


def test_closure_is_evaluated_once_with_gradients_enabled_and_its_loss_returned():
    p = torch.ones(2, dtype=torch.float64, requires_grad=True)
    opt = SGD([p], lr=0.1, momentum=0.5)
    calls = []

    def closure():
        calls.append(torch.is_grad_enabled())
        opt.zero_grad()
        loss = (p**2).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert calls == [True]
    assert isinstance(loss, torch.Tensor) and loss.item() == pytest.approx(2.0)
    torch.testing.assert_close(p.detach(), torch.full((2,), 0.8, dtype=torch.float64))
    assert opt.step() is None  # no closure: no loss


def test_sgd_update_functional_core_fills_the_buffers():
    param = torch.tensor([1.0, -2.0], dtype=torch.float64)
    grad = torch.tensor([0.5, 0.25], dtype=torch.float64)
    buffers = [None]
    sgd_update([param], [grad], buffers, lr=0.1, momentum=0.9, dampening=0.5,
               weight_decay=0.0, nesterov=False)
    torch.testing.assert_close(buffers[0], grad)  # first step: b = g, no dampening
    torch.testing.assert_close(param, torch.tensor([0.95, -2.025], dtype=torch.float64))
    sgd_update([param], [grad], buffers, lr=0.1, momentum=0.9, dampening=0.5,
               weight_decay=0.0, nesterov=False)
    torch.testing.assert_close(buffers[0], 0.9 * grad + 0.5 * grad)  # b = mu b + (1 - tau) g
    torch.testing.assert_close(grad, torch.tensor([0.5, 0.25], dtype=torch.float64))
