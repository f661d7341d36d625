"""The cheat sheet says what the code does: every formula agrees with its reference in
``solutions/`` on random inputs, and every function it names exists.

Each formula row of ``book/cheatsheet.md`` is pinned here by its exact LaTeX and a direct
transcription of that LaTeX into NumPy; the transcription is compared with the reference
function over many draws. Editing a formula on the page fails the test until its
transcription here is edited to match (and then it must agree with the code)."""

from __future__ import annotations

import importlib
import math
import re

import numpy as np
import pytest

from solutions import (
    adaptive,
    beyond_adam,
    ensembles,
    initialization,
    momentum,
    schedules,
    sgd,
    stable_training,
)
from tests.book import REPO

PAGE = (REPO / "book" / "cheatsheet.md").read_text()
ROWS = {cells[0]: cells for cells in (
    [c.strip() for c in line.strip().strip("|").split("|")]
    for line in PAGE.splitlines() if line.startswith("| "))}
HEADERS = {"method", "schedule", "rule"}
PROSE_ROWS = {  # described in words, not by a formula to evaluate
    "Adam + L2", "AMSGrad", "NAdam", "RAdam", "L-BFGS", "warm restarts", "linear warm-up",
    "cyclical", "one-cycle", "on plateau", "batch norm", "inverted dropout", "multi-step"}


def _schedule_cases(rng):
    for _ in range(40):
        yield int(rng.integers(0, 60)), float(rng.uniform(0.01, 1.0))


def _rate_rows():
    """Schedules: (row, LaTeX, transcription(k, eta, rng_params), reference)."""
    return {
        "step": (r"$\eta\,\gamma^{\lfloor k/s \rfloor}$",
                 lambda k, eta, p: eta * p["gamma"] ** math.floor(k / p["s"]),
                 lambda k, eta, p: schedules.step_decay(k, eta, p["s"], p["gamma"])),
        "exponential": (r"$\eta\,\gamma^{k}$",
                        lambda k, eta, p: eta * p["gamma"] ** k,
                        lambda k, eta, p: schedules.exponential(k, eta, p["gamma"])),
        "natural exponential": (r"$\eta\,e^{-\gamma k}$",
                                lambda k, eta, p: eta * math.exp(-p["gamma"] * k),
                                lambda k, eta, p: schedules.natural_exp(k, eta, p["gamma"])),
        "inverse time": (r"$\eta / (1 + \gamma k)$",
                         lambda k, eta, p: eta / (1 + p["gamma"] * k),
                         lambda k, eta, p: schedules.inverse_time(k, eta, p["gamma"])),
        "polynomial": (r"$(\eta - \eta_{end})(1 - \min(k, K)/K)^p + \eta_{end}$",
                       lambda k, eta, p: (eta - p["end"]) * (1 - min(k, p["K"]) / p["K"])
                       ** p["p"] + p["end"],
                       lambda k, eta, p: schedules.polynomial(k, eta, p["K"], p["end"],
                                                              p["p"])),
        "cosine": (r"$\eta_{min} + \tfrac12(\eta - \eta_{min})(1 + \cos(\pi k / T))$",
                   lambda k, eta, p: p["end"] + 0.5 * (eta - p["end"])
                   * (1 + math.cos(math.pi * k / p["K"])),
                   lambda k, eta, p: schedules.cosine_annealing(k, eta, p["K"], p["end"])),
        "Noam": (r"$\eta\, d^{-1/2} \min(k^{-1/2}, k\,w^{-3/2})$ for $k \ge 1$, $0$ at $k = 0$",
                 lambda k, eta, p: 0.0 if k == 0 else
                 eta * p["d"] ** -0.5 * min(k ** -0.5, k * p["w"] ** -1.5),
                 lambda k, eta, p: schedules.noam(k, p["d"], p["w"], eta)),
    }


@pytest.mark.parametrize("row", sorted(_rate_rows()))
def test_schedule_formulas_agree_with_the_code(row):
    latex, formula, reference = _rate_rows()[row]
    assert ROWS[row][1] == latex, f"the page's {row} formula changed: update this test"
    rng = np.random.default_rng(len(row))
    for k, eta in _schedule_cases(rng):
        p = {"gamma": float(rng.uniform(0.5, 0.99)), "s": int(rng.integers(1, 10)),
             "K": int(rng.integers(1, 40)), "end": float(rng.uniform(0, 0.01)),
             "p": float(rng.uniform(0.5, 3)), "d": int(rng.integers(16, 512)),
             "w": int(rng.integers(1, 30))}
        assert formula(k, eta, p) == pytest.approx(reference(k, eta, p), rel=1e-12, abs=1e-15)


