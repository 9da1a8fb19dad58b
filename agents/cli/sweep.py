"""Run many SeqGAN runs as Ray Tune trials: seeds × methods × config fields, and Table 1 across seeds.

    seqgan-gym sweep --seeds 0 1 2 3 4 --methods seqgan pg_bleu scheduled_sampling --out results/table1_seeds
    seqgan-gym sweep --preset quick --seeds 0 1 --grid n_rollouts=8,16 --set d_steps=2 --out results/rollouts
    seqgan-gym sweep --preset quick --search optuna --tune discriminator_lr=1e-5:1e-3:log --num-samples 20 \\
        --scheduler asha --out results/tune_d
    seqgan-gym sweep --resume --out results/table1_seeds          # continue a stopped sweep
    seqgan-gym sweep --merge results/part_a results/part_b --out results/table1_seeds  # one table of several
    seqgan-gym sweep --address auto ...                            # on a running Ray cluster

(``python examples/sweep.py`` runs the same command from a clone.) Without --address, Ray starts
inside this process and runs as many trials at once as the cores allow (--cpus-per-trial CPUs and
torch threads each); ``--address auto`` or ``ray://HOST:PORT`` runs them on a cluster (docs/cluster.md).
Every trial is one trainer run; baselines skip the MLE control, which the SeqGAN trials train.

Writes to --out: sweep.json (the sweep, read back by --resume), trials/ (Tune's experiment: every
trial's results and last checkpoint), and at the end results.md (per method and grid point: the mean
final NLL-oracle over seeds with its 95% confidence interval, and Welch's test of SeqGAN against
each method across seeds), trials.csv, table.json and trials.json (every trial's final result). Needs
the ray extra: pip install -e .[ray]. --merge needs no Ray: it writes one table of the finished trials
of several sweeps of the same configuration (parts of one run on different days or machines, or a
sweep stopped midway), read from their trials.json or Tune's results; a merged table grows in place
when it is the first folder and --out (--merge TABLE PART --out TABLE). Table 1's row folders that the
trials kept (<row>_seed<k>/ with samples.txt and summary.json, agents/sweeps/table1_runs.py) come along.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agents.cli.common import (
    OneLineParser,
    config_file,
    config_tuples,
    existing_file,
    folder_contents,
    int_at_least,
    output_dir,
    seed,
)
from agents.experiment.config import METHOD_PHASES, PRESETS, SeqGANConfig
from agents.sweeps.sweep import SCHEDULERS, SEARCHES, SWEEP_FILE, TRIALS_DIR, Sweep, base_config
from seqgan_gym._io import atomic_write_json, atomic_write_text

PROG = "seqgan-gym sweep"
#: Options that define a new sweep (``--resume`` takes them from the sweep's folder).
SPEC_OPTIONS = ("preset", "config", "set", "grid", "seeds", "methods", "oracle_file", "search", "tune", "num_samples")
SPEC_OPTIONS += ("scheduler", "cpus_per_trial")


def _value(text: str) -> Any:
    """A field's value: JSON (``8``, ``0.5``, ``null``, ``[1, 2]``), else the text itself (``float32``)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return text
    return tuple(value) if isinstance(value, list) else value


