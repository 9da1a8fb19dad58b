"""Exact inverse-CDF sampling of the next token from a batch of logits.

Every sampler in the package (oracle, generator, rollout policy) goes through
:func:`sample_from_logits`, so the same ``torch.Generator`` state gives the same tokens
wherever it is used. ``torch.multinomial`` is slow at V=5000 on the CPU, and a row-wise
``cumsum`` over all V entries is itself slow (it does not vectorise across the row), so the
inverse CDF is taken in two levels (docs/design.md §4): first over blocks of about sqrt(V)
tokens (block sums are a cheap vectorised reduction), then within the one chosen block.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from seqgan_gym._checks import check_float, check_int

#: log2(e): natural-log logits times LOG2_E are base-2 logits.
LOG2_E = 1.0 / math.log(2.0)


def check_temperature(temperature: float) -> float:
    """``temperature`` as a finite ``float > 0``, or a ``ValueError`` that names it.

    Sampling at temperature τ draws token ``v`` with probability ``softmax(logits / τ)[v]``: τ < 1
    sharpens the distribution, τ > 1 flattens it, τ = 1 is the model itself.
    """
    return check_float("temperature", temperature, 0.0, low_open=True)


def block_size(vocab: int) -> int:
    """The first level's block size for a vocabulary of ``vocab`` tokens: about sqrt(V).

    The smallest divisor of V from ceil(sqrt(V)) to twice that, where there is one (V=5000: 100),
    so that the block sums are one reduction over a ``[B, V / block, block]`` view, faster than
    summing a ragged last block apart; else ceil(sqrt(V)), with a shorter last block.
    """
    if vocab <= 1:
        return 1
    smallest = math.isqrt(vocab - 1) + 1
    return next((b for b in range(smallest, 2 * smallest + 1) if vocab % b == 0), smallest)


def sample_from_logits(
    logits: torch.Tensor,
    generator: torch.Generator | None = None,
    overwrite: bool = False,
    draws_per_row: int = 1,
) -> torch.Tensor:
    """Draw tokens from each row of ``logits``, token ``v`` with probability ``softmax(logits)[v]``.

    A token of probability 0 (logit ``-inf``) is never drawn.

    :param logits: unnormalised log-probabilities (natural log), shape ``[B, V]``.
    :param generator: the random stream; ``None`` uses torch's global one.
    :param overwrite: use ``logits`` itself as scratch space (its contents are destroyed): saves
        a ``B x V`` allocation, whose page faults can cost as much as the arithmetic on the CPU.
    :param draws_per_row: independent draws from each row (``>= 1``). The same tokens as one draw
        from each row of ``logits.repeat_interleave(draws_per_row, 0)``, for the cost of
        exponentiating ``B`` rows instead of ``B * draws_per_row``.
    :return: ``LongTensor[B * draws_per_row]`` of token ids in ``[0, V)``; entry ``b * draws_per_row + k``
        is the ``k``-th draw from row ``b``.
    """
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or not logits.is_floating_point():
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"logits must be a floating-point tensor of shape [B, V], got {shape}")
    log2_logits = logits.mul_(LOG2_E) if overwrite else logits * LOG2_E
    return sample_from_log2_logits(log2_logits, generator, overwrite=True, draws_per_row=draws_per_row)


def sample_from_log2_logits(
    log2_logits: torch.Tensor,
    generator: torch.Generator | None = None,
    overwrite: bool = False,
    shift: bool = True,
    draws_per_row: int = 1,
) -> torch.Tensor:
    """:func:`sample_from_logits` for logits in base 2: token ``v`` has weight ``2 ** log2_logits[v]``.

    The models' samplers fold ``log2(e)`` into their output layer and call this directly, which
    saves a pass over the ``B x V`` logits: torch's ``exp2`` is faster than its ``exp`` on the CPU
    and agrees with it within float32 rounding.

    :param shift: subtract each row's maximum before exponentiating. A caller that knows every
        ``|log2_logits| <= 100`` may pass ``False`` and save two passes: ``2 ** x`` then neither
        overflows nor underflows in float32.
    """
    draws_per_row = check_int("draws_per_row", draws_per_row, minimum=1)
    batch, vocab = log2_logits.shape
    # Unnormalised weights 2 ** (x - max); the uniform draw is scaled by the total mass instead
    # of dividing all B x V weights by it.
    if shift:
        row_max = log2_logits.amax(dim=-1, keepdim=True)
        probs = log2_logits.sub_(row_max) if overwrite else log2_logits - row_max
    else:
        probs = log2_logits if overwrite else log2_logits.clone()
    probs.exp2_()
    block = block_size(vocab)
    n_full = vocab // block
    block_mass = probs[:, : n_full * block].view(batch, n_full, block).sum(dim=-1)
    if vocab % block:
        block_mass = torch.cat([block_mass, probs[:, n_full * block :].sum(dim=-1, keepdim=True)], dim=1)
    block_cdf = torch.cumsum(block_mass, dim=-1)
    # A finite row maximum makes the total mass finite and positive; a NaN, a +inf or an all -inf
    # row makes it NaN, and the searches below would then return ids past the vocabulary.
    if not bool(torch.isfinite(block_cdf[:, -1]).all()):
        bad = int((~torch.isfinite(block_cdf[:, -1])).nonzero()[0, 0])
        raise ValueError(
            f"logits must have a finite maximum in every row (no NaN or +inf, not all -inf); row {bad} does not"
        )
    rows = torch.arange(batch, device=probs.device)
    if draws_per_row > 1:  # the [B, V] weights are shared; only the small block CDFs are repeated
        rows = rows.repeat_interleave(draws_per_row)
        block_cdf = block_cdf.repeat_interleave(draws_per_row, dim=0)

    u = torch.rand(batch * draws_per_row, 1, generator=generator, device=probs.device, dtype=probs.dtype)
    # Keep the draw strictly below the total so rounding can never select past the last
    # token of positive probability (searchsorted with right=True then lands on positive mass).
    total = block_cdf[:, -1:]
    target = torch.minimum(u * total, torch.nextafter(total, torch.zeros_like(total)))
    chosen = torch.searchsorted(block_cdf, target, right=True)  # [rows, 1]
    # Column c of mass_before is the mass of the blocks before block c.
    mass_before = F.pad(block_cdf, (1, 0)).gather(1, chosen)

    index = chosen * block + torch.arange(block, device=probs.device)  # [rows, block]
    clamped = index.clamp(max=vocab - 1) if vocab % block else index
    if draws_per_row == 1:
        inside = probs.gather(1, clamped)
    else:  # rows of probs repeat: gather from the flat weights (far faster than advanced indexing)
        flat_index = (clamped + rows[:, None] * vocab).view(-1)
        inside = probs.contiguous().view(-1).index_select(0, flat_index).view_as(index)
    if vocab % block:
        inside = torch.where(index < vocab, inside, 0.0)
    inner_cdf = torch.cumsum(inside, dim=-1)
    inner_total = inner_cdf[:, -1:]
    rest = torch.minimum(target - mass_before, torch.nextafter(inner_total, torch.zeros_like(inner_total)))
    offset = torch.searchsorted(inner_cdf, rest, right=True)
    return (chosen * block + offset).squeeze(-1)
