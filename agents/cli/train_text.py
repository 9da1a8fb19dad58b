"""SeqGAN and MLE on real text (SeqGAN-Text-v0): COCO captions, Chinese poems or your own corpus.

The paper's Algorithm 1 on text, run by the same resumable trainer as the oracle benchmark
(``SeqGANTrainer`` with a ``corpus``): MLE pretraining of G_θ, discriminator pretraining, then
adversarial epochs beside the MLE-only control. With no oracle to score samples, each evaluation
records NLL-test on the corpus' test sentences. Once the run is done, each generator draws
``--n-eval`` sentences: BLEU-2..5 against the test set (each sentence against all test sentences,
Texygen's definition), Self-BLEU-2..4 among the samples (lower is more diverse), and a row of real
training sentences for scale. BLEU is word-level whatever the tokenizer: samples are decoded to
text and split at whitespace, as Texygen scores them.

    seqgan-gym train-text --corpus coco --out results/text_coco
    seqgan-gym train-text --corpus poems --out results/text_poems
    seqgan-gym train-text --corpus train.txt --test-corpus test.txt --tokenizer char
    seqgan-gym train-text --resume results/text_coco      # continue an interrupted run
    seqgan-gym generate results/text_coco --n 5           # decoded samples of the trained G_θ

(``python examples/train_text.py`` runs the same command from a clone.)

``--tokenizer``: ``word`` (split at whitespace), ``char`` (characters, spaces kept) or the path of a
HuggingFace ``tokenizer.json`` (``pip install "seqgan-gym[text]"``). With ``--temperatures``, each
generator (and G_θ as pretraining left it) is also sampled at each τ, and BLEU-4 (quality) is set
against Self-BLEU-4: does SeqGAN lie beyond the MLE generators' temperature frontier, or on it?

Writes to --out (a new or empty folder, locked while the run goes on) the trainer's files
(config.json, vocabulary.json, metrics.csv, tensorboard/ with decoded samples, checkpoint.pt,
nll_test.png (Figure 2 with NLL-test), samples.txt, samples_text.txt, generator.zip, summary.json) and, at the
end, results.md and results.json (the BLEU table), samples_<method>.txt and samples_mle.txt, and
quality_diversity.md. Ctrl-C or SIGTERM stops after the unit under way, with the --resume command to continue
(exit status 130).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import seqgan_gym
from agents.cli.common import (
    OneLineParser,
    bad_input,
    claim_run_folder,
    corpus_name,
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
    temperature,
    test_corpus_file,
)
from agents.experiment.config import SeqGANConfig
from agents.experiment.text_runs import TEXT_DEFAULTS, text_config
from seqgan_gym._checks import MAX_N_SEQUENCES, MAX_SEQ_LEN
from seqgan_gym._malloc import keep_freed_memory
from seqgan_gym.rewards import REWARDS
from seqgan_gym.text import BUILTIN_CORPORA

# torch and the trainer are imported where a run needs them: ``--help`` answers at once.
if TYPE_CHECKING:
    from agents.experiment.seqgan import SeqGANTrainer

PROG = program("train-text", "train_text.py")


def train(trainer: SeqGANTrainer, progress: bool = False) -> None:
    """Run ``trainer`` to its end, keeping G_θ as pretraining left it (``pretrained_generator.pt``)."""
    import torch

    from agents.experiment.text_results import PRETRAINED_NAME

    assert trainer.out_dir is not None
    pretrained = trainer.out_dir / PRETRAINED_NAME
    with stop_after_this_unit(trainer):
        if trainer.units_done <= trainer.config.mle_epochs and not pretrained.exists():
            trainer.run(max_units=trainer.config.mle_epochs - trainer.units_done, progress=progress)
            buffer = trainer.out_dir / (PRETRAINED_NAME + ".tmp")
            torch.save(trainer.generator.state_dict(), buffer)
            buffer.replace(pretrained)  # whole or absent
        trainer.run(progress=progress)


def _tokenizer(text: str) -> str:
    if text in ("word", "char"):
        return text
    try:
        return existing_file(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected word, char or the path of a tokenizer.json, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = {**SeqGANConfig().to_dict(), **TEXT_DEFAULTS}
    parser.add_argument("--corpus", type=corpus_name, default="coco", help="coco (default), poems, or a text file")
    parser.add_argument("--test-corpus", type=test_corpus_file, default=None, help="test sentences for a corpus file")
    parser.add_argument(
        "--tokenizer", type=_tokenizer, default="word", help="word (default), char, or a tokenizer.json"
    )
    parser.add_argument("--seq-len", type=int_in_range(1, MAX_SEQ_LEN), default=None, help="T (default: the corpus')")
    parser.add_argument("--out", type=output_dir, default=None, help="output folder (default: results/text_<corpus>)")
    parser.add_argument("--resume", type=output_dir, default=None, metavar="OUT", help="continue the run in OUT")
    for name, minimum, text in (
        ("mle_epochs", 0, "MLE pretraining epochs"),
        ("d_pretrain_rounds", 0, "discriminator pretraining rounds"),
        ("adversarial_epochs", 0, "adversarial epochs (and MLE control epochs)"),
        ("n_rollouts", 1, "Monte Carlo completions per prefix"),
        ("n_negatives", 1, "negatives per discriminator round"),
        ("n_eval", 2, "samples scored per generator, and test sentences for NLL-test"),
        ("batch_size", 1, "sequences per generator update and MLE batch; at most the training sentences"),
    ):
        default = defaults[name]
        bounded = name in ("n_eval", "n_negatives")  # sizes of samples: bounded, as SeqGANConfig bounds them
        kind = int_in_range(minimum, MAX_N_SEQUENCES) if bounded else int_at_least(minimum)
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=f"{text} ({default})")
    parser.add_argument(
        "--method", choices=list(REWARDS), default="seqgan", help="the adversarial method beside MLE (seqgan)"
    )
    parser.add_argument("--seed", type=seed, default=0, help="seed of the run, 0 to 2**32 - 1 (0)")
    parser.add_argument(
        "--temperatures",
        type=temperature,
        nargs="+",
        default=[],
        metavar="TAU",
        help="also sample each generator at these temperatures: BLEU-4 against Self-BLEU-4",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.test_corpus is not None and args.corpus in BUILTIN_CORPORA:
        parser.error(f"--test-corpus applies to a corpus file; {args.corpus!r} has its own test set")
    if args.corpus not in BUILTIN_CORPORA and args.test_corpus is None and args.resume is None:
        parser.error("--test-corpus: a corpus file needs test sentences (NLL-test and BLEU score against them)")
    if args.out is None and args.resume is None:
        name = args.corpus if args.corpus in BUILTIN_CORPORA else Path(args.corpus).stem
        args.out = Path("results") / f"text_{name}"
    return args


def make_config(args: argparse.Namespace) -> SeqGANConfig:
    """The run's config from the options; a corpus that cannot serve it exits with status 2."""
    fields = {
        name: getattr(args, name)
        for name in (
            "mle_epochs",
            "d_pretrain_rounds",
            "adversarial_epochs",
            "n_rollouts",
            "n_negatives",
            "n_eval",
            "batch_size",
            "seed",
            "method",
        )
    }
    try:
        config = text_config(
            args.corpus, seq_len=args.seq_len, test_corpus=args.test_corpus, tokenizer=args.tokenizer, **fields
        )
    except (ImportError, ValueError) as err:
        message = str(err)
        for field in (
            "test_corpus",
            "tokenizer",
            "seq_len",
            *fields,
        ):  # text_config and SeqGANConfig name the field at fault first
            if message.startswith(f"{field}: "):
                bad_input(PROG, f"--{field.replace('_', '-')}: {message.removeprefix(field + ': ')}")
            if message.startswith(f"{field} "):
                bad_input(PROG, f"--{field.replace('_', '-')}: {message}")
        bad_input(PROG, f"--corpus: {message}")
    return config


