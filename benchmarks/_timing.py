"""What every benchmark script shares: wall-clock timing of repeated runs, and the report."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from seqgan_gym._io import atomic_write_text


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def write_report(lines: list[str], path: Path) -> None:
    """Print the report's markdown ``lines`` and write them to ``path`` (atomically)."""
    text = "\n".join(lines)
    print(text)
    atomic_write_text(path, text)
