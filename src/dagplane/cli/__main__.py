"""``python -m dagplane.cli``: the same as the ``dagplane`` script."""

import sys

from dagplane.cli.main import main

sys.exit(main())
