"""Time one optimizer step, three ways, for Adam, AdamW and RAdam on float32 parameters.

For each size (default 1e5, 1e6 and 1e7 parameters in one flat float32 tensor) and each rule:

* ``numpy``: the book's pure NumPy reference rule in :mod:`solutions.adaptive`
  (``x, state = adam(x, g, state)``, state from ``init_adam(x)``);
* ``hand-written``: the ``torch.optim.Optimizer`` subclasses in :mod:`solutions.adaptive` and
  :mod:`solutions.beyond_adam`;
* ``torch foreach``: ``torch.optim.Adam`` / ``AdamW`` / ``RAdam`` with ``foreach=True``, the
  reference every row is divided by.

All three start from the same parameters and take the same fixed gradient. Each is warmed up
(at least 6 steps, so RAdam's timed steps are rectified ones, ``ρ_t > 5``), then the three are
stepped in turn, one step each per round, so that load from other jobs on this shared machine
falls on all of them alike; the table gives the median over the rounds. torch runs on a fixed
number of intra-op threads (``--threads``, default 1: NumPy's element-wise ufuncs use one core).
At the end the parameters of the three are compared, so a fast but wrong step would show.
Goals (the project's issue): NumPy reference ≤ 2× torch foreach, hand-written torch ≤ 1.2×.

Much of a step's time at 1e6–1e7 parameters is page faults: the NumPy rules return three fresh
arrays per step (their contract: nothing is mutated) and torch allocates one temporary, and
glibc hands such large blocks back to the kernel and faults them in again. At 1e6 this happens
on every other NumPy step, so its times are bimodal and its median moves between runs. Running
with ``MALLOC_TRIM_THRESHOLD_=268435456 MALLOC_MMAP_THRESHOLD_=268435456`` shows the steps
without that cost.

    .venv/bin/python benchmarks/optimizer_step.py
    .venv/bin/python benchmarks/optimizer_step.py --sizes 1e6 --repeats 21 --threads 2
    .venv/bin/python benchmarks/optimizer_step.py --quick
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from solutions import adaptive, beyond_adam  # noqa: E402

# rule name -> (NumPy rule, hand-written optimizer, torch.optim optimizer)
RULES = {
    "Adam": (adaptive.adam, adaptive.Adam, torch.optim.Adam),
    "AdamW": (beyond_adam.adamw, beyond_adam.AdamW, torch.optim.AdamW),
    "RAdam": (beyond_adam.radam, beyond_adam.RAdam, torch.optim.RAdam),
}
GOALS = {"numpy": 2.0, "hand-written": 1.2}
WARMUP = 6


class NumpyStepper:
    """Holds ``x`` and the immutable state; each call replaces both, as a training loop would."""

    def __init__(self, rule: Callable, x: np.ndarray, g: np.ndarray) -> None:
        self.rule, self.x, self.g, self.state = rule, x.copy(), g, adaptive.init_adam(x)

    def __call__(self) -> None:
        self.x, self.state = self.rule(self.x, self.g, self.state)

    def params(self) -> np.ndarray:
        return self.x


class TorchStepper:
    def __init__(self, make: Callable, x: np.ndarray, g: np.ndarray) -> None:
        self.p = torch.nn.Parameter(torch.from_numpy(x.copy()))
        self.p.grad = torch.from_numpy(g.copy())
        self.optimizer = make([self.p])

    def __call__(self) -> None:
        self.optimizer.step()

    def params(self) -> np.ndarray:
        return self.p.detach().numpy()


def time_steps(steppers: dict[str, Callable[[], None]], repeats: int) -> dict[str, float]:
    """Median seconds per step of each stepper, stepping them in turn, one step per round."""
    for step in steppers.values():
        for _ in range(WARMUP):
            step()
    times: dict[str, list[float]] = {name: [] for name in steppers}
    for _ in range(repeats):
        for name, step in steppers.items():
            start = time.perf_counter()
            step()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


def run(size: int, rule: str, repeats: int) -> tuple[dict[str, float], float]:
    """Median ms per step of each method, and the largest parameter difference between them."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal(size, dtype=np.float32)
    g = rng.standard_normal(size, dtype=np.float32)
    numpy_rule, ours, theirs = RULES[rule]
    steppers = {
        "numpy": NumpyStepper(numpy_rule, x, g),
        "hand-written": TorchStepper(ours, x, g),
        "torch foreach": TorchStepper(lambda p: theirs(p, foreach=True), x, g),
    }
    medians = time_steps(steppers, repeats)
    reference = steppers["torch foreach"].params()
    diff = max(float(np.abs(s.params() - reference).max()) for s in steppers.values())
    return {name: 1e3 * t for name, t in medians.items()}, diff


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e5, 1e6, 1e7],
                        help="numbers of float32 parameters (default: 1e5 1e6 1e7)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed steps per method (default: 15, and 7 from 1e7 on)")
    parser.add_argument("--rules", nargs="+", choices=list(RULES), default=list(RULES))
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: sizes 1e4 1e5, 3 repeats")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeats = [1e4, 1e5], 3

    torch.set_num_threads(args.threads)
    print(f"cores: {os.cpu_count()}   torch threads: {torch.get_num_threads()}   "
          f"torch {torch.__version__}   numpy {np.__version__}   float32   "
          f"warm-up {WARMUP} steps")
    print(f"{'size':>9}  {'rule':<6} {'method':<14} {'ms/step':>9} {'× foreach':>10}  goal")
    worst = 0.0
    for size in (int(s) for s in args.sizes):
        repeats = args.repeats or (7 if size >= 10**7 else 15)
        for rule in args.rules:
            ms, diff = run(size, rule, repeats)
            worst = max(worst, diff)
            for method, value in ms.items():
                ratio = value / ms["torch foreach"]
                goal = GOALS.get(method)
                verdict = f"≤ {goal:.1f}× {'met' if ratio <= goal else 'MISSED'}" if goal else ""
                print(f"{size:>9.0e}  {rule:<6} {method:<14} {value:>9.3f} {ratio:>9.2f}×  "
                      f"{verdict}")
        print()
    print(f"largest parameter difference between the three methods after the run: {worst:.1e}")


if __name__ == "__main__":
    main()
