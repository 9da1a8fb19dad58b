"""What the commands share: option types, one-line errors, the run folder's claim, Ctrl-C, the printed rows."""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

# Only what builds the parsers is imported here (no torch: ``--help`` answers at once); what runs a
# command is imported where it is used.
from agents.experiment.config import MAX_SEED, PRESETS, SeqGANConfig
from seqgan_gym._io import LOCK_NAME, FolderInUseError, folder_lock


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line (no usage dump): the message names the option."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {' '.join(message.splitlines())}\n")  # one line, whatever the value held

    def _get_values(self, action: argparse.Action, arg_strings: list[str]) -> Any:
        # Python before 3.12 drops a value of exactly "--" (``--seed=--``) and hands the option an
        # empty list that its type never checked.
        if action.option_strings and action.nargs in (None, "?", "+") and arg_strings == ["--"]:
            self.error(f"argument {'/'.join(action.option_strings)}: expected one value, got '--'")
        return super()._get_values(action, arg_strings)


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


def program(command: str, script: str) -> str:
    """The name errors start with: the example ``script`` when this process runs it, else ``seqgan-gym command``."""
    return script if Path(sys.argv[0]).name == script else f"seqgan-gym {command}"


def rerun(command: str, script: str) -> str:
    """How to start ``command`` again the way this process was started (the example script or the console command)."""
    started = Path(sys.argv[0])
    if started.name != script:
        return f"seqgan-gym {command}"
    with contextlib.suppress(ValueError):  # shorter, when run from above the script's folder
        started = started.resolve().relative_to(Path.cwd())
    return f"python {started}"


#: The most samples one command draws: 10 million sequences of T tokens is gigabytes already.
MAX_SAMPLES = 10_000_000


