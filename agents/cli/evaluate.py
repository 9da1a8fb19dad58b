"""Score samples: NLL-oracle on an oracle, BLEU and Self-BLEU on a text corpus, NLL-test of a run's generator.

    seqgan-gym evaluate results/quick                         # --n samples of the run's G_θ, on its benchmark
    seqgan-gym evaluate results/quick --samples results/quick/samples.txt
    seqgan-gym evaluate results/text_coco --which mle --temperature 0.8
    seqgan-gym evaluate --samples my_samples.txt --corpus coco              # text lines, no run needed
    seqgan-gym evaluate --samples samples.txt --oracle-file target_params_py3.pkl  # token ids, no run needed

What is scored: an oracle benchmark's samples are token ids, T a line (a run's ``samples.txt``), and
get NLL-oracle, the oracle's mean per-token NLL of them. A corpus' samples are text, one sentence a
line (``samples_text.txt``), and get BLEU-2..5 against the corpus' test set and Self-BLEU-2..4 among
them (word-level, Texygen's definitions). With a run and no ``--samples``, the run's generator
draws ``--n`` samples, and its NLL-test on the held-out sequences is scored too. The numbers are
printed, and written as JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.cli.common import (
    MAX_SAMPLES,
    OneLineParser,
    bad_input,
    corpus_name,
    existing_file,
    int_in_range,
    led_by,
    output_file,
    program,
    seed,
    temperature,
    test_corpus_file,
)
from agents.experiment.config import GENERATORS
from seqgan_gym._io import atomic_write_json
from seqgan_gym.text import BUILTIN_CORPORA, TextCorpus, read_lines

# torch and the models are imported where a score is computed: ``--help`` and bad arguments answer at once.
if TYPE_CHECKING:
    import torch

PROG = program("evaluate", "evaluate.py")


class Refused(ValueError):
    """Input that cannot be scored; the message names the option or the run folder at fault, once."""


@contextlib.contextmanager
def blame(where: str) -> Iterator[None]:
    """Errors inside (bad files, a folder without a run) become :class:`Refused`, their message led by ``where``."""
    try:
        yield
    except Refused:
        raise
    except (ValueError, ImportError) as err:  # a checkpoint's and the oracle loader's errors are ValueErrors
        raise Refused(led_by(where, str(err))) from None


def read_token_ids(path: str, vocab_size: int, seq_len: int) -> torch.Tensor:
    """A samples file of token ids (``seq_len`` a line, each in ``[0, vocab_size)``) as ``LongTensor[n, T]``.

    :raises ValueError: a line that is not ``seq_len`` integers in range, naming the line.
    """
    import torch

    rows = []
    for number, line in enumerate(read_lines(Path(path), "--samples"), start=1):
        try:
            ids = [int(token) for token in line.split()]
        except ValueError:
            raise ValueError(f"--samples: line {number} is not token ids (integers): {line[:40]!r}") from None
        if len(ids) != seq_len or not all(0 <= i < vocab_size for i in ids):
            raise ValueError(
                f"--samples: line {number} must hold {seq_len} token ids in [0, {vocab_size - 1}], got {line[:60]!r}"
            )
        rows.append(ids)
    return torch.tensor(rows, dtype=torch.long)


def check_some_words_known(words: list[list[str]], corpus: TextCorpus) -> None:
    """Refuse samples none of whose words occurs in the test set: every BLEU would be 0 without a word.

    The usual cause is a file of token ids (an oracle run's samples, or ``evaluate --samples`` on
    ``samples.txt`` of a text run's ids) scored as text.
    """
    written = {w for sample in words for w in sample}
    if not written or not written.isdisjoint({w for sentence in corpus.bleu_references() for w in sentence}):
        return
    ids = all(w.isdecimal() for w in written)
    what = (
        "it holds token ids, not words: decode them first (seqgan-gym generate RUN writes words)"
        if ids
        else ("is it a sample of this corpus?")
    )
    raise ValueError(
        f"--samples: none of its {len(written):,} distinct words occurs in the test set, so every BLEU "
        f"would be 0; {what}"
    )


def text_scores(words: list[list[str]], corpus: TextCorpus) -> dict[str, float]:
    """BLEU-2..5 of ``words`` (one list of words per sample) against the test set, Self-BLEU-2..4 among them."""
    from agents.experiment.text_runs import BLEU_ORDERS, SELF_BLEU_ORDERS
    from seqgan_gym.metrics import BLEUScorer, self_bleu

    references = corpus.bleu_references()
    scores = {f"bleu{n}": BLEUScorer(references, max_n=n).score(words) for n in BLEU_ORDERS}
    scores.update({f"self_bleu{n}": self_bleu(words, max_n=n) for n in SELF_BLEU_ORDERS})
    return scores


def evaluate_run(args: argparse.Namespace) -> dict[str, Any]:
    """The scores of a run's samples: its generator's, or those of ``--samples`` on its benchmark."""
    import torch

    from agents.experiment.generate import load_run_generator
    from agents.experiment.run_benchmark import RunBenchmark
    from seqgan_gym.metrics import nll_oracle, nll_test

    with blame(str(args.run)):
        generator, config, _ = load_run_generator(args.run, args.which)
        benchmark = RunBenchmark.load(config)
    scores: dict[str, Any] = {"run": str(args.run)}
    if args.samples is None:
        scores["which"] = args.which
        stream = torch.Generator().manual_seed(args.seed)
        samples = generator.sample(args.n, generator=stream, temperature=args.temperature)
        scores.update({"n": args.n, "seed": args.seed, "temperature": args.temperature})
        scores["nll_test"] = nll_test(generator, benchmark.held_out(config, generator.device), args.temperature)
    else:
        samples = None
        scores["samples"] = args.samples
    if benchmark.corpus is not None:
        corpus = benchmark.corpus
        with blame("--samples"):
            words = corpus.bleu_words(samples) if samples is not None else _words(args.samples)
            if samples is None:
                check_some_words_known(words, corpus)
        return {**scores, "n": len(words), **text_scores(words, corpus)}
    assert benchmark.oracle is not None
    if samples is None:
        with blame("--samples"):
            samples = read_token_ids(args.samples, config.vocab_size, config.seq_len)
    return {**scores, "n": len(samples), "nll_oracle": nll_oracle(benchmark.oracle, samples)}


def _words(path: str) -> list[list[str]]:
    """The words of each line of a text samples file; an empty line is an empty sample (its BLEU is 0)."""
    read_lines(Path(path), "--samples")  # readable UTF-8 text with a line in it, or a clear error
    lines = Path(path).read_text(encoding="utf-8-sig").split("\n")
    if lines[-1] == "":  # the newline that ends the last line
        lines.pop()
    return [line.split() for line in lines]


def evaluate_file(args: argparse.Namespace) -> dict[str, Any]:
    """The scores of ``--samples`` with no run: on ``--corpus`` (text) or ``--oracle-file`` (token ids)."""
    from seqgan_gym.metrics import nll_oracle
    from seqgan_gym.oracle import OracleLSTM

    scores: dict[str, Any] = {"samples": args.samples}
    if args.corpus is not None:
        with blame("--corpus"):
            corpus = TextCorpus.load(args.corpus, test_corpus=args.test_corpus)
        with blame("--samples"):
            words = _words(args.samples)
            check_some_words_known(words, corpus)
        return {**scores, "corpus": args.corpus, "n": len(words), **text_scores(words, corpus)}
    with blame("--oracle-file"):
        oracle = OracleLSTM.from_paper_file(args.oracle_file)
    with blame("--samples"):
        samples = read_token_ids(args.samples, oracle.vocab_size, oracle.seq_len)
    return {**scores, "oracle_file": args.oracle_file, "n": len(samples), "nll_oracle": nll_oracle(oracle, samples)}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", nargs="?", default=None, help="a run's folder (the --out of train-oracle or train-text)")
    parser.add_argument("--samples", type=existing_file, default=None, help="a samples file to score")
    parser.add_argument(
        "--corpus", type=corpus_name, default=None, help=f"without a run: {' or '.join(BUILTIN_CORPORA)} or a file"
    )
    parser.add_argument("--test-corpus", type=test_corpus_file, default=None, help="the test file of a --corpus file")
    parser.add_argument("--oracle-file", type=existing_file, default=None, help="without a run: the authors' oracle")
    # Defaults filled in by parse_args: given with --samples, these would be ignored, so they are refused.
    parser.add_argument("--which", choices=GENERATORS, default=None, help="G_θ (method) or the MLE control")
    parser.add_argument(
        "--n", type=int_in_range(2, MAX_SAMPLES), default=None, help="samples the run's generator draws (2000)"
    )
    parser.add_argument("--seed", type=seed, default=None, help="seed of those samples (0)")
    parser.add_argument("--temperature", type=temperature, default=None, help="τ > 0 of those samples (1)")
    parser.add_argument("--json", type=output_file, default=None, metavar="FILE", help="also write the scores as JSON")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.run is None:
        if args.samples is None:
            parser.error("--samples: give a run's folder, or a samples file with --corpus or --oracle-file")
        if (args.corpus is None) == (args.oracle_file is None):
            parser.error("--corpus / --oracle-file: a samples file without a run needs exactly one of them")
    elif args.corpus is not None or args.oracle_file is not None:
        parser.error("--corpus / --oracle-file: a run's folder names its own benchmark; give one or the other")
    sampling = {"which": "method", "n": 2000, "seed": 0, "temperature": 1.0}  # of the run's own samples
    given = [f"--{name}" for name in sampling if getattr(args, name) is not None]
    if args.samples is not None and given:
        parser.error(f"{', '.join(given)}: these choose the run's own samples; --samples scores a file as it is")
    for name, default in sampling.items():
        if getattr(args, name) is None:
            setattr(args, name, default)
    if args.test_corpus is not None and (args.corpus is None or args.corpus in BUILTIN_CORPORA):
        parser.error("--test-corpus applies to a --corpus file")
    if args.corpus is not None and args.corpus not in BUILTIN_CORPORA and args.test_corpus is None:
        parser.error("--test-corpus: a --corpus file needs its test sentences (BLEU scores against them)")
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    try:
        scores = evaluate_run(args) if args.run is not None else evaluate_file(args)
    except Refused as err:
        bad_input(PROG, str(err))
    except (ValueError, ImportError) as err:  # anything else the input caused, led by what was scored
        bad_input(PROG, led_by(str(args.run) if args.run is not None else "--samples", str(err)))
    for name, value in scores.items():
        print(f"{name:12s} {value:.4f}" if isinstance(value, float) else f"{name:12s} {value}")
    if args.json is not None:
        try:
            atomic_write_json(args.json, scores)
        except OSError as err:  # e.g. the disk is full: the scores were printed, the file is not half written
            bad_input(PROG, f"--json: cannot write {str(args.json)!r}: {err.strerror or err}")
    return scores


if __name__ == "__main__":
    main(sys.argv[1:])
