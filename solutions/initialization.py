r"""Chapter 10: weight initialization — constant, fixed-variance, Xavier/Glorot and Kaiming/He.

Notation (one for the page, this module and PyTorch). A weight tensor has PyTorch's layout:
``(out, in)`` for a linear layer, ``(out, in, k_1, ..., k_m)`` for a convolution. Its

.. math::
    n_\text{in} = \text{in}\cdot\textstyle\prod_i k_i, \qquad
    n_\text{out} = \text{out}\cdot\textstyle\prod_i k_i

are ``fan_in`` and ``fan_out``: how many inputs feed one output unit, and how many output
units one input feeds. Every scheme below draws i.i.d. weights with mean zero and a standard
deviation :math:`\sigma`, either from :math:`N(0, \sigma^2)` or from :math:`U(-r, r)` with
:math:`r = \sqrt3\,\sigma` (a uniform on :math:`[-r, r]` has variance :math:`r^2/3`):

===============  =================================================  ========================
scheme           :math:`\sigma`                                     PyTorch
===============  =================================================  ========================
fixed variance   chosen by hand (e.g. 0.01)                         ``normal_``/``uniform_``
Xavier / Glorot  :math:`g\sqrt{2/(n_\text{in}+n_\text{out})}`         ``xavier_normal_`` etc.
Kaiming / He     :math:`g/\sqrt{n_\text{mode}}`                      ``kaiming_normal_`` etc.
===============  =================================================  ========================

with :math:`g` the gain of the nonlinearity (:func:`calculate_gain`) and
:math:`n_\text{mode}` either fan (``mode="fan_in"`` keeps the forward activations' scale,
``"fan_out"`` the backward gradients'). The ``*_std`` and ``*_bound`` functions return exactly
the floats PyTorch computes (same operations, same order); the NumPy draws take a
``np.random.Generator``; the ``*_torch`` draws make the very calls ``torch.nn.init`` makes,
so from equally seeded ``torch.Generator`` s they return the same tensors bit for bit.

References: X. Glorot and Y. Bengio (2010), "Understanding the difficulty of training deep
feedforward neural networks", AISTATS; K. He, X. Zhang, S. Ren and J. Sun (2015), "Delving
deep into rectifiers", ICCV.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

if TYPE_CHECKING:
    import torch

Shape = Sequence[int]

LINEAR_NAMES = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                "conv_transpose2d", "conv_transpose3d")


# -- constant initialization -----------------------------------------------------------------
def constant(shape: Shape, value: float) -> np.ndarray:
    """Every weight equal to ``value`` (float64). Any constant — zero included — makes all
    units of a layer compute the same function and receive the same gradient, so gradient
    descent can never tell them apart (see :func:`distinct_units`)."""
    return np.full(tuple(shape), float(value))


def zeros(shape: Shape) -> np.ndarray:
    """All-zero weights: :func:`constant` with ``value = 0`` (fine for biases, not weights)."""
    return constant(shape, 0.0)


# -- fixed variance --------------------------------------------------------------------------
def uniform_bound(std: float) -> float:
    r"""The half-width :math:`r = \sqrt3\,\sigma` of the zero-mean uniform with std ``std``.

    :math:`U(-r, r)` has variance :math:`(2r)^2/12 = r^2/3`; setting it to :math:`\sigma^2`
    gives :math:`r = \sqrt3\,\sigma` (PyTorch writes ``math.sqrt(3.0) * std``)."""
    return math.sqrt(3.0) * std


def normal(rng: np.random.Generator, shape: Shape, std: float = 0.01,
           mean: float = 0.0) -> np.ndarray:
    """Fixed-variance Gaussian weights :math:`N(\\text{mean}, \\text{std}^2)`: one call
    ``rng.normal(mean, std, shape)``."""
    _check_std(std)
    return rng.normal(mean, std, tuple(shape))


def uniform(rng: np.random.Generator, shape: Shape, std: float = 0.01) -> np.ndarray:
    """Fixed-variance uniform weights with standard deviation ``std``: one call
    ``rng.uniform(-r, r, shape)`` with ``r = uniform_bound(std)``."""
    _check_std(std)
    bound = uniform_bound(std)
    return rng.uniform(-bound, bound, tuple(shape))


# -- fans and gains --------------------------------------------------------------------------
def fan_in_and_fan_out(shape: Shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight of shape ``(out, in, *kernel)``, as
    ``torch.nn.init._calculate_fan_in_and_fan_out`` computes them.

    Both fans are multiplied by the receptive field ``prod(kernel)`` (1 for a linear layer).
    Note the layout: PyTorch stores a linear layer's weight as ``(out, in)`` and computes
    ``x @ W.T``; a matrix used as ``x @ W`` has the fans the other way round.
    """
    shape = tuple(int(s) for s in shape)
    if len(shape) < 2:
        raise ValueError("fan_in and fan_out need a weight with at least 2 dimensions, got "
                         f"shape {shape}")
    receptive_field = math.prod(shape[2:])
    return shape[1] * receptive_field, shape[0] * receptive_field


