"""Option parsing shared by the example scripts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

from agents.config import MAX_SEED
from seqgan_gym._io import LOCK_NAME


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (no usage dump): the message names the option."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.splitlines())}\n")  # one line, whatever the value held


def output_dir(text: str) -> Path:
    """An argparse ``type`` for an output folder: a folder, or a path where one can be made."""
    path = Path(text)
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"expected a folder, got {text!r}")
    try:
        for parent in (path, *path.parents):  # the first part that exists must be a folder
            if parent.exists():
                if not parent.is_dir():
                    raise argparse.ArgumentTypeError(f"{str(parent)!r} is a file, not a folder: {text!r}")
                break
    except OSError as err:  # e.g. a name too long for the file system
        raise argparse.ArgumentTypeError(f"cannot use {text!r} as a folder: {err.strerror or err}") from None
    return path


def new_output_dir(text: str) -> Path:
    """:func:`output_dir` that must be new or empty: for scripts that write their results over what is there."""
    path = output_dir(text)
    names = folder_contents(path)
    if names:
        shown = describe_names(names)
        raise argparse.ArgumentTypeError(f"{text!r} is not empty ({shown}): choose a new or empty folder")
    return path


def bad_input(prog: str, message: str) -> NoReturn:
    """Refuse what the command line asked for, found after parsing: one line on stderr, exit status 2."""
    sys.stderr.write(f"{prog}: error: {' '.join(str(message).splitlines())}\n")
    sys.stderr.flush()
    raise SystemExit(2)


def folder_contents(path: Path) -> list[str]:
    """The names in folder ``path`` (none if it does not exist), the lock file of a run aside."""
    try:
        return sorted(p.name for p in path.iterdir() if p.name != LOCK_NAME)
    except (FileNotFoundError, NotADirectoryError):
        return []


def describe_names(names: list[str]) -> str:
    """``names`` for a message: the first few."""
    return ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")


def existing_file(text: str) -> str:
    """An argparse ``type`` for a file that must exist."""
    try:
        found = "\0" not in text and Path(text).is_file()
    except OSError:  # e.g. a name too long for the file system
        found = False
    if not found:
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    return text


def int_at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type`` for integers ``>= minimum``, with a message that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value

    return parse


def int_in_range(minimum: int, maximum: int) -> Callable[[str], int]:
    """An argparse ``type`` for integers in ``[minimum, maximum]``, with a message that says so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer in [{minimum}, {maximum}], got {text!r}") from None
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"expected an integer in [{minimum}, {maximum}], got {value}")
        return value

    return parse


#: An argparse ``type`` for a seed: numpy takes seeds below 2**32 (``SeqGANConfig`` checks the same).
seed = int_in_range(0, MAX_SEED)
