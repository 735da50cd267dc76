"""``python -m appliance.cli``: the ``appliance`` command."""

import sys

from . import main

sys.exit(main())
