"""Many SeqGAN runs as Ray Tune trials: ``seqgan-gym sweep``, run from a clone.

The command lives in ``agents/cli/sweep.py`` (its docstring and ``--help`` say what it does and writes);
this script runs it, so ``python examples/sweep.py ...`` and ``seqgan-gym sweep ...`` are the same.
"""

import sys

from agents.cli.sweep import main

if __name__ == "__main__":
    main(sys.argv[1:])
