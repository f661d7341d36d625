"""Device selection: torch code in this book runs on ``cuda`` when present, else on the CPU."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def device() -> torch.device:
    """Return ``torch.device("cuda")`` when a GPU is available, otherwise the CPU."""
    import torch  # imported lazily: labkit itself must import fast

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
