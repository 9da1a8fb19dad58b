"""Train SeqGAN on the synthetic oracle benchmark (the paper's Figure 2 and Table 1 setting).

The run follows the paper's Algorithm 1: MLE pretraining of G_θ, discriminator pretraining, then
adversarial epochs (one REINFORCE update with Monte Carlo rewards, the rollout-policy sync, the
discriminator rounds). Beside it, from the same pretrained G_θ, MLE training simply continues for
as many epochs: the control curve of Figure 2.

    python examples/train_oracle.py                       # the quick preset: a few minutes on 2 cores
    python examples/train_oracle.py --preset fast --out results/fast
    python examples/train_oracle.py --resume results/fast # continue an interrupted run

Writes to --out: config.json, metrics.csv (one row per epoch), tensorboard/, checkpoint.pt,
nll_oracle.png (Figure 2), and at the end samples.txt (the final 10k samples), generator.zip
(REINFORCE.load) and summary.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from _cli import (  # examples/_cli.py (scripts run from their folder)
    OneLineParser,
    existing_file,
    int_at_least,
    output_dir,
)

import seqgan_gym
from agents.seqgan import PRESETS, CheckpointError, SeqGANConfig, SeqGANTrainer, resolve_device
from seqgan_gym._malloc import keep_freed_memory

PRESET_HELP = {
    "quick": "minutes on 2 CPU cores: 10 MLE epochs, 5 small D rounds, 12 adversarial epochs, 2,000 eval samples",
    "fast": "under an hour on 2 CPU cores: 50 MLE epochs, 25 x 2 D rounds, 50 adversarial epochs, 1 small D round each",
    "paper": "the paper's schedule: 120 MLE epochs, D pretraining 50 x 3, 200 adversarial epochs "
    "(hours on 2 CPU cores)",
}


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds >= 0, got {text!r}")
    return value


def _device(text: str) -> str:
    try:
        resolve_device(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def _config_file(text: str) -> dict[str, Any]:
    """A JSON object of SeqGANConfig fields (e.g. another run's config.json), checked here."""
    try:
        values = json.loads(Path(existing_file(text)).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a JSON file: {err}") from None
    if not isinstance(values, dict):
        raise argparse.ArgumentTypeError(f"{text!r} must hold a JSON object of SeqGANConfig fields")
    try:
        SeqGANConfig.from_dict({**PRESETS["quick"].to_dict(), **_tuples(values)})
    except (TypeError, ValueError) as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err}") from None
    return values


def _tuples(values: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}  # JSON has no tuples


#: Options that override a preset's value, by SeqGANConfig field.
OVERRIDES = {
    "mle_epochs": "MLE pretraining epochs",
    "d_pretrain_rounds": "discriminator pretraining rounds",
    "adversarial_epochs": "adversarial epochs (one generator update each)",
    "n_eval": "samples scored by NLL-oracle at each evaluation",
    "eval_every": "epochs between evaluations",
}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="train_oracle.py",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="presets:\n"
        + "\n".join(f"  {name:6s} {text}" for name, text in PRESET_HELP.items())
        + "\nmeasured times and results: docs/results/README.md",
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None, help="schedule (default: quick)")
    parser.add_argument(
        "--config",
        type=_config_file,
        default=None,
        metavar="FILE",
        help="a JSON file of SeqGANConfig fields (e.g. a run's config.json), over the preset's",
    )
    parser.add_argument("--out", type=output_dir, default=None, help="output folder (default: results/<preset>)")
    parser.add_argument(
        "--oracle-file",
        type=existing_file,
        default=None,
        help="the paper's published oracle (a pickle of 15 numpy arrays); default: the seeded oracle",
    )
    parser.add_argument("--seed", type=int_at_least(0), default=None, help="seed of the run (default 0)")
    parser.add_argument("--device", type=_device, default="cpu", help="cpu (default), cuda or auto")
    parser.add_argument(
        "--resume", type=Path, default=None, metavar="DIR", help="continue the run in DIR from its last checkpoint"
    )
    parser.add_argument(
        "--checkpoint-every",
        type=_seconds,
        default=300.0,
        metavar="SECONDS",
        help="time between checkpoints (default 300; phase ends always checkpoint)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (evaluation lines only)")
    for field, text in OVERRIDES.items():
        minimum = 1 if field in ("n_eval", "eval_every") else 0
        parser.add_argument(
            f"--{field.replace('_', '-')}", type=int_at_least(minimum), default=None, help=f"{text} (preset's)"
        )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    run_options = ("preset", "config", "out", "oracle_file", "seed", *OVERRIDES)
    if args.resume is not None:
        given = [f"--{name.replace('_', '-')}" for name in run_options if getattr(args, name) is not None]
        if given:
            parser.error(f"--resume continues a run with its own configuration; drop {', '.join(given)}")
        try:
            existing_file(str(args.resume / "checkpoint.pt"))
        except argparse.ArgumentTypeError:
            parser.error(f"--resume: no checkpoint.pt in {str(args.resume)!r}")
    args.preset = args.preset or "quick"
    return args


