"""Speed kernels behind the readable models (docs/design.md §4).

``seqgan_gym/generator.py`` and ``seqgan_gym/discriminator.py`` state what G and D compute; the
functions here compute the same things faster and are the only places where speed bends the
code: fused output-layer losses, base-2 sampling heads, D's lookup tables, the choice of bfloat16
and the CPU feature detection behind it. ``seqgan_gym/reference.py`` holds the plain versions
that the tests compare them with.

* :mod:`seqgan_gym._kernels.generator`: G's output layer and LSTM recurrence.
* :mod:`seqgan_gym._kernels.discriminator`: D's convolutions, lookup tables and precision.
"""

from __future__ import annotations

from collections.abc import Iterator


def chunks(n: int, size: int) -> Iterator[slice]:
    """Consecutive slices of at most ``size`` rows covering ``range(n)``."""
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))
