"""``python -m agents.cli COMMAND ...``: the ``seqgan-gym`` console command without its installed script."""

import sys

from agents.cli import main

sys.exit(main())
