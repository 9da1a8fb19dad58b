"""PG-BLEU's reward settings, which the paper does not state: BLEU order × smoothing × reference set.

    python benchmarks/pg_bleu_sensitivity.py --oracle-file target_params_py3.pkl [--train-epochs 20] [--out report.md]

Two measurements per setting (BLEU-2/3/4 × smoothing none / method1 × reference share of the real
set, 100%, 40% and 10%):

* The reward itself, with no training: the mean BLEU of fresh oracle samples (the real distribution)
  and the share of them that score exactly 0, and the *sharpening ratio*: the mean BLEU of the
  oracle's samples at τ = 0.7 over that at τ = 1. A ratio above 1 means the reward prefers the
  oracle's likeliest sequences to the real distribution itself, so a policy gradient on it is pulled
  towards sharpening (lower NLL-oracle, worse NLL-test) whatever G_θ learns.
* With ``--train-epochs E > 0``: E PG-BLEU epochs from one shared pretrained G_θ (the ``fast``
  preset's 50 MLE epochs of ``--seed``, trained once), then NLL-oracle and NLL-test of the final
  generator on 10,000 samples. The PG-BLEU units are seeded from their own index, not from 50 + index
  as in a whole run, so their numbers are another draw of the same experiment.

The report (markdown) has one table per measurement, the default setting marked.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from _timing import write_report  # benchmarks/_timing.py (scripts run from their folder)

from agents.cli.common import oracle_file
from agents.experiment.checkpoint import file_sha256
from agents.experiment.config import MAX_SEED, PRESETS, SeqGANConfig
from agents.experiment.run_benchmark import RunBenchmark, bleu_references
from agents.experiment.seqgan import SeqGANTrainer
from seqgan_gym.metrics import BLEUScorer

ORDERS = (2, 3, 4)
SMOOTHINGS = ("none", "method1")
FRACTIONS = (1.0, 0.4, 0.1)
SHARP_TEMPERATURE = 0.7


def settings() -> list[tuple[int, str, float]]:
    """Every (BLEU order, smoothing, reference share) the report measures."""
    return list(itertools.product(ORDERS, SMOOTHINGS, FRACTIONS))


def is_default(setting: tuple[int, str, float]) -> bool:
    default = SeqGANConfig()
    return setting == (default.bleu_max_n, default.bleu_smoothing, default.bleu_reference_fraction)


def reward_rows(config: SeqGANConfig, n_hypotheses: int) -> list[dict[str, Any]]:
    """The reward of each setting on fresh oracle samples at τ = 1 and τ = 0.7 (no training)."""
    benchmark = RunBenchmark.load(config)
    oracle = benchmark.oracle
    assert oracle is not None
    real = benchmark.real_data(config)
    stream = torch.Generator().manual_seed(12345)  # a stream of its own: not the real set's samples
    samples = {tau: oracle.sample(n_hypotheses, generator=stream, temperature=tau) for tau in (1.0, SHARP_TEMPERATURE)}
    rows = []
    for order, smoothing, fraction in settings():
        scorer = BLEUScorer(bleu_references(real, fraction, config.seed).tolist(), order, smoothing)
        at_one = scorer.sentence_scores(samples[1.0].tolist())
        sharp = scorer.sentence_scores(samples[SHARP_TEMPERATURE].tolist())
        rows.append(
            {
                "setting": (order, smoothing, fraction),
                "mean": float(at_one.mean()),
                "zero": float((at_one == 0).mean()),
                "ratio": float(sharp.mean() / at_one.mean()) if at_one.mean() > 0 else float("nan"),
            }
        )
    return rows


def train_rows(config: SeqGANConfig, epochs: int) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """``epochs`` PG-BLEU epochs of each setting from one pretrained G_θ: final NLL-oracle and NLL-test."""
    pretraining = dataclasses.replace(config, method="pg_bleu", adversarial_epochs=0, mle_continuation_epochs=0)
    trainer = SeqGANTrainer(pretraining)
    trainer.run()
    start = {k: v.clone() for k, v in trainer.generator.state_dict().items()}
    pretrained = trainer.evaluate(trainer.generator)
    rows = []
    for order, smoothing, fraction in settings():
        variant = dataclasses.replace(
            pretraining,
            mle_epochs=0,
            adversarial_epochs=epochs,
            eval_every=epochs,
            bleu_max_n=order,
            bleu_smoothing=smoothing,
            bleu_reference_fraction=fraction,
        )
        run = SeqGANTrainer(variant)
        run.generator.load_state_dict(start)
        run.rollout_policy.load_state_dict(start)  # β ← θ at the start of the method, as after pretraining
        began = time.perf_counter()
        final = run.run()[-1]
        rows.append(
            {
                "setting": (order, smoothing, fraction),
                "nll_oracle": final["nll_oracle"],
                "nll_test": final["nll_test"],
                "mean_reward": final["mean_reward"],
                "seconds": time.perf_counter() - began,
            }
        )
        print(f"{order} {smoothing} {fraction}: {rows[-1]}", flush=True)
    return pretrained, rows


def _oracle_name(config: SeqGANConfig) -> str:
    if config.oracle_file is None:
        return f"seeded ({config.oracle_seed})"
    return f"{Path(config.oracle_file).name} (sha256 {file_sha256(config.oracle_file)[:8]}…)"


def _label(setting: tuple[int, str, float]) -> str:
    order, smoothing, fraction = setting
    mark = " **(default)**" if is_default(setting) else ""
    return f"BLEU-{order} | {smoothing} | {fraction:.0%}{mark}"


def report(
    config: SeqGANConfig,
    rewards: list[dict[str, Any]],
    trained: tuple[dict[str, float], list[dict[str, Any]]] | None,
    n_hypotheses: int,
    epochs: int,
) -> list[str]:
    lines = [
        "# PG-BLEU's reward settings",
        "",
        f"Oracle: {_oracle_name(config)}; real set {config.n_real:,} sequences; "
        f"references drawn by seed {config.seed}; {n_hypotheses:,} fresh oracle samples per temperature.",
        "",
        "## The reward, without training",
        "",
        f"| order | smoothing | references | mean BLEU of real samples | share scoring 0 "
        f"| sharpening ratio (τ = {SHARP_TEMPERATURE} / τ = 1) |",
        "|---|---|---|---|---|---|",
    ]
    for row in rewards:
        lines.append(f"| {_label(row['setting'])} | {row['mean']:.4f} | {row['zero']:.1%} | {row['ratio']:.3f} |")
    if trained is not None:
        pretrained, rows = trained
        lines += [
            "",
            f"## {epochs} PG-BLEU epochs from one pretrained G_θ",
            "",
            f"Pretrained G_θ ({config.mle_epochs} MLE epochs, seed {config.seed}): NLL-oracle "
            f"{pretrained['nll_oracle']:.3f}, NLL-test {pretrained['nll_test']:.3f}.",
            "",
            "| order | smoothing | references | NLL-oracle | NLL-test | last mean reward | seconds |",
            "|---|---|---|---|---|---|---|",
        ]
        for row in rows:
            lines.append(
                f"| {_label(row['setting'])} | {row['nll_oracle']:.3f} | {row['nll_test']:.3f} "
                f"| {row['mean_reward']:.4f} | {row['seconds']:.0f} |"
            )
    return lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--oracle-file", type=oracle_file, default=None, help="the authors' target_params_py3.pkl (default: seeded)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the run's seed: references and pretraining")
    parser.add_argument("--n-hypotheses", type=int, default=2000, help="oracle samples per temperature")
    parser.add_argument("--train-epochs", type=int, default=0, help="PG-BLEU epochs per setting (0: no training)")
    parser.add_argument("--out", type=Path, default=Path("pg_bleu_sensitivity.md"))
    args = parser.parse_args(argv)
    if args.n_hypotheses < 1 or args.train_epochs < 0:
        parser.error("--n-hypotheses must be >= 1 and --train-epochs >= 0")
    if not 0 <= args.seed <= MAX_SEED:
        parser.error(f"--seed must be in [0, {MAX_SEED}], got {args.seed}")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    config = dataclasses.replace(PRESETS["fast"], oracle_file=args.oracle_file, seed=args.seed)
    rewards = reward_rows(config, args.n_hypotheses)
    trained = train_rows(config, args.train_epochs) if args.train_epochs else None
    write_report(report(config, rewards, trained, args.n_hypotheses, args.train_epochs), args.out)


if __name__ == "__main__":
    main(sys.argv[1:])
