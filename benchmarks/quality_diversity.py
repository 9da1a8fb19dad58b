"""Quality against coverage: each generator of an oracle run sampled at temperatures τ.

    python benchmarks/quality_diversity.py RUN [RUN ...] [--temperatures 0.6 0.8 1.0 1.2 1.4] [--out report.md]

NLL-oracle rewards a sharper generator: sampling an MLE generator at τ < 1 lowers it with no
training at all (Caccia et al., "Language GANs Falling Short"). So a SeqGAN generator's lower
NLL-oracle is a gain only if it lies beyond the MLE generators' temperature frontier: lower
NLL-oracle (quality) at the same NLL-test (the generator's NLL of held-out real data: coverage).

For each RUN (a folder of ``examples/train_oracle.py`` with its ``checkpoint.pt``), three generators:
``pretrained`` (G_θ at the end of MLE pretraining, retrained here from the run's seed: the
pretraining units are deterministic, and the report checks the value against the run's),
``mle`` (Figure 2's control, MLE continued) and ``seqgan`` (G_θ after adversarial training). At
every τ: NLL-oracle of ``--n-samples`` samples drawn at τ and NLL-test of the run's held-out set
at τ (the same held-out set and oracle as the run). The report (markdown) says, for each run,
where the SeqGAN point (τ = 1) lies against each MLE frontier; a plot goes beside it (``.png``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from _timing import write_report  # benchmarks/_timing.py (scripts run from their folder)

from agents.cli.common import oracle_file
from agents.experiment.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint
from agents.experiment.config import MAX_SEED, SeqGANConfig
from agents.experiment.seqgan import SeqGANTrainer
from seqgan_gym._io import atomic_write_png
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.metrics import FrontierPoint, frontier_at, nll_oracle, nll_test
from seqgan_gym.sampling import check_temperature

TEMPERATURES = (0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.1, 1.2, 1.4)
GENERATORS = ("pretrained", "mle", "seqgan")
LABELS = {"pretrained": "pretrained (MLE)", "mle": "MLE continued", "seqgan": "SeqGAN"}


@dataclasses.dataclass
class RunFrontiers:
    """A run's three generators, each as points over the temperatures."""

    name: str
    pretrained_check: tuple[float, float]  # NLL-oracle of the retrained pretrained G: here, in the run
    frontiers: dict[str, list[FrontierPoint]]


