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
