"""Train SeqGAN and the MLE control on real text, scored by BLEU: ``seqgan-gym train-text``, run from a clone.

The command lives in ``agents/cli/train_text.py`` (its docstring and ``--help`` say what it does and writes);
this script runs it, so ``python examples/train_text.py ...`` and ``seqgan-gym train-text ...`` are the same.
"""

import sys

from agents.cli.train_text import main

if __name__ == "__main__":
    main(sys.argv[1:])
