"""Atomic writes: the previous file survives a failed write, and nothing half-written is left."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from seqgan_gym._io import atomic_write, atomic_write_json, atomic_write_text


def test_a_failed_write_keeps_the_previous_file(tmp_path) -> None:
    path = tmp_path / "summary.json"
    atomic_write_json(path, {"nll_oracle": 9.0})
    with pytest.raises(OSError, match="no space"):
        with atomic_write(path, "w") as f:
            f.write('{"nll_oracle": 8.')
            raise OSError(28, "no space left on device")
    assert path.read_text() == '{\n  "nll_oracle": 9.0\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]  # no temporary file left behind


def test_written_files_get_ordinary_permissions(tmp_path) -> None:
    old = os.umask(0o022)
    try:
        path = atomic_write_text(tmp_path / "deep" / "samples.txt", "1 2 3\n")
    finally:
        os.umask(old)
    assert path.read_text() == "1 2 3\n"
    assert stat.S_IMODE(path.stat().st_mode) == 0o644


def test_bad_mode() -> None:
    with pytest.raises(ValueError, match="mode"):
        with atomic_write("x", "a"):
            pass


def test_a_link_is_followed_and_what_is_not_a_file_is_refused(tmp_path) -> None:
    """A rename replaces what is at the path: a link's target is written instead, a device or FIFO never."""
    target = tmp_path / "target.json"
    target.write_text("{}\n")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    atomic_write_json(link, {"a": 1})
    assert link.is_symlink() and json.loads(target.read_text()) == {"a": 1}
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for bad in (fifo, Path("/dev/null"), Path("/dev/stdout")):
        with pytest.raises(ValueError, match="is not a regular file"):
            atomic_write_json(bad, {})
    assert Path("/dev/null").is_char_device() and Path("/dev/stdout").is_symlink() and fifo.is_fifo()
