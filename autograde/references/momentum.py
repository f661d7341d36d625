"""Exercise 02 (momentum and Nesterov): references and the catalog of typical mistakes."""

from __future__ import annotations

import functools

import numpy as np
import torch

from autograde.references import Computed, Expected, Mistake, optimizer_variant
from labkit.checks.momentum import (
    EX02_LR,
    EX02_MAX_STEPS,
    EX02_MOMENTA,
    EX02_QUADRATIC,
    EX02_START,
    EX02_TOLERANCE,
)
from solutions import momentum as ref
from solutions.momentum import SGD, sgd_update


def _momentum_sign(x, v, dx, lr, mu):
    v_new = mu * v + lr * dx
    return x + v_new, v_new


def _momentum_lr_twice(x, v, dx, lr, mu):
    v_new = mu * v - lr * dx
    return x + lr * v_new, v_new


def _momentum_old_velocity(x, v, dx, lr, mu):
    return x + v, mu * v - lr * dx


def _lookahead_at_x(x, v, grad_fn, lr, mu):
    return ref.momentum_step(x, v, grad_fn(x), lr, mu)


def _lookahead_full_velocity(x, v, grad_fn, lr, mu):
    v_new = mu * v - lr * grad_fn(x + v)
    return x + v_new, v_new


def _lookahead_backwards(x, v, grad_fn, lr, mu):
    v_new = mu * v - lr * grad_fn(x - mu * v)
    return x + v_new, v_new


def _nesterov_as_classical(x, v, dx, lr, mu):
    return ref.momentum_step(x, v, dx, lr, mu)


def _nesterov_sign_of_correction(x, v, dx, lr, mu):
    v_new = mu * v - lr * dx
    return x + mu * v + (1 + mu) * v_new, v_new


def _run_reset_velocity(grad_fn, x0, lr, mu, num_steps, nesterov=False):
    """The velocity is recreated at zero every step: momentum never builds up."""
    path = [np.array(x0, dtype=float)]
    step = ref.nesterov_step if nesterov else ref.momentum_step
    for _ in range(num_steps):
        x, _ = step(path[-1], np.zeros_like(path[-1]), grad_fn(path[-1]), lr, mu)
        path.append(x)
    return np.stack(path)


def _run_ignores_nesterov(grad_fn, x0, lr, mu, num_steps, nesterov=False):
    return ref.run_momentum(grad_fn, x0, lr, mu, num_steps, nesterov=False)


def _sgd_buffer_forgotten(params, grads, buffers, **hyper):
    sgd_update(params, grads, [None] * len(params), **hyper)


def _sgd_dampened_first_step(params, grads, buffers, **hyper):
    buffers[:] = [torch.zeros_like(p) if b is None else b
                  for p, b in zip(params, buffers, strict=True)]
    sgd_update(params, grads, buffers, **hyper)


def _sgd_decay_after_momentum(params, grads, buffers, *, lr, weight_decay, **hyper):
    before = [p.clone() for p in params]
    sgd_update(params, grads, buffers, lr=lr, weight_decay=0.0, **hyper)
    for p, old in zip(params, before, strict=True):
        p.add_(old, alpha=-lr * weight_decay)


_SGDBufferNotKept = optimizer_variant(
    SGD, "_SGDBufferNotKept", _sgd_buffer_forgotten,
    "SGD whose momentum buffer is built afresh every step (never kept in self.state).")
_SGDDampenedFirstStep = optimizer_variant(
    SGD, "_SGDDampenedFirstStep", _sgd_dampened_first_step,
    "SGD applying 1 − dampening already on the first step (PyTorch copies the gradient).")
_SGDDecayAfterMomentum = optimizer_variant(
    SGD, "_SGDDecayAfterMomentum", _sgd_decay_after_momentum,
    "SGD adding the weight decay to the step after the momentum buffer, not to the gradient.")


def steps_to_converge_with(momentum_step=ref.momentum_step) -> dict[float, int]:
    """Part 6's counts with the given momentum rule (the student's, for carry-forward)."""
    with np.errstate(all="ignore"):
        return {mu: ref.steps_to_tolerance(lambda x: EX02_QUADRATIC @ x, EX02_START,
                                           np.zeros(2), EX02_LR, mu, EX02_TOLERANCE,
                                           EX02_MAX_STEPS, step=momentum_step)
                for mu in EX02_MOMENTA}


def _momentum_in_place(x, v, dx, lr, mu):
    v *= mu
    v -= lr * dx
    x += v
    return x, v


