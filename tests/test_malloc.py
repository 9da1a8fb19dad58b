"""Freed memory stays in the process: a second large tensor reuses the first one's pages.

Only where :func:`~seqgan_gym._malloc.keep_freed_memory` is called: importing ``seqgan_gym``
leaves the allocator as it is.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Allocate, touch and free a 64 MB tensor a few times (glibc may alternate between two blocks at
# first), then count the page faults of doing it twice more. {call} is where keep_freed_memory()
# is called, or not. The trainer's modules are loaded first, as they are in a run by the time it rolls
# out: the reuse depends on the heap's layout. With torch alone loaded, a small block lands after each
# freed 64 MB block and torch's 64-byte-aligned request for the next one is a little larger than it,
# so every block is new (docs/design.md §4).
_SCRIPT = """
import resource, torch, seqgan_gym, agents.experiment.seqgan
from seqgan_gym._malloc import keep_freed_memory
applied = {call}
def touch():
    x = torch.empty(16 << 20)
    x.fill_(1.0)
    del x
for _ in range(3):
    touch()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
touch()
touch()
print(applied, keep_freed_memory.cache_info().currsize, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _run(keep: str, call: bool = True) -> tuple[bool, int, int]:
    """``(whether the thresholds were raised, calls cached, page faults)`` in a fresh process."""
    env = {**os.environ, "SEQGAN_GYM_KEEP_FREED_MEMORY": keep}
    script = _SCRIPT.format(call="keep_freed_memory()" if call else "False")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    applied, calls, faults = out.stdout.split()
    return applied == "True", int(calls), int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_a_second_large_tensor_reuses_freed_pages() -> None:
    applied, _, faults = _run("1")
    assert applied
    assert faults < 500  # 2 x 64 MB of fresh pages: 32,768 faults of 4 KB pages (64 with 2 MB huge pages)
    off_applied, _, off_faults = _run("0")
    assert not off_applied
    assert off_faults > 2 * faults  # glibc's default maps the block afresh


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_importing_the_package_leaves_the_allocator_alone() -> None:
    _, calls, faults = _run("1", call=False)
    assert calls == 0  # keep_freed_memory() never ran
    _, on_calls, on_faults = _run("1")
    assert on_calls == 1
    assert faults > 2 * on_faults  # glibc's default, as with the switch off: every block is mapped afresh