def make_config(args: argparse.Namespace) -> SeqGANConfig:
    values = PRESETS[args.preset].to_dict()
    values.update(_tuples(args.config or {}))
    if args.seed is not None:
        values["seed"] = args.seed
    if args.oracle_file is not None:
        values["oracle_file"] = str(Path(args.oracle_file).resolve())
    for field in OVERRIDES:
        if getattr(args, field) is not None:
            values[field] = getattr(args, field)
    return SeqGANConfig.from_dict(values)


def log(message: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(message)  # keeps the progress bar below the lines
    sys.stdout.flush()


def print_row(row: dict[str, Any]) -> None:
    if "nll_oracle" not in row:
        return
    extra = "".join(
        f", {name} {row[name]:.4f}"
        for name in ("g_loss", "d_loss", "mean_reward", "d_acc_real", "d_acc_fake")
        if row.get(name) is not None
    )
    log(
        f"  {row['phase']:>16s} epoch {row['epoch']:4d}: nll_oracle {row['nll_oracle']:.4f}, "
        f"nll_test {row['nll_test']:.4f}{extra}  [{row['elapsed_s']:.0f} s]"
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    keep_freed_memory()  # reuse freed blocks, no page faults; process-wide, so set here (docs/design.md §4)
    args = parse_args(argv)
    started = time.perf_counter()
    log(f"seqgan-gym {seqgan_gym.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    try:
        if args.resume is not None:
            trainer = SeqGANTrainer.resume(args.resume, args.device, args.checkpoint_every, on_row=print_row)
            log(f"resuming {args.resume}/ at unit {trainer.units_done} of {len(trainer.units)}")
        else:
            config = make_config(args)
            out = args.out if args.out is not None else Path("results") / args.preset
            if (out / "checkpoint.pt").exists():
                raise SystemExit(
                    f"train_oracle.py: error: --out {str(out)!r} already holds a run: continue it with "
                    f"--resume {out}, or choose another --out"
                )
            log(f"preset {args.preset}: {PRESET_HELP[args.preset]}")
            log(f"building SeqGAN-Oracle-v0 (V={config.vocab_size}, T={config.seq_len}); results go to {out}/")
            trainer = SeqGANTrainer(config, out, args.device, args.checkpoint_every, on_row=print_row)
    except CheckpointError as err:
        raise SystemExit(f"train_oracle.py: error: --resume: {err}") from None
    cfg = trainer.config
    log(
        f"schedule: {cfg.mle_epochs} MLE epochs, {cfg.continuation_epochs} MLE-continuation epochs, "
        f"{cfg.d_pretrain_rounds} D rounds x {cfg.d_pretrain_epochs} epochs, {cfg.adversarial_epochs} adversarial "
        f"epochs (B={cfg.batch_size}, N={cfg.n_rollouts}, d-steps {cfg.d_steps} x {cfg.k_epochs} epochs)"
    )
    try:
        trainer.run(progress=not args.no_progress)
    except OSError as err:  # e.g. no space left: the last checkpoint is intact (written, then renamed)
        raise SystemExit(
            f"train_oracle.py: error: {err}; the last checkpoint is intact: continue with --resume {trainer.out_dir}"
        ) from None
    except FloatingPointError as err:
        raise SystemExit(f"train_oracle.py: error: training stopped: {err}") from None
    summary = trainer.summary()
    assert trainer.out_dir is not None
    log("done:")
    for key in ("nll_oracle_pretrained", "nll_oracle_seqgan", "nll_oracle_mle_continuation", "seqgan_minus_mle"):
        value = summary[key]
        log(f"  {key:28s} {'-' if value is None else f'{value:.4f}'}")
    log(f"  training time {summary['training_seconds']:.0f} s (this session {time.perf_counter() - started:.0f} s)")
    log(
        f"  wrote {trainer.out_dir}/: metrics.csv, nll_oracle.png, samples.txt, generator.zip, "
        "summary.json, tensorboard/, checkpoint.pt"
    )
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
