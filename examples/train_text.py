"""SeqGAN and MLE on real text (SeqGAN-Text-v0): COCO captions or Chinese poems, scored by BLEU and Self-BLEU.

The paper's Algorithm 1 written out with the library's parts, next to its MLE-only control:

1. the env (``SeqGAN-Text-v0``), its Monte Carlo reward wrapper and the SB3 adapter in one call;
2. MLE pretraining of G_θ on the training sentences; the MLE control is a copy of G_θ from here on;
3. discriminator pretraining on fresh negatives;
4. adversarial epochs: one REINFORCE update with Monte Carlo rewards, then the d-steps and the
   rollout-policy sync (two SB3 callbacks); the MLE control trains as many epochs more.

Then each generator draws ``--n-eval`` sentences: BLEU-2..5 against the corpus' test set (each
sentence against all test sentences, Texygen's definition), Self-BLEU-2..4 among the samples (lower
is more diverse). A row for real training sentences gives the scale.

    python examples/train_text.py --corpus coco --out results/text_coco
    python examples/train_text.py --corpus poems --out results/text_poems

With ``--temperatures``, each generator (and G_θ as pretraining left it) is also sampled at each
temperature τ, and BLEU-4 (quality) is set against Self-BLEU-4 (lower: more diverse): does SeqGAN
lie beyond the MLE generators' temperature frontier, or on it (quality_diversity.md)?

Writes to --out (a new or empty folder, locked while the run goes on): metrics.csv (loss per
epoch), results.md and results.json (the BLEU table), samples_seqgan.txt and samples_mle.txt (the
decoded samples), and quality_diversity.md.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from _cli import (  # examples/_cli.py (scripts run from their folder)
    OneLineParser,
    bad_input,
    describe_names,
    existing_file,
    folder_contents,
    int_at_least,
    output_dir,
    seed,
)

import seqgan_gym
from agents import REINFORCE
from agents.callbacks import DiscriminatorTrainingCallback, RolloutPolicySync
from agents.config import MAX_SEED
from agents.pretraining import mle_epoch, mle_optimizer, pretrain_discriminator
from seqgan_gym._checks import check_int
from seqgan_gym._io import FolderInUseError, atomic_write_json, atomic_write_text, folder_lock
from seqgan_gym._malloc import keep_freed_memory
from seqgan_gym.metrics import BLEUScorer, FrontierPoint, frontier_at, self_bleu
from seqgan_gym.models import Discriminator, LSTMGenerator
from seqgan_gym.sampling import check_temperature
from seqgan_gym.sb3 import make_sb3_vec_env
from seqgan_gym.text import BUILTIN_CORPORA, TextCorpus

PROG = "train_text.py"
BLEU_ORDERS = (2, 3, 4, 5)
SELF_BLEU_ORDERS = (2, 3, 4)


@dataclasses.dataclass(frozen=True)
class TextRunConfig:
    """One run. Generator and schedule as the oracle benchmark's ``fast`` preset, sized for real text."""

    corpus: str = "coco"
    test_corpus: str | None = None
    seq_len: int | None = None
    emb_dim: int = 32
    hidden_dim: int = 32
    mle_epochs: int = 30
    d_pretrain_rounds: int = 5
    d_pretrain_epochs: int = 2
    adversarial_epochs: int = 30
    batch_size: int = 64
    n_rollouts: int = 16
    rollout_update_rate: float = 0.0  # 0: β ← θ (Algorithm 1); r > 0: the delayed copy
    n_negatives: int = 2500
    n_eval: int = 2000
    discriminator_filter_sizes: tuple[int, ...] | None = None  # None: the paper's widths that fit in T
    discriminator_num_filters: tuple[int, ...] | None = None
    seed: int = 0
    temperatures: tuple[float, ...] = ()  # with any: the quality-diversity sweep (τ = 1 always in it)

    def __post_init__(self) -> None:
        check_int("seed", self.seed, minimum=0, maximum=MAX_SEED)  # numpy (the env) takes seeds below 2**32
        check_int("batch_size", self.batch_size, minimum=1)


