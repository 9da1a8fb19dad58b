"""BLEU and Self-BLEU exactly as Texygen computes them, with the reference tables built once.

Texygen's BLEU scores every hypothesis with nltk's ``sentence_bleu(references, hypothesis,
weights=(1/N,)*N, smoothing_function=SmoothingFunction().method1)`` against the whole reference
set, and averages. nltk rebuilds every reference's n-gram counts for every hypothesis, which makes
one BLEU of 2,000 hypotheses against 10,000 references take minutes. The score only needs, for
each n-gram, its largest count in any one reference, and the reference lengths: this module builds
those once, so a hypothesis costs ``O(len(hypothesis) * N)`` dictionary look-ups.

The float operations are nltk's own (the same divisions, ``math.log``, ``math.fsum`` and
``math.exp`` in the same order), so the scores are the same floats, not just close ones.
"""

from __future__ import annotations

import math
import sys
from bisect import bisect_left
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

from seqgan_gym._checks import check_int, is_tensor

#: ``SmoothingFunction().method1``'s epsilon: the numerator given to a precision with no match.
EPSILON = 0.1
#: How a precision with no match counts: ``"method1"`` (nltk's method1, as Texygen) or ``"none"``
#: (BLEU's own definition: the sentence scores 0, as nltk without a smoothing function, up to the
#: 1e-100-sized residue nltk leaves from ``log(sys.float_info.min)``).
SMOOTHINGS: tuple[str, ...] = ("method1", "none")

Tokens = tuple[Hashable, ...]
#: Per n-gram order ``k`` (index ``k - 1``): n-gram -> count.
_Tables = list[dict[Tokens, int]]


def as_sequences(name: str, value: Any) -> list[Tokens]:
    """Return ``value`` as a list of token tuples, or raise an error naming ``name``.

    Accepted: a 2-D integer ``numpy`` array or ``torch`` tensor ``[n, T]`` (each row one sequence
    of python ints), or an iterable of sequences, each a list/tuple of hashable tokens (``str``
    words, ints) or a 1-D integer array/tensor. Sequences may differ in length and be empty.
    """
    if isinstance(value, np.ndarray) or is_tensor(value):
        return [tuple(row) for row in _integer_rows(name, value, ndim=2)]
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise TypeError(
            f"{name} must be a sequence of token sequences or a 2-D integer array/tensor [n, T], "
            f"got {type(value).__name__}"
        )
    sequences = []
    for i, seq in enumerate(value):
        if isinstance(seq, np.ndarray) or is_tensor(seq):
            sequences.append(tuple(_integer_rows(f"{name}[{i}]", seq, ndim=1)))
        elif isinstance(seq, (str, bytes)):
            raise TypeError(f"{name}[{i}] must be a sequence of tokens, got a {type(seq).__name__}: split it first")
        elif isinstance(seq, Sequence):
            sequences.append(tuple(seq))
        else:
            raise TypeError(f"{name}[{i}] must be a sequence of tokens (list or tuple), got {type(seq).__name__}")
    return sequences


def _integer_rows(name: str, value: np.ndarray | torch.Tensor, ndim: int) -> list:
    """``value.tolist()`` after checking that it is an ``ndim``-D integer array or tensor."""
    if not isinstance(value, np.ndarray):  # a torch.Tensor, so torch is imported
        torch = sys.modules["torch"]
        integer = not (value.dtype.is_floating_point or value.dtype.is_complex or value.dtype == torch.bool)
    else:
        integer = np.issubdtype(value.dtype, np.integer)
    if not integer:
        raise TypeError(f"{name} must hold integer token ids, got dtype {value.dtype}")
    if value.ndim != ndim:
        shape = "[n, T]" if ndim == 2 else "[T]"
        raise ValueError(f"{name} must have shape {shape}, got shape {tuple(value.shape)}")
    return value.tolist()


def _ngram_counts(seq: Tokens, k: int) -> Counter[Tokens]:
    """Counts of the ``k``-grams of ``seq`` (tuples, as ``nltk.util.ngrams`` yields them)."""
    # The shifted copies are shorter by design: zip stops at the last complete k-gram.
    return Counter(zip(*[seq[i:] for i in range(k)], strict=False))


