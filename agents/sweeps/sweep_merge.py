"""One table from several sweeps: the finished trials of sweeps run at different times or on different machines.

A sweep too long for one sitting can be split (``--seeds 0 1``, then ``--seeds 2 3 4``, or whatever a
stopped sweep left undone) and its parts merged: :func:`read_trials` reads a sweep folder's trials,
either from ``trials.json`` (the compact record :func:`agents.sweeps.seed_table.write_tables` writes, which is
all a results folder needs to keep) or, for a sweep stopped midway, from Tune's own per-trial
``result.json`` files (plain JSON lines: the last line is the trial's latest report).
:func:`merge_sweeps` checks that the parts ran the same configuration and that no trial ran twice,
and returns the finished trials of all of them, ready for :func:`~agents.sweeps.seed_table.write_tables`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from agents.sweeps.sweep import SWEEP_FILE, TRIAL_FIELDS, TRIALS_DIR, Sweep

T = TypeVar("T")

#: The compact record of a sweep's trials (one dict per trial: its fields and its final metrics).
TRIALS_FILE = "trials.json"
#: What a trial's parameters hold besides its fields: the sweep's settings and the sweep's folder.
NOT_TRIAL_FIELDS = frozenset({"sweep", "sweep_dir"})
#: Tune's bookkeeping in a trial's result: not part of the record.
TUNE_KEYS = NOT_TRIAL_FIELDS | frozenset(
    {"config", "checkpoint_dir_name", "should_checkpoint", "done", "training_iteration", "timestamp"}
    | {"date", "time_this_iter_s", "time_total_s", "pid", "hostname", "node_ip", "time_since_restore"}
    | {"iterations_since_restore", "experiment_tag"}
)


def compact_result(result: dict[str, Any]) -> dict[str, Any]:
    """A trial's result without Tune's bookkeeping and the sweep's settings: its fields and metrics."""
    return {k: v for k, v in result.items() if k not in TUNE_KEYS and (v is None or isinstance(v, (int, float, str)))}


def read_trials(folder: Path) -> tuple[Sweep, list[dict[str, Any]]]:
    """The sweep kept in ``folder`` and its trials' latest results (:func:`compact_result`).

    :raises ValueError: ``folder`` holds no sweep (no ``sweep.json``), or neither ``trials.json`` nor Tune's
        trial folders.
    """
    folder = Path(folder)
    if not (folder / SWEEP_FILE).is_file():
        raise ValueError(f"{str(folder)!r} holds no sweep (no {SWEEP_FILE})")
    sweep = _parsed(folder / SWEEP_FILE, lambda text: Sweep.from_dict(json.loads(text)))
    if (folder / TRIALS_FILE).is_file():
        return sweep, _parsed(folder / TRIALS_FILE, _trials_file)
    files = sorted((folder / TRIALS_DIR).glob("*/result.json"))
    if not files:
        raise ValueError(f"{str(folder)!r} holds neither {TRIALS_FILE} nor Tune's trials ({TRIALS_DIR}/*/result.json)")
    results = [_parsed(file, _tune_result) for file in files]
    return sweep, [result for result in results if result is not None]


def _trials_file(text: str) -> list[dict[str, Any]]:
    return [_checked(compact_result(result)) for result in json.loads(text)]