def log(message: str) -> None:
    print(message, flush=True)


def evaluate(samples: list[list[str]], scorers: dict[int, BLEUScorer]) -> dict[str, float]:
    """BLEU-2..5 of ``samples`` against the test set and Self-BLEU-2..4 among them."""
    row: dict[str, float] = {f"bleu{n}": scorers[n].score(samples) for n in BLEU_ORDERS}
    row.update({f"self_bleu{n}": self_bleu(samples, max_n=n) for n in SELF_BLEU_ORDERS})
    return row


class RunRefused(ValueError):
    """What :func:`run` refuses at its start, before any training: an ``out`` with files, too small a corpus."""


def check_out(out: Path) -> None:
    """``out`` must be new or empty: this script writes its results there at the end, over whatever was there.

    :raises RunRefused: it holds files.
    """
    names = folder_contents(out)
    if names:
        raise RunRefused(f"--out {str(out)!r} is not empty ({describe_names(names)}): choose a new or empty folder")


def run(config: TextRunConfig, out: Path, say: Callable[[str], None] = log) -> dict[str, Any]:
    """Train SeqGAN and the MLE control on ``config.corpus``; score both; write the results to ``out``.

    ``out`` must be new or empty; it stays locked (``.lock``) while the run goes on, so that a second
    run into it is refused.

    :raises RunRefused: ``out`` holds files, or the corpus has fewer training sentences than a batch.
    :raises FolderInUseError: another run is writing into ``out``.
    """
    check_out(out)  # before the lock file is made in someone's folder
    with folder_lock(out):
        check_out(out)  # again, now that no other process can write there
        return _run(config, out, say)


