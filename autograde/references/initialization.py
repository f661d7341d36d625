"""Exercise 10 (initialization): references and the catalog of typical mistakes."""

from __future__ import annotations

import math

import numpy as np

from autograde.references import Computed, Expected, Mistake
from labkit.checks.initialization import (
    EX10_CONSTANT,
    EX10_DEPTH,
    EX10_HIDDEN,
    EX10_INPUTS,
    EX10_LR,
    EX10_SEED,
    EX10_SMALL_STD,
    EX10_STEPS,
    EX10_WIDTH,
    ex10_data,
    ex10_mlp,
)
from solutions import initialization as ref


def calculate_gain(nonlinearity, param=None):
    return ref.calculate_gain(nonlinearity, param)


def _symmetry(xavier=ref.xavier_uniform, final_loss: bool = True) -> dict:
    X, y = ex10_data()
    n_in = X.shape[1]
    rng = np.random.default_rng(EX10_SEED)
    inits = {
        "zeros": (ref.zeros((EX10_HIDDEN, n_in)), ref.zeros((10, EX10_HIDDEN))),
        "constant": (ref.constant((EX10_HIDDEN, n_in), EX10_CONSTANT),
                     ref.constant((10, EX10_HIDDEN), EX10_CONSTANT)),
        "xavier": (xavier(rng, (EX10_HIDDEN, n_in)), xavier(rng, (10, EX10_HIDDEN))),
    }
    report = {}
    for name, (W1, W2) in inits.items():
        params = (W1, np.zeros(EX10_HIDDEN), W2, np.zeros(10))
        params, losses = ref.gradient_descent(params, lambda p: ex10_mlp(p, X, y), EX10_LR,
                                              EX10_STEPS)
        loss = ex10_mlp(params, X, y)[0] if final_loss else losses[-1]
        report[name] = {"distinct": ref.distinct_units(params[0]), "loss": float(loss)}
    return report


def _layer_std(xavier=ref.xavier_uniform, kaiming=ref.kaiming_normal,
               measure: str = "activations") -> dict:
    inits = {"small": lambda rng, shape: rng.normal(0.0, EX10_SMALL_STD, shape),
             "xavier": xavier, "kaiming": kaiming}
    report = {}
    for activation in ("tanh", "relu"):
        phi = ref.ACTIVATIONS[activation][0]
        report[activation] = {}
        for name, init in inits.items():
            rng = np.random.default_rng(EX10_SEED)
            h, stds = EX10_INPUTS, []
            for _ in range(EX10_DEPTH):
                z = h @ init(rng, (EX10_WIDTH, EX10_WIDTH)).T
                h = phi(z)
                stds.append(float((h if measure == "activations" else z).std()))
            report[activation][name] = stds
    return report


# -- typical mistakes ------------------------------------------------------------------------
def _fans_swapped(shape):
    fan_in, fan_out = ref.fan_in_and_fan_out(shape)
    return fan_out, fan_in


def _fans_no_receptive_field(shape):
    return shape[1], shape[0]


def _fans_kernel_on_fan_in_only(shape):
    return ref.fan_in_and_fan_out(shape)[0], shape[0]


def _gain_leaky_a(nonlinearity, param=None):
    if nonlinearity == "leaky_relu":
        return math.sqrt(2.0 / (1 + (0.01 if param is None else param)))
    return ref.calculate_gain(nonlinearity, param)


def _gain_squared(nonlinearity, param=None):
    return ref.calculate_gain(nonlinearity, param) ** 2


def _gain_default_slope_zero(nonlinearity, param=None):
    if nonlinearity == "leaky_relu" and param is None:
        return math.sqrt(2.0)
    return ref.calculate_gain(nonlinearity, param)


def _xavier_std_as_bound(rng, shape, gain=1.0):
    bound = ref.xavier_std(shape, gain)
    return rng.uniform(-bound, bound, shape)


def _xavier_ignores_gain(rng, shape, gain=1.0):
    return ref.xavier_uniform(rng, shape)


def _xavier_fan_in_only(rng, shape, gain=1.0):
    bound = gain * math.sqrt(3.0 / ref.fan(shape, "fan_in"))
    return rng.uniform(-bound, bound, shape)


