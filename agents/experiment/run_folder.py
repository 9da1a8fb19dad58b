"""The run folder: a trainer writes only into a new or empty folder, or into the run it resumed.

While it writes, it holds the folder's lock (:func:`~seqgan_gym._io.folder_lock`), so that no second
process (another run, or a resume of this one) writes there at the same time.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from agents.experiment.checkpoint import CHECKPOINT_NAME
from seqgan_gym._io import LOCK_NAME, folder_lock

if TYPE_CHECKING:
    from agents.experiment.schedule import UnitSchedule


class RunFolderError(ValueError):
    """An ``out_dir`` that a run must not write into: it holds files, and no run of this trainer's."""


def check_new_run_folder(out_dir: str | os.PathLike[str]) -> None:
    """A new run may write into ``out_dir`` only if it is new or empty (its lock file aside).

    :raises RunFolderError: it holds a run (resume it), or other files (choose another folder).
    """
    out_dir = Path(out_dir)
    try:
        names = sorted(p.name for p in out_dir.iterdir() if p.name != LOCK_NAME)
    except FileNotFoundError:
        return
    except NotADirectoryError:
        raise RunFolderError(f"out_dir {str(out_dir)!r} is a file, not a folder") from None
    if CHECKPOINT_NAME in names:
        raise RunFolderError(
            f"out_dir {str(out_dir)!r} already holds a run: continue it with SeqGANTrainer.resume(out_dir), "
            "or choose another"
        )
    if names:
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        raise RunFolderError(
            f"out_dir {str(out_dir)!r} is not empty ({shown}) and holds no run to resume: a new run writes only "
            "into a new or empty folder"
        )


@contextlib.contextmanager
def claim_run_folder(trainer: UnitSchedule) -> Iterator[None]:
    """Hold ``trainer.out_dir``'s lock; a trainer that did not resume the run there may start only in an empty one.

    :raises FolderInUseError: another process writes there. :raises RunFolderError: it holds other files.
    """
    assert trainer.out_dir is not None
    if not trainer._claimed and not (trainer.out_dir / LOCK_NAME).exists():
        check_new_run_folder(trainer.out_dir)  # refused before the lock file is made in someone's folder
    with folder_lock(trainer.out_dir):
        if not trainer._claimed:  # again, now that no other process can write there
            check_new_run_folder(trainer.out_dir)
            trainer._claimed = True
        yield
