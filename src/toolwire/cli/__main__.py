"""``python -m toolwire.cli``: the ``toolwire`` command."""

import sys

from . import main

sys.exit(main())