def _run(config: TextRunConfig, out: Path, say: Callable[[str], None]) -> dict[str, Any]:
    torch.manual_seed(config.seed)
    corpus = TextCorpus.load(config.corpus, seq_len=config.seq_len, test_corpus=config.test_corpus)
    if corpus.test is None:
        raise SystemExit("train_text.py: error: --test-corpus: BLEU needs a test set for a corpus file")
    if len(corpus.train) < config.batch_size:
        raise RunRefused(_too_few_sentences(len(corpus.train), config.batch_size))
    vocab, seq_len = corpus.vocab_size, corpus.seq_len
    say(
        f"corpus {corpus.name}: {len(corpus.train):,} training sentences ({corpus.n_dropped} longer than T dropped), "
        f"{len(corpus.test):,} test sentences, V={vocab} (with <eos>), T={seq_len}"
    )

    # 1. The env (D and the real data inside), the Monte Carlo rewards with G_β, the SB3 adapter.
    discriminator = Discriminator(
        vocab, seq_len, filter_sizes=config.discriminator_filter_sizes, num_filters=config.discriminator_num_filters
    )
    rollout_policy = LSTMGenerator(vocab, seq_len, config.emb_dim, config.hidden_dim)
    env = make_sb3_vec_env(
        "SeqGAN-Text-v0",
        n_envs=config.batch_size,
        n_rollouts=config.n_rollouts,
        rollout_policy=rollout_policy,
        corpus=corpus,
        discriminator=discriminator,
    )
    env.seed(config.seed)
    model = REINFORCE(
        "LSTMGeneratorPolicy",
        env,
        policy_kwargs={"emb_dim": config.emb_dim, "hidden_dim": config.hidden_dim},
        seed=config.seed,
    )
    generator: LSTMGenerator = model.policy.generator
    real = env.get_attr("real_data")[0]
    rows: list[dict[str, Any]] = []
    started = time.perf_counter()

    def record(phase: str, epoch: int, **stats: float) -> None:
        rows.append({"phase": phase, "epoch": epoch, **stats, "elapsed_s": round(time.perf_counter() - started, 1)})
        values = ", ".join(f"{k} {v:.4f}" for k, v in stats.items())
        say(f"  {phase:>16s} epoch {epoch:3d}: {values}  [{rows[-1]['elapsed_s']:.0f} s]")

    # 2. MLE pretraining; the control continues from this G_θ with this optimiser's state.
    optimizer = mle_optimizer(generator)
    for epoch in range(config.mle_epochs):
        record("mle", epoch + 1, g_loss=mle_epoch(generator, real, optimizer, config.batch_size))
    rollout_policy.load_state_dict(generator.state_dict())  # β ← θ
    pretrained = copy.deepcopy(generator)  # for the temperature sweep
    mle_control = copy.deepcopy(generator)
    control_optimizer = mle_optimizer(mle_control)
    control_optimizer.load_state_dict(optimizer.state_dict())

    # 3. Discriminator pretraining on fresh negatives.
    d_optimizer = torch.optim.Adam(discriminator.parameters(), lr=1e-4)
    d_losses = pretrain_discriminator(
        discriminator,
        generator,
        real,
        config.d_pretrain_rounds,
        config.d_pretrain_epochs,
        n_negatives=config.n_negatives,
        optimizer=d_optimizer,
    )
    for r, loss in enumerate(d_losses):
        record("d_pretrain", r + 1, d_loss=loss)

    # 4. Adversarial epochs (g-step, d-step, β sync) beside as many MLE epochs of the control.
    d_training = DiscriminatorTrainingCallback(
        d_steps=1, k_epochs=1, n_negatives=config.n_negatives, optimizer=d_optimizer
    )
    callbacks = [d_training, RolloutPolicySync(config.rollout_update_rate, rollout_policy=rollout_policy)]
    for epoch in range(config.adversarial_epochs):
        model.learn(config.batch_size * seq_len, callback=callbacks, reset_num_timesteps=False)
        stats = model.last_stats
        record(
            "adversarial",
            epoch + 1,
            g_loss=stats["loss"],
            mean_reward=stats["mean_reward"],
            d_loss=d_training.last_loss,
        )
    for epoch in range(config.adversarial_epochs):
        record("mle_continuation", epoch + 1, g_loss=mle_epoch(mle_control, real, control_optimizer, config.batch_size))

    # Scores: BLEU against the test set, Self-BLEU among the samples; real sentences for scale.
    say(f"scoring {config.n_eval:,} samples of each generator against the {len(corpus.test):,} test sentences")
    scorers = {n: BLEUScorer(corpus.test, max_n=n) for n in BLEU_ORDERS}
    stream = torch.Generator().manual_seed(config.seed + 1)
    real_rows = torch.randperm(len(corpus.train), generator=stream)[: config.n_eval]
    samples = {
        name: corpus.to_tokens(g.sample(config.n_eval, generator=torch.Generator().manual_seed(config.seed + 2)))
        for name, g in (("SeqGAN", generator), ("MLE", mle_control))
    }
    samples["real (training sentences)"] = [list(corpus.train[i]) for i in real_rows.tolist()]
    table = {name: evaluate(sentences, scorers) for name, sentences in samples.items()}
    joiner = " " if corpus.vocabulary.level == "word" else ""
    out.mkdir(parents=True, exist_ok=True)
    for name, file in (("SeqGAN", "samples_seqgan.txt"), ("MLE", "samples_mle.txt")):
        atomic_write_text(out / file, "\n".join(joiner.join(s) for s in samples[name]) + "\n")
    columns = ["phase", "epoch", "g_loss", "d_loss", "mean_reward", "elapsed_s"]
    csv_lines = [",".join(columns)] + [",".join(str(r.get(c, "")) for c in columns) for r in rows]
    atomic_write_text(out / "metrics.csv", "\n".join(csv_lines) + "\n")
    result = {
        "table": table,
        "config": dataclasses.asdict(config),
        "vocab_size": vocab,
        "seq_len": seq_len,
        "training_seconds": round(time.perf_counter() - started, 1),
        "seqgan_gym": seqgan_gym.__version__,
        "torch": torch.__version__,
    }
    if config.temperatures:
        say(f"temperature sweep: τ in {sorted({*config.temperatures, 1.0})}")
        generators = {"pretrained": pretrained, "MLE": mle_control, "SeqGAN": generator}
        sweep = temperature_sweep(generators, config, corpus, scorers[4])
        result["quality_diversity"] = {name: [p._asdict() for p in points] for name, points in sweep.items()}
        atomic_write_text(out / "quality_diversity.md", quality_diversity_markdown(sweep))
        say(quality_diversity_markdown(sweep))
    atomic_write_json(out / "results.json", result)
    atomic_write_text(out / "results.md", markdown(result, corpus.name))
    say(markdown(result, corpus.name))
    return result


