"""Chapter 11: stable training and regularisation — dropout, batch normalisation, gradient
clipping, early stopping, and a finder for the first non-finite value of a training step.

NumPy functions are pure: they return new arrays and never write into their arguments.
Conventions, matched to PyTorch where PyTorch has the same thing (tests/test_stable_training.py):

* ``p`` is the probability of *dropping* a unit (``torch.nn.Dropout(p)``); ``q = 1 − p`` is
  the probability of keeping it. A unit is kept where ``u < q`` for ``u = rng.random(x.shape)``.
* ``max_norm(weight, c, dim)`` rescales each slice ``weight.select(dim, i)`` (``torch.renorm``'s
  convention); an ``nn.Linear`` weight ``(out, in)`` has one unit's incoming weights per row:
  ``dim=0``.
* Batch norm's running statistics follow PyTorch's momentum: ``running ← (1 − m)·running +
  m·batch`` (``m = 0.1`` by default, the *weight of the new batch*), with the unbiased batch
  variance in ``running_var`` and the biased one for normalising the batch itself.
* Clipping by norm uses PyTorch's coefficient ``min(max_norm / (total_norm + 1e-6), 1)``.
* Early stopping counts epochs without improvement and stops when the count *reaches*
  ``patience`` (Keras and Lightning; unlike ``ReduceLROnPlateau``, which acts when it exceeds).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    import torch

Array = np.ndarray


# -- dropout ------------------------------------------------------------------------------------
def _check_p(p: float) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout_mask(rng: np.random.Generator, shape: tuple[int, ...], p: float) -> Array:
    """Keep mask (``True`` = kept) with ``P(keep) = q = 1 − p``: one ``rng.random(shape)``
    draw ``u`` and ``mask = u < q``."""
    _check_p(p)
    return rng.random(shape) < 1.0 - p


def inverted_dropout(x: Array, p: float, rng: np.random.Generator | None = None, *,
                     train: bool = True, mask: Array | None = None) -> Array:
    r"""Inverted dropout (the form of ``torch.nn.Dropout``): scale at *training* time.

    .. math::
        \text{train: } y = x \odot \frac{m}{q},\quad m_i \sim \text{Bernoulli}(q);
        \qquad \text{eval: } y = x,

    so :math:`\mathbb{E}[y] = x` in both modes and the network used at test time is the one
    that was trained, untouched. ``mask`` (a keep mask) overrides the draw from ``rng``;
    ``p = 1`` drops everything (zeros, as PyTorch returns).
    Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov (2014), "Dropout: a simple way
    to prevent neural networks from overfitting", JMLR 15.
    """
    _check_p(p)
    x = np.asarray(x)
    if not train or p == 0.0:
        return x.copy()
    if p == 1.0:
        return np.zeros_like(x)
    if mask is None:
        if rng is None:
            raise ValueError("inverted_dropout in training mode needs an rng or a mask")
        mask = dropout_mask(rng, x.shape, p)
    # (x·m)·(1/q), the order of PyTorch's kernel: the kept values agree bit for bit.
    return x * mask * (1.0 / (1.0 - p))


def direct_dropout(x: Array, p: float, rng: np.random.Generator | None = None, *,
                   train: bool = True, mask: Array | None = None) -> Array:
    r"""Direct ("standard") dropout, the form of the original paper: scale at *test* time.

    .. math::
        \text{train: } y = x \odot m;\qquad \text{eval: } y = q\,x,

    again :math:`\mathbb{E}[y_\text{train}] = q\,x = y_\text{eval}`, but every deployed network
    must remember to multiply by ``q`` (Srivastava et al., 2014, §4: the weights are scaled
    by ``q`` at test time).
    """
    _check_p(p)
    x = np.asarray(x)
    if not train:
        return x * (1.0 - p)
    if mask is None:
        if rng is None:
            raise ValueError("direct_dropout in training mode needs an rng or a mask")
        mask = dropout_mask(rng, x.shape, p)
    return x * mask


def max_norm(weight: Array, max_value: float, dim: int = 0) -> Array:
    r"""Max-norm constraint: rescale every slice of ``weight`` along ``dim`` whose L2 norm
    exceeds ``max_value`` back to norm ``max_value`` (``torch.renorm(weight, 2, dim, max_value)``).

    .. math::
        w_i \leftarrow
        \begin{cases} w_i\,\dfrac{c}{\|w_i\|_2 + 10^{-7}} & \|w_i\|_2 > c,\\[4pt]
        w_i & \text{otherwise,}\end{cases}
        \qquad w_i = \texttt{weight.select(dim, i)},\ c = \texttt{max\_value},

    applied after every optimizer step, so that each unit's incoming weight vector stays in a
    ball of radius :math:`c` (typically 3 to 4). For an ``nn.Linear`` weight of shape
    ``(out, in)`` unit :math:`i`'s incoming weights are row ``weight[i]``: ``dim=0`` (for a
    convolution's ``(out, in, kh, kw)`` also ``dim=0``). The slice is rescaled as a whole, so
    its direction is kept; slices inside the ball are returned unchanged.

    .. note::
        ``dim`` is the axis that is *kept* (one norm per index along it), as in
        ``torch.renorm``; Keras' ``MaxNorm(axis=...)`` names the axis that is *reduced*
        (``axis=0`` for its ``(in, out)`` kernels) and divides by ``norm + 1e-7`` for every
        slice, which shrinks slices inside the ball very slightly. The ``1e-7`` here is
        PyTorch's.

    Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov (2014), "Dropout: a simple way
    to prevent neural networks from overfitting", JMLR 15, §5.1.
    """
    weight = np.asarray(weight)
    if weight.ndim < 2:
        raise ValueError(f"max_norm needs a weight with at least 2 dimensions, got {weight.ndim}")
    if not max_value >= 0:
        raise ValueError(f"max_value must be >= 0, got {max_value}")
    if not -weight.ndim <= dim < weight.ndim:
        raise ValueError(f"dim must be in [{-weight.ndim}, {weight.ndim - 1}], got {dim}")
    other = tuple(a for a in range(weight.ndim) if a != dim % weight.ndim)
    norms = np.sqrt(np.sum(weight * weight, axis=other, keepdims=True))
    factor = np.where(norms > max_value, max_value / (norms + 1e-7), 1.0)
    return weight * factor.astype(weight.dtype)


# -- batch normalisation ------------------------------------------------------------------------
def _channel_axes(x: Array) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Axes to reduce over (all but the channel axis 1) and the broadcast shape of a
    per-channel vector, for inputs of shape ``(N, C)`` or ``(N, C, L)``."""
    if x.ndim not in (2, 3):
        raise ValueError(f"expected a 2-D (N, C) or 3-D (N, C, L) input, got shape {x.shape}")
    axes = (0,) + tuple(range(2, x.ndim))
    return axes, (1, x.shape[1]) + (1,) * (x.ndim - 2)


