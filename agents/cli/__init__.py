"""The ``seqgan-gym`` console command: train, generate from and evaluate SeqGAN runs.

    seqgan-gym train-oracle [options]   # Algorithm 1 on the oracle benchmark (agents/cli/train_oracle.py)
    seqgan-gym train-text [options]     # on a text corpus, scored by BLEU (agents/cli/train_text.py)
    seqgan-gym generate RUN [options]   # samples of a run's generator, decoded for text (agents/cli/generate.py)
    seqgan-gym evaluate [RUN] [options] # NLL-oracle, NLL-test, BLEU, Self-BLEU (agents/cli/evaluate.py)
    seqgan-gym sweep [options]          # many runs as Ray Tune trials; Table 1 across seeds (agents/cli/sweep.py)

``seqgan-gym COMMAND --help`` lists a command's options. The scripts in ``examples/`` run the same
commands from a clone; ``python -m agents.cli`` is this command without the installed script.
"""

from __future__ import annotations

import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any

import seqgan_gym

#: Each command and the module whose ``main(argv)`` runs it.
COMMANDS: dict[str, str] = {
    "train-oracle": "agents.cli.train_oracle",
    "train-text": "agents.cli.train_text",
    "generate": "agents.cli.generate",
    "evaluate": "agents.cli.evaluate",
    "sweep": "agents.cli.sweep",
}


def usage() -> str:
    return __doc__.split("\n\n")[1] if __doc__ else ""


def main(argv: Sequence[str] | None = None) -> int:
    """The console command: run ``seqgan-gym COMMAND ARGS...``; exit status 0 (errors: 2, Ctrl-C or SIGTERM: 130).

    Output that cannot be written ends the command as other command-line tools end: a reader that went
    away (``| head``) quietly, with the shell's status for SIGPIPE (141); any other failure to write
    (``> /dev/full``) in one line, status 1.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    show_warnings_in_one_line(f"seqgan-gym {args[0]}" if args and args[0] in COMMANDS else "seqgan-gym")
    try:
        run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        raise SystemExit(141) from None
    except OSError as err:  # the commands report their own files' errors: most likely the output itself
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        what = "cannot write the output" if err.filename is None else repr(str(err.filename))
        sys.stderr.write(f"seqgan-gym: error: {what}: {err.strerror or err}\n")
        raise SystemExit(1) from None
    return 0


def show_warnings_in_one_line(program: str) -> None:
    """Print warnings as a command-line tool words them: one line led by ``program``, no source line.

    Python's default adds the warning's class and the library line that raised it, which mean
    nothing to someone who typed a command.
    """

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int, file=None, line=None):
        (file or sys.stderr).write(f"{program}: warning: {message}\n")

    warnings.showwarning = show


def run(argv: Sequence[str] | None = None) -> Any:
    """Run ``COMMAND ARGS...`` and return what the command's ``main`` returns (a summary, scores, samples).

    An unknown command is one line on stderr and ``SystemExit(2)``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(f"usage: seqgan-gym COMMAND [options]\n\n{usage()}")
        return None
    if args[0] == "--version":
        print(f"seqgan-gym {seqgan_gym.__version__}")
        return None
    if args[0] not in COMMANDS:
        sys.stderr.write(f"seqgan-gym: error: unknown command {args[0]!r}; choose one of {', '.join(COMMANDS)}\n")
        raise SystemExit(2)
    return importlib.import_module(COMMANDS[args[0]]).main(args[1:])
