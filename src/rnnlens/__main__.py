"""``python -m rnnlens tour``."""

import sys

from rnnlens.cli import main

sys.exit(main())
