"""On/off switches read from environment variables, with a clear error for any other value."""

from __future__ import annotations

import os

_ON = ("1", "true", "yes", "on")
_OFF = ("0", "false", "no", "off")


def env_flag(name: str, default: bool) -> bool:
    """The switch ``name`` from the environment; ``default`` when it is unset or empty.

    Accepts ``1/true/yes/on`` and ``0/false/no/off`` in any case; raises :class:`ValueError`
    naming the variable and these values for anything else, so that a typo does not leave a
    setting silently on.
    """
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in _ON:
        return True
    if raw in _OFF:
        return False
    allowed = ", ".join(_ON + _OFF)
    raise ValueError(f"environment variable {name}={os.environ[name]!r}: allowed values are {allowed}")


# Read when the package is imported, so that a value that is not a switch fails ``import seqgan_gym``
# by name instead of being ignored until the module that uses it is first imported.
#: ``SEQGAN_GYM_KEEP_FREED_MEMORY``: whether :func:`seqgan_gym._malloc.keep_freed_memory` may change the allocator.
KEEP_FREED_MEMORY: bool = env_flag("SEQGAN_GYM_KEEP_FREED_MEMORY", default=True)
#: ``SEQGAN_GYM_ONEDNN_MATMUL``: whether float32 CPU products may go through oneDNN (:mod:`seqgan_gym._matmul`).
ONEDNN_MATMUL: bool = env_flag("SEQGAN_GYM_ONEDNN_MATMUL", default=True)