def _interrupted(out: Path) -> NoReturn:
    sys.stderr.write(f"{PROG}: interrupted; continue with: {rerun('train-text', 'train_text.py')} --resume {out}\n")
    sys.stderr.flush()
    raise SystemExit(130)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    keep_freed_memory()  # reuse freed blocks, no page faults; process-wide, so set here (docs/design.md §4)
    args = parse_args(argv)
    out: Path = args.resume if args.resume is not None else args.out
    config = make_config(args) if args.resume is None else None  # a corpus that cannot serve: refused at once
    import torch

    from agents.experiment.seqgan import CheckpointError, SeqGANTrainer
    from agents.experiment.text_results import score

    log(f"seqgan-gym {seqgan_gym.__version__}, torch {torch.__version__}; results go to {out}/")
    try:
        with contextlib.ExitStack() as stack:  # the run folder stays locked until the process is done with it
            claim_run_folder(PROG, out, "--out" if args.resume is None else "--resume", args.resume is None, stack)
            if args.resume is not None:
                try:
                    trainer = SeqGANTrainer.resume(out, on_row=print_row)
                except CheckpointError as err:
                    bad_input(PROG, f"--resume: {err}")
                if not trainer.config.is_text:
                    bad_input(PROG, f"--resume: {str(out)!r} holds an oracle run: resume it with train-oracle")
            else:
                assert config is not None
                trainer = SeqGANTrainer(config, out, on_row=print_row)
            corpus = trainer.corpus
            assert corpus is not None
            log(
                f"corpus {corpus.name}: {len(corpus.train):,} training sentences ({corpus.n_dropped} longer than T "
                f"dropped), {len(corpus.test or ()):,} test sentences, V={corpus.vocab_size} (with <eos>), "
                f"T={corpus.seq_len}"
            )
            try:
                train(trainer, progress=not args.no_progress)
            except OSError as err:  # e.g. no space left: written files are whole (written, then renamed)
                raise SystemExit(f"{PROG}: error: {err}; continue with --resume {out}") from None
            except FloatingPointError as err:
                raise SystemExit(f"{PROG}: error: training stopped: {err}") from None
            return score(trainer, args.temperatures, log=log)
    except KeyboardInterrupt:
        _interrupted(out)


if __name__ == "__main__":
    main(sys.argv[1:])