def temperature_sweep(
    generators: dict[str, LSTMGenerator], config: TextRunConfig, corpus: TextCorpus, bleu4: BLEUScorer
) -> dict[str, list[FrontierPoint]]:
    """Each generator at each τ: BLEU-4 against the test set (quality), Self-BLEU-4 (coverage: lower is better)."""
    sweep: dict[str, list[FrontierPoint]] = {}
    for name, g in generators.items():
        sweep[name] = []
        for tau in sorted({*config.temperatures, 1.0}):
            stream = torch.Generator().manual_seed(config.seed + 2)  # the same stream at every point
            samples = corpus.to_tokens(g.sample(config.n_eval, generator=stream, temperature=tau))
            sweep[name].append(FrontierPoint(tau, bleu4.score(samples), self_bleu(samples, max_n=4)))
    return sweep


def quality_diversity_markdown(sweep: dict[str, list[FrontierPoint]]) -> str:
    """The sweep's table, and where SeqGAN's τ = 1 point lies against each MLE generator's curve."""
    names = list(sweep)
    lines = [
        "| τ | " + " | ".join(f"{n} BLEU-4 | {n} Self-BLEU-4" for n in names) + " |",
        "|---" * (2 * len(names) + 1) + "|",
    ]
    for i, point in enumerate(sweep[names[0]]):
        cells = " | ".join(f"{sweep[n][i].quality:.3f} | {sweep[n][i].coverage:.3f}" for n in names)
        lines.append(f"| {point.temperature:g} | {cells} |")
    seqgan = next(p for p in sweep["SeqGAN"] if p.temperature == 1.0)
    lines += ["", f"SeqGAN at τ = 1: BLEU-4 {seqgan.quality:.3f} at Self-BLEU-4 {seqgan.coverage:.3f}.", ""]
    for name in ("pretrained", "MLE"):
        at = frontier_at(sweep[name], seqgan.coverage)
        if at is None:
            lines.append(f"- {name}: no τ in the sweep reaches that Self-BLEU-4; widen --temperatures.")
            continue
        bleu4, tau = at
        where = "beyond it (higher BLEU-4)" if seqgan.quality > bleu4 else "behind it (lower BLEU-4)"
        lines.append(
            f"- {name}: at that Self-BLEU-4 (τ ≈ {tau:.3f}) its curve has BLEU-4 {bleu4:.3f}; "
            f"SeqGAN is {abs(seqgan.quality - bleu4):.3f} {where}."
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
        f"{cfg['n_eval']:,} samples per generator, BLEU against the whole test set. "
        f"{result['training_seconds']:.0f} s on this machine, scoring included.",
    ]
    return "\n".join(lines) + "\n"


def _too_few_sentences(n: int, batch_size: int) -> str:
    return (
        f"the corpus has {n} training sentences, fewer than a batch of {batch_size}: give --batch-size {max(1, n)} "
        "or less, or a larger corpus"
    )


