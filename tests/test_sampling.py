"""sample_from_logits: exact two-level inverse-CDF sampling."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import chi2_critical, chi2_statistic

from seqgan_gym.sampling import block_size, sample_from_log2_logits, sample_from_logits


def _block(vocab: int) -> int:
    """The sampler's block size (about sqrt(V)), so the tests can aim at block boundaries."""
    return block_size(vocab)


def _draw(logits: torch.Tensor, n: int, seed: int, chunk: int = 32_768) -> torch.Tensor:
    """``n`` draws from the single row ``logits`` (in chunks of rows, one generator stream)."""
    gen = torch.Generator().manual_seed(seed)
    out = [sample_from_logits(logits.expand(min(chunk, n - start), -1).clone(), gen) for start in range(0, n, chunk)]
    return torch.cat(out)


@pytest.mark.parametrize("vocab", [2, 7, 16, 17, 101])
def test_frequencies_match_softmax(vocab: int) -> None:
    logits = torch.randn(vocab, generator=torch.Generator().manual_seed(vocab)) * 1.5
    n = 60_000
    draws = _draw(logits, n, seed=1)
    probs = torch.softmax(logits.double(), dim=0)
    counts = torch.bincount(draws, minlength=vocab)
    assert counts.numel() == vocab
    stat, df = chi2_statistic(counts, probs, n)
    assert df >= 1
    # Fixed seed, so deterministic; a correct sampler fails this with probability about 1e-6.
    assert stat < chi2_critical(df), (stat, df)
    # And no cell is far off: 5 binomial standard errors.
    freq = counts.double() / n
    assert torch.all((freq - probs).abs() < 5 * torch.sqrt(probs * (1 - probs) / n) + 1e-9)


def test_frequencies_match_softmax_v5000() -> None:
    vocab = 5000
    logits = torch.randn(vocab, generator=torch.Generator().manual_seed(0)) * 2.0
    n = 30_000
    draws = _draw(logits, n, seed=2, chunk=3_000)
    probs = torch.softmax(logits.double(), dim=0)
    counts = torch.bincount(draws, minlength=vocab)
    stat, df = chi2_statistic(counts, probs, n)
    assert df > 100
    assert stat < chi2_critical(df), (stat, df)
    # Mass per range of 125 tokens (ranges straddle the sampler's 100-token blocks).
    range_p = probs.view(40, 125).sum(dim=1)
    range_f = counts.double().view(40, 125).sum(dim=1) / n
    assert torch.all((range_f - range_p).abs() < 5 * torch.sqrt(range_p * (1 - range_p) / n))


def test_rows_use_their_own_logits() -> None:
    vocab = 17
    gen = torch.Generator().manual_seed(4)
    a, b = torch.randn(vocab, generator=gen), torch.randn(vocab, generator=gen) * 3
    n = 30_000
    logits = torch.stack([a, b]).repeat(n, 1)  # rows alternate a, b
    draws = sample_from_logits(logits, torch.Generator().manual_seed(5))
    for row_logits, row_draws in ((a, draws[0::2]), (b, draws[1::2])):
        probs = torch.softmax(row_logits.double(), dim=0)
        stat, df = chi2_statistic(torch.bincount(row_draws, minlength=vocab), probs, n)
        assert stat < chi2_critical(df), (stat, df)


def test_temperature_extremes_do_not_overflow() -> None:
    # Huge logits: the sampler must subtract the max before exponentiating.
    logits = torch.tensor([[1000.0, 1000.0 + math.log(3.0), -1000.0]]).expand(20_000, -1).clone()
    draws = sample_from_logits(logits, torch.Generator().manual_seed(0))
    assert int((draws == 2).sum()) == 0
    share = float((draws == 1).double().mean())
    assert abs(share - 0.75) < 5 * math.sqrt(0.75 * 0.25 / 20_000)


