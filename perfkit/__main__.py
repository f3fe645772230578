"""``python -m perfkit``."""

import sys

from perfkit.cli.__main__ import main

sys.exit(main())
