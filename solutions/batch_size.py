r"""Chapter 9: the batch size — gradient noise, time to a target, and scaling the learning rate.

Notation (the same on the book page and in the exercise): a training set of :math:`N`
examples with per-example gradients :math:`g_1, \dots, g_N` (each flattened to a vector), the
full-batch gradient :math:`G = \frac1N \sum_i g_i`, a mini-batch :math:`\mathcal B` of
:math:`B` indices and its gradient :math:`\hat g_B = \frac1B \sum_{i \in \mathcal B} g_i`.
The per-example covariance uses the population normalisation

.. math::  \Sigma = \frac1N \sum_{i=1}^N (g_i - G)(g_i - G)^\top,
           \qquad \sigma^2 = \operatorname{tr}\Sigma = \frac1N \sum_i \lVert g_i - G\rVert^2 .

The *gradient noise* of a batch size is the root-mean-square distance of the mini-batch
gradient from the full gradient, :math:`\sqrt{\mathbb E\,\lVert \hat g_B - G\rVert^2}`:

- drawing the :math:`B` indices independently **with replacement**, it is exactly
  :math:`\sigma/\sqrt B` (a log-log slope of −1/2 at every :math:`B`);
- drawing :math:`B` *distinct* indices (**without replacement**, what a shuffled epoch does),
  it is :math:`\sigma/\sqrt B \cdot \sqrt{(N-B)/(N-1)}`, the finite-population correction of
  survey sampling: it is 0 at :math:`B = N`, where the "mini-batch" is the whole set.

Time: a step on a batch of :math:`B` costs :math:`a + bB` (a fixed per-step overhead
:math:`a` — launching kernels, Python, synchronisation — plus :math:`b` per example). If
reaching a target takes :math:`S(B)` steps, the time to the target is
:math:`T(B) = S(B)\,(a + bB)`; :math:`S` falls with :math:`B` but ever more slowly, so
:math:`T` has a minimum, the *time-optimal batch*. McCandlish et al. (2018, "An empirical model
of large-batch training", arXiv:1812.06162) model :math:`S(B) = S_{\min}(1 + B_{\rm noise}/B)`
with the *gradient noise scale* :math:`B_{\rm noise} \approx \operatorname{tr}\Sigma/\lVert G
\rVert^2`.

Learning rate: Goyal et al. (2017, "Accurate, large minibatch SGD: training ImageNet in 1
hour", arXiv:1706.02677) scale the rate linearly with the batch,
:math:`\eta = \eta_{\rm base}\, B / B_{\rm base}`, and reach it by a *gradual warm-up* that
starts from :math:`\eta_{\rm base}` and grows linearly over the first steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

from solutions.schedules import linear_warmup


# -- mini-batch gradients --------------------------------------------------------------------
def per_example_gradients_least_squares(w: np.ndarray, X: np.ndarray, y: np.ndarray
                                        ) -> np.ndarray:
    r"""Row :math:`i` is :math:`g_i = x_i (x_i^\top w - y_i)`, the gradient of
    :math:`\tfrac12 (x_i^\top w - y_i)^2`; their mean is the gradient of
    ``labkit.models.least_squares`` (:math:`\tfrac12\,\mathrm{mean}((Xw - y)^2)`). Shape
    ``(N, d)``."""
    return X * (X @ w - y)[:, None]


def per_example_gradients_softmax(W: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    r"""Per-example gradients of the cross-entropy of ``labkit.models.softmax_regression``
    (``W`` of shape ``(d + 1, C)``, the last row the bias, no L2 term):
    :math:`g_i = \tilde x_i (p_i - e_{y_i})^\top` with :math:`\tilde x_i = (x_i, 1)`.
    Shape ``(N, d + 1, C)``; the mean over axis 0 is the full-batch gradient."""
    n = X.shape[0]
    Xb = np.hstack([X, np.ones((n, 1))])
    logits = Xb @ W
    logits -= logits.max(axis=1, keepdims=True)
    probs = np.exp(logits)
    probs /= probs.sum(axis=1, keepdims=True)
    probs[np.arange(n), y] -= 1.0
    return Xb[:, :, None] * probs[:, None, :]


def minibatch_gradient(per_example: np.ndarray, indices: Sequence[int] | np.ndarray
                       ) -> np.ndarray:
    r""":math:`\hat g_B = \frac1B \sum_{i \in \mathcal B} g_i`: the **mean** of the rows
    ``indices`` of ``per_example`` (an index listed twice counts twice). A sum instead of a mean
    makes the gradient — and the step — grow in proportion to :math:`B`."""
    return per_example[np.asarray(indices)].mean(axis=0)


def least_squares_minibatch_gradient(w: np.ndarray, X: np.ndarray, y: np.ndarray,
                                     indices: Sequence[int] | np.ndarray) -> np.ndarray:
    r"""The gradient of :math:`\tfrac12\,\mathrm{mean}_{i \in \mathcal B}(x_i^\top w - y_i)^2`:
    :math:`X_{\mathcal B}^\top (X_{\mathcal B} w - y_{\mathcal B}) / B`."""
    idx = np.asarray(indices)
    Xb = X[idx]
    return Xb.T @ (Xb @ w - y[idx]) / len(idx)


def sample_indices(rng: np.random.Generator, n: int, batch_size: int,
                   replace: bool = False) -> np.ndarray:
    """``batch_size`` indices out of ``range(n)`` with one call ``rng.choice(n, size=B,
    replace=replace)``: distinct indices unless ``replace``."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if not replace and batch_size > n:
        raise ValueError(f"cannot draw {batch_size} distinct indices out of {n}")
    return rng.choice(n, size=batch_size, replace=replace)