def load_run(path: Path, oracle_file: str | None) -> tuple[SeqGANConfig, dict[str, object]]:
    """The run's config and checkpoint; a clear error where ``path`` is not a finished run of ours."""
    config_file, checkpoint_file = path / "config.json", path / CHECKPOINT_NAME
    if not config_file.is_file():
        raise ValueError(f"{path}: no config.json: not a run folder written by examples/train_oracle.py")
    data = json.loads(config_file.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{config_file}: not a JSON object of SeqGANConfig fields")
    if oracle_file is not None:
        data["oracle_file"] = oracle_file
    config = SeqGANConfig.from_dict(data)
    if config.method != "seqgan":
        raise ValueError(f"{path}: method {config.method!r}; the frontier compares SeqGAN runs")
    try:
        state = load_checkpoint(checkpoint_file)
    except CheckpointError as err:
        raise ValueError(f"{path}: {err}") from None
    if state["mle_generator"] is None:
        raise ValueError(f"{path}: the checkpoint is from before the end of pretraining; finish the run first")
    return config, state


def retrain_pretrained(config: SeqGANConfig) -> tuple[SeqGANTrainer, float]:
    """A trainer whose G_θ is the run's at the end of pretraining, and that G's NLL-oracle.

    Only the run's MLE units are run again: they are the first units of the run and seeded from
    ``(seed, unit index)``, so they repeat the run's pretraining bit for bit on the CPU. The trainer
    also holds the run's oracle and held-out set, built as the run built them.
    """
    only_mle = dataclasses.replace(config, d_pretrain_rounds=0, adversarial_epochs=0, mle_continuation_epochs=0)
    trainer = SeqGANTrainer(only_mle, out_dir=None)
    trainer.run()
    evaluated = [row["nll_oracle"] for row in trainer.rows if row.get("nll_oracle") is not None]
    return trainer, float(evaluated[-1])


def frontier(
    generator: LSTMGenerator, trainer: SeqGANTrainer, temperatures: Sequence[float], n_samples: int, seed: int
) -> list[FrontierPoint]:
    """The generator's (NLL-oracle, NLL-test) at each temperature; the same sampling stream for each."""
    points = []
    for temperature in temperatures:
        samples = generator.sample(n_samples, torch.Generator().manual_seed(seed), temperature=temperature)
        points.append(
            FrontierPoint(
                temperature,
                nll_oracle(trainer.oracle, samples),
                nll_test(generator, trainer.held_out, temperature=temperature),
            )
        )
    return points


def measure(
    path: Path, temperatures: Sequence[float], n_samples: int, seed: int, oracle_file: str | None
) -> RunFrontiers:
    config, state = load_run(path, oracle_file)
    trainer, retrained = retrain_pretrained(config)
    if trainer.oracle_sha256 != state["oracle_sha256"]:
        raise ValueError(f"{path}: the oracle file differs from the one the run used (SHA-256)")
    generators = {"pretrained": trainer.generator.eval()}
    for name, key in (("mle", "mle_generator"), ("seqgan", "generator")):
        generator = LSTMGenerator(config.vocab_size, config.seq_len, config.emb_dim, config.hidden_dim)
        generator.load_state_dict(state[key])  # type: ignore[arg-type]
        generators[name] = generator.eval()
    rows: list[dict[str, object]] = state["rows"]  # type: ignore[assignment]
    in_run = [r["nll_oracle"] for r in rows if r["phase"] == "mle" and r.get("nll_oracle") is not None]
    check = (retrained, float(in_run[-1]) if in_run else float("nan"))  # type: ignore[arg-type]
    frontiers = {name: frontier(generators[name], trainer, temperatures, n_samples, seed) for name in GENERATORS}
    return RunFrontiers(path.name, check, frontiers)


def verdict(run: RunFrontiers) -> list[str]:
    """Where SeqGAN's τ = 1 point lies against each MLE generator's frontier, as report lines."""
    seqgan = next(p for p in run.frontiers["seqgan"] if p.temperature == 1.0)
    lines = []
    for name in ("pretrained", "mle"):
        at = frontier_at(run.frontiers[name], seqgan.coverage)
        if at is None:
            lines.append(
                f"- {LABELS[name]}: no τ in the sweep reaches SeqGAN's NLL-test {seqgan.coverage:.4f}; "
                "widen `--temperatures`."
            )
            continue
        frontier_oracle, tau = at
        gap = seqgan.quality - frontier_oracle
        where = "beyond (lower NLL-oracle)" if gap < 0 else "behind (higher NLL-oracle)"
        lines.append(
            f"- {LABELS[name]}: at SeqGAN's NLL-test {seqgan.coverage:.4f} (τ ≈ {tau:.3f}) its frontier has "
            f"NLL-oracle {frontier_oracle:.4f}; SeqGAN's {seqgan.quality:.4f} is {abs(gap):.4f} {where}."
        )
    return lines


def report(runs: Sequence[RunFrontiers], command: str, n_samples: int) -> list[str]:
    lines = [
        "# Quality against coverage over temperature",
        "",
        f"`{command}`",
        "",
        f"NLL-oracle: the oracle's NLL of {n_samples:,} samples drawn at τ (quality, lower is better). NLL-test: the "
        "generator's NLL at τ of the run's held-out real set (coverage, lower is better).",
        "",
    ]
    for run in runs:
        retrained, in_run = run.pretrained_check
        same = "the same" if abs(retrained - in_run) < 1e-6 else "DIFFERENT: the frontier is not the run's"
        lines += [
            f"## {run.name}",
            "",
            f"Pretrained G retrained from the run's seed: NLL-oracle {retrained:.6f}, "
            f"in the run {in_run:.6f} ({same}).",
            "",
            "| τ | " + " | ".join(f"{LABELS[g]} NLL-oracle | NLL-test" for g in GENERATORS) + " |",
            "|---|" + "---|---|" * len(GENERATORS),
        ]
        for i, temperature in enumerate(p.temperature for p in run.frontiers["seqgan"]):
            cells = " | ".join(
                f"{run.frontiers[g][i].quality:.4f} | {run.frontiers[g][i].coverage:.4f}" for g in GENERATORS
            )
            lines.append(f"| {temperature:g} | {cells} |")
        lines += ["", "SeqGAN at τ = 1 against the MLE frontiers:", "", *verdict(run), ""]
    if len(runs) > 1:
        lines += ["## Mean over runs", "", "| generator | τ | NLL-oracle | NLL-test |", "|---|---|---|---|"]
        for g in GENERATORS:
            for i, temperature in enumerate(p.temperature for p in runs[0].frontiers[g]):
                oracle = statistics.fmean(run.frontiers[g][i].quality for run in runs)
                test = statistics.fmean(run.frontiers[g][i].coverage for run in runs)
                lines.append(f"| {LABELS[g]} | {temperature:g} | {oracle:.4f} | {test:.4f} |")
        lines.append("")
    return lines


def plot(runs: Sequence[RunFrontiers], path: Path) -> Path:
    """One panel per run: each generator's frontier, NLL-test across, NLL-oracle up, τ marked."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(runs), figsize=(5.2 * len(runs), 4.4), dpi=120, squeeze=False)
    for ax, run in zip(axes[0], runs, strict=True):
        for g, style in zip(GENERATORS, ("o-", "s-", "^-"), strict=True):
            points = run.frontiers[g]
            ax.plot([p.coverage for p in points], [p.quality for p in points], style, ms=4, label=LABELS[g])
            one = next(p for p in points if p.temperature == 1.0)
            ax.plot([one.coverage], [one.quality], "k*", ms=10)
            for p in points[:: max(1, len(points) // 5)]:
                ax.annotate(f"{p.temperature:g}", (p.coverage, p.quality), fontsize=7, alpha=0.7)
        ax.set_title(run.name)
        ax.set_xlabel("NLL-test (coverage; lower is better)")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("NLL-oracle (quality; lower is better)")
    axes[0][0].legend(fontsize=8, title="★ τ = 1", title_fontsize=8)
    fig.tight_layout()
    return atomic_write_png(path, fig)


def main(argv: Sequence[str] | None = None) -> list[RunFrontiers]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", metavar="RUN", help="finished run folders with checkpoint.pt")
    parser.add_argument("--temperatures", type=float, nargs="+", default=list(TEMPERATURES), metavar="TAU")
    parser.add_argument("--n-samples", type=int, default=10_000, help="samples per generator and τ (default 10,000)")
    parser.add_argument("--seed", type=int, default=0, help="the sampling stream's seed (the same for every point)")
    parser.add_argument(
        "--oracle-file", type=oracle_file, default=None, help="where the run's oracle file is now, if it moved"
    )
    parser.add_argument("--out", type=Path, default=Path("quality_diversity.md"), help="the report (markdown)")
    args = parser.parse_args(argv)
    try:
        temperatures = sorted({check_temperature(t) for t in args.temperatures} | {1.0})
    except ValueError as err:
        parser.error(f"--temperatures: {err}")
    if args.n_samples < 1:
        parser.error(f"--n-samples must be an integer >= 1, got {args.n_samples}")
    if not 0 <= args.seed <= MAX_SEED:
        parser.error(f"--seed must be an integer in [0, {MAX_SEED}], got {args.seed}")
    runs = []
    for path in args.runs:
        start = time.perf_counter()
        try:
            runs.append(measure(path, temperatures, args.n_samples, args.seed, args.oracle_file))
        except (ValueError, OSError) as err:  # JSONDecodeError is a ValueError
            parser.error(str(err))
        print(f"{path}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    command = "python benchmarks/quality_diversity.py " + " ".join(
        [*(str(p) for p in args.runs), "--temperatures", *(f"{t:g}" for t in temperatures), "--out", str(args.out)]
    )
    write_report(report(runs, command, args.n_samples), args.out)
    plot(runs, args.out.with_suffix(".png"))
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}", file=sys.stderr)
    return runs


if __name__ == "__main__":
    main()
