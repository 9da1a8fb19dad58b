"""The ``fast`` preset against the ``paper`` preset: the NLL-oracle each reaches, and in what time.

    python benchmarks/presets.py --paper RUN [RUN ...] --fast RUN [RUN ...] \
        [--tolerance 0.05] [--max-hours 3] [--out docs/results/presets.md]

Each RUN is a folder that ``examples/train_oracle.py`` wrote (``config.json`` and ``metrics.csv``);
nothing is trained here. The report gives, per run, NLL-oracle after pretraining, at the end of the
MLE control and at the end of SeqGAN, the mean of SeqGAN's last five evaluations (late in a run the
curve moves by a few hundredths from one generator update to the next), the training time and
the median time of an adversarial epoch between evaluations (robust to the odd epoch slowed by
another process). A second table splits the training time by phase: MLE pretraining, the MLE
control, D pretraining and the adversarial epochs.
It then checks the two targets: the ``fast`` runs' mean final NLL-oracle at most ``--tolerance``
above the ``paper`` runs' mean (the paper's quality), and every ``fast`` run trained in at most
``--max-hours``. A plot of the SeqGAN curves, over adversarial epochs and over training time, is
written beside the report (``.png``).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import math
import os
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from _timing import write_report  # benchmarks/_timing.py (scripts run from their folder)

from agents.experiment.seqgan import PRESETS, SeqGANConfig
from seqgan_gym._io import atomic_write_png

TAIL = 5  # SeqGAN's last evaluations averaged into the smoothed final value
#: The phases of a SeqGAN run as the time table names them, in the order they run.
PHASE_NAMES = {
    "mle": "MLE pretraining",
    "mle_continuation": "MLE control",
    "d_pretrain": "D pretraining",
    "adversarial": "adversarial",
}


@dataclasses.dataclass(frozen=True)
class RunResult:
    """One run's headline numbers, from its ``config.json`` and ``metrics.csv``."""

    path: Path
    preset: str  # the preset whose config the run used (seed aside), or "custom"
    seed: int
    adversarial_epochs_done: int
    adversarial_epochs: int
    nll_pretrained: float
    nll_mle_end: float | None
    nll_seqgan_end: float
    nll_seqgan_tail: float  # mean of the last TAIL evaluations
    training_hours: float
    median_adversarial_epoch_s: float
    phase_seconds: dict[str, float]  # training seconds of each phase, in the order the run went through them
    curve: list[tuple[int, float, float]]  # (adversarial epoch, training s, NLL-oracle) from the phase's start

    @property
    def finished(self) -> bool:
        return self.adversarial_epochs_done == self.adversarial_epochs


def preset_of(config: SeqGANConfig) -> str:
    """The name of the preset ``config`` is (its seed aside), or ``"custom"``."""
    for name, preset in PRESETS.items():
        if dataclasses.replace(config, seed=preset.seed) == preset:
            return name
    return "custom"


def read_run(path: Path) -> RunResult:
    """Read a run folder; a clear error if it is not one or its adversarial phase has not begun."""
    config_file, metrics_file = path / "config.json", path / "metrics.csv"
    for file in (config_file, metrics_file):
        if not file.is_file():
            raise ValueError(f"{path}: no {file.name}: not a run folder written by examples/train_oracle.py")
    raw = json.loads(config_file.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ValueError(f"{config_file}: not a JSON object of SeqGANConfig fields")
    config = SeqGANConfig.from_dict({k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})
    with metrics_file.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))

    def evaluated(phase: str) -> list[dict[str, str]]:
        return [r for r in rows if r["phase"] == phase and r["nll_oracle"]]

    pretrained, mle, adversarial = evaluated("mle"), evaluated("mle_continuation"), evaluated("adversarial")
    if not pretrained or not adversarial:
        raise ValueError(f"{path}: no evaluated adversarial epoch yet in metrics.csv")
    epochs = [r for r in rows if r["phase"] == "adversarial"]
    # Seconds per adversarial epoch between consecutive evaluated rows: each span holds one evaluation,
    # whatever eval_every is.
    previous = [r for r in rows if r["phase"] != "adversarial"][-1]
    per_epoch = []
    for row in adversarial:
        span = int(row["epoch"]) - (int(previous["epoch"]) if previous["phase"] == "adversarial" else 0)
        per_epoch.append((float(row["elapsed_s"]) - float(previous["elapsed_s"])) / span)
        previous = row
    # A phase's time: from the previous phase's last row to its own (the phases run one after another).
    phase_seconds: dict[str, float] = {}
    phase_end = 0.0
    for phase in dict.fromkeys(r["phase"] for r in rows):
        end = float([r for r in rows if r["phase"] == phase][-1]["elapsed_s"])
        phase_seconds[phase], phase_end = end - phase_end, end
    # G_θ is the pretrained one until the adversarial phase starts (the MLE control trains a copy).
    start = float([r for r in rows if r["phase"] != "adversarial"][-1]["elapsed_s"])
    curve = [(0, start, float(pretrained[-1]["nll_oracle"]))]
    curve += [(int(r["epoch"]), float(r["elapsed_s"]), float(r["nll_oracle"])) for r in adversarial]
    return RunResult(
        path=path,
        preset=preset_of(config),
        seed=config.seed,
        adversarial_epochs_done=int(epochs[-1]["epoch"]),
        adversarial_epochs=config.adversarial_epochs,
        nll_pretrained=float(pretrained[-1]["nll_oracle"]),
        nll_mle_end=float(mle[-1]["nll_oracle"]) if mle else None,
        nll_seqgan_end=float(adversarial[-1]["nll_oracle"]),
        nll_seqgan_tail=statistics.fmean(float(r["nll_oracle"]) for r in adversarial[-TAIL:]),
        training_hours=float(rows[-1]["elapsed_s"]) / 3600,
        median_adversarial_epoch_s=statistics.median(per_epoch),
        phase_seconds=phase_seconds,
        curve=curve,
    )


