"""Exact inverse-CDF sampling of the next token from a batch of logits.

Every sampler in the package (oracle, generator, rollout policy) goes through
:func:`sample_from_logits`, so the same ``torch.Generator`` state gives the same tokens
wherever it is used. ``torch.multinomial`` is about 20x slower at V=5000 on the CPU, and a
row-wise ``cumsum`` over all V entries is itself slow (it does not vectorise across the row),
so the inverse CDF is taken in two levels: first over blocks of about sqrt(V) tokens (block
sums are a cheap vectorised reduction), then within the one chosen block.
"""

from __future__ import annotations

import math

import torch

#: log2(e): natural-log logits times LOG2_E are base-2 logits.
LOG2_E = 1.0 / math.log(2.0)


def sample_from_logits(
    logits: torch.Tensor, generator: torch.Generator | None = None, overwrite: bool = False
) -> torch.Tensor:
    """Draw one token per row of ``logits``, token ``v`` with probability ``softmax(logits)[v]``.

    A token of probability 0 (logit ``-inf``) is never drawn.

    :param logits: unnormalised log-probabilities (natural log), shape ``[B, V]``.
    :param generator: the random stream; ``None`` uses torch's global one.
    :param overwrite: use ``logits`` itself as scratch space (its contents are destroyed): saves
        a ``B x V`` allocation, whose page faults cost as much as the arithmetic on the CPU.
    :return: ``LongTensor[B]`` of token ids in ``[0, V)``.
    """
    if not isinstance(logits, torch.Tensor) or logits.dim() != 2 or not logits.is_floating_point():
        shape = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise ValueError(f"logits must be a floating-point tensor of shape [B, V], got {shape}")
    log2_logits = logits.mul_(LOG2_E) if overwrite else logits * LOG2_E
    return sample_from_log2_logits(log2_logits, generator, overwrite=True)


def sample_from_log2_logits(
    log2_logits: torch.Tensor, generator: torch.Generator | None = None, overwrite: bool = False, shift: bool = True
) -> torch.Tensor:
    """:func:`sample_from_logits` for logits in base 2: token ``v`` has weight ``2 ** log2_logits[v]``.

    The models' samplers fold ``log2(e)`` into their output layer and call this directly, which
    saves a pass over the ``B x V`` logits: torch's ``exp2`` is ~1.6x faster than its ``exp`` on
    the CPU (relative difference ~2e-6).

    :param shift: subtract each row's maximum before exponentiating. A caller that knows every
        ``|log2_logits| <= 100`` may pass ``False`` and save two passes: ``2 ** x`` then neither
        overflows nor underflows in float32.
    """
    batch, vocab = log2_logits.shape
    # Unnormalised weights 2 ** (x - max); the uniform draw is scaled by the total mass instead
    # of dividing all B x V weights by it.
    if shift:
        row_max = log2_logits.amax(dim=-1, keepdim=True)
        probs = log2_logits.sub_(row_max) if overwrite else log2_logits - row_max
    else:
        probs = log2_logits if overwrite else log2_logits.clone()
    probs.exp2_()
    block = math.isqrt(vocab - 1) + 1 if vocab > 1 else 1
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

    u = torch.rand(batch, 1, generator=generator, device=log2_logits.device, dtype=probs.dtype)
    # Keep the draw strictly below the total so rounding can never select past the last
    # token of positive probability (searchsorted with right=True then lands on positive mass).
    target = torch.minimum(u * block_cdf[:, -1:], torch.nextafter(block_cdf[:, -1:], torch.zeros(())))
    chosen = torch.searchsorted(block_cdf, target, right=True)
    mass_before = torch.where(chosen > 0, block_cdf.gather(1, (chosen - 1).clamp_(min=0)), 0.0)

    index = chosen * block + torch.arange(block, device=log2_logits.device)  # [B, block]
    inside = torch.where(index < vocab, probs.gather(1, index.clamp(max=vocab - 1)), 0.0)
    inner_cdf = torch.cumsum(inside, dim=-1)
    rest = torch.minimum(target - mass_before, torch.nextafter(inner_cdf[:, -1:], torch.zeros(())))
    offset = torch.searchsorted(inner_cdf, rest, right=True)
    return (chosen * block + offset).squeeze(-1)
