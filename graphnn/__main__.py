"""``python -m graphnn``: the ``graphnn`` command."""

import sys

from graphnn.cli import main

sys.exit(main())
