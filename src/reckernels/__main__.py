"""``python -m reckernels`` is the ``reckernels`` command."""

import sys

from .cli import main

sys.exit(main())
