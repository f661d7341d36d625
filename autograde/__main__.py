"""``python -m autograde`` is ``optbook-grade``."""

import sys

from autograde.cli import main

sys.exit(main())
