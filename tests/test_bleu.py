"""BLEU and Self-BLEU against nltk's sentence_bleu (Texygen's definitions), on real COCO captions and edge cases."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from seqgan_gym.metrics import BLEUScorer, bleu, self_bleu, self_bleu_indices, self_bleu_scores
from seqgan_gym.text import data_file

Sentence = list[str]
# The COCO captions that ship with the package (Texygen's image_coco.txt and test_coco.txt).
_CORPORA = {"train": data_file("coco_train.txt"), "test": data_file("coco_test.txt")}
N_HYPOTHESES, N_REFERENCES, N_SAMPLES = 200, 300, 120
TOLERANCE = 1e-9  # in practice the floats are identical


def _lines(split: str, n: int) -> list[Sentence]:
    with _CORPORA[split].open(encoding="utf-8") as f:
        return [line.split() for line, _ in zip(f, range(n), strict=False)]


def _nltk_bleu(references: list, hypothesis: list, max_n: int) -> float:
    """Texygen's call."""
    weights = (1 / max_n,) * max_n
    return sentence_bleu(references, hypothesis, weights, smoothing_function=SmoothingFunction().method1)


def _nltk_self_bleu(samples: list, index: int, max_n: int) -> float:
    return _nltk_bleu(samples[:index] + samples[index + 1 :], samples[index], max_n)


def _texygen_mean(scores: list[float]) -> float:
    total = 0.0
    for value in scores:
        total += value
    return total / len(scores)


@pytest.fixture(scope="module")
def hypotheses() -> list[Sentence]:
    return _lines("train", N_HYPOTHESES)


@pytest.fixture(scope="module")
def references() -> list[Sentence]:
    return _lines("test", N_REFERENCES)


@pytest.mark.parametrize("max_n", [2, 3, 4, 5])
def test_bleu_matches_nltk_on_coco(hypotheses: list[Sentence], references: list[Sentence], max_n: int) -> None:
    expected = [_nltk_bleu(references, hyp, max_n) for hyp in hypotheses]
    scores = BLEUScorer(references, max_n).sentence_scores(hypotheses)
    assert scores.dtype == np.float64 and scores.shape == (N_HYPOTHESES,)
    np.testing.assert_allclose(scores, expected, rtol=0, atol=TOLERANCE)
    value = bleu(hypotheses, references, max_n)
    assert isinstance(value, float)
    assert value == pytest.approx(_texygen_mean(expected), abs=TOLERANCE)
    # The fixture exercises both the brevity penalty and smoothed higher orders.
    assert 0.05 < value < 0.95 and len(set(expected)) > N_HYPOTHESES // 2


REFS = [
    "the cat is on the mat".split(),
    "there is a cat on the mat".split(),
    "a dog sleeps".split(),
    "the the the".split(),
]
EDGE_HYPOTHESES = [
    [],  # empty: 0
    ["cat"],  # shorter than max_n: orders above 1 count as 0.1 / 1
    ["the", "mat"],
    "zebra giraffe okapi".split(),  # no unigram in common: 0, whatever the smoothing
    "cat zebra mat giraffe".split(),  # unigrams but no bigram: smoothed, not 0
    "the cat is on the mat".split(),  # identical to a reference: 1
    "the the the the the the the".split(),  # clipped counts
    "a dog sleeps on the mat".split(),
    "there is a cat on the mat and a dog".split(),  # longer than every reference: no penalty
    "a cat on the".split(),  # the closest reference is 3 tokens long: no penalty
]


@pytest.mark.parametrize("max_n", [1, 2, 3, 4, 5])
def test_bleu_edge_cases_match_nltk(max_n: int) -> None:
    expected = [_nltk_bleu(REFS, hyp, max_n) for hyp in EDGE_HYPOTHESES]
    scores = BLEUScorer(REFS, max_n).sentence_scores(EDGE_HYPOTHESES)
    np.testing.assert_allclose(scores, expected, rtol=0, atol=TOLERANCE)
    assert scores[0] == 0.0 and scores[3] == 0.0
    assert scores[4] > 0.0
    assert scores[5] == 1.0
    if max_n > 1:
        assert scores[1] < 1.0  # "cat" matches, but its missing higher orders are smoothed, not dropped


def test_closest_reference_length_ties_to_the_shorter() -> None:
    # Hypothesis of length 4 between references of lengths 3 and 5: nltk takes 3, so no penalty.
    refs = [["a", "b", "c"], ["a", "b", "c", "d", "e"]]
    hyp = ["a", "b", "c", "d"]
    assert BLEUScorer(refs, 2).sentence_scores([hyp])[0] == pytest.approx(_nltk_bleu(refs, hyp, 2), abs=TOLERANCE)
    assert BLEUScorer(refs, 2).sentence_scores([hyp])[0] == pytest.approx(1.0)
    # Length 2 against 3: penalty exp(1 - 3/2).
    short = ["a", "b"]
    assert BLEUScorer(refs, 2).sentence_scores([short])[0] == pytest.approx(np.exp(1 - 3 / 2), abs=TOLERANCE)


