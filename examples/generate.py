"""Print samples of a trained run's generator, decoded for a text run: ``seqgan-gym generate``, run from a clone.

The command lives in ``agents/cli/generate.py`` (its docstring and ``--help`` say what it does and writes);
this script runs it, so ``python examples/generate.py ...`` and ``seqgan-gym generate ...`` are the same.
"""

import sys

from agents.cli.generate import main

if __name__ == "__main__":
    main(sys.argv[1:])