def _check_hashable(name: str, sequences: list[Tokens]) -> None:
    """Raise a ``TypeError`` naming ``name`` for the first unhashable token (called after a failed count)."""
    for i, seq in enumerate(sequences):
        for token in seq:
            try:
                hash(token)
            except TypeError:
                raise TypeError(
                    f"{name} must hold hashable tokens (str words or ints), got {type(token).__name__} in {name}[{i}]"
                ) from None


def _score(numerators: list[int], denominators: list[int], hyp_len: int, ref_len: int, weight: float) -> float:
    """nltk's ``corpus_bleu`` arithmetic for one hypothesis, with method1 smoothing.

    nltk returns 0 when no unigram matches (before any smoothing). Otherwise a zero numerator
    becomes ``(0 + epsilon) / denominator``; a non-zero one stays the ratio, which nltk keeps as a
    ``Fraction`` until ``math.log`` converts it to the correctly rounded float, i.e. ``num / den``.
    """
    if numerators[0] == 0:
        return 0.0
    precisions = [
        num / den if num else (num + EPSILON) / den for num, den in zip(numerators, denominators, strict=True)
    ]
    log_sum = math.fsum([weight * math.log(p) for p in precisions])
    # Brevity penalty; hyp_len > 0 here since a unigram matched.
    penalty = 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)
    return penalty * math.exp(log_sum)


def _closest_length(lengths: list[int], available: Counter[int], hyp_len: int, own: bool) -> int:
    """The reference length closest to ``hyp_len``, ties to the shorter (nltk's ``closest_ref_length``).

    :param lengths: the distinct reference lengths, sorted.
    :param available: how many references have each length.
    :param own: whether one reference of length ``hyp_len`` is the hypothesis itself and does not count.
    """
    j = bisect_left(lengths, hyp_len)
    if j < len(lengths) and lengths[j] == hyp_len and own and available[hyp_len] == 1:
        j_above = j + 1
    else:
        j_above = j
    above = lengths[j_above] if j_above < len(lengths) else None
    below = lengths[j - 1] if j > 0 else None
    if above is None:
        assert below is not None  # callers hold at least one other reference
        return below
    if below is None or above - hyp_len < hyp_len - below:
        return above
    return below