def compare(
    paper: Sequence[RunResult], fast: Sequence[RunResult], tolerance: float, max_hours: float
) -> dict[str, Any]:
    """The two targets: ``fast`` within ``tolerance`` of the ``paper`` NLL-oracle, in ``max_hours``."""
    paper_nll = statistics.fmean(r.nll_seqgan_end for r in paper)
    fast_nll = statistics.fmean(r.nll_seqgan_end for r in fast)
    paper_tail = statistics.fmean(r.nll_seqgan_tail for r in paper)
    fast_tail = statistics.fmean(r.nll_seqgan_tail for r in fast)
    return {
        "paper_nll_oracle": paper_nll,
        "fast_nll_oracle": fast_nll,
        "fast_minus_paper": fast_nll - paper_nll,
        "fast_minus_paper_tail": fast_tail - paper_tail,
        "quality_met": round(fast_nll - paper_nll, 9) <= tolerance,  # 8.75 - 8.70 is 0.0500000000000007
        "fast_max_hours": max(r.training_hours for r in fast),
        "time_met": max(r.training_hours for r in fast) <= max_hours,
        "all_finished": all(r.finished for r in (*paper, *fast)),
    }


def report(
    paper: Sequence[RunResult],
    fast: Sequence[RunResult],
    verdict: dict[str, Any],
    tolerance: float,
    max_hours: float,
    out: Path,
) -> list[str]:
    """The markdown report's lines; runs are linked relative to the report's path ``out``."""

    def row(r: RunResult) -> str:
        done = "" if r.finished else f" (unfinished: {r.adversarial_epochs_done} of {r.adversarial_epochs})"
        mle = "" if r.nll_mle_end is None else f"{r.nll_mle_end:.3f}"
        link = Path(os.path.relpath(r.path.resolve(), out.resolve().parent)).as_posix()
        return (
            f"| [{link}]({link}/) | {r.preset}{done} | {r.seed} | {r.adversarial_epochs_done} | "
            f"{r.nll_pretrained:.3f} | {mle} | {r.nll_seqgan_end:.3f} | {r.nll_seqgan_tail:.3f} | "
            f"{r.training_hours:.2f} | {r.median_adversarial_epoch_s:.1f} |"
        )

    def met(flag: bool) -> str:
        return "met" if flag else "**not met**"

    lines = [
        "# The `fast` preset against the `paper` preset",
        "",
        f"`python benchmarks/presets.py --paper {' '.join(str(r.path) for r in paper)} "
        f"--fast {' '.join(str(r.path) for r in fast)}`",
        "",
        "| run | preset | seed | adversarial epochs | NLL-oracle pretrained | MLE continued, end | SeqGAN, end | "
        f"SeqGAN, mean of last {TAIL} evaluations | training (h) | adversarial epoch, median (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *(row(r) for r in (*paper, *fast)),
        "",
        f"- SeqGAN's final NLL-oracle: `fast` {verdict['fast_nll_oracle']:.3f} (mean of {len(fast)}), "
        f"`paper` {verdict['paper_nll_oracle']:.3f} (mean of {len(paper)}); `fast` − `paper` "
        f"**{verdict['fast_minus_paper']:+.3f}** (over the last {TAIL} evaluations: "
        f"{verdict['fast_minus_paper_tail']:+.3f}). Target `fast` − `paper` <= {tolerance}: "
        f"{met(verdict['quality_met'])}.",
        f"- Longest `fast` run: {verdict['fast_max_hours']:.2f} h of training. Target <= {max_hours:g} h: "
        f"{met(verdict['time_met'])}.",
    ]
    if not verdict["all_finished"]:
        lines.append(
            "- Some runs are unfinished (marked): their numbers stop where the run stopped, and a verdict "
            "that takes them in holds for that point, not for the full schedule."
        )

    def minutes(r: RunResult, phase: str) -> str:
        return f"{r.phase_seconds[phase] / 60:,.1f}" if phase in r.phase_seconds else ""

    lines += [
        "",
        "Training time by phase (min):",
        "",
        f"| run | {' | '.join(PHASE_NAMES.values())} | total |",
        f"|---|{'---|' * len(PHASE_NAMES)}---|",
        *(
            f"| {r.path.name} ({r.preset}, seed {r.seed}) | "
            f"{' | '.join(minutes(r, phase) for phase in PHASE_NAMES)} | {r.training_hours * 60:,.1f} |"
            for r in (*paper, *fast)
        ),
        "",
        "NLL-oracle: the oracle's mean NLL of 10,000 samples of the generator (nats per token), as each run "
        "evaluated it. Training time: the last row's `elapsed_s` in `metrics.csv` (pretraining, the MLE control "
        "and evaluations included); a phase's time runs from the previous phase's last row to its own. "
        "The median adversarial epoch is taken over the spans between consecutive "
        "evaluations in `elapsed_s`.",
        "",
    ]
    return lines