@pytest.mark.parametrize("vocab", [7, 17, 101, 5000])
def test_minus_inf_tokens_are_never_drawn(vocab: int) -> None:
    block = _block(vocab)
    gen = torch.Generator().manual_seed(vocab)
    logits = torch.randn(vocab, generator=gen)
    banned = torch.zeros(vocab, dtype=torch.bool)
    banned[0] = banned[-1] = True
    banned[block : 2 * block] = True  # one whole block of the sampler
    if vocab > 4 * block:
        banned[3 * block + block // 2 : 4 * block + block // 2] = True  # a window straddling two blocks
    banned[(vocab // block) * block :] = True  # the whole remainder block (or the last full block)
    logits[banned] = float("-inf")
    # Make the allowed neighbours of banned tokens heavy, so draws land right at the edges.
    heavy = torch.zeros(vocab, dtype=torch.bool)
    heavy[1:] |= banned[:-1]
    heavy[:-1] |= banned[1:]
    logits[heavy & ~banned] += 4.0
    n = 100_000 if vocab <= 101 else 20_000
    draws = _draw(logits, n, seed=7, chunk=32_768 if vocab <= 101 else 2_000)
    assert not bool(banned[draws].any())
    # Every allowed heavy token does get drawn: the sampler is not just avoiding whole regions.
    drawn = torch.bincount(draws, minlength=vocab) > 0
    assert bool(drawn[heavy & ~banned].all())


@pytest.mark.parametrize("vocab", [2, 7, 17, 101, 5000])
def test_single_token_with_all_the_mass(vocab: int) -> None:
    block = _block(vocab)
    targets = sorted({0, vocab - 1, vocab // 2, min(block, vocab - 1), (vocab // block) * block % vocab})
    for target in targets:
        # -inf elsewhere, and merely overwhelming logits elsewhere (exp underflows to exactly 0).
        for other in (float("-inf"), -1e4):
            logits = torch.full((64, vocab), other)
            logits[:, target] = 3.0
            draws = sample_from_logits(logits, torch.Generator().manual_seed(target))
            assert torch.all(draws == target), (vocab, target, other)


def test_single_token_vocabulary() -> None:
    draws = sample_from_logits(torch.randn(10, 1), torch.Generator().manual_seed(0))
    assert torch.equal(draws, torch.zeros(10, dtype=torch.long))


@pytest.mark.parametrize("vocab", [2, 17, 5000])
def test_reproducible_dtype_shape_and_range(vocab: int) -> None:
    logits = torch.randn(33, vocab, generator=torch.Generator().manual_seed(1))
    a = sample_from_logits(logits, torch.Generator().manual_seed(11))
    b = sample_from_logits(logits, torch.Generator().manual_seed(11))
    c = sample_from_logits(logits, torch.Generator().manual_seed(12))
    assert a.dtype == torch.long
    assert a.shape == (33,)
    assert int(a.min()) >= 0 and int(a.max()) < vocab
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_does_not_modify_the_logits() -> None:
    logits = torch.randn(5, 17, generator=torch.Generator().manual_seed(0))
    before = logits.clone()
    sample_from_logits(logits, torch.Generator().manual_seed(0))
    assert torch.equal(logits, before)


def test_global_stream_is_used_without_a_generator() -> None:
    logits = torch.randn(50, 17, generator=torch.Generator().manual_seed(0))
    torch.manual_seed(3)
    a = sample_from_logits(logits)
    torch.manual_seed(3)
    b = sample_from_logits(logits)
    assert torch.equal(a, b)


def test_float64_logits() -> None:
    logits = torch.full((100, 9), float("-inf"), dtype=torch.float64)
    logits[:, 4] = 0.0
    logits[:, 8] = 0.0
    draws = sample_from_logits(logits, torch.Generator().manual_seed(0))
    assert draws.dtype == torch.long
    assert set(draws.tolist()) == {4, 8}


@pytest.mark.parametrize("vocab", [7, 17, 101, 5000])
def test_inverse_cdf_is_exact_at_boundaries(vocab: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """With m = 2^k allowed tokens of weight 1, u in [j/m, (j+1)/m) must select the j-th allowed token.

    Every quantity is then an exact float, so this pins the inverse CDF down to the last bit: the
    uniform draws u = 0, j/m, just below j/m and just below 1 are fed in through ``torch.rand``
    (the sampler's one source of randomness).
    """
    block = _block(vocab)
    # Allowed tokens at the awkward places: the ends, both sides of block boundaries, the remainder.
    wanted = [1, block - 1, block, block + 1, 2 * block - 1, vocab - 2, vocab // 2, (vocab // block) * block - 1]
    allowed = sorted({t for t in wanted if 0 < t < vocab - 1})
    m = 1 << (len(allowed).bit_length() - 1)  # the largest power of two that fits
    allowed = allowed[-m:] if m > 1 else allowed[:1]
    logits = torch.full((1, vocab), float("-inf"))
    logits[0, allowed] = 0.0
    below = [torch.nextafter(torch.tensor(j / m), torch.tensor(0.0)).item() for j in range(1, m + 1)]
    us = [j / m for j in range(m)] + below  # u = j/m selects token j; just below (j+1)/m too
    expected = [*allowed, *allowed]
    u_column = torch.tensor(us, dtype=torch.float32)[:, None]
    calls = []

    def fake_rand(*size: int, **kwargs: object) -> torch.Tensor:
        calls.append(size)
        return u_column.to(kwargs.get("dtype", torch.float32))  # type: ignore[arg-type]

    monkeypatch.setattr(torch, "rand", fake_rand)
    draws = sample_from_logits(logits.expand(len(us), -1).clone())
    monkeypatch.undo()
    assert calls == [(len(us), 1)]
    assert draws.tolist() == expected


@pytest.mark.parametrize("vocab", [7, 5000])
def test_overwrite_gives_the_same_draws(vocab: int) -> None:
    logits = torch.randn(40, vocab, generator=torch.Generator().manual_seed(0)) * 2
    logits[:, 0] = float("-inf")
    a = sample_from_logits(logits, torch.Generator().manual_seed(1))
    scratch = logits.clone()
    b = sample_from_logits(scratch, torch.Generator().manual_seed(1), overwrite=True)
    assert torch.equal(a, b)


@pytest.mark.parametrize("vocab", [7, 5000])
def test_unshifted_draws_equal_shifted_ones_within_the_bound(vocab: int) -> None:
    """Skipping the max-shift (allowed when every |base-2 logit| <= 100) draws the same tokens."""
    log2_logits = torch.empty(300, vocab, dtype=torch.float64).uniform_(
        -100, 100, generator=torch.Generator().manual_seed(0)
    )
    shifted = sample_from_log2_logits(log2_logits, torch.Generator().manual_seed(1))
    unshifted = sample_from_log2_logits(log2_logits, torch.Generator().manual_seed(1), shift=False)
    assert torch.equal(shifted, unshifted)
    x = torch.full((3, vocab), -100.0)  # the bound's floor: 2 ** -100 is still a normal float32
    x[1] = 100.0
    x[2, 1] = float("nan")
    with pytest.raises(ValueError, match="row 2"):
        sample_from_log2_logits(x, torch.Generator().manual_seed(0), shift=False)
    assert sample_from_log2_logits(x[:2], torch.Generator().manual_seed(0), shift=False).shape == (2,)


@pytest.mark.parametrize("bad", ["all -inf", "nan", "+inf"])
def test_rows_without_a_finite_maximum_are_refused(bad: str) -> None:
    """Such a row has no distribution; drawing from it used to return an id past the vocabulary."""
    logits = torch.randn(4, 17, generator=torch.Generator().manual_seed(0))
    if bad == "all -inf":
        logits[2] = float("-inf")
    else:
        logits[2, 5] = float("nan") if bad == "nan" else float("inf")
    with pytest.raises(ValueError, match="row 2"):
        sample_from_logits(logits, torch.Generator().manual_seed(0))


def test_empty_batch() -> None:
    out = sample_from_logits(torch.zeros(0, 17), torch.Generator().manual_seed(0))
    assert out.shape == (0,) and out.dtype == torch.long


@pytest.mark.parametrize(
    "bad", [torch.zeros(5), torch.zeros(2, 3, 4), torch.zeros(2, 3, dtype=torch.long), [[0.0, 1.0]]]
)
def test_logits_of_the_wrong_shape_or_type_are_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="logits"):
        sample_from_logits(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("vocab", [17, 5000])
def test_draws_per_row_equal_draws_from_repeated_rows(vocab: int) -> None:
    """Several draws per row: the tokens of one draw from each row of the repeated logits."""
    logits = torch.randn(6, vocab, generator=torch.Generator().manual_seed(0)) * 2
    logits[:, 1] = float("-inf")
    shared = sample_from_logits(logits, torch.Generator().manual_seed(3), draws_per_row=7)
    repeated = sample_from_logits(logits.repeat_interleave(7, 0), torch.Generator().manual_seed(3))
    assert shared.shape == (42,)
    assert torch.equal(shared, repeated)
    with pytest.raises(ValueError, match="draws_per_row"):
        sample_from_logits(logits, draws_per_row=0)


@pytest.mark.parametrize(("vocab", "block"), [(5000, 100), (16, 4), (10_000, 100), (17, 5), (101, 11), (4999, 71)])
def test_block_size_divides_the_vocabulary_where_it_can(vocab: int, block: int) -> None:
    assert block_size(vocab) == block
