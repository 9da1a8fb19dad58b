"""Evaluation metrics of the paper's synthetic benchmark.

* NLL-oracle: mean per-token negative log-likelihood (nats) that the oracle gives to a
  generator's samples; lower means the samples look more like the real distribution.
* NLL-test: mean per-token negative log-likelihood that the generator gives to held-out real
  (oracle) sequences; lower means the generator covers the real distribution better.

And the text benchmarks' n-gram metrics, as Texygen (Zhu et al., 2018) defines them on top of
nltk's ``sentence_bleu`` with ``SmoothingFunction().method1``, computed with reference tables built
once (see :mod:`seqgan_gym._bleu`), to the same floats as nltk:

* BLEU-N (:func:`bleu`, :class:`BLEUScorer`): the mean BLEU of each generated sentence against the
  whole real test set; higher means more realistic n-grams.
* Self-BLEU-N (:func:`self_bleu`): the mean BLEU of each generated sentence against the other
  generated sentences; higher means less diverse samples.

Token sequences are accepted as a 2-D integer ``numpy`` array or ``torch`` tensor ``[n, T]`` (each
row one sequence of ints), or as an iterable of sequences, each a list/tuple of hashable tokens
(``str`` words or ints) or a 1-D integer array/tensor; lengths may differ. Tokenization is the
caller's (e.g. ``line.split()``); a sequence given as a bare ``str`` is refused.

Quality against coverage: sampling at a temperature τ < 1 buys quality (NLL-oracle, BLEU) with
coverage (NLL-test, Self-BLEU), so a generator is a curve over τ, not a point.
:func:`frontier_at` reads such a curve at a given coverage, to set another generator's point beside it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, NamedTuple

from seqgan_gym._bleu import BLEUScorer, _mean, as_sequences, self_bleu_indices, self_bleu_scores
from seqgan_gym._checks import check_int, check_tokens
from seqgan_gym.generator import TokenLSTM


def nll_oracle(oracle: TokenLSTM, samples: Any, *, prefix: bool = False) -> float:
    """The paper's NLL-oracle: the oracle's mean per-token NLL of ``samples``.

    :param oracle: the ``OracleLSTM`` that defines the real distribution.
    :param samples: generated token ids, ``[n, T]`` (tensor or array of any integer dtype), ``n >= 1``,
        ``T`` the oracle's ``seq_len``.
    :param prefix: accept ``[n, T']`` with ``T' < seq_len`` too, and score those prefixes (the NLL of
        the first ``T'`` tokens, not comparable with the paper's full-length figure).
    :return: the mean over all ``n * T`` tokens, in nats.
    """
    return _mean_nll(oracle, samples, "oracle", "samples", prefix=prefix)


def nll_test(generator: TokenLSTM, held_out: Any, temperature: float = 1.0, *, prefix: bool = False) -> float:
    """NLL-test: the generator's mean per-token NLL of held-out real sequences.

    :param generator: the model under evaluation (an ``LSTMGenerator``).
    :param held_out: real token ids, ``[n, T]`` (tensor or array of any integer dtype), ``n >= 1``,
        ``T`` the generator's ``seq_len``.
    :param temperature: τ > 0: score under the distribution the generator samples at τ.
    :param prefix: accept ``[n, T']`` with ``T' < seq_len`` too (see :func:`nll_oracle`).
    :return: the mean over all ``n * T`` tokens, in nats.
    """
    return _mean_nll(generator, held_out, "generator", "held_out", temperature, prefix=prefix)


def _mean_nll(
    model: TokenLSTM, tokens: Any, model_name: str, name: str, temperature: float = 1.0, *, prefix: bool = False
) -> float:
    if not isinstance(model, TokenLSTM):
        raise TypeError(f"{model_name} must be a TokenLSTM (OracleLSTM or LSTMGenerator), got {type(model).__name__}")
    if not isinstance(prefix, bool):
        raise TypeError(f"prefix must be True or False, got {prefix!r}")
    tokens = check_tokens(name, tokens, model.vocab_size, max_len=model.seq_len, nonempty=True, device=model.device)
    if not prefix and tokens.shape[1] != model.seq_len:
        # TokenLSTM.nll scores prefixes on purpose; a metric of the wrong length is almost always a mistake.
        raise ValueError(
            f"{name} must have length {model.seq_len} (the {model_name}'s seq_len), got shape {tuple(tokens.shape)}; "
            "pass prefix=True to score prefixes"
        )
    # Every sequence has the same length, so the mean of per-sequence means is the per-token mean.
    return float(model.nll(tokens, temperature=temperature).mean())


def bleu(hypotheses: Any, references: Any, max_n: int = 4) -> float:
    """Texygen's BLEU-``max_n``: the mean over hypotheses of each one's BLEU against all the references.

    Equal to ``mean(nltk.translate.bleu_score.sentence_bleu(references, h, weights=(1/max_n,)*max_n,
    smoothing_function=SmoothingFunction().method1) for h in hypotheses)`` (the same floats), but
    the references' n-gram counts are built once rather than once per hypothesis. Texygen's "fast"
    mode uses only the first 500 references; pass ``references[:500]`` to reproduce it. To score
    many batches against one reference set, build a :class:`BLEUScorer` once.

    :param hypotheses: ``n >= 1`` token sequences (see the module docstring for the accepted forms).
    :param references: ``m >= 1`` token sequences.
    :param max_n: the largest n-gram order N, an int >= 1 (uniform weights ``1/N``).
    :return: the mean BLEU, in [0, 1]; the mean is summed left to right, as Texygen does.
    """
    return BLEUScorer(references, max_n).score(hypotheses)


def self_bleu(samples: Any, max_n: int = 4, n: int | None = None, seed: int = 0) -> float:
    """Texygen's Self-BLEU-``max_n``: the mean BLEU of samples against all the other samples.

    Sample ``i`` is scored as nltk's ``sentence_bleu(others, samples[i], weights=(1/max_n,)*max_n,
    smoothing_function=SmoothingFunction().method1)``, where ``others`` is the full set without
    position ``i``, and the scores are averaged. With ``n``, only ``n`` samples are scored, those
    at ``self_bleu_indices(len(samples), n, seed)``, i.e.
    ``numpy.random.default_rng(seed).choice(len(samples), n, replace=False)``, each still against
    all the other samples of the full set. (Texygen's "fast" mode instead keeps only the first 500
    samples, as hypotheses and as references; pass ``samples[:500]`` to reproduce it.)

    :param samples: ``N >= 2`` token sequences (see the module docstring for the accepted forms).
    :param max_n: the largest n-gram order N, an int >= 1.
    :param n: how many samples to score, ``1 <= n <= N``, or ``None`` for all ``N`` in order.
    :param seed: seed of the draw of the ``n`` samples, an int >= 0 (unused when ``n`` is ``None``).
    :return: the mean Self-BLEU, in [0, 1]; the mean is summed left to right in the drawn order.
    """
    max_n = check_int("max_n", max_n, minimum=1)
    seqs = as_sequences("samples", samples)
    if len(seqs) < 2:
        raise ValueError(f"self_bleu needs at least 2 samples (each is scored against the others), got {len(seqs)}")
    indices = self_bleu_indices(len(seqs), n, seed)
    return _mean(self_bleu_scores(seqs, max_n, indices))  # left to right, as Texygen's score += ...; score / cnt


class FrontierPoint(NamedTuple):
    """One generator sampled at one temperature.

    ``quality``: NLL-oracle (lower is better) or BLEU (higher is better); ``coverage``: NLL-test or
    Self-BLEU, lower is better for both (a generator that covers more of the real data, or repeats
    itself less).
    """

    temperature: float
    quality: float
    coverage: float


def frontier_at(points: Sequence[FrontierPoint], coverage: float) -> tuple[float, float] | None:
    """A generator's temperature curve read at ``coverage``: ``(quality there, τ there)``.

    Only the sharpening branch counts: the temperatures at or below the one of best (lowest)
    coverage, where lowering τ trades coverage for quality. Linear between the two points around
    ``coverage``; ``None`` where the branch does not reach it.
    """
    if not points:
        raise ValueError("points must hold at least one FrontierPoint")
    best = min(points, key=lambda p: p.coverage)
    branch = sorted((p for p in points if p.temperature <= best.temperature), key=lambda p: p.coverage)
    if len(branch) == 1 and branch[0].coverage == coverage:
        return branch[0].quality, branch[0].temperature
    for lo, hi in itertools.pairwise(branch):
        if lo.coverage <= coverage <= hi.coverage:
            weight = 0.0 if hi.coverage == lo.coverage else (coverage - lo.coverage) / (hi.coverage - lo.coverage)
            return (
                lo.quality + weight * (hi.quality - lo.quality),
                lo.temperature + weight * (hi.temperature - lo.temperature),
            )
    return None


def beyond_frontier(points: Sequence[FrontierPoint], quality: float, coverage: float) -> float | None:
    """How far a generator's (NLL-oracle, NLL-test) lies beyond a temperature frontier: ``frontier - quality``.

    Positive: lower NLL-oracle than sharpening the frontier's generator to the same NLL-test buys
    (a gain beyond lowering τ); 0 on the frontier; ``None`` where its sharpening branch does not
    reach ``coverage`` (:func:`frontier_at`). For NLL-oracle, whose lower values are better.
    """
    at = frontier_at(points, coverage)
    return None if at is None else at[0] - quality


__all__ = [
    "BLEUScorer",
    "FrontierPoint",
    "beyond_frontier",
    "bleu",
    "frontier_at",
    "nll_oracle",
    "nll_test",
    "self_bleu",
    "self_bleu_indices",
    "self_bleu_scores",
]
