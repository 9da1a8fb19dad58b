"""Runs' NLL-oracle curves against the reference code's published log (LantaoYu/SeqGAN, the authors' oracle).

    python benchmarks/reference_curve.py RUN [RUN ...] [--out docs/results/authors_oracle_fast/reference.md]

Each RUN is a folder that ``examples/train_oracle.py`` wrote (``config.json`` and ``metrics.csv``); nothing is
trained here. The reference log (``docs/results/reference/experiment_log.csv``) counts from 0: its "epoch k" is the
value after k + 1 epochs, and its adversarial "epoch 0" follows one generator update. So a run's epoch k + 1 is set
against the log's epoch k, at the log's MLE epochs 5/15/50/115 and adversarial epochs 10/30/50/75/100/150. Where a
run did not evaluate that epoch (``eval_every`` > 1) its value is interpolated linearly between the two evaluations
around it, and marked. The report (markdown) and a plot of the curves over the log's (``.png`` beside it) are
written to ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from _timing import write_report  # benchmarks/_timing.py (scripts run from their folder)

from seqgan_gym._io import atomic_write_png

REFERENCE_LOG = Path(__file__).resolve().parents[1] / "docs" / "results" / "reference" / "experiment_log.csv"
#: The log's epochs (counted from 0) at which runs are compared, per phase.
CHECKPOINTS: dict[str, tuple[int, ...]] = {"mle": (5, 15, 50, 115), "adversarial": (10, 30, 50, 75, 100, 150)}
PHASE_TITLES = {"mle": "MLE pretraining", "adversarial": "adversarial training"}


class Curve(NamedTuple):
    """NLL-oracle after ``epochs_done`` epochs of each phase: ``{phase: {epochs_done: nll}}``."""

    name: str
    oracle: str  # the oracle file's name, or "seeded" for the seeded default
    points: dict[str, dict[int, float]]

    def at(self, phase: str, epochs_done: int) -> tuple[float, bool] | None:
        """The value after ``epochs_done`` epochs and whether it was interpolated; ``None`` outside the curve."""
        points = self.points.get(phase, {})
        if epochs_done in points:
            return points[epochs_done], False
        below = [e for e in points if e < epochs_done]
        above = [e for e in points if e > epochs_done]
        if not below or not above:
            return None
        lo, hi = max(below), min(above)
        weight = (epochs_done - lo) / (hi - lo)
        return points[lo] + weight * (points[hi] - points[lo]), True


def read_reference(path: Path = REFERENCE_LOG) -> Curve:
    """The reference code's log as a :class:`Curve` (epochs converted to epochs done)."""
    points: dict[str, dict[int, float]] = {"mle": {}, "adversarial": {}}
    with path.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            points[row["phase"]][int(row["epochs_done"])] = float(row["nll_oracle"])
    return Curve("reference code (LantaoYu/SeqGAN)", "target_params_py3.pkl", points)


