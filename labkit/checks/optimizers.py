"""A shared problem for checking ``torch.optim.Optimizer`` classes students write.

Each case trains two parameter tensors of a small tanh regression (plus a third that never
gets a gradient, which the optimizer must leave alone) for some steps with given
hyperparameters, optionally halving the learning rate in ``param_groups`` midway (a change
the optimizer must pick up), and records the parameters at the end.
"""

from __future__ import annotations

from labkit.checks import Case


def optimizer_cases(settings: list[tuple[dict, int, int | None]], first_seed: int
                    ) -> list[Case]:
    """One case per ``(hyperparameters, steps, step at which lr is halved or None)``."""
    cases = []
    for i, (hyper, steps, halve_at) in enumerate(settings):
        label = (f"{steps} steps on a random 2-tensor problem (float64) with {hyper}"
                 + (f", lr halved after step {halve_at}" if halve_at else "")
                 + "; one parameter gets no gradient")
        cases.append(Case((first_seed + i, hyper, steps, halve_at), (), label))
    return cases


def train_two_tensors(optimizer_class, case: Case) -> dict:
    """Train with ``optimizer_class(params, **hyper)``; the value is the three tensors."""
    import torch

    seed, hyper, steps, halve_at = case.args
    generator = torch.Generator().manual_seed(seed)
    A = torch.randn(4, 3, generator=generator, dtype=torch.float64)
    target = torch.randn(4, generator=generator, dtype=torch.float64)
    w = torch.randn(3, generator=generator, dtype=torch.float64, requires_grad=True)
    b = torch.randn(1, generator=generator, dtype=torch.float64, requires_grad=True)
    frozen = torch.randn(2, generator=generator, dtype=torch.float64, requires_grad=True)
    optimizer = optimizer_class([w, b, frozen], **hyper)
    for step in range(steps):
        if halve_at is not None and step == halve_at:
            for group in optimizer.param_groups:
                group["lr"] = group["lr"] / 2
        optimizer.zero_grad()
        loss = ((torch.tanh(A @ w + b) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
    return {"value": [w.detach().clone(), b.detach().clone(), frozen.detach().clone()]}
