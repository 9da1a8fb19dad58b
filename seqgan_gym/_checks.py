"""Argument checks shared by the package: clear errors that name the argument.

torch is imported inside the checks of tensors only: configurations and the command lines' parsers
use the rest, and ``seqgan-gym --help`` answers without loading torch.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

# Caps on what an argument or a file may ask for: far above any real use (the paper: T = 20,
# V = 5,000; COCO: T = 35), low enough that a typo or a forged file fails at once, with the numbers,
# rather than after minutes of work or a huge allocation.

#: The longest sequence length T any model, env or corpus accepts.
MAX_SEQ_LEN = 10_000
#: The largest vocabulary V any model, env or corpus accepts.
MAX_VOCAB_SIZE = 10_000_000
#: The most sequences one argument may ask to draw at once (e.g. ``n_negatives``, ``n_real``).
MAX_N_SEQUENCES = 10_000_000
#: Seed of the default benchmark oracle of ``SeqGAN-Oracle-v0`` (:meth:`seqgan_gym.oracle.OracleLSTM.seeded`).
DEFAULT_ORACLE_SEED = 2017
#: Below this many bytes an allocation is not checked against the memory available (cheap and harmless).
_MEMORY_CHECK_FLOOR = 256 * 2**20


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a ``torch.Tensor``, without importing torch (if it is not imported, nothing is one)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


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


def check_unit_interval(name: str, value: Any, what: str = "a probability") -> float:
    """``value`` as a float in [0, 1], or a ``ValueError`` that says ``name`` must be ``what`` in [0, 1]."""
    try:
        return check_float(name, value, 0, 1)
    except ValueError:
        raise ValueError(f"{name} must be {what} in [0, 1], got {value!r}") from None


#: What ``Discriminator(precision=...)`` accepts.
D_PRECISIONS: tuple[str, ...] = ("auto", "float32", "bfloat16")


def check_filters(
    filter_sizes: Sequence[int], num_filters: Sequence[int], seq_len: int, prefix: str = ""
) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The discriminator's filter widths and counts as tuples, or an error naming ``prefix + "filter_sizes"``."""
    filter_sizes, num_filters = tuple(filter_sizes), tuple(num_filters)
    if not filter_sizes or len(filter_sizes) != len(num_filters):
        raise ValueError(
            f"{prefix}filter_sizes and {prefix}num_filters must be non-empty and of equal length, got "
            f"{len(filter_sizes)} and {len(num_filters)}"
        )
    for width in filter_sizes:
        check_int(f"each of {prefix}filter_sizes", width, minimum=1, maximum=seq_len)
    for count in num_filters:
        check_int(f"each of {prefix}num_filters", count, minimum=1)
    return filter_sizes, num_filters


def _token_range_error(name: str, vocab_size: int, low: int, high: int) -> ValueError:
    return ValueError(f"{name} must hold token ids in [0, {vocab_size - 1}], got values in [{low}, {high}]")


def _unsigned_as_int64(name: str, array: np.ndarray, vocab_size: int) -> np.ndarray:
    """An unsigned ``array`` as int64, its ids checked first (so a uint64 above int64's range cannot wrap)."""
    if array.size and int(array.max()) >= vocab_size:
        raise _token_range_error(name, vocab_size, int(array.min()), int(array.max()))
    return array.astype(np.int64)


def check_tokens(
    name: str,
    tokens: Any,
    vocab_size: int,
    *,
    max_len: int | None = None,
    exact_len: int | None = None,
    nonempty: bool = False,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Return ``tokens`` as a ``LongTensor[n, L]`` on ``device``, or raise an error naming ``name``.

    Token ids must be integers in ``[0, vocab_size)`` (any signed or unsigned integer dtype);
    ``L`` must be ``exact_len`` when given, else between 1 and ``max_len``; with ``nonempty``,
    ``n >= 1``.
    """
    import torch

    # torch has no min/max for these (``"min_all" not implemented for 'UInt16'``): checked in numpy, then widened.
    wide_unsigned = (torch.uint16, torch.uint32, torch.uint64)
    if isinstance(tokens, torch.Tensor) and tokens.dtype in wide_unsigned:
        tokens = torch.from_numpy(_unsigned_as_int64(name, tokens.cpu().numpy(), vocab_size))
    elif not isinstance(tokens, torch.Tensor):
        try:
            array = np.asarray(tokens)
        except (TypeError, ValueError) as err:  # ragged rows
            raise TypeError(f"{name} must be an integer array of token ids, got {type(tokens).__name__}") from err
        if array.size == 0 and array.dtype.kind == "f":
            array = array.astype(np.int64)  # numpy makes ``[]`` float64: no value in it is a float
        elif array.dtype.kind == "u":
            array = _unsigned_as_int64(name, array, vocab_size)
        try:
            tokens = torch.as_tensor(array)
        except (TypeError, ValueError, RuntimeError) as err:  # strings, objects
            raise TypeError(f"{name} must be an integer array of token ids, got {type(tokens).__name__}") from err
    if nonempty and tokens.dim() >= 1 and tokens.shape[0] == 0:
        raise ValueError(
            f"{name} must hold at least one sequence ([n, length] with n >= 1), got shape {tuple(tokens.shape)}"
        )
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
        raise _token_range_error(name, vocab_size, int(tokens.min()), int(tokens.max()))
    return tokens.to(device=device, dtype=torch.long)


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation now (Linux ``MemAvailable``), or ``None`` if unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:  # other POSIX systems: free physical pages (a lower bound on what could be had)
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def check_memory(what: str, n_bytes: int) -> None:
    """Raise a ``ValueError`` with the numbers if ``what`` (``n_bytes``) exceeds the memory available now.

    A cheap up-front check with the numbers, so that a size asked by mistake (or by a forged file)
    fails at once instead of swapping or being killed. Sizes under 256 MiB are not checked.
    """
    if n_bytes < _MEMORY_CHECK_FLOOR:
        return
    available = available_memory()
    if available is not None and n_bytes > available:
        raise ValueError(
            f"{what} needs {n_bytes / 2**30:,.1f} GiB, more than the {available / 2**30:,.1f} GiB of memory available"
        )


def all_finite(tree: Any) -> bool:
    """Whether every float in ``tree`` (tensors, arrays, floats in nested dicts, lists and tuples) is finite."""
    if is_tensor(tree):
        return not (tree.is_floating_point() or tree.is_complex()) or bool(tree.isfinite().all())
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
    array = value.detach().cpu().double().numpy() if is_tensor(value) else np.asarray(value, float)
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


def check_device(device: torch.device | str, name: str = "device") -> torch.device:
    """``device`` as a ``torch.device`` this torch can use now, or a ``ValueError`` naming ``name``.

    torch itself accepts ``"cuda"`` on a CPU-only build and fails later, deep inside, with an
    ``AssertionError``; a device that is not there is refused here with what is available.
    """
    import torch

    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"{name} must name a torch device such as 'cpu' or 'cuda', got {device!r}") from err
    if device.type == "cuda":
        if not torch.cuda.is_available():
            build = "a CPU-only build" if torch.version.cuda is None else f"built for CUDA {torch.version.cuda}"
            raise ValueError(
                f"{name}={str(device)!r}, but CUDA is not available (torch {torch.__version__} is {build}, or no GPU "
                "is visible); use device='cpu'"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"{name}={str(device)!r}, but only {torch.cuda.device_count()} CUDA device(s) are visible")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name}={str(device)!r}, but MPS is not available on this machine; use device='cpu'")
    return device
