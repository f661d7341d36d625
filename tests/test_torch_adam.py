"""The hand-written torch Adam, AdamW and RAdam against torch.optim over many steps."""

from __future__ import annotations

import pytest
import torch

from solutions.adaptive import Adam
from solutions.beyond_adam import AdamW, RAdam

PAIRS = [
    (Adam, torch.optim.Adam, dict(lr=0.01)),
    (Adam, torch.optim.Adam, dict(lr=0.01, amsgrad=True, weight_decay=0.1)),
    (Adam, torch.optim.Adam, dict(lr=0.02, betas=(0.8, 0.99), eps=1e-6)),
    (AdamW, torch.optim.AdamW, dict(lr=0.01)),
    (AdamW, torch.optim.AdamW, dict(lr=0.01, weight_decay=0.2, amsgrad=True)),
    (RAdam, torch.optim.RAdam, dict(lr=0.01)),
    (RAdam, torch.optim.RAdam, dict(lr=0.01, weight_decay=0.05, betas=(0.9, 0.99))),
]


def _train(cls, hyper, seed, steps=150, schedule=False):
    g = torch.Generator().manual_seed(seed)
    params = [torch.randn(4, 3, generator=g, dtype=torch.float64).requires_grad_(),
              torch.randn(5, generator=g, dtype=torch.float64).requires_grad_()]
    targets = [torch.randn(4, 3, generator=g, dtype=torch.float64),
               torch.randn(5, generator=g, dtype=torch.float64)]
    optimizer = cls([{"params": params[:1]}, {"params": params[1:], "lr": 0.003}], **hyper)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 40, 0.5) if schedule else None
    for step in range(steps):
        optimizer.zero_grad()
        used = params if step % 9 else params[:1]  # sometimes a parameter gets no gradient
        sum(((torch.tanh(p) - t) ** 2).sum() for p, t in zip(used, targets, strict=False)
            ).backward()
        optimizer.step()
        if scheduler:
            scheduler.step()
    return [p.detach() for p in params]


@pytest.mark.parametrize("schedule", [False, True])
@pytest.mark.parametrize(("ours", "theirs", "hyper"), PAIRS,
                         ids=[f"{p[0].__name__}-{i}" for i, p in enumerate(PAIRS)])
def test_matches_torch_for_150_steps(ours, theirs, hyper, schedule):
    for seed in range(2):
        for a, b in zip(_train(ours, hyper, seed, schedule=schedule),
                        _train(theirs, hyper, seed, schedule=schedule), strict=True):
            torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(lr=0.0), "Invalid learning rate: 0.0"),
    (dict(betas=(1.2, 0.999)), "Invalid beta parameter at index 0: 1.2"),
    (dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
    (dict(eps=-1.0), "Invalid epsilon value"),
    (dict(weight_decay=-0.1), "Invalid weight_decay value"),
])
def test_invalid_hyperparameters_name_the_parameter(kwargs, message):
    for cls in (Adam, AdamW, RAdam):
        with pytest.raises(ValueError, match=message):
            cls([torch.zeros(2, requires_grad=True)], **kwargs)