class BLEUScorer:
    """Texygen's BLEU of hypotheses against a fixed reference set, with the reference tables built once.

    The BLEU of one hypothesis is nltk's ``sentence_bleu(references, hypothesis,
    weights=(1/max_n,)*max_n, smoothing_function=SmoothingFunction().method1)`` against the whole
    reference set: the geometric mean of the modified n-gram precisions for n = 1..max_n (each
    hypothesis n-gram count clipped to its largest count in any single reference; a precision with
    no match counted as 0.1 matches; 0 when no unigram matches at all), times the brevity penalty
    ``exp(1 - r / c)`` when the hypothesis length ``c`` is at most the closest reference length
    ``r`` (ties to the shorter reference). A hypothesis shorter than n has precision ``0.1 / 1`` at
    order n, and an empty hypothesis scores 0.

    Construction costs one pass over the references; each hypothesis then costs
    ``O(len(hypothesis) * max_n)``, independent of the number of references.

    :param references: the reference set (see :func:`seqgan_gym.metrics.bleu` for the accepted
        forms), at least one sequence.
    :param max_n: the largest n-gram order N (BLEU-N), an int >= 1.
    :param smoothing: one of :data:`SMOOTHINGS`: ``"method1"`` (above), or ``"none"``: a hypothesis
        with no match at some order up to N scores 0.
    """

    def __init__(self, references: Any, max_n: int = 4, smoothing: str = "method1") -> None:
        self._max_n = check_int("max_n", max_n, minimum=1)
        if smoothing not in SMOOTHINGS:
            raise ValueError(f"smoothing must be one of {list(SMOOTHINGS)}, got {smoothing!r}")
        self._smoothing = smoothing
        refs = as_sequences("references", references)
        if not refs:
            raise ValueError("references must hold at least one sequence, got none")
        tables: _Tables = [{} for _ in range(self._max_n)]
        try:
            for ref in refs:
                for k in range(1, min(self._max_n, len(ref)) + 1):
                    table = tables[k - 1]
                    for gram, count in _ngram_counts(ref, k).items():
                        if count > table.get(gram, 0):
                            table[gram] = count
        except TypeError:
            _check_hashable("references", refs)
            raise
        self._tables = tables
        self._length_counts = Counter(len(ref) for ref in refs)
        self._lengths = sorted(self._length_counts)
        self._num_references = len(refs)

    @property
    def max_n(self) -> int:
        """The largest n-gram order N."""
        return self._max_n

    @property
    def smoothing(self) -> str:
        """How a precision with no match counts (one of :data:`SMOOTHINGS`)."""
        return self._smoothing

    @property
    def num_references(self) -> int:
        """How many reference sequences the scorer holds."""
        return self._num_references

    def sentence_scores(self, hypotheses: Any) -> np.ndarray:
        """BLEU of each hypothesis against the whole reference set.

        :param hypotheses: ``n`` token sequences, in the forms :func:`seqgan_gym.metrics.bleu` accepts
            (``n = 0`` is allowed).
        :return: ``float64[n]``, each in [0, 1].
        """
        hyps = as_sequences("hypotheses", hypotheses)
        closest: dict[int, int] = {}  # the closest reference length depends on the hypothesis length only
        try:
            scores = [self._sentence_bleu(hyp, closest) for hyp in hyps]
        except TypeError:
            _check_hashable("hypotheses", hyps)
            raise
        return np.array(scores, dtype=np.float64)

    def score(self, hypotheses: Any) -> float:
        """Texygen's BLEU: the mean of :meth:`sentence_scores` over at least one hypothesis."""
        scores = self.sentence_scores(hypotheses)
        if scores.size == 0:
            raise ValueError("hypotheses must hold at least one sequence, got none")
        return _mean(scores)

    def _sentence_bleu(self, hyp: Tokens, closest_cache: dict[int, int]) -> float:
        max_n, hyp_len = self._max_n, len(hyp)
        numerators, denominators = [0] * max_n, [1] * max_n
        for k in range(1, min(max_n, hyp_len) + 1):
            denominators[k - 1] = hyp_len - k + 1
            if k > 1 and numerators[k - 2] == 0:
                continue  # a k-gram match implies a (k-1)-gram match: this numerator is 0 as well
            table, matched = self._tables[k - 1], 0
            for gram, count in _ngram_counts(hyp, k).items():
                ref_count = table.get(gram)
                if ref_count:
                    matched += count if count < ref_count else ref_count
            numerators[k - 1] = matched
        if numerators[0] == 0 or (self._smoothing == "none" and (hyp_len < max_n or 0 in numerators)):
            return 0.0
        ref_len = closest_cache.get(hyp_len)
        if ref_len is None:
            ref_len = closest_cache[hyp_len] = _closest_length(self._lengths, self._length_counts, hyp_len, own=False)
        return _score(numerators, denominators, hyp_len, ref_len, 1 / max_n)


class _SelfBLEUTables:
    """Each sample against all the others: per n-gram, the largest count, the sample holding it, and the runner-up.

    The largest count of an n-gram among all samples but ``i`` is the largest count unless ``i`` holds
    it (then it is the second largest, which equals the largest when two samples tie).
    """

    def __init__(self, samples: list[Tokens], max_n: int) -> None:
        self._samples, self._max_n = samples, max_n
        best: _Tables = [{} for _ in range(max_n)]
        second: _Tables = [{} for _ in range(max_n)]
        holder: _Tables = [{} for _ in range(max_n)]
        try:
            for index, sample in enumerate(samples):
                for k in range(1, min(max_n, len(sample)) + 1):
                    best_k, second_k, holder_k = best[k - 1], second[k - 1], holder[k - 1]
                    for gram, count in _ngram_counts(sample, k).items():
                        top = best_k.get(gram, 0)
                        if count > top:
                            if top:
                                second_k[gram] = top
                            best_k[gram], holder_k[gram] = count, index
                        elif count > second_k.get(gram, 0):
                            second_k[gram] = count
        except TypeError:
            _check_hashable("samples", samples)
            raise
        self._best, self._second, self._holder = best, second, holder
        self._length_counts = Counter(len(sample) for sample in samples)
        self._lengths = sorted(self._length_counts)

    def sentence_bleu(self, index: int, closest_cache: dict[int, int]) -> float:
        hyp = self._samples[index]
        max_n, hyp_len = self._max_n, len(hyp)
        numerators, denominators = [0] * max_n, [1] * max_n
        for k in range(1, min(max_n, hyp_len) + 1):
            denominators[k - 1] = hyp_len - k + 1
            if k > 1 and numerators[k - 2] == 0:
                continue  # no (k-1)-gram match, so no k-gram match
            best, second, holder, matched = self._best[k - 1], self._second[k - 1], self._holder[k - 1], 0
            for gram, count in _ngram_counts(hyp, k).items():
                # Every n-gram of the sample is in the tables, the sample itself being one of them.
                ref_count = best[gram] if holder[gram] != index else second.get(gram, 0)
                matched += count if count < ref_count else ref_count
            numerators[k - 1] = matched
        if numerators[0] == 0:
            return 0.0
        # All samples of one length see the same other lengths, so the closest one is cached per length.
        ref_len = closest_cache.get(hyp_len)
        if ref_len is None:
            ref_len = closest_cache[hyp_len] = _closest_length(self._lengths, self._length_counts, hyp_len, own=True)
        return _score(numerators, denominators, hyp_len, ref_len, 1 / max_n)


