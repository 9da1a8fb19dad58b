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
import copy
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import torch

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
)
from agents.experiment.seqgan import CheckpointError, SeqGANConfig, SeqGANTrainer
from agents.experiment.streams import EVAL_STREAM, stream_seed
from agents.experiment.text_runs import BLEU_ORDERS, SELF_BLEU_ORDERS, TEXT_DEFAULTS, text_config
from seqgan_gym._checks import MAX_N_SEQUENCES, MAX_SEQ_LEN
from seqgan_gym._io import atomic_write_json, atomic_write_text
from seqgan_gym._malloc import keep_freed_memory
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.metrics import BLEUScorer, FrontierPoint, frontier_at, self_bleu
from seqgan_gym.rewards import REWARDS, get_reward
from seqgan_gym.text import BUILTIN_CORPORA, TextCorpus

PROG = program("train-text", "train_text.py")
#: G_θ as MLE pretraining left it, kept in the run folder for the temperature sweep.
PRETRAINED_NAME = "pretrained_generator.pt"


def evaluate(samples: list[list[str]], scorers: dict[int, BLEUScorer]) -> dict[str, float]:
    """BLEU-2..5 of ``samples`` (words) against the test set and Self-BLEU-2..4 among them."""
    row: dict[str, float] = {f"bleu{n}": scorers[n].score(samples) for n in BLEU_ORDERS}
    row.update({f"self_bleu{n}": self_bleu(samples, max_n=n) for n in SELF_BLEU_ORDERS})
    return row


def train(trainer: SeqGANTrainer, progress: bool = False) -> None:
    """Run ``trainer`` to its end, keeping G_θ as pretraining left it (``pretrained_generator.pt``)."""
    assert trainer.out_dir is not None
    pretrained = trainer.out_dir / PRETRAINED_NAME
    with stop_after_this_unit(trainer):
        if trainer.units_done <= trainer.config.mle_epochs and not pretrained.exists():
            trainer.run(max_units=trainer.config.mle_epochs - trainer.units_done, progress=progress)
            buffer = trainer.out_dir / (PRETRAINED_NAME + ".tmp")
            torch.save(trainer.generator.state_dict(), buffer)
            buffer.replace(pretrained)  # whole or absent
        trainer.run(progress=progress)


def score(trainer: SeqGANTrainer, temperatures: Sequence[float] = ()) -> dict[str, Any]:
    """The BLEU table of the finished run in ``trainer`` (and its temperature sweep), written to its folder."""
    corpus, config, out = trainer.corpus, trainer.config, trainer.out_dir
    assert corpus is not None and out is not None and trainer.mle_generator is not None
    started = time.perf_counter()
    references = corpus.bleu_references()
    log(f"scoring {config.n_eval:,} samples of each generator against the {len(references):,} test sentences")
    scorers = {n: BLEUScorer(references, max_n=n) for n in BLEU_ORDERS}
    label = get_reward(config.method).label  # SeqGAN, or the adversarial method that ran
    generators = {label: trainer.generator, "MLE": trainer.mle_generator}
    stream_of = _sample_stream(config)
    samples = {name: g.sample(config.n_eval, generator=stream_of(g)) for name, g in generators.items()}
    words = {name: corpus.bleu_words(s) for name, s in samples.items()}
    rows = torch.randperm(len(corpus.train), generator=torch.Generator().manual_seed(config.seed + 1))
    real = corpus.real_data()[rows[: config.n_eval]]
    words["real (training sentences)"] = corpus.bleu_words(real)
    table = {name: evaluate(sentences, scorers) for name, sentences in words.items()}
    for name, file in ((label, f"samples_{config.method}.txt"), ("MLE", "samples_mle.txt")):
        atomic_write_text(out / file, "\n".join(corpus.decode(samples[name])) + "\n")
    result: dict[str, Any] = {
        "table": table,
        "config": config.to_dict(),
        "vocab_size": config.vocab_size,
        "seq_len": config.seq_len,
        "training_seconds": round(trainer.elapsed_s, 1),
        "scoring_seconds": round(time.perf_counter() - started, 1),
        "seqgan_gym": seqgan_gym.__version__,
        "torch": torch.__version__,
    }
    if temperatures:
        swept = dict(generators)
        if (out / PRETRAINED_NAME).is_file():  # absent if the run was begun without it: the sweep goes on without
            pretrained = copy.deepcopy(trainer.generator)
            pretrained.load_state_dict(torch.load(out / PRETRAINED_NAME, weights_only=True))
            swept = {"pretrained": pretrained, **generators}
        log(f"temperature sweep: τ in {sorted({*temperatures, 1.0})}")
        sweep = temperature_sweep(swept, config, corpus, scorers[4], temperatures)
        result["quality_diversity"] = {name: [p._asdict() for p in points] for name, points in sweep.items()}
        atomic_write_text(out / "quality_diversity.md", quality_diversity_markdown(sweep, label))
        log(quality_diversity_markdown(sweep, label))
    atomic_write_json(out / "results.json", result)
    atomic_write_text(out / "results.md", markdown(result, corpus.name))
    log(markdown(result, corpus.name))
    return result