EXPECTED = {
    "momentum.momentum_step": Expected(ref.momentum_step, weight=3, no_mutation=1,
        in_place_hint="x or v was changed in place (x += v, v *= mu); build new arrays.",
        in_place_answer=_momentum_in_place,
        mistakes=(
        Mistake("sign", "The velocity must move against the gradient: v = mu·v − lr·dx.",
                _momentum_sign,
                diagnosis="the velocity accumulates the gradient with the wrong sign, so x moves "
                "uphill and the iterates climb the loss."),
        Mistake("lr_twice", "The learning rate is applied twice: x moves by v, not lr·v.",
                _momentum_lr_twice,
                diagnosis="the learning rate is applied twice, once in the velocity and again when "
                "x moves, so x moves lr times too little."),
        Mistake("old_velocity", "x moved with the old velocity; update v first, then x += v.",
                _momentum_old_velocity,
                diagnosis="x moves with the velocity from before this step's update, so the "
                "position lags one step behind (from a zero velocity the first step does not move "
                "at all)."),
    )),
    "momentum.nesterov_lookahead_step": Expected(ref.nesterov_lookahead_step, mistakes=(
        Mistake("gradient_at_x", "The gradient was taken at x, which is classical momentum; "
                "Nesterov takes it at the look-ahead point x + mu·v.", _lookahead_at_x,
                diagnosis="the gradient is evaluated at the current point x, so the step is "
                "classical momentum and misses Nesterov's look-ahead."),
        Mistake("gradient_at_x_plus_v", "The look-ahead point is x + mu·v, not x + v.",
                _lookahead_full_velocity,
                diagnosis="the look-ahead point moves by the whole velocity, not the "
                "momentum-scaled one, so the gradient is taken too far ahead whenever mu < 1."),
        Mistake("gradient_behind", "The look-ahead goes forward, x + mu·v, not x − mu·v.",
                _lookahead_backwards,
                diagnosis="the look-ahead point lies behind x, against the velocity, so the "
                "gradient is taken where the iterate comes from rather than where it is heading."),
    )),
    "momentum.nesterov_step": Expected(ref.nesterov_step, mistakes=(
        Mistake("classical", "That is classical momentum (x + v); the change-of-variable form "
                "moves by −mu·v_prev + (1 + mu)·v.", _nesterov_as_classical,
                diagnosis="the update is classical momentum's, so the result lacks Nesterov's "
                "correction and equals the plain heavy-ball step."),
        Mistake("correction_sign", "The correction term subtracts mu·v_prev.",
                _nesterov_sign_of_correction,
                diagnosis="the correction from the previous velocity enters with the wrong sign, "
                "so each step is off by twice that term (right only when the previous velocity is "
                "zero)."),
    )),
    "momentum.run_momentum": Expected(
        ref.run_momentum,
        upstream={"momentum_rule": "momentum.momentum_step",
                  "nesterov_rule": "momentum.nesterov_step"},
        reference_with=lambda momentum_rule=ref.momentum_step,
        nesterov_rule=ref.nesterov_step: functools.partial(
            ref.run_momentum, momentum_rule=momentum_rule, nesterov_rule=nesterov_rule),
        mistakes=(
        Mistake("velocity_reset", "The velocity is reset every step, so momentum never "
                "builds up: create v once before the loop and carry it.", _run_reset_velocity,
                diagnosis="the velocity starts from zero at every step, so momentum never builds "
                "up and the run is plain gradient descent."),
        Mistake("nesterov_ignored", "nesterov=True must use your nesterov_step.",
                _run_ignores_nesterov,
                diagnosis="with nesterov=True the run gives the same trajectory as classical "
                "momentum: the Nesterov rule is never used."),
    )),
    "momentum.optimizer": Expected(SGD, weight=1, mistakes=(
        Mistake("buffer_not_kept", "The momentum buffer is not carried between steps: keep it "
                "in self.state[p]['momentum_buffer'].", _SGDBufferNotKept,
                diagnosis="the momentum buffer starts afresh at every step, so the optimizer "
                "behaves like SGD without momentum."),
        Mistake("dampened_first_step", "On the first step PyTorch sets the buffer to the "
                "gradient itself; dampening applies from the second step on.",
                _SGDDampenedFirstStep,
                diagnosis="the very first buffer is already damped, so it starts smaller than "
                "PyTorch's and every step differs when dampening is nonzero."),
        Mistake("decay_after_momentum", "Weight decay is added to the gradient (g + λ·θ) "
                "before it enters the momentum buffer.", _SGDDecayAfterMomentum,
                diagnosis="the weight decay joins the step after the momentum buffer, so it never "
                "accumulates in the buffer and the trajectory differs from PyTorch's whenever "
                "momentum and weight decay are both set."),
    )),
    "momentum.steps_to_converge": Expected(
        Computed(steps_to_converge_with), rtol=0, atol=0, check_dtype=False,
        upstream={"momentum_step": "momentum.momentum_step"},
        reference_with=steps_to_converge_with),
}
