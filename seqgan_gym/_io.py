"""Atomic file writes: a reader (or a crash) never sees a half-written file. Folder locks: one writer at a time."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
import threading
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

try:
    import fcntl
except ImportError:  # not POSIX (Windows): folders are not locked
    fcntl = None  # type: ignore[assignment]

#: The file that :func:`folder_lock` locks inside a folder.
LOCK_NAME = ".lock"
# What atomic_write leaves behind when a crash comes between its write and its rename: mkstemp's name.
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[a-z0-9_]{8}\.tmp")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike[str], mode: str = "w") -> Iterator[IO[Any]]:
    """Open a temporary file beside ``path``; on success flush, fsync and rename it into place.

    On an error the temporary file is removed and ``path`` keeps its previous content. The file
    gets the permissions a plain ``open`` would give (0666 less the umask), not mkstemp's 0600.
    A symbolic link is followed (its target gets the new content; the link stays), and anything
    that is not a regular file (a device such as ``/dev/stdout``, a FIFO, a socket) is refused with
    a ``ValueError``: a rename would replace it.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}")
    path = Path(path)
    target = path.resolve() if path.is_symlink() else path
    system = ("/dev", "/proc")  # /dev/stdout is a link to /proc/self/fd/1: an open file, not a file to replace
    if any(str(p.absolute()).startswith(f"{d}/") for p in (path, target) for d in system) or (
        target.exists() and not target.is_file()
    ):
        raise ValueError(f"{str(path)!r} is not a regular file (a device, a FIFO or a folder): write to a file")
    path = target
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, mode, **({"encoding": "utf-8"} if mode == "w" else {})) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_write`)."""
    with atomic_write(path, "w") as f:
        f.write(text)
    return Path(path)


def atomic_write_json(path: str | os.PathLike[str], data: Any) -> Path:
    """:func:`atomic_write_text` of ``data`` as indented JSON."""
    return atomic_write_text(path, json.dumps(data, indent=2) + "\n")


def atomic_write_png(path: str | os.PathLike[str], figure: Any) -> Path:
    """Save a matplotlib ``figure`` as PNG to ``path`` atomically, then close it."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    with atomic_write(path, "wb") as f:
        f.write(buffer.getbuffer())
    return Path(path)


def remove_stale_temporaries(folder: str | os.PathLike[str], names: Iterable[str]) -> list[Path]:
    """Delete the temporary files that :func:`atomic_write` left in ``folder`` for the files ``names``.

    A crash (e.g. ``kill -9``) between a write and its rename leaves ``.NAME.XXXXXXXX.tmp`` behind; it
    was never the file. Only that pattern, for those names, is touched. Hold :func:`folder_lock` first:
    a live writer's temporary file looks the same. :return: the files deleted.
    """
    wanted = set(names)
    removed = []
    for path in Path(folder).iterdir():
        match = _TEMPORARY.fullmatch(path.name)
        if match is not None and match["name"] in wanted and path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


class FolderInUseError(RuntimeError):
    """Another process holds the lock of a folder (:func:`folder_lock`)."""


# This process's folder locks: real path -> [the open lock file, how many holders here].
_held: dict[str, list[Any]] = {}
_held_guard = threading.Lock()


@contextlib.contextmanager
def folder_lock(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (made if missing) while the ``with`` block runs.

    The lock is ``flock`` on ``folder/.lock``: the OS drops it when the process ends, however it ends
    (an exception, Ctrl-C, ``kill -9``), so a lock is never stale. Within one process it is re-entrant
    (the command line holds it for the whole run, the trainer again while it writes).

    :raises FolderInUseError: another process holds it; the message names that process.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = os.path.realpath(folder)
    with _held_guard:
        entry = _held.get(key)
        if entry is None:
            entry = _held[key] = [_lock_file(folder, key), 0]
        entry[1] += 1
    try:
        yield folder
    finally:
        with _held_guard:
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                entry[0].close()  # closing the file releases the lock


def _lock_file(folder: Path, key: str) -> IO[str]:
    f = open(os.path.join(key, LOCK_NAME), "a+", encoding="utf-8")  # held open: that is the lock
    if fcntl is None:
        return f
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read(32).strip()
        f.close()
        who = f"process {holder}" if holder.isdigit() else "another process"
        raise FolderInUseError(
            f"{str(folder)!r} is in use by another run ({who}): wait for it to end, or choose another folder"
        ) from None
    except BaseException:
        f.close()
        raise
    f.seek(0)
    f.truncate()
    f.write(f"{os.getpid()}\n")  # who holds it, for the message above
    f.flush()
    return f


def open_zip_entry(archive: zipfile.ZipFile, name: str, limit: int) -> IO[bytes]:
    """Entry ``name`` of ``archive``, opened; refused first if its zip header says it unpacks to over ``limit`` bytes.

    The header's size is what zipfile then holds the entry to (it stops there and checks the
    CRC), so a lying header cannot make it inflate more.
    """
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise ValueError(f"{name} unpacks to {info.file_size:,} bytes, more than the {limit:,} it may hold")
    return archive.open(info)


def read_zip_entry(archive: zipfile.ZipFile, name: str, limit: int) -> bytes:
    """The bytes of entry ``name``, at most ``limit`` (see :func:`open_zip_entry`)."""
    with open_zip_entry(archive, name, limit) as f:
        return f.read(limit + 1)


def describe_load_error(err: BaseException) -> str:
    """A short account of why ``torch.load(..., weights_only=True)`` refused or failed on a file.

    torch's own message for a pickle that names code runs to a page of advice (including how to load
    it unsafely) with terminal colour codes; here it is the name it asked for. Any other error: its
    type and message, on one line.
    """
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(err))
    named = re.search(r"GLOBAL ([\w.]+)", text)
    if named is not None:
        return f"it asks for {named.group(1)}, which a file of weights never holds: refused, nothing was run"
    text = " ".join(text.split())  # one line
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
