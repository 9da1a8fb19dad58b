"""Argument checks shared by the package: clear errors that name the argument."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
import torch


def check_int(name: str, value: Any, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an ``int`` or raise an error naming ``name`` and the allowed range."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        lo = "-inf" if minimum is None else str(minimum)
        hi = "inf" if maximum is None else str(maximum)
        raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")
    return value


def check_tokens(
    name: str,
    tokens: Any,
    vocab_size: int,
    *,
    max_len: int | None = None,
    exact_len: int | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Return ``tokens`` as a ``LongTensor[n, L]`` on ``device``, or raise an error naming ``name``.

    Token ids must be integers in ``[0, vocab_size)``; ``L`` must be ``exact_len`` when given,
    else between 1 and ``max_len``.
    """
    if not isinstance(tokens, torch.Tensor):
        try:
            tokens = torch.as_tensor(np.asarray(tokens))
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"{name} must be an integer array of token ids, got {type(tokens).__name__}") from err
    if tokens.dtype.is_floating_point or tokens.dtype.is_complex or tokens.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer token ids, got dtype {tokens.dtype}")
    if tokens.dim() != 2:
        raise ValueError(f"{name} must have shape [n, length], got shape {tuple(tokens.shape)}")
    length = tokens.shape[1]
    if exact_len is not None and length != exact_len:
        raise ValueError(f"{name} must have length {exact_len} (seq_len), got shape {tuple(tokens.shape)}")
    if max_len is not None and not 1 <= length <= max_len:
        raise ValueError(f"{name} must have length in [1, {max_len}] (seq_len), got shape {tuple(tokens.shape)}")
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= vocab_size):
        raise ValueError(
            f"{name} must hold token ids in [0, {vocab_size - 1}], "
            f"got values in [{int(tokens.min())}, {int(tokens.max())}]"
        )
    return tokens.to(device=device, dtype=torch.long)