def batch_norm(x: Array, gamma: Array, beta: Array, running_mean: Array, running_var: Array,
               *, train: bool, momentum: float = 0.1, eps: float = 1e-5
               ) -> tuple[Array, Array, Array]:
    r"""Batch normalisation forward pass; returns ``(y, running_mean, running_var)``.

    Per channel :math:`c` (statistics over the batch axis and, for 3-D inputs, the length
    axis — :math:`n` values per channel):

    .. math::
        \text{train: } \mu_B = \tfrac1n\textstyle\sum x,\quad
        \sigma_B^2 = \tfrac1n\sum (x-\mu_B)^2,\quad
        y = \gamma\,\frac{x-\mu_B}{\sqrt{\sigma_B^2+\epsilon}} + \beta,

        \hat\mu \leftarrow (1-m)\,\hat\mu + m\,\mu_B,\qquad
        \hat\sigma^2 \leftarrow (1-m)\,\hat\sigma^2 + m\,\tfrac{n}{n-1}\sigma_B^2;

        \text{eval: } y = \gamma\,\frac{x-\hat\mu}{\sqrt{\hat\sigma^2+\epsilon}} + \beta,
        \text{ running statistics unchanged.}

    .. note:: PyTorch's ``momentum`` is the weight of the *new* batch (0.1), the opposite of
       the decay of an exponential moving average (0.9 in TensorFlow/Keras). The batch is
       normalised with the biased variance; the running estimate stores the unbiased one.

    Ioffe & Szegedy (2015), "Batch normalization: accelerating deep network training by
    reducing internal covariate shift", ICML (Algorithms 1 and 2).
    """
    x = np.asarray(x)
    axes, shape = _channel_axes(x)
    if train:
        n = x.size // x.shape[1]
        if n <= 1:
            raise ValueError(f"expected more than 1 value per channel when training, got "
                             f"input shape {x.shape}")
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        new_mean = (1 - momentum) * running_mean + momentum * mean
        new_var = (1 - momentum) * running_var + momentum * var * (n / (n - 1))
    else:
        mean, var = np.asarray(running_mean), np.asarray(running_var)
        new_mean, new_var = mean.copy(), var.copy()
    x_hat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    return gamma.reshape(shape) * x_hat + beta.reshape(shape), new_mean, new_var