def read_run(path: Path) -> Curve:
    """A run folder's pretraining and adversarial NLL-oracle; a clear error if it is not a run folder."""
    config_file, metrics_file = path / "config.json", path / "metrics.csv"
    for file in (config_file, metrics_file):
        if not file.is_file():
            raise ValueError(f"{path}: no {file.name}: not a run folder written by examples/train_oracle.py")
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if not isinstance(config, dict):
        raise ValueError(f"{config_file}: not a JSON object of SeqGANConfig fields")
    points: dict[str, dict[int, float]] = {"mle": {}, "adversarial": {}}
    with metrics_file.open(encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            if row.get("phase") in points and row.get("nll_oracle"):
                points[row["phase"]][int(row["epoch"])] = float(row["nll_oracle"])
    if not points["mle"]:
        raise ValueError(f"{metrics_file}: no evaluated MLE epoch")
    # SeqGAN starts from the last pretraining point: adversarial epoch 0 is the pretrained generator.
    points["adversarial"][0] = points["mle"][max(points["mle"])]
    oracle = config.get("oracle_file")
    return Curve(f"{path.name} (seed {config.get('seed')})", Path(oracle).name if oracle else "seeded", points)


def compare(runs: Sequence[Curve], reference: Curve) -> list[dict[str, object]]:
    """One row per checkpoint the reference has: its value, each run's, and run − reference."""
    rows = []
    for phase, epochs in CHECKPOINTS.items():
        for log_epoch in epochs:
            ref = reference.at(phase, log_epoch + 1)
            if ref is None:
                continue
            values = [run.at(phase, log_epoch + 1) for run in runs]
            rows.append({"phase": phase, "log_epoch": log_epoch, "reference": ref[0], "runs": values})
    return rows


def report(runs: Sequence[Curve], reference: Curve, rows: list[dict[str, object]], command: str) -> list[str]:
    """The markdown report's lines."""

    def cell(value: tuple[float, bool] | None, ref: float) -> str:
        if value is None:
            return "not reached"
        nll, interpolated = value
        return f"{nll:.4f} ({nll - ref:+.4f}){'*' if interpolated else ''}"

    lines = [
        "# NLL-oracle against the reference code's log",
        "",
        f"`{command}`",
        "",
        f"Reference: `docs/results/reference/experiment_log.csv` ({reference.name}). "
        "The log's epoch k is set against a run's epoch k + 1; each cell is NLL-oracle (run − reference).",
        "",
    ]
    others = sorted({run.oracle for run in runs if run.oracle != reference.oracle})
    if others:
        lines += [
            f"Runs on another oracle ({', '.join(others)}) than the reference's: the differences are only indicative.",
            "",
        ]
    lines += [
        f"| phase | log epoch | reference | {' | '.join(run.name for run in runs)} | mean − reference |",
        f"|---|---|---|{'---|' * len(runs)}---|",
    ]
    for row in rows:
        ref = float(row["reference"])  # type: ignore[arg-type]
        values: list[tuple[float, bool] | None] = row["runs"]  # type: ignore[assignment]
        reached = [v[0] for v in values if v is not None]
        mean = f"{statistics.fmean(reached) - ref:+.4f}" if len(reached) == len(values) else ""
        cells = " | ".join(cell(v, ref) for v in values)
        lines.append(f"| {PHASE_TITLES[str(row['phase'])]} | {row['log_epoch']} | {ref:.4f} | {cells} | {mean} |")
    lines += ["", "\\* interpolated between the run's two evaluations around that epoch (`eval_every` > 1).", ""]
    return lines


def plot(runs: Sequence[Curve], reference: Curve, path: Path) -> Path:
    """Two panels, pretraining and adversarial training: each run's curve over the reference's."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), dpi=120)
    for ax, phase in zip(axes, ("mle", "adversarial"), strict=True):
        for run in runs:
            epochs = sorted(run.points[phase])
            ax.plot(epochs, [run.points[phase][e] for e in epochs], alpha=0.8, label=run.name)
        epochs = sorted(reference.points[phase])
        ax.plot(epochs, [reference.points[phase][e] for e in epochs], "k.-", label=reference.name)
        ax.set_title(PHASE_TITLES[phase])
        ax.set_xlabel("MLE epochs done" if phase == "mle" else "generator updates done (adversarial epochs)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("NLL-oracle (nats per token)")
    axes[0].set_ylim(top=min(10.0, axes[0].get_ylim()[1]))  # the first epochs would squash the rest
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return atomic_write_png(path, fig)


def main(argv: Sequence[str] | None = None) -> list[dict[str, object]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="run folders of examples/train_oracle.py")
    parser.add_argument("--out", type=Path, default=Path("reference_curve.md"), help="the report (markdown)")
    args = parser.parse_args(argv)
    try:
        runs = [read_run(path) for path in args.runs]
    except (ValueError, OSError) as err:  # JSONDecodeError is a ValueError
        parser.error(str(err))
    reference = read_reference()
    rows = compare(runs, reference)
    command = "python benchmarks/reference_curve.py " + " ".join([*(str(p) for p in args.runs), "--out", str(args.out)])
    write_report(report(runs, reference, rows, command), args.out)
    plot(runs, reference, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}", file=sys.stderr)
    return rows


if __name__ == "__main__":
    main()