def _assignment(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip() or not value.strip():
        raise argparse.ArgumentTypeError(f"expected FIELD=VALUE, got {text!r}")
    return name.strip(), value.strip()


def field_value(text: str) -> tuple[str, Any]:
    """``FIELD=VALUE`` (``--set``)."""
    name, value = _assignment(text)
    return name, _value(value)


def field_values(text: str) -> tuple[str, tuple[Any, ...]]:
    """``FIELD=V1,V2,...`` (``--grid``)."""
    name, values = _assignment(text)
    return name, tuple(_value(v.strip()) for v in values.split(",") if v.strip())


def field_range(text: str) -> tuple[str, tuple[float, float, bool]]:
    """``FIELD=LOW:HIGH`` or ``FIELD=LOW:HIGH:log`` (``--tune``)."""
    name, spec = _assignment(text)
    parts = spec.split(":")
    try:
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
            raise ValueError
        low, high = float(parts[0]), float(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected FIELD=LOW:HIGH or FIELD=LOW:HIGH:log, got {text!r}") from None
    return name, (low, high, len(parts) == 3)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog=PROG, description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=output_dir, default=Path("results/sweep"), help="the sweep's folder")
    parser.add_argument("--resume", action="store_true", help="continue the sweep in --out (its own settings)")
    parser.add_argument("--merge", type=Path, nargs="+", default=None, metavar="DIR", help="sweeps to tabulate as one")
    parser.add_argument("--address", default=None, help="a Ray cluster: auto, HOST:PORT or ray://HOST:PORT")
    parser.add_argument("--preset", choices=sorted(PRESETS), default=None, help="every trial's schedule (fast)")
    parser.add_argument(
        "--config", type=config_file, default=None, metavar="FILE", help="a JSON file of config fields, over the preset"
    )
    parser.add_argument("--set", type=field_value, action="append", metavar="FIELD=VALUE", help="a config field")
    parser.add_argument("--grid", type=field_values, action="append", metavar="FIELD=V1,V2", help="values to sweep")
    parser.add_argument("--seeds", type=seed, nargs="+", default=None, help="the runs' seeds (default: 0)")
    parser.add_argument("--methods", nargs="+", choices=list(METHOD_PHASES), default=None, help="(default: seqgan)")
    parser.add_argument("--oracle-file", type=existing_file, default=None, help="the paper's published oracle")
    parser.add_argument("--search", choices=SEARCHES, default=None, help="grid (default) or optuna")
    parser.add_argument("--tune", type=field_range, action="append", metavar="FIELD=LOW:HIGH[:log]", help="Optuna")
    parser.add_argument("--num-samples", type=int_at_least(1), default=None, help="Optuna's trials (default 10)")
    parser.add_argument("--scheduler", choices=SCHEDULERS, default=None, help="none (default) or asha")
    parser.add_argument("--cpus-per-trial", type=int_at_least(1), default=None, help="CPUs and threads (default 1)")
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.merge is not None:
        options = (*SPEC_OPTIONS, "address")
        given = ["--" + name.replace("_", "-") for name in options if getattr(args, name) is not None]
        if args.resume or given:
            parser.error(f"--merge tabulates finished sweeps; drop {', '.join(given or ['--resume'])}")
        for folder in args.merge:
            if not (folder / SWEEP_FILE).is_file():
                parser.error(f"argument --merge: {str(folder)!r} holds no sweep (no {SWEEP_FILE})")
            if folder.resolve() == args.out.resolve() and folder != args.merge[0]:
                parser.error(
                    f"argument --out: {str(args.out)!r} is one of the merged sweeps but not the first; a merged table "
                    "grows in place as the first folder (--merge TABLE PART --out TABLE)"
                )
        if (args.out / TRIALS_DIR).exists():
            parser.error(f"argument --out: {str(args.out)!r} holds a sweep's trials; choose another folder")
        args.sweep = None
        return args
    if args.resume:
        given = ["--" + name.replace("_", "-") for name in SPEC_OPTIONS if getattr(args, name) is not None]
        if given:
            parser.error(f"--resume continues the sweep in --out with its own settings; drop {', '.join(given)}")
        if not (args.out / SWEEP_FILE).is_file():
            parser.error(f"--resume: no sweep to continue in {str(args.out)!r} (no {SWEEP_FILE})")
        args.sweep = None
        return args
    if folder_contents(args.out):
        parser.error(f"argument --out: {str(args.out)!r} is not empty: choose a new or empty folder, or --resume")
    try:
        args.sweep = make_sweep(args)
    except (TypeError, ValueError) as err:
        parser.error(str(err))
    return args


def make_sweep(args: argparse.Namespace) -> Sweep:
    """The :class:`Sweep` of the command line's options (errors name the option)."""
    changes = {**config_tuples(args.config or {}), **dict(args.set or [])}
    if args.oracle_file is not None:
        from seqgan_gym.oracle import OracleLSTM

        changes["oracle_file"] = os.path.abspath(args.oracle_file)  # every node reads it at this path
        changes["vocab_size"] = OracleLSTM.from_paper_file(args.oracle_file).vocab_size
    try:
        base = base_config(args.preset or "fast", changes)
    except (TypeError, ValueError) as err:
        raise ValueError(f"argument --set/--config: {err}") from None
    search = args.search or ("optuna" if args.tune else "grid")
    try:
        return Sweep(
            base=base,
            seeds=tuple(args.seeds or [0]),
            methods=tuple(args.methods or ["seqgan"]),
            grid=dict(args.grid or []),
            search=dict(args.tune or []),
            search_alg=search,
            num_samples=args.num_samples or (10 if search == "optuna" else 1),
            scheduler=args.scheduler or "none",
            cpus_per_trial=args.cpus_per_trial or 1,
        )
    except (TypeError, ValueError) as err:
        raise ValueError(f"argument {_option_of(str(err), dict(args.tune or []))}: {err}") from None


#: The option a :class:`Sweep` error is about, by how the message starts (else a grid point's field).
_ERROR_OPTIONS = {"seeds": "--seeds", "methods": "--methods", "grid": "--grid", "search:": "--tune"}
_ERROR_OPTIONS |= {"a search range": "--tune", "search ranges": "--search", "an Optuna": "--search"}
_ERROR_OPTIONS |= {"num_samples": "--num-samples", "cpus_per_trial": "--cpus-per-trial"}


def _option_of(message: str, searched: dict[str, Any]) -> str:
    found = next((o for start, o in _ERROR_OPTIONS.items() if message.startswith(start)), None)
    if found is None:  # a field's value: one the search sets, else a grid point's
        found = "--tune" if any(message.startswith(name) for name in searched) else "--grid"
    return found


def progress_printer(names: list[str]) -> Callable[[dict[str, Any]], None]:
    """What prints one line per trial report: the trial (seed, method, ``names``), its unit, and the
    NLL-oracle of the model that unit trains (the MLE control's in ``mle_continuation``, else G_θ's)."""

    def print_result(result: dict[str, Any]) -> None:
        fields = " ".join(f"{k}={result[k]}" for k in ("seed", "method", *names) if k in result)
        nll = result.get("nll_oracle_mle" if result["phase"] == "mle_continuation" else "nll_oracle")
        shown = "" if nll is None else f" NLL-oracle {nll:.4f}"
        unit = f"unit {result['unit']} of {result['units']}"
        print(f"[{fields}] {result['phase']} epoch {result['epoch']} ({unit}){shown}", flush=True)

    return print_result


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    if args.merge is not None:
        return merge(args.merge, args.out)
    try:
        from agents.sweeps.ray_sweep import RayStartError, SweepStopped, run_sweep
    except ImportError:
        sys.stderr.write(f"{PROG}: error: the sweep needs Ray Tune: pip install -e .[ray]\n")
        raise SystemExit(2) from None
    from agents.sweeps.seed_table import markdown, ranking, write_tables

    sweep = args.sweep or Sweep.from_dict(json.loads((args.out / SWEEP_FILE).read_text()))
    grid = list(sweep.grid or sweep.search)
    try:
        results = run_sweep(
            args.sweep, args.out, address=args.address, resume=args.resume, on_result=progress_printer(grid)
        )
    except (ConnectionError, ValueError) as err:
        sys.stderr.write(f"{PROG}: error: {' '.join(str(err).splitlines())}\n")
        raise SystemExit(2) from None
    except RayStartError as err:  # this machine, not the arguments: nothing ran, so there is nothing to resume
        sys.stderr.write(f"{PROG}: error: {err}\n")
        raise SystemExit(1) from None
    except SweepStopped as err:  # Ctrl-C: what finished is kept, the rest continues
        sys.stderr.write(f"{PROG}: {err}; continue with --resume --out {args.out}\n")
        raise SystemExit(130) from None
    except KeyboardInterrupt:  # a second Ctrl-C, before Tune saved its state: the last checkpoints are kept
        sys.stderr.write(f"{PROG}: interrupted; continue with --resume --out {args.out}\n")
        raise SystemExit(130) from None
    except RuntimeError as err:  # a trial failed: what it raised, and how to go on once it is fixed
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        sys.stderr.write(f"{PROG}: error: {first} (continue with --resume --out {args.out})\n")
        raise SystemExit(1) from None
    search = sweep.search_alg != "grid"
    data = write_tables(args.out, results, grid, describe(sweep), search=search)
    write_quality_diversity(args.out)
    if search:
        print(ranking(results, grid))
    for group, rows in data["tables"].items():
        table = markdown(rows, data["nll_test_tables"].get(group))
        print(f"\n{group}\n{table}" if group else f"\n{table}")
    print(f"results in {args.out}/")
    return data


def merge(folders: list[Path], out: Path) -> dict[str, Any]:
    """Write the table of the finished trials of ``folders`` to ``out`` (with its ``sweep.json``), and print it."""
    from agents.sweeps.seed_table import markdown, write_tables
    from agents.sweeps.sweep_merge import copy_folder, merge_sweeps

    try:
        sweep, results, counts, runs = merge_sweeps(folders)
    except ValueError as err:
        sys.stderr.write(f"{PROG}: error: argument --merge: {err}\n")
        raise SystemExit(2) from None
    out.mkdir(parents=True, exist_ok=True)
    parts = zip(folders, counts, strict=True)
    sources = ", ".join(f"{_relative(f, out)} ({n} trial{'s' if n != 1 else ''})" for f, n in parts)
    header = f"{describe(sweep)} Merged from the finished trials of {sources}."
    for run in runs:  # Table 1's row folders (samples.txt, summary.json) come along
        copy_folder(run, out / run.name)
    data = write_tables(out, results, list(sweep.grid), header)
    write_quality_diversity(out)
    atomic_write_json(out / SWEEP_FILE, sweep.to_dict())
    for group, rows in data["tables"].items():
        table = markdown(rows, data["nll_test_tables"].get(group))
        print(f"\n{group}\n{table}" if group else f"\n{table}")
    print(f"{len(results)} finished trials; results in {out}/")
    return data


def write_quality_diversity(out: Path) -> None:
    """``quality_diversity.md``: every kept row against its seed's MLE frontier, where the trials kept one."""
    from agents.sweeps.quality_diversity import frontier_rows, markdown

    rows = frontier_rows(out)
    if rows:
        atomic_write_text(out / "quality_diversity.md", markdown(rows))


def _relative(folder: Path, out: Path) -> str:
    """``folder`` as seen from ``out`` when they share a parent folder (a results tree), else its full path."""
    relative = os.path.relpath(folder.resolve(), out.resolve())
    if relative == os.curdir:  # merged in place
        return "this folder"
    return str(folder.resolve()) if relative.startswith(f"..{os.sep}..") else relative


def describe(sweep: Sweep) -> str:
    """The header of results.md: what ran."""
    base = sweep.base
    changed = {
        f.name: getattr(base, f.name)
        for f in dataclasses.fields(SeqGANConfig)
        if getattr(base, f.name) != getattr(SeqGANConfig(), f.name) and f.name not in ("seed", "method")
    }
    settings = ", ".join(f"{k}={v}" for k, v in changed.items())
    return (
        f"Seeds {' '.join(map(str, sweep.seeds))}; methods {', '.join(sweep.methods)}; every trial one run of the "
        f"paper's configuration with {settings or 'no changes'}. Final NLL-oracle of each run ({base.n_eval} "
        "samples); mean ± 95% confidence interval (Student's t) across seeds; p: Welch's t-test between SeqGAN's "
        "runs and the method's. MLE is the SeqGAN runs' continued-MLE control; Random their untrained G_θ."
    )
