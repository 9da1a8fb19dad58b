"""Keep freed memory in the process for reuse: no page faults for the next large tensor.

torch allocates CPU tensors with the C library's ``malloc``. glibc serves a large block by mapping
fresh pages from the kernel and hands it back to the kernel when it is freed, so every new
``[1024, 5000]`` block of rollout logits is faulted in page by page on first touch, a large share
of a Monte Carlo episode's time on the CPU (docs/design.md §4). Raising glibc's mmap and trim
thresholds keeps freed blocks in the heap, where the next block of the same size reuses them.
Resident memory then stays at its high-water mark instead of shrinking between allocations; the
high-water mark itself is unchanged.

Importing ``seqgan_gym`` does not call :func:`keep_freed_memory`: it changes the whole process's
allocator, so the programs that want it (the command lines, the trainer) call it themselves. Set
the environment variable ``SEQGAN_GYM_KEEP_FREED_MEMORY=0`` (or ``false``, ``no``, ``off``) to
make the call leave the allocator as it is. The variable is read when the package is imported
(:mod:`seqgan_gym._env`), so a value that is not a switch fails the import with a
:class:`ValueError` naming it instead of being ignored until a program calls.
"""

from __future__ import annotations

import ctypes
import functools

from seqgan_gym._env import KEEP_FREED_MEMORY

# mallopt parameters, from glibc's <malloc.h>.
_M_TRIM_THRESHOLD, _M_TOP_PAD, _M_MMAP_THRESHOLD = -1, -2, -3
#: Blocks below this size come from the heap, whose freed space is reused.
MMAP_THRESHOLD = 1 << 30
#: Free space at the top of the heap is handed back to the kernel only beyond this.
TRIM_THRESHOLD = 1 << 30
#: Extra space taken from the kernel whenever the heap grows (fewer, larger grows).
TOP_PAD = 64 << 20
#: Whether :func:`keep_freed_memory` may change the allocator: ``SEQGAN_GYM_KEEP_FREED_MEMORY``, default on.
ENABLED: bool = KEEP_FREED_MEMORY


@functools.cache
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds for this process (once); whether they were raised.

    ``False`` where the C library is not glibc (macOS, musl, Windows) or when :data:`ENABLED` is
    false (``SEQGAN_GYM_KEEP_FREED_MEMORY=0``): nothing is changed there.
    """
    if not ENABLED:
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.gnu_get_libc_version  # noqa: B018  (glibc only: musl has no such symbol)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    settings = ((_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD), (_M_TOP_PAD, TOP_PAD))
    return all(mallopt(param, value) == 1 for param, value in settings)
