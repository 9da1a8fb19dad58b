"""Train SeqGAN on the synthetic oracle benchmark: ``seqgan-gym train-oracle``, run from a clone.

The command lives in ``agents/cli/train_oracle.py`` (its docstring and ``--help`` say what it does and writes);
this script runs it, so ``python examples/train_oracle.py ...`` and ``seqgan-gym train-oracle ...`` are the same.
"""

import sys

from agents.cli.train_oracle import main

if __name__ == "__main__":
    main(sys.argv[1:])