def test_random_small_vocabulary_matches_nltk() -> None:
    """Many collisions, repeated n-grams, empty sequences and length ties, over random cases."""
    rng = random.Random(0)
    for _ in range(300):
        vocab = rng.randint(1, 4)
        refs = [[rng.randrange(vocab) for _ in range(rng.randint(0, 7))] for _ in range(rng.randint(1, 4))]
        hyps = [[rng.randrange(vocab) for _ in range(rng.randint(0, 7))] for _ in range(4)]
        max_n = rng.randint(1, 5)
        expected = [_nltk_bleu(refs, hyp, max_n) for hyp in hyps]
        np.testing.assert_allclose(BLEUScorer(refs, max_n).sentence_scores(hyps), expected, rtol=0, atol=TOLERANCE)
        samples = refs + hyps
        expected = [_nltk_self_bleu(samples, i, max_n) for i in range(len(samples))]
        np.testing.assert_allclose(self_bleu_scores(samples, max_n), expected, rtol=0, atol=TOLERANCE)


def test_unsmoothed_bleu_matches_nltk_without_smoothing() -> None:
    """``smoothing="none"``: nltk's default, which leaves ~1e-100 where any order has no match; BLEU's 0 here."""
    import warnings

    rng = random.Random(1)
    scored = zero = 0
    for _ in range(300):
        vocab = rng.randint(1, 4)
        refs = [[rng.randrange(vocab) for _ in range(rng.randint(0, 7))] for _ in range(rng.randint(1, 4))]
        hyps = [[rng.randrange(vocab) for _ in range(rng.randint(0, 7))] for _ in range(4)]
        max_n = rng.randint(1, 5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nltk warns of every zero count
            expected = [sentence_bleu(refs, hyp, (1 / max_n,) * max_n) for hyp in hyps]
        ours = BLEUScorer(refs, max_n, smoothing="none").sentence_scores(hyps)
        np.testing.assert_allclose(ours, expected, rtol=0, atol=TOLERANCE)
        assert all(o == 0.0 for o, e in zip(ours, expected, strict=True) if e < 1e-90)
        scored += sum(e > 1e-90 for e in expected)
        zero += sum(e < 1e-90 for e in expected)
    assert scored > 100 and zero > 100  # both kinds of case were met
    # Unsmoothed scores 0 where method1 gives the 0.1 count: one trigram missing.
    refs, hyp = [["a", "b", "c", "d"]], ["a", "b", "x", "d"]
    assert BLEUScorer(refs, 3, smoothing="none").sentence_scores([hyp])[0] == 0.0
    assert BLEUScorer(refs, 3).sentence_scores([hyp])[0] > 0


def test_int_tokens_arrays_and_tensors_equal_words(hypotheses: list[Sentence], references: list[Sentence]) -> None:
    vocab: dict[str, int] = {}
    length = 8  # a fixed length, so the id sequences fit a 2-D array

    def ids(sentences: list[Sentence]) -> list[list[int]]:
        rows = [s[:length] for s in sentences if len(s) >= length]
        return [[vocab.setdefault(w, len(vocab)) for w in row] for row in rows]

    hyp_ids, ref_ids = ids(hypotheses), ids(references)
    words = {i: w for w, i in vocab.items()}
    hyp_words = [[words[i] for i in row] for row in hyp_ids]
    ref_words = [[words[i] for i in row] for row in ref_ids]
    expected = bleu(hyp_words, ref_words, 3)
    assert expected == pytest.approx(_texygen_mean([_nltk_bleu(ref_words, h, 3) for h in hyp_words]), abs=TOLERANCE)
    for form in (
        lambda rows: rows,
        lambda rows: torch.tensor(rows, dtype=torch.long),
        lambda rows: np.array(rows, dtype=np.int32),
        lambda rows: [torch.tensor(row) for row in rows],
        lambda rows: [tuple(row) for row in rows],
    ):
        assert bleu(form(hyp_ids), form(ref_ids), 3) == expected
    assert self_bleu(torch.tensor(hyp_ids), 3) == self_bleu(hyp_words, 3)


def test_scorer_is_reusable(hypotheses: list[Sentence], references: list[Sentence]) -> None:
    scorer = BLEUScorer(references, 4)
    assert (scorer.max_n, scorer.num_references) == (4, N_REFERENCES)
    first = scorer.sentence_scores(hypotheses[:50])
    np.testing.assert_array_equal(scorer.sentence_scores(hypotheses[:50]), first)
    np.testing.assert_array_equal(
        scorer.sentence_scores(hypotheses[50:100][::-1]),
        BLEUScorer(references).sentence_scores(hypotheses[50:100])[::-1],
    )
    assert scorer.sentence_scores([]).shape == (0,)
    assert scorer.score(hypotheses[:50]) == _texygen_mean(first.tolist())


@pytest.mark.parametrize("max_n", [2, 3, 4])
def test_self_bleu_matches_nltk(hypotheses: list[Sentence], max_n: int) -> None:
    samples = hypotheses[:N_SAMPLES]
    expected = [_nltk_self_bleu(samples, i, max_n) for i in range(N_SAMPLES)]
    np.testing.assert_allclose(self_bleu_scores(samples, max_n), expected, rtol=0, atol=TOLERANCE)
    assert self_bleu(samples, max_n) == pytest.approx(_texygen_mean(expected), abs=TOLERANCE)


@pytest.mark.parametrize("max_n", [2, 4])
def test_self_bleu_subset_is_the_seeded_draw(hypotheses: list[Sentence], max_n: int) -> None:
    samples = hypotheses[:N_SAMPLES]
    n, seed = 25, 3
    indices = self_bleu_indices(N_SAMPLES, n, seed)
    np.testing.assert_array_equal(indices, np.random.default_rng(seed).choice(N_SAMPLES, n, replace=False))
    assert len(set(indices.tolist())) == n
    # Each chosen sample is still scored against all the others of the full set.
    expected = _texygen_mean([_nltk_self_bleu(samples, i, max_n) for i in indices.tolist()])
    value = self_bleu(samples, max_n, n=n, seed=seed)
    assert value == pytest.approx(expected, abs=TOLERANCE)
    assert self_bleu(samples, max_n, n=n, seed=seed) == value
    assert not np.array_equal(self_bleu_indices(N_SAMPLES, n, seed + 1), indices)
    np.testing.assert_array_equal(self_bleu_indices(N_SAMPLES), np.arange(N_SAMPLES))


def test_self_bleu_excludes_only_the_sample_itself() -> None:
    unique = ["a b c d e".split(), "f g h i j k".split(), "l m n".split()]
    # Unrelated samples share no unigram: 0.
    assert self_bleu(unique, 2) == 0.0
    # A duplicate at another position is a reference: both copies score 1.
    samples = [*unique, unique[0]]
    scores = self_bleu_scores(samples, 4)
    assert scores[0] == 1.0 and scores[3] == 1.0 and scores[1] == 0.0
    np.testing.assert_allclose(scores, [_nltk_self_bleu(samples, i, 4) for i in range(4)], rtol=0, atol=TOLERANCE)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: bleu([["a"]], [["a"]], max_n=0), ValueError, r"max_n must be in \[1, inf\], got 0"),
        (lambda: bleu([["a"]], [["a"]], max_n=2.0), TypeError, "max_n must be an integer"),
        (lambda: BLEUScorer([["a"]], max_n=True), TypeError, "max_n must be an integer"),
        (lambda: BLEUScorer([["a"]], smoothing="method4"), ValueError, r"smoothing must be one of \['method1'"),
        (lambda: bleu([["a"]], []), ValueError, "references must hold at least one sequence"),
        (lambda: bleu([], [["a"]]), ValueError, "hypotheses must hold at least one sequence"),
        (lambda: bleu("a cat", [["a"]]), TypeError, "hypotheses must be a sequence of token sequences"),
        (lambda: bleu(["a cat"], [["a"]]), TypeError, r"hypotheses\[0\] must be a sequence of tokens, got a str"),
        (lambda: bleu([["a"]], 3), TypeError, "references must be a sequence of token sequences"),
        (lambda: bleu([["a"]], [{"a"}]), TypeError, r"references\[0\] must be a sequence of tokens"),
        (lambda: bleu([[["a"]]], [["a"]]), TypeError, "hypotheses must hold hashable tokens"),
        (lambda: bleu([["a"]], [[["a"]]]), TypeError, "references must hold hashable tokens"),
        (lambda: bleu(torch.zeros(2, 3), [["a"]]), TypeError, "hypotheses must hold integer token ids"),
        (lambda: bleu(np.zeros((2, 3, 1), dtype=int), [["a"]]), ValueError, r"hypotheses must have shape \[n, T\]"),
        (lambda: bleu([np.zeros((2, 2), dtype=int)], [["a"]]), ValueError, r"hypotheses\[0\] must have shape \[T\]"),
        (lambda: self_bleu([["a"]]), ValueError, "self_bleu needs at least 2 samples"),
        (lambda: self_bleu("ab"), TypeError, "samples must be a sequence of token sequences"),
        (lambda: self_bleu([["a"], ["b"]], max_n=0), ValueError, "max_n must be in"),
        (lambda: self_bleu([["a"], ["b"]], n=3), ValueError, r"n must be in \[1, 2\], got 3"),
        (lambda: self_bleu([["a"], ["b"]], n=0), ValueError, r"n must be in \[1, 2\], got 0"),
        (lambda: self_bleu([["a"], ["b"]], n=1.5), TypeError, "n must be an integer"),
        (lambda: self_bleu([["a"], ["b"]], n=1, seed=-1), ValueError, "seed must be in"),
        (lambda: self_bleu([[["a"]], ["b"]]), TypeError, "samples must hold hashable tokens"),
        (lambda: self_bleu_scores([["a"], ["b"]], indices=[2]), ValueError, r"indices must be in \[0, 1\]"),
        (lambda: self_bleu_scores([["a"], ["b"]], indices=[0.5]), TypeError, "indices must be a 1-D sequence of ints"),
        (lambda: self_bleu_indices(1), ValueError, "num_samples must be in"),
    ],
)
def test_bad_input_names_the_argument(call, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        call()