def self_bleu_indices(num_samples: int, n: int | None = None, seed: int = 0) -> np.ndarray:
    """The samples that :func:`self_bleu` scores, in the order it averages them.

    :param num_samples: how many samples there are (>= 2).
    :param n: ``None`` for all of them, in order (``arange(num_samples)``); otherwise
        ``numpy.random.default_rng(seed).choice(num_samples, n, replace=False)``, 1 <= n <= num_samples.
    :param seed: the generator's seed, an int >= 0 (unused when ``n`` is ``None``).
    :return: ``int64[n]`` (``int64[num_samples]`` when ``n`` is ``None``), distinct indices.
    """
    num_samples = check_int("num_samples", num_samples, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    if n is None:
        return np.arange(num_samples, dtype=np.int64)
    n = check_int("n", n, minimum=1, maximum=num_samples)
    return np.random.default_rng(seed).choice(num_samples, n, replace=False).astype(np.int64)


def self_bleu_scores(samples: Any, max_n: int = 4, indices: Any = None) -> np.ndarray:
    """Per-sample Self-BLEU: BLEU of ``samples[i]`` against all the other samples, for each ``i`` in ``indices``.

    "All the other samples" are the full set without position ``i`` (a duplicate of sample ``i``
    at another position stays a reference, as in Texygen).

    :param samples: ``N >= 2`` token sequences, in the forms :func:`seqgan_gym.metrics.bleu` accepts.
    :param max_n: the largest n-gram order, an int >= 1.
    :param indices: the positions to score (ints in ``[0, N)``, repeats allowed), or ``None`` for all.
    :return: ``float64[len(indices)]`` (``float64[N]`` when ``indices`` is ``None``).
    """
    max_n = check_int("max_n", max_n, minimum=1)
    seqs = as_sequences("samples", samples)
    if len(seqs) < 2:
        raise ValueError(f"self_bleu needs at least 2 samples (each is scored against the others), got {len(seqs)}")
    if indices is None:
        chosen = range(len(seqs))
    else:
        index_array = np.asarray(indices)
        if index_array.ndim != 1 or not (np.issubdtype(index_array.dtype, np.integer) or index_array.size == 0):
            raise TypeError(
                f"indices must be a 1-D sequence of ints, got {index_array.dtype} of shape {index_array.shape}"
            )
        if index_array.size and (index_array.min() < 0 or index_array.max() >= len(seqs)):
            raise ValueError(
                f"indices must be in [0, {len(seqs) - 1}], got values in [{index_array.min()}, {index_array.max()}]"
            )
        chosen = index_array.tolist()
    tables = _SelfBLEUTables(seqs, max_n)
    cache: dict[int, int] = {}
    return np.array([tables.sentence_bleu(i, cache) for i in chosen], dtype=np.float64)


def _mean(scores: np.ndarray) -> float:
    """Left-to-right sum over the count: the float Texygen's ``score += ...; score / cnt`` gives."""
    total = 0.0
    for value in scores.tolist():
        total += value
    return total / len(scores)
