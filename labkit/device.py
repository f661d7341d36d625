"""Device selection: torch code in this book runs on ``cuda`` when present, else on the CPU."""

from __future__ import annotations


def device() -> "torch.device":  # noqa: F821  (torch imported lazily: labkit must import fast)
    """Return ``torch.device("cuda")`` when a GPU is available, otherwise the CPU."""
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