def _sample_stream(config: SeqGANConfig) -> Any:
    """A fresh sampling stream for a generator, the same for every generator and τ (a fair comparison)."""
    return lambda g: torch.Generator(device=g.device).manual_seed(stream_seed(config.seed, EVAL_STREAM, 1))


def temperature_sweep(
    generators: dict[str, LSTMGenerator],
    config: SeqGANConfig,
    corpus: TextCorpus,
    bleu4: BLEUScorer,
    temperatures: Sequence[float],
) -> dict[str, list[FrontierPoint]]:
    """Each generator at each τ: BLEU-4 against the test set (quality), Self-BLEU-4 (coverage: lower is better)."""
    stream_of = _sample_stream(config)
    sweep: dict[str, list[FrontierPoint]] = {}
    for name, g in generators.items():
        sweep[name] = []
        for tau in sorted({*temperatures, 1.0}):
            words = corpus.bleu_words(g.sample(config.n_eval, generator=stream_of(g), temperature=tau))
            sweep[name].append(FrontierPoint(tau, bleu4.score(words), self_bleu(words, max_n=4)))
    return sweep


def quality_diversity_markdown(sweep: dict[str, list[FrontierPoint]], label: str = "SeqGAN") -> str:
    """The sweep's table, and where the ``label`` generator's τ = 1 point lies against each MLE generator's curve."""
    names = list(sweep)
    lines = [
        "| τ | " + " | ".join(f"{n} BLEU-4 | {n} Self-BLEU-4" for n in names) + " |",
        "|---" * (2 * len(names) + 1) + "|",
    ]
    for i, point in enumerate(sweep[names[0]]):
        cells = " | ".join(f"{sweep[n][i].quality:.3f} | {sweep[n][i].coverage:.3f}" for n in names)
        lines.append(f"| {point.temperature:g} | {cells} |")
    seqgan = next(p for p in sweep[label] if p.temperature == 1.0)
    lines += ["", f"{label} at τ = 1: BLEU-4 {seqgan.quality:.3f} at Self-BLEU-4 {seqgan.coverage:.3f}.", ""]
    for name in ("pretrained", "MLE"):
        if name not in sweep:
            continue
        at = frontier_at(sweep[name], seqgan.coverage)
        if at is None:
            lines.append(f"- {name}: no τ in the sweep reaches that Self-BLEU-4; widen --temperatures.")
            continue
        bleu4, tau = at
        where = "beyond it (higher BLEU-4)" if seqgan.quality > bleu4 else "behind it (lower BLEU-4)"
        lines.append(
            f"- {name}: at that Self-BLEU-4 (τ ≈ {tau:.3f}) its curve has BLEU-4 {bleu4:.3f}; "
            f"{label} is {abs(seqgan.quality - bleu4):.3f} {where}."
        )
    return "\n".join(lines) + "\n"


def markdown(result: dict[str, Any], corpus: str) -> str:
    names = [f"BLEU-{n}" for n in BLEU_ORDERS] + [f"Self-BLEU-{n}" for n in SELF_BLEU_ORDERS]
    keys = [f"bleu{n}" for n in BLEU_ORDERS] + [f"self_bleu{n}" for n in SELF_BLEU_ORDERS]
    lines = ["| generator | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for name, row in result["table"].items():
        lines.append(f"| {name} | " + " | ".join(f"{row[k]:.3f}" for k in keys) + " |")
    cfg = result["config"]
    lines += [
        "",
        f"Corpus `{corpus}` (V={result['vocab_size']}, T={result['seq_len']}): {cfg['mle_epochs']} MLE epochs, "
        f"{cfg['d_pretrain_rounds']} x {cfg['d_pretrain_epochs']} D pretraining rounds, then "
        f"{cfg['adversarial_epochs']} adversarial epochs (B={cfg['batch_size']}, N={cfg['n_rollouts']}, one D round "
        f"of {cfg['n_negatives']:,} negatives each) beside as many MLE epochs from the same start; "
        f"{cfg['n_eval']:,} samples per generator, BLEU (word-level) against the whole test set. "
        f"Training {result['training_seconds']:.0f} s, scoring {result['scoring_seconds']:.0f} s on this machine.",
    ]
    return "\n".join(lines) + "\n"


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
    parser.add_argument("--test-corpus", type=corpus_name, default=None, help="test sentences for a corpus file")
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
        for field in ("test_corpus", *fields):  # text_config and SeqGANConfig name the field at fault first
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
            return score(trainer, args.temperatures)
    except KeyboardInterrupt:
        _interrupted(out)


if __name__ == "__main__":
    main(sys.argv[1:])