def _kaiming(std_of):
    """A Kaiming normal draw whose std is ``std_of(shape, a, mode, nonlinearity)``."""
    def draw(rng, shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
        return rng.normal(0.0, std_of(shape, a, mode, nonlinearity), shape)
    return draw


def _no_gain(shape, a, mode, nonlinearity):
    return 1.0 / math.sqrt(ref.fan(shape, mode))


def _fan_sum(shape, a, mode, nonlinearity):
    return ref.calculate_gain(nonlinearity, a) / math.sqrt(sum(ref.fan_in_and_fan_out(shape)))


def _variance_as_std(shape, a, mode, nonlinearity):
    return ref.calculate_gain(nonlinearity, a) ** 2 / ref.fan(shape, mode)


def _mode_ignored(shape, a, mode, nonlinearity):
    return ref.kaiming_std(shape, a, "fan_in", nonlinearity)


def _fans_swapped_std(shape, a, mode, nonlinearity):
    return ref.kaiming_std(shape, a, "fan_out" if mode == "fan_in" else "fan_in", nonlinearity)


def _leaky_a_std(shape, a, mode, nonlinearity):
    return _gain_leaky_a(nonlinearity, a) / math.sqrt(ref.fan(shape, mode))


# -- carry-forward: initializers built on the student's own fans and gain --------------------
def xavier_with(fans=ref.fan_in_and_fan_out):
    def xavier_uniform(rng, shape, gain=1.0):
        fan_in, fan_out = fans(shape)
        bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, shape)
    return xavier_uniform


def kaiming_with(fans=ref.fan_in_and_fan_out, calculate_gain=ref.calculate_gain):
    def kaiming_normal(rng, shape, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
        fan_in, fan_out = fans(shape)
        std = calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in"
                                                          else fan_out)
        return rng.normal(0.0, std, shape)
    return kaiming_normal


def layer_std_with(xavier=ref.xavier_uniform, kaiming=None, calculate_gain=None) -> dict:
    return _layer_std(xavier=xavier, kaiming=kaiming or kaiming_with(
        calculate_gain=calculate_gain or ref.calculate_gain))