def _corpus(text: str) -> str:
    if text in BUILTIN_CORPORA:
        return text
    try:
        existing_file(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected one of {list(BUILTIN_CORPORA)} or a text file, got {text!r}"
        ) from None
    try:  # empty, binary or not UTF-8: refused here, before any training
        TextCorpus.load(text)
    except (OSError, ValueError) as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="train_text.py", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    defaults = TextRunConfig()
    parser.add_argument("--corpus", type=_corpus, default="coco", help="coco (default), poems, or a text file")
    parser.add_argument("--test-corpus", type=_corpus, default=None, help="test sentences for a corpus file")
    parser.add_argument("--out", type=output_dir, default=None, help="output folder (default: results/text_<corpus>)")
    for name, minimum, text in (
        ("mle_epochs", 0, "MLE pretraining epochs"),
        ("d_pretrain_rounds", 0, "discriminator pretraining rounds"),
        ("adversarial_epochs", 0, "adversarial epochs (and MLE control epochs)"),
        ("n_rollouts", 1, "Monte Carlo completions per prefix"),
        ("n_negatives", 1, "negatives per discriminator round"),
        ("n_eval", 2, "samples scored per generator"),
        ("batch_size", 1, "sequences per generator update and MLE batch; at most the training sentences"),
    ):
        default = getattr(defaults, name)
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int_at_least(minimum), default=default, help=f"{text} ({default})"
        )
    parser.add_argument(
        "--seed", type=seed, default=defaults.seed, help=f"seed of the run, 0 to 2**32 - 1 ({defaults.seed})"
    )
    parser.add_argument(
        "--temperatures",
        type=_temperature,
        nargs="+",
        default=[],
        metavar="TAU",
        help="also sample each generator at these temperatures: BLEU-4 against Self-BLEU-4",
    )
    return parser


def _temperature(text: str) -> float:
    try:
        return check_temperature(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.test_corpus is not None and args.corpus in BUILTIN_CORPORA:
        parser.error(f"--test-corpus applies to a corpus file; {args.corpus!r} has its own test set")
    if args.out is None:
        name = args.corpus if args.corpus in BUILTIN_CORPORA else Path(args.corpus).stem
        args.out = Path("results") / f"text_{name}"
    return args


def check_args(args: argparse.Namespace) -> None:
    """What the options ask of the files, checked before any work: one line and exit status 2 if refused."""
    n_train = len(TextCorpus.load(args.corpus).train)  # what MLE batches are drawn from
    if n_train < args.batch_size:
        bad_input(PROG, f"--batch-size: {_too_few_sentences(n_train, args.batch_size)}")
    try:
        check_out(args.out)
    except RunRefused as err:
        bad_input(PROG, str(err))


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    keep_freed_memory()  # reuse freed blocks, no page faults; process-wide, so set here (docs/design.md §4)
    args = parse_args(argv)
    check_args(args)
    config = TextRunConfig(
        corpus=args.corpus,
        test_corpus=args.test_corpus,
        mle_epochs=args.mle_epochs,
        d_pretrain_rounds=args.d_pretrain_rounds,
        adversarial_epochs=args.adversarial_epochs,
        n_rollouts=args.n_rollouts,
        n_negatives=args.n_negatives,
        n_eval=args.n_eval,
        batch_size=args.batch_size,
        seed=args.seed,
        temperatures=tuple(args.temperatures),
    )
    out = args.out
    log(f"seqgan-gym {seqgan_gym.__version__}, torch {torch.__version__}; results go to {out}/")
    try:
        return run(config, out)
    except (FolderInUseError, RunRefused) as err:  # found at the start, before any training
        bad_input(PROG, f"--out: {err}" if isinstance(err, FolderInUseError) else str(err))
    except KeyboardInterrupt:  # results are written at the end only: nothing to continue from
        sys.stderr.write(f"{PROG}: interrupted; results are written at the end only, so start again\n")
        raise SystemExit(130) from None


if __name__ == "__main__":
    main(sys.argv[1:])
