"""labkit: what every page and exercise may import that is *not* an answer.

Test functions (``labkit.functions``), small offline datasets (``labkit.data``), models and a
minimal training loop (``labkit.models``, ``labkit.train``), plotting helpers
(``labkit.plots``) and the recorder that hidden tests call (``labkit.checks``).

Students receive this package. Reference answers live in ``solutions/`` and never here.
"""

__version__ = "0.1.0"
"""The labkit version; a released notebook's setup cell installs this one."""

__all__ = ["functions", "data", "models", "train", "plots", "checks", "device", "check_ready"]

from labkit.device import device  # noqa: E402  (re-exported for convenience)
from labkit.selfcheck import check_ready  # noqa: E402  (the last cell of every exercise)