# -- gradient noise --------------------------------------------------------------------------
def _flat(per_example: np.ndarray) -> np.ndarray:
    return per_example.reshape(per_example.shape[0], -1)


def gradient_covariance(per_example: np.ndarray) -> np.ndarray:
    r""":math:`\Sigma = \frac1N \sum_i (g_i - G)(g_i - G)^\top` over the flattened per-example
    gradients (population normalisation, as ``np.cov(..., bias=True)``)."""
    flat = _flat(per_example)
    centred = flat - flat.mean(axis=0)
    return centred.T @ centred / flat.shape[0]


def gradient_variance(per_example: np.ndarray) -> float:
    r""":math:`\sigma^2 = \operatorname{tr}\Sigma = \frac1N\sum_i\lVert g_i - G\rVert^2`, the
    mean squared distance of a single example's gradient from the full gradient."""
    flat = _flat(per_example)
    return float(np.mean(np.sum((flat - flat.mean(axis=0)) ** 2, axis=1)))


def finite_population_correction(n: int, batch_size: int) -> float:
    r""":math:`(N - B)/(N - 1)`: the factor by which sampling :math:`B` *distinct* examples out
    of :math:`N` lowers the variance of their mean below :math:`\sigma^2/B` (1 at :math:`B = 1`,
    0 at :math:`B = N`; 1 for :math:`N = 1`, where there is nothing to correct)."""
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must be in 1..{n}, got {batch_size}")
    return 1.0 if n == 1 else (n - batch_size) / (n - 1)


def minibatch_covariance(per_example: np.ndarray, batch_size: int,
                         replace: bool = False) -> np.ndarray:
    r"""The exact covariance of :math:`\hat g_B`: :math:`\Sigma / B` with replacement,
    :math:`\Sigma/B \cdot (N-B)/(N-1)` without."""
    n = per_example.shape[0]
    factor = 1.0 if replace else finite_population_correction(n, batch_size)
    return gradient_covariance(per_example) * factor / batch_size