def _tune_result(text: str) -> dict[str, Any] | None:
    """The last report in a trial's ``result.json`` (JSON lines), with the trial's fields; None before any."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    last = json.loads(lines[-1])
    fields = {k: v for k, v in last.get("config", {}).items() if k not in NOT_TRIAL_FIELDS}
    return _checked(compact_result({**fields, **last}))


def _parsed(file: Path, parse: Callable[[str], T]) -> T:
    """``parse`` of ``file``'s text; a file that is not what it should be is a ValueError that names it."""
    try:
        return parse(file.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{str(file)!r} is not a sweep's record: not JSON ({err.msg} at line {err.lineno})") from None
    except KeyError as err:
        raise ValueError(f"{str(file)!r} is not a sweep's record: it has no {err.args[0]!r} entry") from None
    except (ValueError, TypeError, AttributeError) as err:
        raise ValueError(f"{str(file)!r} is not a sweep's record: {err}") from None


def _checked(result: dict[str, Any]) -> dict[str, Any]:
    """``result``, which names its trial (a seed and a method)."""
    if not isinstance(result.get("seed"), int) or not isinstance(result.get("method"), str):
        raise ValueError(f"a trial without its seed and method: {result}")
    broken = sorted(
        k for k, v in result.items() if isinstance(v, float) and not math.isfinite(v) and k.startswith("nll")
    )
    if broken:  # a table of means cannot hold them, and a finished trial never reports one
        raise ValueError(f"trial seed={result['seed']}, method={result['method']} has non-finite {', '.join(broken)}")
    return result


def copy_folder(source: Path, target: Path) -> None:
    """Copy the folder ``source`` to ``target`` whole or not at all (a copy beside it, then renames)."""
    if source.resolve() == target.resolve():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        shutil.copytree(source, staging / target.name)
        if target.exists():
            shutil.rmtree(target)
        (staging / target.name).rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def run_folders(folder: Path, result: dict[str, Any]) -> list[Path]:
    """The row folders (``samples.txt``, ``summary.json``) a finished trial of the sweep in ``folder`` kept.

    :raises ValueError: the trial names a folder that is not there.
    """
    paths = [folder / name for name in str(result.get("runs") or "").split()]
    for path in paths:
        if not (path / "samples.txt").is_file() or not (path / "summary.json").is_file():
            raise ValueError(f"trial seed={result['seed']}, method={result['method']} kept {str(path)!r}, now missing")
    return paths


def merge_sweeps(folders: list[Path]) -> tuple[Sweep, list[dict[str, Any]], list[int], list[Path]]:
    """The finished trials of the grid sweeps in ``folders``, as one sweep (its seeds and methods: all theirs).

    :return: the merged sweep, the finished trials' results, how many of them each folder gave, and
        the row folders those trials kept (:func:`run_folders`), to copy beside the merged table.

    :raises ValueError: a folder holds no sweep, or an Optuna search; the sweeps' configurations or grid
        fields differ; the same trial (seed, method, grid point) finished in two folders; none finished.
    """
    if not folders:
        raise ValueError("merge needs at least one sweep folder")
    merged: dict[tuple[str, ...], tuple[Path, dict[str, Any]]] = {}
    first: tuple[Path, Sweep] | None = None
    named: list[str] = []  # every method the sweeps name, in their order
    for folder in folders:
        sweep, results = read_trials(folder)
        named += sweep.methods
        if sweep.search_alg != "grid":
            raise ValueError(f"{str(folder)!r} is an Optuna search: only grid sweeps merge into one table")
        if first is None:
            first = (folder, sweep)
        else:
            _check_same(first, (folder, sweep))
        for result in results:
            if not result.get("finished"):
                continue
            key = tuple(str(result[name]) for name in (*TRIAL_FIELDS, *sweep.grid))
            if key in merged:
                other = merged[key][0]
                raise ValueError(f"trial {_label(key, sweep)} finished in both {str(other)!r} and {str(folder)!r}")
            merged[key] = (folder, result)
    assert first is not None
    if not merged:
        raise ValueError(f"no trial has finished in {', '.join(repr(str(f)) for f in folders)}")
    sweep = first[1]
    results = [result for _, result in merged.values()]
    runs = _distinct_runs([path for source, result in merged.values() for path in run_folders(source, result)])
    counts = [sum(source == folder for source, _ in merged.values()) for folder in folders]
    seeds = sorted({int(r["seed"]) for r in results})
    methods = [m for m in _union(named) if any(r["method"] == m for r in results)]
    grid = {name: tuple(_union(r[name] for r in results)) for name in sweep.grid}
    merged_sweep = dataclasses.replace(sweep, seeds=tuple(seeds), methods=tuple(methods), grid=grid)
    return merged_sweep, results, counts, runs


def _distinct_runs(paths: list[Path]) -> list[Path]:
    """One folder per name: the untrained G_θ's ``random_seed<k>`` comes from every trial of seed k.

    Its copies are alike on one machine. Parts run on different CPUs may disagree in a few of its
    10,000 draws (their kernels round the logits differently, and a draw near a boundary flips): the
    first copy is kept, and a warning says how many lines differ.
    """
    kept: dict[str, Path] = {}
    for path in paths:
        other = kept.setdefault(path.name, path)
        if other == path:
            continue
        first, second = ((folder / "samples.txt").read_bytes().split(b"\n") for folder in (other, path))
        if first != second:
            differ = sum(a != b for a, b in zip(first, second, strict=False)) + abs(len(first) - len(second))
            warnings.warn(
                f"{str(other)!r} and {str(path)!r} hold different samples of the same row ({differ} of "
                f"{max(len(first), len(second)) - 1} lines differ; parts run on other CPUs can disagree in a few "
                "draws): the first is kept",
                UserWarning,
                stacklevel=2,
            )
    return list(kept.values())


def _check_same(first: tuple[Path, Sweep], other: tuple[Path, Sweep]) -> None:
    (folder_a, a), (folder_b, b) = first, other
    base_a, base_b = a.base.to_dict(), b.base.to_dict()
    differ = sorted(k for k in base_a if base_a[k] != base_b.get(k) and k not in TRIAL_FIELDS)
    if differ:
        raise ValueError(
            f"{str(folder_b)!r} ran another configuration than {str(folder_a)!r}: fields {', '.join(differ)} differ"
        )
    if list(a.grid) != list(b.grid):
        raise ValueError(f"{str(folder_b)!r} sweeps the fields {list(b.grid)}, {str(folder_a)!r} {list(a.grid)}")


def _union(values: Any) -> list[Any]:
    """The distinct ``values``, in the order met."""
    seen: list[Any] = []
    for value in values:
        if value not in seen:
            seen.append(value)
    return seen


def _label(key: tuple[str, ...], sweep: Sweep) -> str:
    return ", ".join(f"{name}={value}" for name, value in zip((*TRIAL_FIELDS, *sweep.grid), key, strict=True))