def batch_norm_backward(dy: Array, x: Array, gamma: Array, eps: float = 1e-5
                        ) -> tuple[Array, Array, Array]:
    r"""Gradients ``(dx, dgamma, dbeta)`` of the training-mode forward pass.

    With :math:`\hat x = (x-\mu_B)/\sqrt{\sigma_B^2+\epsilon}` and sums over the :math:`n`
    values of a channel:

    .. math::
        \partial\beta = \textstyle\sum dy,\quad \partial\gamma = \sum dy\,\hat x,\quad
        dx = \frac{\gamma}{n\sqrt{\sigma_B^2+\epsilon}}
             \big(n\,dy - \partial\beta - \hat x\,\partial\gamma\big).

    The mean and variance depend on every :math:`x` of the channel, which is where the two
    subtracted terms come from (Ioffe & Szegedy, 2015, §3).
    """
    axes, shape = _channel_axes(np.asarray(x))
    n = x.size // x.shape[1]
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    inv_std = 1.0 / np.sqrt(var + eps)
    x_hat = (x - mean.reshape(shape)) * inv_std.reshape(shape)
    dbeta, dgamma = dy.sum(axis=axes), (dy * x_hat).sum(axis=axes)
    dx = (gamma * inv_std / n).reshape(shape) * (
        n * dy - dbeta.reshape(shape) - x_hat * dgamma.reshape(shape))
    return dx, dgamma, dbeta


