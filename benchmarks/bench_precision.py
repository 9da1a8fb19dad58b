"""What bfloat16 changes in the discriminator: its scores, and the training curve of a whole run.

    python benchmarks/bench_precision.py [--preset quick] [--seeds 0 1] [--out docs/results/precision]

1. D(Y) in bfloat16 against float32 (``Discriminator(precision=...)``), paper's sizes, on 20,000
   sequences: an untrained D, and the same D after 3 epochs of training on 10,000 oracle samples
   against 10,000 sequences of an untrained generator (a D that is sure of itself).
2. The same run (``--preset``, each seed) with ``discriminator_precision="float32"`` and
   ``"bfloat16"``: NLL-oracle at every evaluation, side by side; the spread between seeds is the
   run-to-run noise the difference is measured against.

Writes ``report.md``, ``curves.csv`` and ``nll_oracle.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import io
import statistics
import time
from pathlib import Path

import torch

from agents.experiment.seqgan import PRESETS, SeqGANTrainer
from agents.pretraining import discriminator_optimizer, train_discriminator
from seqgan_gym._io import atomic_write_png, atomic_write_text
from seqgan_gym._malloc import keep_freed_memory
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.oracle import OracleLSTM

PRECISIONS = ("float32", "bfloat16")


def score_differences(n: int = 20_000) -> list[tuple[str, float, float]]:
    """``(D, max |ΔD|, mean |ΔD|)`` between bfloat16 and float32 scores, before and after training."""
    torch.manual_seed(0)
    oracle = OracleLSTM.seeded()
    real = oracle.sample(10_000, generator=torch.Generator().manual_seed(1))
    fake = LSTMGenerator(generator=torch.Generator().manual_seed(2)).sample(10_000, torch.Generator().manual_seed(3))
    tokens = torch.cat([oracle.sample(n // 2, torch.Generator().manual_seed(4)), fake[: n // 2]])
    disc = Discriminator(precision="float32")
    out = []
    for name in ("untrained", "after 3 epochs"):
        if name != "untrained":
            train_discriminator(disc, real, fake, discriminator_optimizer(disc), epochs=3)
        exact = disc.prob_real(tokens)
        disc.precision = "bfloat16"
        difference = (disc.prob_real(tokens) - exact).abs()
        disc.precision = "float32"
        out.append(
            (
                f"{name} (mean D: real {exact[: n // 2].mean():.3f}, generated {exact[n // 2 :].mean():.3f})",
                float(difference.max()),
                float(difference.mean()),
            )
        )
    return out


def main(argv: list[str] | None = None) -> None:
    keep_freed_memory()  # reuse freed blocks, no page faults; process-wide, so set here (docs/design.md §4)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="quick", help="the run to repeat (default: quick)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="run seeds (default: 0 1)")
    parser.add_argument("--out", type=Path, default=Path("docs/results/precision"), help="output folder")
    args = parser.parse_args(argv)
    if any(seed < 0 for seed in args.seeds) or len(set(args.seeds)) != len(args.seeds):
        parser.error(f"--seeds must be distinct integers >= 0, got {args.seeds}")

    scores = score_differences()
    curves: dict[tuple[str, int], list[tuple[int, str, float]]] = {}
    seconds: dict[tuple[str, int], float] = {}
    for seed in args.seeds:
        for precision in PRECISIONS:
            config = dataclasses.replace(PRESETS[args.preset], seed=seed, discriminator_precision=precision)
            start = time.perf_counter()
            trainer = SeqGANTrainer(config)
            trainer.run()
            seconds[precision, seed] = time.perf_counter() - start
            curves[precision, seed] = [
                (r["step"], r["phase"], r["nll_oracle"]) for r in trainer.rows if r.get("nll_oracle") is not None
            ]
            print(
                f"seed {seed} {precision}: {trainer.summary()['nll_oracle_seqgan']:.4f} "
                f"({seconds[precision, seed]:.0f} s)",
                flush=True,
            )

    def adversarial(precision: str, seed: int) -> list[float]:
        return [v for _, phase, v in curves[precision, seed] if phase == "adversarial"]

    precision_gaps = [
        max(abs(a - b) for a, b in zip(adversarial("float32", s), adversarial("bfloat16", s), strict=True))
        for s in args.seeds
    ]
    finals = {key: adversarial(*key)[-1] for key in curves}
    lines = [
        f"# bfloat16 in the discriminator: `python benchmarks/bench_precision.py --preset {args.preset}`",
        "",
        "## D(Y), bfloat16 against float32 (20,000 sequences, paper's sizes)",
        "",
        "| D | max abs difference | mean abs difference |",
        "|---|---|---|",
        *(f"| {name} | {mx:.2e} | {mean:.2e} |" for name, mx, mean in scores),
        "",
        f"## NLL-oracle of the `{args.preset}` run, D in float32 and in bfloat16",
        "",
        "| seed | float32, end | bfloat16, end | largest difference along the adversarial curve | "
        "wall time float32 / bfloat16 (s) |",
        "|---|---|---|---|---|",
        *(
            f"| {s} | {finals['float32', s]:.4f} | {finals['bfloat16', s]:.4f} | {gap:.4f} | "
            f"{seconds['float32', s]:.0f} / {seconds['bfloat16', s]:.0f} |"
            for s, gap in zip(args.seeds, precision_gaps, strict=True)
        ),
        "",
    ]
    if len(args.seeds) > 1:
        seed_gaps = [
            max(abs(a - b) for a, b in zip(adversarial(p, args.seeds[0]), adversarial(p, args.seeds[1]), strict=True))
            for p in PRECISIONS
        ]
        lines += [
            f"Run-to-run noise, the same measure between seeds {args.seeds[0]} and {args.seeds[1]}: "
            f"{seed_gaps[0]:.4f} (float32), {seed_gaps[1]:.4f} (bfloat16); ends "
            f"{statistics.mean(finals['float32', s] for s in args.seeds):.4f} (float32) and "
            f"{statistics.mean(finals['bfloat16', s] for s in args.seeds):.4f} (bfloat16) on average.",
            "",
        ]
    args.out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(args.out / "report.md", "\n".join(lines))
    table = io.StringIO()
    writer = csv.writer(table)
    writer.writerow(["seed", "precision", "step", "phase", "nll_oracle"])
    for (precision, seed), points in sorted(curves.items()):
        writer.writerows((seed, precision, step, phase, f"{value:.6f}") for step, phase, value in points)
    atomic_write_text(args.out / "curves.csv", table.getvalue())
    _plot(curves, args.out / "nll_oracle.png")
    print("\n".join(lines))


def _plot(curves: dict[tuple[str, int], list[tuple[int, str, float]]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for (precision, seed), points in sorted(curves.items()):
        steps = [s for s, phase, _ in points if phase in ("mle", "adversarial")]
        values = [v for _, phase, v in points if phase in ("mle", "adversarial")]
        ax.plot(steps, values, "-" if precision == "float32" else "--", label=f"D {precision}, seed {seed}")
    ax.set_xlabel("epoch (MLE pretraining, then adversarial)")
    ax.set_ylabel("NLL-oracle")
    ax.legend(fontsize=8)
    fig.tight_layout()
    atomic_write_png(path, fig)


if __name__ == "__main__":
    main()