EXPECTED = {
    "initialization.fans": Expected(ref.fan_in_and_fan_out, mistakes=(
        Mistake("swapped", "For a weight of shape (out, in, *kernel) — PyTorch's layout — "
                "fan_in counts the inputs of one unit: shape[1] × kernel size; fan_out is "
                "shape[0] × kernel size.", _fans_swapped,
                diagnosis="fan_in and fan_out are swapped, so each counts the other side of the "
                "layer."),
        Mistake("no_receptive_field", "For a convolution every kernel position is an input: "
                "multiply both fans by the product of the kernel dimensions shape[2:].",
                _fans_no_receptive_field,
                diagnosis="the fans ignore the kernel dimensions, so for a convolution both are "
                "too small by the kernel size (dense layers come out right)."),
        Mistake("kernel_on_fan_in_only", "The kernel size multiplies fan_out too: each input "
                "channel reaches out_channels × kernel-size weights.",
                _fans_kernel_on_fan_in_only,
                diagnosis="the kernel size multiplies fan_in only, so for a convolution fan_out is "
                "too small by the kernel size."),
    )),
    "initialization.calculate_gain": Expected(calculate_gain, mistakes=(
        Mistake("leaky_a", "Leaky ReLU keeps a fraction a² (not a) of the second moment on "
                "the negative side: the gain is sqrt(2 / (1 + a²)).", _gain_leaky_a,
                diagnosis="leaky ReLU's gain treats the negative side as keeping a fraction a of "
                "the second moment, so it comes out too small for every slope between 0 and 1."),
        Mistake("squared", "The gain multiplies the standard deviation, not the variance: "
                "ReLU's gain is sqrt(2), tanh's 5/3.", _gain_squared,
                diagnosis="the gain comes out squared, a factor for the variance rather than the "
                "standard deviation, so it is too large for every nonlinearity whose gain exceeds "
                "1."),
        Mistake("default_slope_zero", "With param=None leaky_relu uses PyTorch's default "
                "negative slope 0.01, not 0.", _gain_default_slope_zero,
                diagnosis="with param=None leaky_relu gets a negative slope of 0, so it returns "
                "ReLU's gain instead of the one for PyTorch's default slope."),
    )),
    "initialization.xavier_uniform": Expected(
        ref.xavier_uniform,
        upstream={"fans": "initialization.fans"},
        reference_with=xavier_with, mistakes=(
        Mistake("std_as_bound", "gain·sqrt(2/(fan_in+fan_out)) is the standard deviation; "
                "the uniform's bound is sqrt(3) times that, gain·sqrt(6/(fan_in+fan_out)).",
                _xavier_std_as_bound,
                diagnosis="the standard deviation is used as the bound of the uniform, so the "
                "weights spread √3 times too narrowly."),
        Mistake("ignores_gain", "Multiply the bound by gain.", _xavier_ignores_gain,
                diagnosis="the gain argument has no effect, so every draw is as wide as with gain "
                "1, too narrow for tanh or ReLU layers."),
        Mistake("fan_in_only", "Xavier averages the two fans: the bound is "
                "gain·sqrt(6/(fan_in + fan_out)), not sqrt(3/fan_in).", _xavier_fan_in_only,
                diagnosis="the bound uses fan_in alone, so the spread is right only for square "
                "weights and wrong whenever fan_in and fan_out differ."),
    )),
    "initialization.kaiming_normal": Expected(
        ref.kaiming_normal,
        upstream={"fans": "initialization.fans",
                  "calculate_gain": "initialization.calculate_gain"},
        reference_with=kaiming_with, mistakes=(
        Mistake("no_gain", "The ReLU family needs the gain: std = gain/sqrt(fan) with "
                "gain = sqrt(2/(1+a²)) for leaky_relu (sqrt(2) for relu).", _kaiming(_no_gain),
                diagnosis="the draws leave out the nonlinearity's gain, so the weights are too "
                "narrow by that factor (√2 for ReLU)."),
        Mistake("fan_sum", "Kaiming divides by one fan, the one mode names — fan_in + fan_out "
                "belongs to Xavier.", _kaiming(_fan_sum),
                diagnosis="the standard deviation divides by both fans together, as Xavier does, "
                "so the weights are too narrow."),
        Mistake("variance_as_std", "rng.normal takes the standard deviation: gain/sqrt(fan), "
                "not the variance gain²/fan.", _kaiming(_variance_as_std),
                diagnosis="the variance is passed where the standard deviation is expected, so the "
                "spread is wrong (far too narrow for wide layers)."),
        Mistake("mode_ignored", "mode='fan_out' divides by fan_out.", _kaiming(_mode_ignored),
                diagnosis="mode='fan_out' has no effect, so the draws always use fan_in."),
        Mistake("fans_swapped", "fan_in and fan_out are swapped: for a weight (out, in, ...) "
                "fan_in = in × kernel size.", _kaiming(_fans_swapped_std),
                diagnosis="the fan that mode names is exchanged for the other one, so the spread "
                "is wrong for every non-square weight."),
        Mistake("leaky_a", "Leaky ReLU's gain is sqrt(2/(1 + a²)), with a squared.",
                _kaiming(_leaky_a_std),
                diagnosis="the gain treats leaky ReLU's negative side as keeping a fraction a of "
                "the second moment, so the draws are too narrow for every slope between 0 and 1."),
    )),
    "initialization.symmetry": Expected(
        Computed(_symmetry),
        upstream={"xavier": "initialization.xavier_uniform"},
        reference_with=_symmetry, rtol=1e-6, check_dtype=False,
                                        mistakes=(
        Mistake("last_loop_loss", "Report the loss of the trained parameters: evaluate "
                "ex10_mlp once more after the last update.",
                Computed(_symmetry, final_loss=False),
                diagnosis="the reported loss is the one before the last update, so each loss is "
                "one step behind the trained parameters."),
        Mistake("xavier_std_as_bound", "The Xavier draws here use the standard deviation as "
                "the bound; U(−b, b) needs b = gain·√(6 / (fan_in + fan_out)).",
                Computed(_symmetry, xavier=_xavier_std_as_bound),
                diagnosis="the Xavier draws here use the standard deviation as the bound, so the "
                "Xavier network starts with weights √3 times too narrow and its results differ."),
    )),
    "initialization.layer_std": Expected(
        Computed(_layer_std), rtol=1e-6, atol=0.0, check_dtype=False,
        upstream={"xavier": "initialization.xavier_uniform",
                  "kaiming": "initialization.kaiming_normal",
                  "calculate_gain": "initialization.calculate_gain"},
        reference_with=layer_std_with, mistakes=(
        Mistake("preactivations", "Measure the activations h = φ(z) after the nonlinearity, "
                "not the pre-activations z.",
                Computed(_layer_std, measure="preactivations"),
                diagnosis="the spreads are measured before the nonlinearity, so they are those of "
                "the pre-activations, not of the layer outputs."),
        Mistake("kaiming_no_gain", "The Kaiming draws here miss the gain √2: "
                "ReLU activations then halve their second moment at every layer.",
                Computed(_layer_std, kaiming=_kaiming(_no_gain)),
                diagnosis="the Kaiming draws here leave out the gain, so the ReLU activations "
                "shrink layer by layer and the reported spreads fall too fast."),
        Mistake("xavier_std_as_bound", "The Xavier draws here use the standard deviation as "
                "the bound; U(−b, b) needs b = gain·√(6 / (fan_in + fan_out)).",
                Computed(_layer_std, xavier=_xavier_std_as_bound),
                diagnosis="the Xavier draws here use the standard deviation as the bound, so the "
                "spreads of the Xavier runs come out too small."),
    )),
}
