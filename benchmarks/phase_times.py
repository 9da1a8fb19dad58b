"""Per-phase wall times of a finished (or running) run, from its metrics.csv.

    python benchmarks/phase_times.py RUN

Each row's ``elapsed_s`` is the run's training time at the end of its unit, evaluations included; a
phase's time is its last row's minus the previous phase's last. Prints one line a phase and the total.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from agents.experiment.records import read_metrics


def phase_seconds(rows: list[dict[str, object]]) -> dict[str, float]:
    """Seconds spent in each phase, in the order the phases ran."""
    seconds: dict[str, float] = {}
    previous = 0.0
    for row in rows:
        elapsed = float(row["elapsed_s"])  # type: ignore[arg-type]
        phase = str(row["phase"])
        seconds[phase] = seconds.get(phase, 0.0) + elapsed - previous
        previous = elapsed
    return seconds


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a run folder (with metrics.csv)")
    args = parser.parse_args(argv)
    if not (args.run / "metrics.csv").is_file():
        parser.error(f"argument run: {str(args.run)!r} holds no metrics.csv")
    seconds = phase_seconds(read_metrics(args.run / "metrics.csv"))
    for phase, value in seconds.items():
        print(f"{phase:>20s}  {value:9.1f} s")
    print(f"{'total':>20s}  {sum(seconds.values()):9.1f} s")
    return seconds


if __name__ == "__main__":
    main(sys.argv[1:])