def _update_rows():
    """Update rules: (LaTeX, transcription(x, g, rng) -> new x, reference -> new x)."""
    def adam_like(reference, decoupled):
        def run(x, g, h):
            state = adaptive.AdamState(h["t"] - 1, h["m"], h["s"], np.zeros_like(x))
            if decoupled:
                return reference(x, g, state, h["lr"], h["b1"], h["b2"], h["eps"],
                                 h["lam"])[0]
            return reference(x, g, state, h["lr"], h["b1"], h["b2"], h["eps"])[0]
        return run

    def adam_formula(x, g, h):
        m = h["b1"] * h["m"] + (1 - h["b1"]) * g
        v = h["b2"] * h["s"] + (1 - h["b2"]) * g**2
        return x - h["lr"] * (m / (1 - h["b1"] ** h["t"])) / (
            np.sqrt(v / (1 - h["b2"] ** h["t"])) + h["eps"])

    return {
        "SGD": (r"$x \leftarrow x - \eta g$", lambda x, g, h: x - h["lr"] * g,
                lambda x, g, h: sgd.sgd_step(x, g, h["lr"])),
        "momentum": (r"$v \leftarrow \mu v - \eta g,\; x \leftarrow x + v$",
                     lambda x, g, h: x + (h["mu"] * h["v"] - h["lr"] * g),
                     lambda x, g, h: momentum.momentum_step(x, h["v"], g, h["lr"],
                                                            h["mu"])[0]),
        "Nesterov": (r"$v \leftarrow \mu v - \eta g,\; x \leftarrow x + \mu v - \eta g$",
                     lambda x, g, h: x + h["mu"] * (h["mu"] * h["v"] - h["lr"] * g)
                     - h["lr"] * g,
                     lambda x, g, h: momentum.nesterov_step(x, h["v"], g, h["lr"],
                                                            h["mu"])[0]),
        "Adagrad": (r"$s \leftarrow s + g^2,\; x \leftarrow x - \eta g / (\sqrt{s} + \epsilon)$",
                    lambda x, g, h: x - h["lr"] * g / (np.sqrt(h["s"] + g**2) + h["eps"]),
                    lambda x, g, h: adaptive.adagrad(
                        x, g, adaptive.AdagradState(0, h["s"]), h["lr"], eps=h["eps"])[0]),
        "RMSProp": (r"$s \leftarrow \alpha s + (1-\alpha) g^2,\; x \leftarrow x - \eta g / "
                    r"(\sqrt{s} + \epsilon)$",
                    lambda x, g, h: x - h["lr"] * g / (
                        np.sqrt(h["alpha"] * h["s"] + (1 - h["alpha"]) * g**2) + h["eps"]),
                    lambda x, g, h: adaptive.rmsprop(
                        x, g, adaptive.RMSPropState(h["s"], np.zeros_like(x), np.zeros_like(x)),
                        h["lr"], h["alpha"], h["eps"])[0]),
        "Adam": (r"$m \leftarrow \beta_1 m + (1-\beta_1) g,\; v \leftarrow \beta_2 v + "
                 r"(1-\beta_2) g^2,\; x \leftarrow x - \eta \frac{m/(1-\beta_1^t)}"
                 r"{\sqrt{v/(1-\beta_2^t)} + \epsilon}$",
                 adam_formula, adam_like(adaptive.adam, False)),
        "AdamW": (r"$x \leftarrow (1 - \eta\lambda) x$, then Adam on $g$",
                  lambda x, g, h: adam_formula((1 - h["lr"] * h["lam"]) * x, g, h),
                  adam_like(beyond_adam.adamw, True)),
        "Newton": (r"$x \leftarrow x - \eta (H + \delta I)^{-1} g$",
                   lambda x, g, h: x - h["lr"] * np.linalg.inv(
                       h["H"] + h["delta"] * np.eye(len(x))) @ g,
                   lambda x, g, h: importlib.import_module("solutions.second_order")
                   .newton_step(x, g, h["H"], h["lr"], h["delta"])),
        "EMA of weights": (r"$\bar x \leftarrow \beta \bar x + (1-\beta) x$",
                           lambda x, g, h: h["b1"] * g + (1 - h["b1"]) * x,
                           lambda x, g, h: ensembles.ema_update([g], [x], h["b1"])[0]),
        "clip by norm": (r"$g \leftarrow g \cdot \min(1, c / (\lVert g \rVert + 10^{-6}))$, "
                         r"one norm over all tensors",
                         lambda x, g, h: g * min(1.0, h["c"] / (np.linalg.norm(g) + 1e-6)),
                         lambda x, g, h: stable_training.clip_grad_norm([g], h["c"])[0][0]),
    }


