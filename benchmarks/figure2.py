"""The paper's Figure 2 from run folders: NLL-oracle over epochs, each method beside the MLE control.

    python benchmarks/figure2.py RUN [RUN ...] --out FILE.png [--band minmax|sd]

Each RUN is a folder that ``examples/train_oracle.py`` wrote; its ``metrics.csv`` is read (and its
``config.json``, if there, for the title: the oracle and the seeds); nothing is trained here. Two
panels: every epoch, the end of pretraining marked; and what follows pretraining, zoomed, where each
curve starts from the pretrained value at epoch 0. With several runs each curve is their mean, in a
band across them (``--band``: ``minmax``, the default, or ``sd``, one standard deviation); runs
evaluated at other epochs are interpolated linearly onto the union of them. Runs of different methods
(SeqGAN, PG-BLEU, Scheduled Sampling) each get their curve.

With one RUN this is the run's own plot: ``python benchmarks/figure2.py RUN --out RUN/nll_oracle.png``
re-draws a run's ``nll_oracle.png`` from its ``metrics.csv``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from agents.experiment.figure2 import BANDS, figure2_title, plot_figure2
from agents.experiment.records import read_metrics

PROG = "figure2.py"


class _OneLineParser(argparse.ArgumentParser):
    """Errors in one line, no usage dump (``examples/_cli.py`` is not importable from here)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.splitlines())}\n")


def read_run(folder: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A run folder's metrics rows and its configuration (``{}`` without a readable ``config.json``).

    :raises ValueError: no ``metrics.csv``, an unreadable one, or no evaluated epoch in it.
    """
    metrics = folder / "metrics.csv"
    if not metrics.is_file():
        raise ValueError(f"{str(folder)!r}: no metrics.csv: not a run folder written by examples/train_oracle.py")
    try:
        rows = read_metrics(metrics)
    except (OSError, UnicodeDecodeError) as err:
        raise ValueError(f"{str(metrics)!r}: cannot be read: {err}") from None
    if not any("nll_oracle" in row for row in rows):
        raise ValueError(f"{str(metrics)!r} holds no evaluated epoch")
    try:  # the configuration only names the curves: a run without one still plots
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        config = {}
    return rows, config if isinstance(config, dict) else {}


def main(argv: Sequence[str] | None = None) -> Path:
    parser = _OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="run folders of examples/train_oracle.py")
    parser.add_argument("--out", type=Path, required=True, metavar="FILE.png", help="the figure (PNG)")
    parser.add_argument(
        "--band", choices=sorted(BANDS), default="minmax", help="the band across runs (default minmax; sd: ±1 sd)"
    )
    args = parser.parse_args(argv)
    if args.out.suffix.lower() != ".png" or args.out.is_dir():
        parser.error(f"--out {str(args.out)!r}: must name a .png file")
    try:
        runs = [read_run(folder) for folder in args.runs]
    except ValueError as err:
        parser.error(str(err))
    title = figure2_title([config for _, config in runs if config])
    try:
        path = plot_figure2([rows for rows, _ in runs], args.out, title=title, band=args.band)
    except OSError as err:
        parser.error(f"--out {str(args.out)!r}: cannot write: {err.strerror or err}")
    print(f"wrote {path}", file=sys.stderr)
    return path


if __name__ == "__main__":
    main()
