"""Print samples of a trained run's generator: decoded text for a text run, token ids for an oracle run.

    seqgan-gym generate results/text_coco --n 5
    seqgan-gym generate results/text_coco --n 5 --temperature 0.8 --seed 3
    seqgan-gym generate results/text_coco --which mle      # the MLE-only control

The run's folder is all it needs (``checkpoint.pt``, and ``vocabulary.json`` for text), at any
point of the run; nothing in them is unpickled.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from agents.cli.common import (
    MAX_SAMPLES,
    OneLineParser,
    bad_input,
    int_in_range,
    led_by,
    program,
    seed,
    temperature,
)
from agents.experiment.config import GENERATORS

PROG = program("generate", "generate.py")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a run's folder (the --out of train-text or train-oracle)")
    parser.add_argument(
        "--n", type=int_in_range(1, MAX_SAMPLES), default=10, help=f"how many samples (10; at most {MAX_SAMPLES:,})"
    )
    parser.add_argument("--seed", type=seed, default=0, help="seed of the samples, 0 to 2**32 - 1 (0)")
    parser.add_argument("--temperature", type=temperature, default=1.0, help="τ > 0 (1: the generator's own)")
    parser.add_argument("--which", choices=GENERATORS, default="method", help="G_θ (method) or the MLE control")
    return parser


def main(argv: Sequence[str] | None = None) -> list[str]:
    args = build_parser().parse_args(argv)
    from agents.experiment.checkpoint import CheckpointError
    from agents.experiment.generate import generate

    try:
        lines = generate(args.run, args.n, seed=args.seed, temperature=args.temperature, which=args.which)
        for line in lines:
            print(line)
    except (CheckpointError, ValueError, ImportError) as err:
        bad_input(PROG, led_by(args.run, str(err)))
    except KeyboardInterrupt:  # Ctrl-C while sampling or printing: one line, the shell's status for SIGINT
        sys.stderr.write(f"{PROG}: interrupted\n")
        raise SystemExit(130) from None
    return lines


if __name__ == "__main__":
    main(sys.argv[1:])