def minibatch_noise(variance: float, n: int, batch_size: int, replace: bool = False) -> float:
    r"""The exact gradient noise :math:`\sqrt{\mathbb E\lVert\hat g_B - G\rVert^2}` from the
    per-example variance :math:`\sigma^2` (:func:`gradient_variance`):
    :math:`\sigma/\sqrt B` with replacement, times :math:`\sqrt{(N-B)/(N-1)}` without."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    factor = 1.0 if replace else finite_population_correction(n, batch_size)
    return math.sqrt(variance * factor / batch_size)


def empirical_noise(per_example: np.ndarray, batch_size: int, draws: int,
                    rng: np.random.Generator | int = 0, replace: bool = False) -> float:
    r"""The gradient noise measured by sampling: :math:`\sqrt{\frac1K \sum_{k=1}^K \lVert \hat
    g_B^{(k)} - G\rVert^2}` over ``draws`` = :math:`K` batches, each drawn with
    :func:`sample_indices`, measured from the *full* gradient :math:`G` (known here), not from
    the mean of the draws."""
    rng = np.random.default_rng(rng)
    flat = _flat(per_example)
    full = flat.mean(axis=0)
    squared = [np.sum((minibatch_gradient(flat, sample_indices(rng, len(flat), batch_size,
                                                               replace)) - full) ** 2)
               for _ in range(draws)]
    return float(np.sqrt(np.mean(squared)))


def loglog_slope(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> float:
    r"""The slope :math:`p` of the least-squares line :math:`\log y = p \log x + c`: the
    exponent of a power law :math:`y \propto x^p` (−1/2 for :math:`\sigma/\sqrt B`). The base
    of the logarithm does not matter."""
    return float(np.polyfit(np.log(np.asarray(x, dtype=float)),
                            np.log(np.asarray(y, dtype=float)), 1)[0])


def noise_scale(per_example: np.ndarray) -> float:
    r"""The simple gradient noise scale :math:`B_{\rm simple} = \operatorname{tr}\Sigma /
    \lVert G \rVert^2` (McCandlish et al., 2018): the batch size at which the noise of
    :math:`\hat g_B` (with replacement) is as large as the gradient itself. Far below it a step
    is mostly noise and doubling the batch nearly halves the steps needed; far above it the
    extra examples are wasted."""
    flat = _flat(per_example)
    return gradient_variance(per_example) / float(np.sum(flat.mean(axis=0) ** 2))


# -- time to a target ------------------------------------------------------------------------
def steps_to_target(values: Sequence[float] | np.ndarray, target: float,
                    higher_is_better: bool = True, every: int = 1) -> float:
    """The number of steps after which a metric first reaches ``target`` (≥ for accuracies,
    ≤ for losses), ``values[k]`` having been recorded after ``(k + 1)·every`` steps; ``inf``
    when it never does."""
    values = np.asarray(values, dtype=float)
    reached = values >= target if higher_is_better else values <= target
    hits = np.flatnonzero(reached)
    return float((hits[0] + 1) * every) if hits.size else math.inf


def time_per_step(batch_size: int | np.ndarray, overhead: float, per_example: float
                  ) -> float | np.ndarray:
    """``overhead + per_example · B``: a fixed cost per step plus a cost per example."""
    return overhead + per_example * np.asarray(batch_size, dtype=float)


def time_per_epoch(batch_size: int, n: int, overhead: float, per_example: float) -> float:
    """``⌈N/B⌉ · overhead + N · per_example``: an epoch pays the overhead once per step (the
    last batch may be smaller) and the per-example cost once per example. It falls as
    :math:`B` grows, towards ``N · per_example``."""
    return math.ceil(n / batch_size) * overhead + n * per_example


def time_to_target(batch_sizes: Sequence[int], steps: Sequence[float], overhead: float,
                   per_example: float) -> np.ndarray:
    """``steps[j] · (overhead + per_example · batch_sizes[j])`` for each batch size; a batch
    that never reached the target (``steps = inf``) takes forever."""
    steps_ = np.asarray(steps, dtype=float)
    return steps_ * time_per_step(np.asarray(batch_sizes), overhead, per_example)


def time_optimal_batch(batch_sizes: Sequence[int], steps: Sequence[float], overhead: float,
                       per_example: float) -> tuple[int, np.ndarray]:
    """The batch size of least :func:`time_to_target` (the first of ties) and every time."""
    times = time_to_target(batch_sizes, steps, overhead, per_example)
    if not np.any(np.isfinite(times)):
        raise ValueError("no batch size reached the target")
    return int(np.asarray(batch_sizes)[int(np.argmin(times))]), times


def fit_step_time(batch_sizes: Sequence[int], seconds: Sequence[float]) -> tuple[float, float]:
    """``(overhead, per_example)`` of the line ``seconds ≈ overhead + per_example · B`` through
    measured times per step, fitted by least squares on the *relative* residuals (weights
    ``1/seconds``), so that the small batches, whose time is almost all overhead, count as much
    as the large ones."""
    t = np.asarray(seconds, float)
    per_example, overhead = np.polyfit(np.asarray(batch_sizes, float), t, 1, w=1 / t)
    return float(overhead), float(per_example)


def steps_model(batch_size: float | np.ndarray, min_steps: float, noise_scale_: float
                ) -> float | np.ndarray:
    r""":math:`S(B) = S_{\min}(1 + B_{\rm noise}/B)` (McCandlish et al., 2018): twice the
    minimum number of steps at :math:`B = B_{\rm noise}`, the minimum as :math:`B \to \infty`;
    the examples processed, :math:`B\,S(B) = E_{\min}(1 + B/B_{\rm noise})` with
    :math:`E_{\min} = S_{\min} B_{\rm noise}`, are the fewest as :math:`B \to 0`."""
    return min_steps * (1 + noise_scale_ / np.asarray(batch_size, dtype=float))


def fit_steps_model(batch_sizes: Sequence[int], steps: Sequence[float]) -> tuple[float, float]:
    r"""``(S_min, B_noise)`` from measured steps to a target: :math:`S = S_{\min} + S_{\min}
    B_{\rm noise}\cdot(1/B)` is a line in :math:`1/B`, fitted by least squares over the finite
    measurements."""
    b = np.asarray(batch_sizes, float)
    s = np.asarray(steps, float)
    keep = np.isfinite(s)
    slope, intercept = np.polyfit(1 / b[keep], s[keep], 1)
    return float(intercept), float(slope / intercept)


def optimal_batch_of_model(noise_scale_: float, overhead: float, per_example: float) -> float:
    r"""The minimiser of :math:`S_{\min}(1 + B_{\rm noise}/B)(a + bB)`:
    :math:`B^* = \sqrt{a B_{\rm noise} / b}`, the geometric mean of the noise scale and the
    batch :math:`a/b` at which the per-example cost equals the overhead."""
    return math.sqrt(overhead * noise_scale_ / per_example)


# -- the learning rate -----------------------------------------------------------------------
def linear_scaling(base_lr: float, batch_size: int, base_batch: int) -> float:
    r""":math:`\eta_{\rm base} \cdot B / B_{\rm base}` (Goyal et al., 2017): ``k`` times the
    batch, ``k`` times the rate, so that one step on :math:`kB` examples moves the weights about
    as far as :math:`k` steps on :math:`B` — as long as the gradient changes little over those
    :math:`k` steps (not at the start of training, not beyond the stability limit)."""
    if batch_size <= 0 or base_batch <= 0:
        raise ValueError(f"batch sizes must be positive, got batch_size={batch_size}, "
                         f"base_batch={base_batch}")
    return base_lr * batch_size / base_batch


def scaled_lr_with_warmup(step: int, base_lr: float, batch_size: int, base_batch: int,
                          warmup_steps: int, decay: Callable[[int], float] | None = None,
                          start_lr: float | None = None) -> float:
    r"""Linear scaling with Goyal et al.'s gradual warm-up, as a schedule of the step.

    With :math:`\hat\eta =` :func:`linear_scaling` ``(base_lr, batch_size, base_batch)`` and
    :math:`W` = ``warmup_steps``:

    .. math::
        \eta_t = \begin{cases} \eta_0 + (\hat\eta - \eta_0)\, t / W & t < W \\
                 \hat\eta \cdot \mathrm{decay}(t - W) & t \ge W \end{cases}

    with :math:`\eta_0` = ``start_lr``, by default ``base_lr`` (Goyal et al. start from the
    small-batch rate). ``decay`` (a factor, 1 at its step 0; constant 1 if omitted) is counted
    from the end of the warm-up, as in :func:`solutions.schedules.linear_warmup`, which this
    composes. Step 0 is the rate of the first update.

    .. note:: Goyal et al. state their step decays in epochs from the start of training; to
       express such a schedule here, shift its milestones by the warm-up length.
    """
    peak = linear_scaling(base_lr, batch_size, base_batch)
    start = base_lr if start_lr is None else start_lr

    def after(k: int) -> float:
        return peak * (decay(k) if decay is not None else 1.0)

    return linear_warmup(step, after, warmup_steps, start, peak)


# -- sharpness -------------------------------------------------------------------------------
def top_hessian_eigenvalue(loss_fn: Callable[[], torch.Tensor], params: Sequence[torch.Tensor],
                           iters: int = 20, seed: int = 0) -> float:
    r"""The largest-magnitude eigenvalue of the Hessian of ``loss_fn()`` with respect to
    ``params``, by power iteration on Hessian-vector products (Pearlmutter's trick: the
    gradient of :math:`\nabla L \cdot v`), never forming the Hessian. At a minimum the Hessian
    is (nearly) positive semi-definite and this is its largest eigenvalue, the *sharpness*
    that Keskar et al. (2017) compare between small- and large-batch solutions.
    ``iters`` iterations from a seeded random start; the Rayleigh quotient of the last one."""
    params = list(params)
    grads = torch.autograd.grad(loss_fn(), params, create_graph=True)
    generator = torch.Generator().manual_seed(seed)
    v = [torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device) for p in params]
    eigenvalue = 0.0
    for _ in range(iters):
        norm = torch.sqrt(sum((vi**2).sum() for vi in v))
        v = [vi / norm for vi in v]
        hv = torch.autograd.grad(grads, params, grad_outputs=v, retain_graph=True)
        eigenvalue = float(sum((h * vi).sum() for h, vi in zip(hv, v, strict=True)))
        v = [h.detach() for h in hv]
    return eigenvalue