def plot(paper: Sequence[RunResult], fast: Sequence[RunResult], path: Path) -> Path:
    """SeqGAN's NLL-oracle from the end of pretraining, over adversarial epochs and over training hours."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    fig, (by_epoch, by_time) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=120, sharey=True)
    for runs, name, color in ((paper, "paper", "tab:red"), (fast, "fast", "tab:blue")):
        for i, r in enumerate(runs):
            epochs, seconds, nll = zip(*r.curve, strict=True)
            label = f"{name}, seed {r.seed}"
            alpha = 1.0 if i == 0 else 0.6
            by_epoch.plot(epochs, nll, color=color, alpha=alpha, label=label)
            by_time.plot([s / 3600 for s in seconds], nll, color=color, alpha=alpha, label=label)
    by_epoch.set_xlabel("adversarial epoch")
    by_epoch.set_ylabel("NLL-oracle (nats per token)")
    by_time.set_xlabel("training time (h), pretraining included")
    by_time.set_xscale("log")
    for ax in (by_epoch, by_time):
        ax.grid(alpha=0.3)
    by_epoch.legend()
    fig.suptitle("SeqGAN on the synthetic oracle: the fast preset against the paper preset")
    fig.tight_layout()
    return atomic_write_png(path, fig)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--paper", type=Path, nargs="+", required=True, help="run folders of the paper preset")
    parser.add_argument("--fast", type=Path, nargs="+", required=True, help="run folders of the fast preset")
    parser.add_argument("--tolerance", type=float, default=0.05, help="NLL-oracle margin (default 0.05)")
    parser.add_argument("--max-hours", type=float, default=3.0, help="training time target (default 3)")
    parser.add_argument("--out", type=Path, default=Path("docs/results/presets.md"), help="the report (markdown)")
    args = parser.parse_args(argv)
    if not (math.isfinite(args.tolerance) and args.tolerance >= 0):
        parser.error(f"--tolerance {args.tolerance}: must be a finite number >= 0")
    if not (math.isfinite(args.max_hours) and args.max_hours > 0):
        parser.error(f"--max-hours {args.max_hours}: must be a finite number > 0")
    try:
        paper, fast = [read_run(p) for p in args.paper], [read_run(p) for p in args.fast]
    except (ValueError, TypeError, KeyError) as err:  # JSONDecodeError is a ValueError
        parser.error(str(err))
    for option, runs, preset in (("--paper", paper, "paper"), ("--fast", fast, "fast")):
        wrong = [str(r.path) for r in runs if r.preset != preset]
        if wrong:
            parser.error(
                f"{option}: {wrong} did not run the {preset} preset (their config.json differs beyond the seed)"
            )
    verdict = compare(paper, fast, args.tolerance, args.max_hours)
    write_report(report(paper, fast, verdict, args.tolerance, args.max_hours, args.out), args.out)
    plot(paper, fast, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}", file=sys.stderr)
    return verdict


if __name__ == "__main__":
    main()