@pytest.mark.parametrize("row", sorted(_update_rows()))
def test_update_formulas_agree_with_the_code(row):
    latex, formula, reference = _update_rows()[row]
    assert ROWS[row][1] == latex, f"the page's {row} formula changed: update this test"
    rng = np.random.default_rng(len(row) + 100)
    for _ in range(30):
        d = int(rng.integers(1, 6))
        A = rng.standard_normal((d, d))
        h = {"lr": float(rng.uniform(1e-3, 0.5)), "mu": float(rng.uniform(0, 0.99)),
             "v": rng.standard_normal(d), "s": rng.uniform(0, 2, d),
             "m": rng.standard_normal(d) * 0.1, "eps": float(rng.choice([1e-8, 1e-3, 0.1])),
             "alpha": float(rng.uniform(0.5, 0.999)), "b1": float(rng.uniform(0.5, 0.99)),
             "b2": float(rng.uniform(0.9, 0.9999)), "t": int(rng.integers(1, 50)),
             "lam": float(rng.uniform(0, 0.1)), "H": A @ A.T + np.eye(d),
             "delta": float(rng.uniform(0, 1)), "c": float(rng.uniform(0.1, 5))}
        x, g = rng.standard_normal(d), rng.standard_normal(d) * rng.uniform(0.1, 10)
        expected = reference(x, g, h)
        assert np.all(np.isfinite(expected))
        np.testing.assert_allclose(formula(x, g, h), expected, rtol=1e-9, atol=1e-12)


def test_initialization_formulas_agree_with_the_code():
    assert ROWS["Xavier (Glorot)"][1] == (r"$\sigma = g\sqrt{2/(n_{in}+n_{out})}$, uniform "
                                          r"bound $\sqrt{3}\,\sigma$")
    assert ROWS["Kaiming (He)"][1] == (r"$\sigma = g/\sqrt{n_{mode}}$, $g = \sqrt{2/(1+a^2)}$ "
                                       "for leaky ReLU")
    rng = np.random.default_rng(7)
    for fan_out, fan_in, gain, a in [(200, 300, 1.0, 0.0), (400, 150, 5 / 3, 0.2),
                                     (300, 500, 2**0.5, 0.01)]:
        sigma = gain * math.sqrt(2 / (fan_in + fan_out))
        drawn = initialization.xavier_normal(rng, (fan_out, fan_in), gain)
        assert drawn.std() == pytest.approx(sigma, rel=0.02)
        bound = math.sqrt(3) * sigma
        uniform = initialization.xavier_uniform(rng, (fan_out, fan_in), gain)
        assert abs(uniform).max() <= bound and abs(uniform).max() > 0.99 * bound
        leaky = math.sqrt(2 / (1 + a**2))
        assert initialization.calculate_gain("leaky_relu", a) == pytest.approx(leaky)
        drawn = initialization.kaiming_normal(rng, (fan_out, fan_in), a)
        assert drawn.std() == pytest.approx(leaky / math.sqrt(fan_in), rel=0.02)


def test_every_formula_row_is_checked_or_named_as_prose():
    checked = set(_rate_rows()) | set(_update_rows()) | {"Xavier (Glorot)", "Kaiming (He)"}
    formula_rows = {name for name, cells in ROWS.items()
                    if len(cells) > 1 and "$" in cells[1] and name not in HEADERS}
    assert formula_rows - PROSE_ROWS <= checked, formula_rows - PROSE_ROWS - checked


def test_every_function_the_cheat_sheet_names_exists():
    modules = [importlib.import_module(f"solutions.{p.stem}")
               for p in sorted((REPO / "solutions").glob("*.py")) if p.stem != "__init__"]
    for name, cells in ROWS.items():
        if len(cells) < 3 or name in HEADERS:
            continue
        for named in re.findall(r"`([\w.]+)", cells[2]):
            if "." in named:
                module, attr = named.split(".", 1)
                assert hasattr(importlib.import_module(f"solutions.{module}"), attr), named
            else:
                assert any(hasattr(m, named) for m in modules), named