def fan(shape: Shape, mode: str = "fan_in") -> int:
    """``fan_in`` or ``fan_out`` of ``shape``, chosen by ``mode`` (case-insensitive)."""
    mode = mode.lower()
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return fan_in if mode == "fan_in" else fan_out


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""The gain :math:`g` that restores unit variance after ``nonlinearity``
    (``torch.nn.init.calculate_gain``).

    ============================  ==================================================
    nonlinearity                  :math:`g`
    ============================  ==================================================
    linear, conv*, sigmoid        1
    tanh                          5/3
    relu                          :math:`\sqrt2` — ReLU zeroes half of a symmetric
                                  input, halving its second moment (He et al., 2015)
    leaky_relu (slope ``param``,  :math:`\sqrt{2/(1+a^2)}` — the negative half keeps
    default 0.01)                 a fraction :math:`a^2` of its second moment
    selu                          3/4
    ============================  ==================================================
    """
    if nonlinearity in LINEAR_NAMES or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


# -- Xavier / Glorot -------------------------------------------------------------------------
def xavier_std(shape: Shape, gain: float = 1.0) -> float:
    r""":math:`\sigma = g\sqrt{2/(n_\text{in}+n_\text{out})}` (Glorot & Bengio, 2010, eq. 12).

    For a linear layer the forward pass keeps the variance of activations when
    :math:`n_\text{in}\,\sigma^2 = 1`, the backward pass keeps that of gradients when
    :math:`n_\text{out}\,\sigma^2 = 1`; Xavier takes the harmonic compromise."""
    fan_in, fan_out = fan_in_and_fan_out(shape)
    return gain * math.sqrt(2.0 / float(fan_in + fan_out))


def xavier_bound(shape: Shape, gain: float = 1.0) -> float:
    r""":math:`r = \sqrt3\,\sigma = g\sqrt{6/(n_\text{in}+n_\text{out})}`, computed as PyTorch
    does (``math.sqrt(3.0) * std``)."""
    return uniform_bound(xavier_std(shape, gain))


def xavier_normal(rng: np.random.Generator, shape: Shape, gain: float = 1.0) -> np.ndarray:
    """Xavier normal weights: ``rng.normal(0.0, xavier_std(shape, gain), shape)``."""
    return rng.normal(0.0, xavier_std(shape, gain), tuple(shape))


def xavier_uniform(rng: np.random.Generator, shape: Shape, gain: float = 1.0) -> np.ndarray:
    """Xavier uniform weights: ``rng.uniform(-r, r, shape)`` with ``r = xavier_bound``."""
    bound = xavier_bound(shape, gain)
    return rng.uniform(-bound, bound, tuple(shape))


# -- Kaiming / He ----------------------------------------------------------------------------
def kaiming_std(shape: Shape, a: float = 0.0, mode: str = "fan_in",
                nonlinearity: str = "leaky_relu") -> float:
    r""":math:`\sigma = g / \sqrt{n_\text{mode}}` (He et al., 2015, eqs. 10 and 14).

    With ReLU, :math:`E[\max(0,z)^2] = \tfrac12 \operatorname{Var} z` for a symmetric
    :math:`z`, so keeping activations at a constant scale needs
    :math:`\tfrac12 n_\text{in}\sigma^2 = 1`, i.e. :math:`g = \sqrt2`. As in PyTorch the
    defaults are ``nonlinearity="leaky_relu"`` with slope ``a = 0``, which is plain ReLU."""
    return calculate_gain(nonlinearity, a) / math.sqrt(fan(shape, mode))


def kaiming_bound(shape: Shape, a: float = 0.0, mode: str = "fan_in",
                  nonlinearity: str = "leaky_relu") -> float:
    r""":math:`r = \sqrt3\,\sigma = g\sqrt{3/n_\text{mode}}`."""
    return uniform_bound(kaiming_std(shape, a, mode, nonlinearity))


def kaiming_normal(rng: np.random.Generator, shape: Shape, a: float = 0.0,
                   mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> np.ndarray:
    """Kaiming normal weights: ``rng.normal(0.0, kaiming_std(...), shape)``."""
    return rng.normal(0.0, kaiming_std(shape, a, mode, nonlinearity), tuple(shape))


def kaiming_uniform(rng: np.random.Generator, shape: Shape, a: float = 0.0,
                    mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> np.ndarray:
    """Kaiming uniform weights: ``rng.uniform(-r, r, shape)`` with ``r = kaiming_bound``."""
    bound = kaiming_bound(shape, a, mode, nonlinearity)
    return rng.uniform(-bound, bound, tuple(shape))


# -- the same draws from a torch.Generator ---------------------------------------------------
def _empty(shape: Shape, dtype: torch.dtype | None) -> torch.Tensor:
    import torch

    return torch.empty(tuple(shape), dtype=dtype or torch.get_default_dtype())


def xavier_uniform_torch(shape: Shape, gain: float = 1.0,
                         generator: torch.Generator | None = None,
                         dtype: torch.dtype | None = None) -> torch.Tensor:
    """A new tensor filled as ``torch.nn.init.xavier_uniform_(w, gain, generator)`` fills
    ``w``: one ``uniform_(-r, r, generator=generator)``."""
    bound = xavier_bound(shape, gain)
    return _empty(shape, dtype).uniform_(-bound, bound, generator=generator)


def xavier_normal_torch(shape: Shape, gain: float = 1.0,
                        generator: torch.Generator | None = None,
                        dtype: torch.dtype | None = None) -> torch.Tensor:
    """A new tensor filled as ``torch.nn.init.xavier_normal_`` fills one."""
    return _empty(shape, dtype).normal_(0.0, xavier_std(shape, gain), generator=generator)


def kaiming_uniform_torch(shape: Shape, a: float = 0.0, mode: str = "fan_in",
                          nonlinearity: str = "leaky_relu",
                          generator: torch.Generator | None = None,
                          dtype: torch.dtype | None = None) -> torch.Tensor:
    """A new tensor filled as ``torch.nn.init.kaiming_uniform_(w, a, mode, nonlinearity,
    generator)`` fills ``w``."""
    bound = kaiming_bound(shape, a, mode, nonlinearity)
    return _empty(shape, dtype).uniform_(-bound, bound, generator=generator)


def kaiming_normal_torch(shape: Shape, a: float = 0.0, mode: str = "fan_in",
                         nonlinearity: str = "leaky_relu",
                         generator: torch.Generator | None = None,
                         dtype: torch.dtype | None = None) -> torch.Tensor:
    """A new tensor filled as ``torch.nn.init.kaiming_normal_`` fills one."""
    std = kaiming_std(shape, a, mode, nonlinearity)
    return _empty(shape, dtype).normal_(0, std, generator=generator)


# -- signals through a deep stack ------------------------------------------------------------
ACTIVATIONS: dict[str, tuple[Callable[[np.ndarray], np.ndarray],
                             Callable[[np.ndarray, np.ndarray], np.ndarray]]] = {
    "linear": (lambda z: z, lambda z, h: np.ones_like(z)),
    "tanh": (np.tanh, lambda z, h: 1.0 - h**2),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z, h: (z > 0).astype(z.dtype)),
    "sigmoid": (lambda z: 1.0 / (1.0 + np.exp(-z)), lambda z, h: h * (1.0 - h)),
}
"""``name → (φ, φ')`` with ``φ'(z, φ(z))`` given both the input and the output."""


class Propagation(NamedTuple):
    """What flows through a deep stack ``h_l = φ(h_{l−1} W_lᵀ)``, ``l = 1..L``.

    ``activations[l−1]`` is ``h_l``; ``grad_preactivations[l−1]`` is ``∂L/∂z_l`` with
    ``z_l = h_{l−1} W_lᵀ``; ``grad_weights[l−1]`` is ``∂L/∂W_l = (∂L/∂z_l)ᵀ h_{l−1}``."""

    activations: list[np.ndarray]
    grad_preactivations: list[np.ndarray]
    grad_weights: list[np.ndarray]


def propagate(X: np.ndarray, weights: Sequence[np.ndarray], activation: str = "tanh",
              grad_output: np.ndarray | None = None) -> Propagation:
    """Forward ``X`` through bias-free layers with weights ``(out, in)`` and the same
    ``activation`` after each, then back-propagate ``grad_output = ∂L/∂h_L`` (default: ones,
    the gradient of ``L = sum(h_L)``). The measurements of Glorot & Bengio (2010) §3–4."""
    phi, dphi = ACTIVATIONS[activation]
    h, inputs, pre, outs = X, [], [], []
    for W in weights:
        inputs.append(h)
        z = h @ W.T
        h = phi(z)
        pre.append(z)
        outs.append(h)
    g = np.ones_like(h) if grad_output is None else grad_output
    grad_pre, grad_w = [None] * len(weights), [None] * len(weights)
    for layer in reversed(range(len(weights))):
        dz = g * dphi(pre[layer], outs[layer])
        grad_pre[layer] = dz
        grad_w[layer] = dz.T @ inputs[layer]
        g = dz @ weights[layer]
    return Propagation(outs, grad_pre, grad_w)


def layer_stds(X: np.ndarray, init: Callable[[tuple[int, int]], np.ndarray], depth: int,
               activation: str = "tanh") -> list[float]:
    """The standard deviation of every layer's activations in a ``depth``-layer square stack
    whose weights are drawn, first layer first, by ``init(shape)``."""
    width = X.shape[1]
    weights = [init((width, width)) for _ in range(depth)]
    return [float(h.std()) for h in propagate(X, weights, activation).activations]


# -- symmetry --------------------------------------------------------------------------------
def gradient_descent(params: tuple[np.ndarray, ...],
                     loss_and_grads: Callable[[tuple], tuple[float, tuple]], lr: float,
                     steps: int) -> tuple[tuple[np.ndarray, ...], list[float]]:
    """``steps`` full-batch steps ``θ ← θ − lr·∇L(θ)``; returns the final parameters and the
    loss before each step."""
    losses = []
    for _ in range(steps):
        loss, grads = loss_and_grads(params)
        losses.append(loss)
        params = tuple(p - lr * g for p, g in zip(params, grads, strict=True))
    return params, losses


def distinct_units(W: np.ndarray) -> int:
    """How many hidden units (rows of a first-layer weight ``(hidden, in)``) differ from each
    other, compared exactly. After training from a constant it stays 1: the units receive
    identical gradients at every step because they start identical."""
    return int(len(np.unique(W, axis=0)))


def _check_std(std: float) -> None:
    if not std >= 0:
        raise ValueError(f"std must be non-negative, got {std}")
