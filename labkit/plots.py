"""Plotting helpers shared by the chapters: contour maps with trajectories, loss curves."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from labkit.functions import Surface


def contour(surface: Surface, ax=None, *, levels: int = 30, log_levels: bool = True,
            resolution: int = 200):
    """Draw the contour map of a 2-D ``surface`` on ``ax`` (created when ``None``)."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    x0, x1, y0, y1 = surface.window
    xs, ys = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    points = np.stack([xs.ravel(), ys.ravel()], axis=1)
    zs = np.array([surface.value(p) for p in points]).reshape(xs.shape)
    if log_levels and zs.min() >= 0:
        lo = max(zs.min(), 1e-3)
        ax.contour(xs, ys, zs, levels=np.geomspace(lo, zs.max(), levels), cmap="viridis",
                   linewidths=0.7)
    else:
        ax.contour(xs, ys, zs, levels=levels, cmap="viridis", linewidths=0.7)
    if surface.minimum is not None:
        ax.plot(*surface.minimum, marker="*", color="black", markersize=12, linestyle="none")
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_title(surface.name)
    return ax


def trajectories(surface: Surface, paths: Mapping[str, np.ndarray], ax=None, **contour_kw):
    """Contour map of ``surface`` with one line per optimizer path (arrays of shape (T, 2))."""
    ax = contour(surface, ax, **contour_kw)
    for label, path in paths.items():
        path = np.asarray(path)
        ax.plot(path[:, 0], path[:, 1], marker=".", markersize=3, linewidth=1.2, label=label)
    ax.legend(loc="best", fontsize=8)
    return ax


def curves(series: Mapping[str, np.ndarray], ax=None, *, xlabel: str = "step",
           ylabel: str = "loss", logy: bool = True, title: str | None = None):
    """Plot several curves (e.g. losses) against their index on shared axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    for label, ys in series.items():
        ax.plot(np.arange(len(ys)), ys, label=label, linewidth=1.2)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax
