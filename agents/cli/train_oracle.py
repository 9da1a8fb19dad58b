"""Train SeqGAN on the synthetic oracle benchmark (the paper's Figure 2 and Table 1 setting).

The run follows the paper's Algorithm 1: MLE pretraining of G_θ, discriminator pretraining, then
adversarial epochs (one REINFORCE update with Monte Carlo rewards, the rollout-policy sync, the
discriminator rounds). Beside it, from the same pretrained G_θ, MLE training simply continues for
as many epochs: the control curve of Figure 2.

    seqgan-gym train-oracle                       # the quick preset: a few minutes on 2 cores
    seqgan-gym train-oracle --preset fast --out results/fast
    seqgan-gym train-oracle --resume results/fast # continue an interrupted run

(``python examples/train_oracle.py`` runs the same command from a clone.)

Sizes by flag, over the preset (and --config): --vocab-size, --seq-len, --n-samples (samples per
evaluation and in samples.txt). With --oracle-file the vocabulary is the file's.

Writes to --out: config.json, metrics.csv (one row per epoch), tensorboard/ (with a few samples of
each evaluation as text), checkpoint.pt, nll_oracle.png (Figure 2), and at the end samples.txt (the
final --n-samples samples: 2,000 for quick, 10,000 for fast and paper), generator.zip (REINFORCE.load)
and summary.json. A new run needs a new or empty --out; the folder is locked
(.lock) while a run writes there, so a second run into it, or --resume of it, is refused. Ctrl-C
or SIGTERM (kill, a batch scheduler) stops after the unit under way, with the --resume command to
continue (exit status 130).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import seqgan_gym
from agents.cli.common import (
    OneLineParser,
    bad_input,
    claim_run_folder,
    config_file,
    config_tuples,
    existing_file,
    int_at_least,
    int_in_range,
    log,
    output_dir,
    print_row,
    program,
    rerun,
    seed,
    stop_after_this_unit,
)
from agents.experiment.config import PRESETS, SeqGANConfig
from seqgan_gym._checks import MAX_N_SEQUENCES, MAX_SEQ_LEN, MAX_VOCAB_SIZE
from seqgan_gym._io import FolderInUseError
from seqgan_gym._malloc import keep_freed_memory
from seqgan_gym.rewards import get_reward

# torch, the trainer and the oracle are imported where a run needs them: ``--help`` answers at once.
if TYPE_CHECKING:
    from agents.experiment.seqgan import SeqGANTrainer

PROG = program("train-oracle", "train_oracle.py")

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
    from agents.experiment.seqgan import resolve_device

    try:
        resolve_device(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


#: Options that override a preset's (and --config's) value, by SeqGANConfig field: (help, argparse type).
OVERRIDES: dict[str, tuple[str, Callable[[str], int]]] = {
    "vocab_size": ("vocabulary size V; with --oracle-file, the file's", int_in_range(2, MAX_VOCAB_SIZE)),
    "seq_len": ("sequence length T", int_in_range(1, MAX_SEQ_LEN)),
    "mle_epochs": ("MLE pretraining epochs", int_at_least(0)),
    "d_pretrain_rounds": ("discriminator pretraining rounds", int_at_least(0)),
    "adversarial_epochs": ("adversarial epochs (one generator update each)", int_at_least(0)),
    "n_eval": (
        "samples per evaluation (also NLL-test's held-out set) and in samples.txt",
        int_in_range(1, MAX_N_SEQUENCES),
    ),
    "eval_every": ("epochs between evaluations", int_at_least(1)),
}
#: The options of the fields whose name is not the option's; the second name is an alias.
OPTION_NAMES = {"n_eval": ("--n-samples", "--n-eval")}


def option(field: str) -> str:
    """The command-line option that sets SeqGANConfig ``field``."""
    return OPTION_NAMES.get(field, (f"--{field.replace('_', '-')}",))[0]


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG,
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="presets:\n"
        + "\n".join(f"  {name:6s} {text}" for name, text in PRESET_HELP.items())
        + "\nmeasured times and results: docs/results/README.md",
    )
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None, help="schedule (default: quick)")
    parser.add_argument(
        "--config",
        type=config_file,
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
    parser.add_argument("--seed", type=seed, default=None, help="seed of the run, 0 to 2**32 - 1 (default 0)")
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
    for field, (text, kind) in OVERRIDES.items():
        names = OPTION_NAMES.get(field, (option(field),))
        parser.add_argument(
            *names, dest=field, type=kind, default=None, metavar="N", help=f"{text} (default: the preset's)"
        )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    run_options = ("preset", "config", "out", "oracle_file", "seed", *OVERRIDES)
    if args.resume is not None:
        given = [option(name) for name in run_options if getattr(args, name) is not None]
        if given:
            parser.error(f"--resume continues a run with its own configuration; drop {', '.join(given)}")
        try:
            existing_file(str(args.resume / "checkpoint.pt"))
        except argparse.ArgumentTypeError:
            parser.error(f"--resume: no checkpoint.pt in {str(args.resume)!r}")
    args.preset = args.preset or "quick"
    if args.resume is None and args.out is None:
        args.out = Path("results") / args.preset
    args.oracle_vocab_size = None
    if args.oracle_file is not None:  # the oracle's vocabulary is the run's: read it from the file now
        from seqgan_gym.oracle import OracleLoadError, OracleLSTM

        try:
            args.oracle_vocab_size = OracleLSTM.from_paper_file(args.oracle_file).vocab_size
        except OracleLoadError as err:
            parser.error(f"--oracle-file: {err}")
        name, vocab_size = ("--vocab-size", args.vocab_size)  # the flag, else --config's field
        if vocab_size is None:
            name, vocab_size = "--config", (args.config or {}).get("vocab_size")
        if vocab_size is not None and vocab_size != args.oracle_vocab_size:
            parser.error(
                f"{name} sets vocab_size={vocab_size}, but --oracle-file's oracle has a vocabulary of "
                f"{args.oracle_vocab_size}: drop {name}'s vocab_size, or choose another oracle file"
            )
    if args.resume is None:
        try:  # e.g. --seq-len below --config's discriminator filter widths
            config = make_config(args)
        except (TypeError, ValueError) as err:
            parser.error(f"{', '.join(changed_by(args)) or '--preset'}: {err}")
        if config.is_text:
            parser.error(
                f"--config names a corpus ({config.corpus!r}): a text run's configuration; run it with train-text"
            )
    return args


def changed_by(args: argparse.Namespace) -> list[str]:
    """The options that change the preset's configuration."""
    changed = ["--config"] if args.config else []
    return changed + [option(name) for name in ("seed", "oracle_file", *OVERRIDES) if getattr(args, name) is not None]


def make_config(args: argparse.Namespace) -> SeqGANConfig:
    values = PRESETS[args.preset].to_dict()
    values.update(config_tuples(args.config or {}))
    if args.seed is not None:
        values["seed"] = args.seed
    if args.oracle_file is not None:
        values["oracle_file"] = str(Path(args.oracle_file).resolve())
        values["vocab_size"] = args.oracle_vocab_size
    for field in OVERRIDES:
        if getattr(args, field) is not None:
            values[field] = getattr(args, field)
    return SeqGANConfig.from_dict(values)


def describe_config(args: argparse.Namespace, config: SeqGANConfig) -> str:
    """Where the run's configuration comes from: the preset as it is, or what changed it."""
    if config == PRESETS[args.preset]:
        return f"preset {args.preset}: {PRESET_HELP[args.preset]}"
    changed = changed_by(args)
    return f"preset {args.preset}, changed by {', '.join(changed) or 'options'} (the schedule below is what runs)"


def describe_schedule(cfg: SeqGANConfig) -> str:
    """The schedule that will run, from the configuration itself (whatever set it)."""
    pretraining = f"{cfg.mle_epochs} MLE epochs, {cfg.continuation_epochs} MLE-continuation epochs"
    if cfg.is_adversarial:
        method = (
            f"{get_reward(cfg.method).label}: {cfg.d_pretrain_rounds} D rounds x {cfg.d_pretrain_epochs} epochs, "
            f"{cfg.adversarial_epochs} adversarial epochs (B={cfg.batch_size}, N={cfg.n_rollouts}, "
            f"d-steps {cfg.d_steps} x {cfg.k_epochs} epochs)"
        )
    elif cfg.method == "pg_bleu":
        method = (
            f"{cfg.adversarial_epochs} PG-BLEU epochs (B={cfg.batch_size}, N={cfg.n_rollouts}, BLEU-{cfg.bleu_max_n}, "
            f"smoothing {cfg.bleu_smoothing}, {cfg.bleu_reference_fraction:.0%} of the real set as references)"
        )
    else:
        method = (
            f"{cfg.adversarial_epochs} Scheduled Sampling epochs (B={cfg.batch_size}, {cfg.sampling_schedule} "
            f"schedule, k={cfg.sampling_k:g})"
        )
    return (
        f"schedule ({cfg.method}): {pretraining}, {method}; NLL-oracle of {cfg.n_eval:,} samples every {cfg.eval_every}"
    )


def _last_checkpoint(out: Path) -> str | None:
    """``"unit N of M"`` of the checkpoint in ``out``, or None if there is none to resume."""
    from agents.experiment.checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint

    try:
        state = load_checkpoint(out / CHECKPOINT_NAME)
    except CheckpointError:
        return None
    units = len(SeqGANConfig.from_dict(config_tuples(state["config"])).units())
    return f"unit {state['units_done']} of {units}"


def _resume_command(out: Path, args: argparse.Namespace) -> str:
    device = "" if args.device == "cpu" else f" --device {args.device}"
    return f"{rerun('train-oracle', 'train_oracle.py')} --resume {out}{device}"


def _resume_advice(out: Path, args: argparse.Namespace) -> str:
    """What to do after a stop: true to the folder as it is now (a checkpoint to resume, or none yet)."""
    at = _last_checkpoint(out)
    if at is None:
        return f"no checkpoint was written yet, so there is nothing to resume: remove {out}/ and start again"
    return f"the last checkpoint is intact ({at}): continue with {_resume_command(out, args)}"


def _start(args: argparse.Namespace, out: Path) -> SeqGANTrainer:
    """The trainer of the run: resumed from ``out``, or new; bad input exits with status 2."""
    from agents.experiment.seqgan import CheckpointError, SeqGANTrainer
    from seqgan_gym.oracle import OracleLoadError

    if args.resume is not None:
        try:
            trainer = SeqGANTrainer.resume(out, args.device, args.checkpoint_every, on_row=print_row)
        except CheckpointError as err:
            bad_input(PROG, f"--resume: {err}")
        if trainer.config.is_text:  # its BLEU table is train-text's
            bad_input(PROG, f"--resume: {str(out)!r} holds a text run: resume it with train-text")
        log(f"resuming {out}/ at unit {trainer.units_done} of {len(trainer.units)}")
        return trainer
    config = make_config(args)
    log(describe_config(args, config))
    log(f"building SeqGAN-Oracle-v0 (V={config.vocab_size}, T={config.seq_len}); results go to {out}/")
    try:
        return SeqGANTrainer(config, out, args.device, args.checkpoint_every, on_row=print_row)
    except OracleLoadError as err:
        bad_input(PROG, f"--oracle-file: {err}")
    except (TypeError, ValueError) as err:  # e.g. sizes beyond the memory of this machine
        bad_input(PROG, f"{'--config' if args.config else '--preset'}: cannot build this run: {err}")


def _interrupted(out: Path, args: argparse.Namespace) -> NoReturn:
    """Ctrl-C or SIGTERM: one line that says how to continue (the shell's convention: exit status 130)."""
    sys.stderr.write(f"{PROG}: interrupted; {_resume_advice(out, args)}\n")
    sys.stderr.flush()
    raise SystemExit(130)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    keep_freed_memory()  # reuse freed blocks, no page faults; process-wide, so set here (docs/design.md §4)
    args = parse_args(argv)
    import torch

    out: Path = args.resume if args.resume is not None else args.out
    started = time.perf_counter()
    log(f"seqgan-gym {seqgan_gym.__version__}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    try:
        with contextlib.ExitStack() as stack:  # the run folder stays locked until the process is done with it
            claim_run_folder(PROG, out, "--out" if args.resume is None else "--resume", args.resume is None, stack)
            trainer = _start(args, out)
            return _train(trainer, args, out, started)
    except KeyboardInterrupt:
        _interrupted(out, args)


def _train(trainer: SeqGANTrainer, args: argparse.Namespace, out: Path, started: float) -> dict[str, Any]:
    from agents.experiment.run_folder import RunFolderError

    log(describe_schedule(trainer.config))
    try:
        with stop_after_this_unit(trainer):
            trainer.run(progress=not args.no_progress)
    except (RunFolderError, FolderInUseError) as err:  # not expected: the folder was checked and locked above
        bad_input(PROG, str(err))
    except OSError as err:  # e.g. no space left: written files are whole (written, then renamed)
        raise SystemExit(f"{PROG}: error: {err}; {_resume_advice(out, args)}") from None
    except FloatingPointError as err:
        raise SystemExit(f"{PROG}: error: training stopped: {err}") from None
    summary = trainer.summary()
    method = summary["method"]  # the summary's keys name the method (SeqGAN, PG-BLEU, Scheduled Sampling)
    log("done:")
    for key in ("nll_oracle_pretrained", f"nll_oracle_{method}", "nll_oracle_mle_continuation", f"{method}_minus_mle"):
        value = summary[key]
        log(f"  {key:34s} {'-' if value is None else f'{value:.4f}'}")
    log(f"  training time {summary['training_seconds']:.0f} s (this session {time.perf_counter() - started:.0f} s)")
    log(
        f"  wrote {out}/: metrics.csv, nll_oracle.png, samples.txt, generator.zip, "
        "summary.json, tensorboard/, checkpoint.pt"
    )
    return summary


if __name__ == "__main__":
    main(sys.argv[1:])