def output_file(text: str) -> Path:
    """An argparse ``type`` for a file to write: its folder must exist and be writable, and it no folder."""
    path = Path(text)
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"expected a file to write, got {text!r}")
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, not a file")
    if (path.exists() and not path.is_file()) or str(path.absolute()).startswith(("/dev/", "/proc/")):
        # a device, FIFO, socket or /dev/stdout: files are written by a rename, which would replace it
        raise argparse.ArgumentTypeError(f"{text!r} is not a regular file (a device or a FIFO): give a file")
    if parent.exists() and not parent.is_dir():
        raise argparse.ArgumentTypeError(f"the folder of {text!r} is a file: {str(parent)!r}")
    if not parent.is_dir():
        raise argparse.ArgumentTypeError(f"the folder of {text!r} does not exist: {str(parent)!r}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"the folder of {text!r} is not writable: {str(parent)!r}")
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


def led_by(where: str, message: str) -> str:
    """``message`` led by ``where``, unless it names it already (``--samples: line 3 ...``, ``'RUN' holds no run``)."""
    return message if message.startswith(f"{where}: ") or repr(where) in message else f"{where}: {message}"


def existing_file(text: str) -> str:
    """An argparse ``type`` for a file that must exist."""
    try:
        found = "\0" not in text and Path(text).is_file()
    except OSError:  # e.g. a name too long for the file system
        found = False
    if not found:
        raise argparse.ArgumentTypeError(f"no such file: {text!r}")
    return text


def oracle_file(text: str) -> str:
    """An argparse ``type`` for the authors' oracle file: one that exists and loads (read now, run nothing)."""
    from seqgan_gym.oracle import OracleLoadError, OracleLSTM

    try:
        OracleLSTM.from_paper_file(existing_file(text))
    except OracleLoadError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
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


def non_negative_number(text: str) -> float:
    """An argparse ``type`` for a finite number >= 0 (a weight such as ``--kl-coef``)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def temperature(text: str) -> float:
    """An argparse ``type`` for a sampling temperature τ > 0."""
    from seqgan_gym.sampling import check_temperature

    try:
        return check_temperature(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}") from None


def corpus_name(text: str) -> str:
    """An argparse ``type`` for a corpus: a built-in one, or a readable UTF-8 text file (checked by loading it)."""
    from seqgan_gym.text import BUILTIN_CORPORA, TextCorpus

    if text in BUILTIN_CORPORA:
        return text
    try:
        existing_file(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected one of {list(BUILTIN_CORPORA)} or a text file, got {text!r}"
        ) from None
    try:  # empty, binary or not UTF-8: refused here, before any training
        with warnings.catch_warnings():  # a default T that drops lines is said once, when the run loads it
            warnings.simplefilter("ignore")
            TextCorpus.load(text)
    except (OSError, ValueError) as err:  # argparse names the option: drop the loader's own "corpus: "
        raise argparse.ArgumentTypeError(str(err).removeprefix("corpus: ")) from None
    return text


def test_corpus_file(text: str) -> str:
    """An argparse ``type`` for the test sentences of a corpus file: a readable UTF-8 text file.

    A built-in corpus's name is refused with a pointer to ``--corpus``: the built-in corpora bring their
    own test sets.
    """
    from seqgan_gym.text import BUILTIN_CORPORA

    if text in BUILTIN_CORPORA and not Path(text).is_file():
        raise argparse.ArgumentTypeError(
            f"expected a text file of test sentences, got {text!r}, which is a built-in corpus with its own "
            f"test set: pass --corpus {text} and no --test-corpus"
        )
    return corpus_name(text)


#: An argparse ``type`` for a seed: numpy takes seeds below 2**32 (``SeqGANConfig`` checks the same).
seed = int_in_range(0, MAX_SEED)


def log(message: str) -> None:
    from tqdm.auto import tqdm

    tqdm.write(message)  # keeps the progress bar below the lines
    sys.stdout.flush()


def print_row(row: dict[str, Any]) -> None:
    metric = "nll_oracle" if "nll_oracle" in row else "nll_test"  # a text run has no oracle
    if metric not in row:
        return
    extra = "".join(
        f", {name} {row[name]:.4f}"
        for name in ("g_loss", "d_loss", "mean_reward", "d_acc_real", "d_acc_fake", "truth_prob")
        if row.get(name) is not None
    )
    log(
        f"  {row['phase']:>18s} epoch {row['epoch']:4d}: "
        + ("" if metric == "nll_test" else f"nll_oracle {row['nll_oracle']:.4f}, ")
        + f"nll_test {row['nll_test']:.4f}{extra}  [{row['elapsed_s']:.0f} s]"
    )


def claim_run_folder(prog: str, out: Path, option: str, new_run: bool, stack: contextlib.ExitStack) -> None:
    """Lock ``out`` for the whole run; a new run only into a new or empty folder."""
    from agents.experiment.checkpoint import CHECKPOINT_NAME

    def check_empty() -> None:
        if (out / CHECKPOINT_NAME).exists():
            advice = f"continue it with --resume {out}, or choose another {option}"
            bad_input(prog, f"{option} {str(out)!r} already holds a run: {advice}")
        names = folder_contents(out)
        if names:
            what = f"is not empty ({describe_names(names)}) and holds no run to resume: choose a new or empty folder"
            bad_input(prog, f"{option} {str(out)!r} {what}")

    if new_run and not (out / LOCK_NAME).exists():  # refused before anything is made in someone's folder
        check_empty()
    try:
        stack.enter_context(folder_lock(out))
    except FolderInUseError as err:
        bad_input(prog, f"{option}: {err}")
    except OSError as err:
        bad_input(prog, f"{option}: cannot use {str(out)!r}: {err.strerror or err}")
    if new_run:
        check_empty()  # again, now that no other process can write there


@contextlib.contextmanager
def stop_after_this_unit(trainer: Any) -> Iterator[None]:
    """The first Ctrl-C or SIGTERM (``kill``, a batch scheduler's preemption) stops the run between two
    units, so that no library call is cut half-way (a lock taken and never released would hang the
    exit) and the checkpoint holds every finished unit; a second one stops it at once."""
    if threading.current_thread() is not threading.main_thread():  # only the main thread gets signals
        yield
        return

    def request_stop(signum: int, frame: Any) -> None:
        trainer.stop_requested = True
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # os.write, not print: the handler may run in the middle of a print of the main program.
        os.write(sys.stdout.fileno(), b"stopping after the unit under way (a second signal: at once)\n")

    previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def config_file(text: str) -> dict[str, Any]:
    """A JSON object of SeqGANConfig fields (e.g. another run's config.json), checked here."""
    try:
        values = json.loads(Path(existing_file(text)).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise argparse.ArgumentTypeError(f"{text!r} is not a JSON file: {err}") from None
    if not isinstance(values, dict):
        raise argparse.ArgumentTypeError(f"{text!r} must hold a JSON object of SeqGANConfig fields")
    try:
        SeqGANConfig.from_dict({**PRESETS["quick"].to_dict(), **config_tuples(values)})
    except (TypeError, ValueError) as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err}") from None
    return values


def config_tuples(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with JSON's lists as tuples (a config's filter sizes and counts are tuples)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}  # JSON has no tuples
