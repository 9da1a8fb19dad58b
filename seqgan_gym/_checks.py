"""Argument checks shared by the package: clear errors that name the argument."""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Iterator
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


def check_float(
    name: str,
    value: Any,
    low: float | None = None,
    high: float | None = None,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` in the given interval, or raise ``ValueError`` naming ``name``.

    ``low`` / ``high`` bound it (``None``: unbounded); ``low_open`` / ``high_open`` exclude the bound
    itself, e.g. ``check_float("lr", lr, 0, low_open=True)`` for ``lr > 0``. Booleans, strings and
    NaN or infinite values are refused.
    """
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, numbers.Real)
    number = float(value) if ok else math.nan
    ok = ok and math.isfinite(number)
    if ok and low is not None:
        ok = number > low if low_open else number >= low
    if ok and high is not None:
        ok = number < high if high_open else number <= high
    if not ok:
        lo = "(-inf" if low is None else f"{'(' if low_open else '['}{low:g}"
        hi = "inf)" if high is None else f"{high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be a finite number in {lo}, {hi}, got {value!r}")
    return number


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


def all_finite(tree: Any) -> bool:
    """Whether every float in ``tree`` (tensors, arrays, floats in nested dicts, lists and tuples) is finite."""
    if isinstance(tree, torch.Tensor):
        return not (tree.is_floating_point() or tree.is_complex()) or bool(torch.isfinite(tree).all())
    if isinstance(tree, np.ndarray):
        return tree.dtype.kind not in "fc" or bool(np.isfinite(tree).all())
    if isinstance(tree, float):
        return math.isfinite(tree)
    if isinstance(tree, dict):
        return all(all_finite(v) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return all(all_finite(v) for v in tree)
    return True


def non_finite_names(state: dict[str, Any]) -> list[str]:
    """The keys of ``state`` whose values hold a non-finite float (see :func:`all_finite`)."""
    return [str(name) for name, value in state.items() if not all_finite(value)]


def describe_non_finite(value: torch.Tensor | np.ndarray | float) -> str:
    """A short account of the NaNs and infinities in ``value``, for an error message (the failure path only)."""
    if isinstance(value, float):
        return repr(value)
    array = value.detach().cpu().double().numpy() if isinstance(value, torch.Tensor) else np.asarray(value, float)
    n_nan, n_inf = int(np.isnan(array).sum()), int(np.isinf(array).sum())
    if array.ndim == 0:
        return repr(float(array))
    first = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
    return f"{n_nan} NaN and {n_inf} infinite of {array.size} values, the first at index {first}"


@contextlib.contextmanager
def fault_context(where: str) -> Iterator[None]:
    """Prefix ``where`` (e.g. ``"MLE epoch 3"``) to a :class:`FloatingPointError` raised inside: where it failed."""
    try:
        yield
    except FloatingPointError as err:
        raise FloatingPointError(f"{where}: {err}") from err