class BatchNorm1d:
    """A NumPy ``torch.nn.BatchNorm1d``: parameters, running statistics and the mode.

    ``momentum=None`` uses the cumulative average of all batches seen so far, as PyTorch
    does: the weight of the k-th batch is ``1/k`` (``num_batches_tracked = k``).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1
                 ) -> None:
        self.eps, self.momentum = eps, momentum
        self.gamma, self.beta = np.ones(num_features), np.zeros(num_features)
        self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)
        self.num_batches_tracked = 0
        self.training = True

    def __call__(self, x: Array) -> Array:
        if not self.training:
            return batch_norm(x, self.gamma, self.beta, self.running_mean, self.running_var,
                              train=False, eps=self.eps)[0]
        self.num_batches_tracked += 1
        m = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
        y, self.running_mean, self.running_var = batch_norm(
            x, self.gamma, self.beta, self.running_mean, self.running_var, train=True,
            momentum=m, eps=self.eps)
        return y


# -- gradient clipping --------------------------------------------------------------------------
def global_norm(grads: Sequence[Array], norm_type: float = 2.0) -> float:
    r"""The ``norm_type``-norm of all gradients together, as one concatenated vector.

    Computed as PyTorch does, as the norm of the per-tensor norms:
    :math:`\|(\|g_1\|_p, \dots, \|g_k\|_p)\|_p` (for ``p = inf``: the largest :math:`|g|`).
    No gradients give 0.
    """
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"norm_type must be positive or inf, got {norm_type}")
    if len(grads) == 0:
        return 0.0
    norms = np.array([np.linalg.norm(np.ravel(g), ord=norm_type) for g in grads])
    return float(np.linalg.norm(norms, ord=norm_type))


def clip_grad_norm(grads: Sequence[Array], max_norm: float, norm_type: float = 2.0,
                   eps: float = 1e-6) -> tuple[list[Array], float]:
    r"""Rescale all gradients *together* so that their global norm is at most ``max_norm``.

    .. math::
        N = \big\|(g_1,\dots,g_k)\big\|_p,\qquad
        g_i \leftarrow g_i\cdot\min\!\Big(\frac{\text{max\_norm}}{N + 10^{-6}},\,1\Big)

    Returns the clipped gradients (new arrays) and :math:`N`, the norm *before* clipping —
    what ``torch.nn.utils.clip_grad_norm_`` returns. One common factor keeps the direction
    of the full gradient; clipping each tensor on its own would change it. A non-finite
    :math:`N` makes every gradient NaN (as in PyTorch, without ``error_if_nonfinite``).
    Pascanu, Mikolov & Bengio (2013), "On the difficulty of training recurrent neural
    networks", ICML, Algorithm 1.
    """
    total = global_norm(grads, norm_type)
    coef = np.minimum(max_norm / (total + eps), 1.0)  # np.minimum keeps a NaN
    with np.errstate(invalid="ignore"):  # inf·0 → NaN, silently, as in torch
        return [np.asarray(g) * coef.astype(np.result_type(g, 0.0)) for g in grads], total


def clip_grad_value(grads: Sequence[Array], clip_value: float) -> list[Array]:
    """Clip every gradient component into ``[−clip_value, clip_value]``
    (``torch.nn.utils.clip_grad_value_``). This changes the direction of the gradient."""
    return [np.clip(g, -clip_value, clip_value) for g in grads]


# -- early stopping -----------------------------------------------------------------------------
class EarlyStopping:
    """Stop when a validation metric has not improved for ``patience`` epochs in a row.

    A value is an improvement when it beats the best so far by more than ``min_delta``:
    ``value < best − min_delta`` (``mode="min"``) or ``value > best + min_delta``
    (``"max"``). Each epoch without one increments ``bad_epochs``; an improvement resets
    it. :meth:`step` returns ``True`` when ``bad_epochs`` reaches ``patience``; the epoch
    that triggered is ``stopped_epoch``. With ``state`` passed to :meth:`step` (a model's
    ``state_dict()``), ``best_state`` holds a deep copy of the state of the best epoch, to
    restore after stopping. A NaN is never an improvement.
    Prechelt (1998), "Early stopping — but when?", in *Neural Networks: Tricks of the Trade*.
    """

    def __init__(self, patience: int, min_delta: float = 0.0,
                 mode: Literal["min", "max"] = "min") -> None:
        if patience < 0:
            raise ValueError(f"patience must be >= 0, got {patience}")
        if min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta}")
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.patience, self.min_delta, self.mode = patience, min_delta, mode
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.best_state = None
        self.bad_epochs = 0
        self.epoch = -1
        self.stopped_epoch: int | None = None

    def improves(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def step(self, value: float, state=None) -> bool:
        """Record the metric of the next epoch; ``True`` means: stop training now."""
        self.epoch += 1
        value = float(value)
        if self.stopped_epoch is not None:
            return True
        if self.improves(value):
            self.best, self.best_epoch, self.bad_epochs = value, self.epoch, 0
            if state is not None:
                self.best_state = copy.deepcopy(state)
            return False
        self.bad_epochs += 1
        if self.bad_epochs >= self.patience:
            self.stopped_epoch = self.epoch
        return self.stopped_epoch is not None


def early_stopping(values: Iterable[float], patience: int, min_delta: float = 0.0,
                   mode: Literal["min", "max"] = "min") -> tuple[int | None, int | None]:
    """Replay :class:`EarlyStopping` on a whole validation curve (epochs 0, 1, ...).

    Returns ``(stop_epoch, best_epoch)``: the epoch after which training stops (``None``
    when the curve ends first) and the epoch whose weights to restore.
    """
    stopper = EarlyStopping(patience, min_delta, mode)
    for value in values:
        if stopper.step(value):
            break
    return stopper.stopped_epoch, stopper.best_epoch


# -- finding the first non-finite value ---------------------------------------------------------
@dataclass
class NonFiniteReport:
    """Where a training step first produced a NaN or an infinity.

    ``stage`` is one of ``"parameter"`` (already non-finite before the step), ``"input"``
    (the batch itself), ``"forward"`` (an operation inside a module), ``"loss"`` (an
    operation outside every module, i.e. in the loss function), ``"gradient"`` (backward),
    ``"update"`` (the optimizer step). ``where`` names the parameter or module, ``op`` the
    torch operation when one is known.
    """

    step: int
    stage: str
    where: str
    op: str = ""
    detail: str = ""
    advice: str = ""

    def __str__(self) -> str:
        text = f"step {self.step}: {self.detail}"
        return text + (f"\n  likely cause: {self.advice}" if self.advice else "")


def _bad(t) -> bool:
    import torch

    return isinstance(t, torch.Tensor) and t.is_floating_point() and not bool(
        torch.isfinite(t).all())


def _what(t) -> str:
    """'2 NaN, 1 inf, 3 -inf of 640 values' for a tensor."""
    import torch

    counts = {"NaN": int(torch.isnan(t).sum()), "inf": int(torch.isposinf(t).sum()),
              "-inf": int(torch.isneginf(t).sum())}
    parts = [f"{n} {kind}" for kind, n in counts.items() if n]
    return f"{', '.join(parts)} of {t.numel()} values"


def _torch_function_mode():
    """A ``TorchFunctionMode`` recording the first torch operation that returns a non-finite
    floating tensor although all its floating tensor arguments are finite (built lazily so
    that importing this module does not import torch)."""
    import torch
    from torch.overrides import TorchFunctionMode
    from torch.utils._pytree import tree_leaves

    class FirstNonFinite(TorchFunctionMode):
        def __init__(self, module_stack: list[str]) -> None:
            super().__init__()
            self.stack, self.first = module_stack, None

        def __torch_function__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if self.first is None and any(_bad(t) for t in tree_leaves(out)):
                inputs = [t for t in tree_leaves((args, kwargs or {}))
                          if isinstance(t, torch.Tensor)]
                if not any(_bad(t) for t in inputs):
                    name = getattr(func, "__name__", repr(func))
                    bad = next(t for t in tree_leaves(out) if _bad(t))
                    ranges = ", ".join(
                        f"[{float(t.detach().min()):.3g}, {float(t.detach().max()):.3g}]"
                        for t in inputs if t.is_floating_point() and t.numel())
                    self.first = (name, self.stack[-1] if self.stack else None, _what(bad),
                                  ranges)
            return out

    return FirstNonFinite


def _module_label(model, name: str) -> str:
    module = model.get_submodule(name) if name else model
    return f"module '{name or '(the model)'}' ({type(module).__name__})"


def checked_step(model: torch.nn.Module, loss_fn: Callable, inputs: torch.Tensor,
                 targets: torch.Tensor, optimizer: torch.optim.Optimizer, step: int = 0
                 ) -> tuple[float, NonFiniteReport | None]:
    """One training step (zero_grad, forward, loss, backward, optimizer step) that watches
    every value and returns ``(loss, report)``, ``report`` being ``None`` when all is finite.

    * parameters are checked first (a model already broken by an earlier step);
    * forward pre-hooks and forward hooks on every module keep the stack of running modules
      and check what each module receives — the first non-finite input of the outermost
      module is the data itself;
    * a ``TorchFunctionMode`` during the forward pass and ``loss_fn`` records the first
      operation that makes a NaN or inf out of finite arguments, and in which module it ran
      (outside every module: the loss function);
    * gradient hooks on the parameters record, in the order backward computes them, the
      first non-finite gradient;
    * after the optimizer step, the first parameter that became non-finite.

    The optimizer step is *skipped* when the forward pass, the loss or a gradient is already
    non-finite, so the weights stay usable. Intentional infinities (attention masks) are
    not reported unless the loss itself becomes non-finite.
    """

    for name, p in model.named_parameters():
        if _bad(p):
            return math.nan, NonFiniteReport(
                step, "parameter", name, detail=f"parameter '{name}' is already non-finite "
                f"({_what(p.detach())}) before the step: an earlier update broke it")
    stack: list[str] = []
    seen: dict[str, object] = {}
    names = {id(m): n for n, m in model.named_modules()}

    def pre_hook(module, args):
        name = names[id(module)]
        if "input" not in seen and mode.first is None:
            bad = [t for t in args if _bad(t)]
            if bad:  # nested: it came from code between modules; outermost: from the data
                seen["input"] = (name, bad[0].detach().clone(), bool(stack))
        stack.append(name)

    def post_hook(module, args, output):
        stack.pop()

    mode = _torch_function_mode()(stack)
    handles = [m.register_forward_pre_hook(pre_hook) for m in model.modules()]
    handles += [m.register_forward_hook(post_hook) for m in model.modules()]
    optimizer.zero_grad()
    try:
        with mode:
            loss = loss_fn(model(inputs), targets)
    finally:
        for handle in handles:
            handle.remove()
    loss_value = float(loss.detach())
    if not math.isfinite(loss_value):
        return loss_value, _forward_report(model, step, loss_value, seen.get("input"),
                                           mode.first)
    grad_order: list[tuple[str, torch.Tensor]] = []
    hooks = [p.register_hook(lambda g, n=name: grad_order.append((n, g)) if (
        _bad(g) and not grad_order) else None)
        for name, p in model.named_parameters() if p.requires_grad]
    try:
        loss.backward()
    finally:
        for hook in hooks:
            hook.remove()
    if grad_order:
        name, grad = grad_order[0]
        return loss_value, NonFiniteReport(
            step, "gradient", name, detail=f"the loss is finite ({loss_value:.4g}) but the "
            f"gradient of parameter '{name}' is not ({_what(grad)}): backward divided by zero "
            "or overflowed", advice="a function whose derivative is infinite where it is "
            "evaluated (sqrt or log at 0, division by a vanishing norm), or overflow in "
            "float16/float32 — add an epsilon or clip the argument")
    before = {name: p.detach().abs().max().item() for name, p in model.named_parameters()}
    optimizer.step()
    for name, p in model.named_parameters():
        if _bad(p):
            grad = p.grad
            gmax = grad.abs().max().item() if grad is not None else float("nan")
            lr = optimizer.param_groups[0].get("lr", float("nan"))
            return loss_value, NonFiniteReport(
                step, "update", name, detail=f"parameter '{name}' became non-finite "
                f"({_what(p.detach())}) in the optimizer step; before it max |w| = "
                f"{before[name]:.3g}, max |grad| = {gmax:.3g}, lr = {lr:g}",
                advice="the step overflowed: the learning rate is too large for this "
                "gradient — lower it, or clip gradients")
    return loss_value, None


def _forward_report(model, step: int, loss_value: float, data, op) -> NonFiniteReport:
    if data is not None and not data[2]:  # the outermost module received it: the batch
        name, tensor, _ = data
        rows = torch_rows_with_nonfinite(tensor)
        return NonFiniteReport(
            step, "input", name or "(the model)", detail=f"the input batch contains "
            f"{_what(tensor)} (rows {rows[:8]}{'…' if len(rows) > 8 else ''}); the loss is "
            f"{loss_value}", advice="corrupt or missing values in the data: check the "
            "dataset (and its preprocessing) for NaN/inf before training")
    if data is not None and (op is None):
        name, tensor, _ = data
        return NonFiniteReport(
            step, "forward", name, detail=f"{_module_label(model, name)} received "
            f"{_what(tensor)} from code outside every hooked module; the loss is "
            f"{loss_value}")
    if op is None:
        return NonFiniteReport(step, "loss", "loss", detail=f"the loss is {loss_value} but no "
                               "torch operation made a non-finite value from finite inputs")
    name, module, what, ranges = op
    if module is None:
        return NonFiniteReport(
            step, "loss", "loss function", name, detail=f"the loss is {loss_value}: the loss "
            f"function's torch.{name} returned {what} from finite inputs (ranges {ranges}), "
            "while every module output was finite",
            advice="a log of 0 (or a division by 0) in a hand-written loss: use a numerically "
            "stable form (log_softmax / cross_entropy, or clamp the argument by an epsilon)")
    return NonFiniteReport(
        step, "forward", module or "(the model)", name, detail=f"the loss is {loss_value}: "
        f"inside {_module_label(model, module)}, torch.{name} returned {what} from finite "
        f"inputs (ranges {ranges})", advice="activations overflowed: weights or inputs "
        "are huge (a diverging run, unnormalised inputs); lower the learning rate, "
        "normalise the inputs, or clip gradients")


def torch_rows_with_nonfinite(t) -> list[int]:
    """Indices along the first axis of ``t`` that hold a NaN or an inf."""
    import torch

    flat = t.reshape(t.shape[0], -1) if t.ndim > 1 else t.reshape(-1, 1)
    return torch.nonzero(~torch.isfinite(flat).all(dim=1)).flatten().tolist()


@dataclass
class NonFiniteSearch:
    """The losses of the steps before the first non-finite value, and its report."""

    losses: list[float] = field(default_factory=list)
    report: NonFiniteReport | None = None


def find_first_nonfinite(model: torch.nn.Module, loss_fn: Callable,
                         batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
                         optimizer: torch.optim.Optimizer) -> NonFiniteSearch:
    """Train on ``batches`` with :func:`checked_step` until a step reports a non-finite
    value. When the loss had grown a thousandfold from its lowest value before that, the
    report's ``advice`` says the run was diverging (a learning rate too large)."""
    result = NonFiniteSearch()
    for step, (inputs, targets) in enumerate(batches):
        loss, report = checked_step(model, loss_fn, inputs, targets, optimizer, step)
        if report is not None:
            finite = [v for v in result.losses if math.isfinite(v)]
            if len(finite) >= 3 and finite[-1] > 1e3 * min(finite):
                report.advice = (f"the run was diverging: the loss grew from {min(finite):.3g} "
                                 f"to {finite[-1]:.3g} over the previous steps — the learning "
                                 "rate is too large; lower it (or clip gradients)")
            result.report = report
            return result
        result.losses.append(loss)
    return result
