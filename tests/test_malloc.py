"""Freed memory stays in the process: a second large tensor reuses the first one's pages."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Allocate, touch and free a 64 MB tensor a few times (glibc may alternate between two blocks at
# first), then count the page faults of doing it twice more.
_SCRIPT = """
import resource, torch, seqgan_gym
from seqgan_gym._malloc import keep_freed_memory
def touch():
    x = torch.empty(16 << 20)
    x.fill_(1.0)
    del x
for _ in range(3):
    touch()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
touch()
touch()
print(keep_freed_memory(), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _run(keep: str) -> tuple[bool, int]:
    env = {**os.environ, "SEQGAN_GYM_KEEP_FREED_MEMORY": keep}
    out = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, check=True)
    applied, faults = out.stdout.split()
    return applied == "True", int(faults)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt: Linux only")
def test_a_second_large_tensor_reuses_freed_pages() -> None:
    applied, faults = _run("1")
    assert applied
    assert faults < 500  # 2 x 64 MB of fresh pages: 32,768 faults of 4 KB pages (64 with 2 MB huge pages)
    off_applied, off_faults = _run("0")
    assert not off_applied
    assert off_faults > 2 * faults  # glibc's default maps the block afresh
