"""The sweep on Ray Tune: one trial per trainer run, reported, checkpointed and restored through Tune.

:func:`run_sweep` runs a :class:`~agents.sweeps.sweep.Sweep` on a Ray started inside this process (no
``address``: ``os.cpu_count()`` CPUs, ``cpus_per_trial`` each, so as many trials at once as the
cores allow) or on a running cluster (``"auto"``, ``"HOST:PORT"`` or ``"ray://HOST:PORT"``).
:func:`seqgan_trial` is the trainable: a :class:`~agents.experiment.seqgan.SeqGANTrainer` run that reports after
every evaluation with its run folder as Tune's checkpoint (the trainer's bit-exact ``checkpoint.pt``
inside), and resumes from Tune's checkpoint when a restored sweep or a retried trial hands it one.
A finished trial copies its Table 1 rows (:mod:`agents.sweeps.table1_runs`: ``samples.txt`` and
``summary.json`` per row) into the sweep's folder, as ``<row>_seed<k>/``.
Needs the ``ray`` extra (``pip install -e .[ray]``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ray
import torch
from ray import tune

from agents.experiment.seqgan import SeqGANTrainer
from agents.sweeps.sweep import INTEGER_FIELDS, METRIC, SWEEP_FILE, TRIALS_DIR, Sweep, trial_metrics
from agents.sweeps.sweep_merge import NOT_TRIAL_FIELDS, copy_folder
from agents.sweeps.table1_runs import keep_final_rows, keep_random_row
from seqgan_gym._io import atomic_write_json
from seqgan_gym._malloc import keep_freed_memory


def seqgan_trial(params: dict[str, Any]) -> None:
    """Tune's function trainable: the run of ``params`` (``sweep``: a :meth:`Sweep.to_dict`, and the trial's fields).

    Resumes from Tune's checkpoint when there is one (a restored sweep, a retried trial).
    """
    sweep = Sweep.from_dict(params["sweep"])
    keep_freed_memory()  # a trial's worker is its own process: the entry point that sets the allocator
    torch.set_num_threads(sweep.cpus_per_trial)
    config = sweep.trial_config({k: v for k, v in params.items() if k not in NOT_TRIAL_FIELDS})
    node = _node_id()
    run_dir = Path(tempfile.mkdtemp(prefix="seqgan-trial-"))
    rows_dir = Path(tempfile.mkdtemp(prefix="seqgan-rows-"))  # Table 1's rows, once the trial has finished
    try:
        checkpoint = tune.get_checkpoint()
        if checkpoint is None:
            trainer = SeqGANTrainer(config, run_dir, checkpoint_every_s=math.inf)
        else:
            with checkpoint.as_directory() as saved:
                shutil.copytree(saved, run_dir, dirs_exist_ok=True)
            trainer = SeqGANTrainer.resume(run_dir, checkpoint_every_s=math.inf)
        while not trainer.finished:
            trainer.run(max_units=trainer.units_to_next_evaluation())  # then checkpoints the run folder
            metrics = trial_metrics(trainer.rows, trainer.summary() if trainer.finished else None)
            if trainer.finished:
                keep_random_row(SeqGANTrainer(config), rows_dir)  # the untrained G_θ, built again from its seed
                metrics.update(keep_final_rows(trainer, rows_dir))
                _publish_rows(rows_dir, Path(params["sweep_dir"]), metrics["runs"].split())
            metrics.update(unit=trainer.units_done, units=len(trainer.units), node=node)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(str(run_dir)))
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
        shutil.rmtree(rows_dir, ignore_errors=True)


def _publish_rows(rows_dir: Path, sweep_dir: Path, names: list[str]) -> None:
    """Copy the finished trial's row folders into the sweep's folder (``<out>/<row>_seed<k>``), each atomically."""
    if not (sweep_dir / SWEEP_FILE).is_file():
        raise RuntimeError(f"the trial's folder is not inside a sweep's folder (no {sweep_dir / SWEEP_FILE})")
    for name in names:
        copy_folder(rows_dir / name, sweep_dir / name)


def _node_id() -> str:
    return ray.get_runtime_context().get_node_id()


# ---- the sweep, from the driver ----


def check_address(address: str | None) -> None:
    """Fail fast, in one line, when nothing answers at a ``HOST:PORT`` or ``ray://HOST:PORT`` address."""
    if address is None or address == "auto":
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"address must be 'auto', HOST:PORT or ray://HOST:PORT, got {address!r}")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=5):
            pass
    except OSError as err:
        reason = err.strerror or type(err).__name__
        message = f"address {address!r}: no Ray cluster answers ({reason}); start one with `ray start --head`"
        raise ConnectionError(message) from None


class RayStartError(RuntimeError):
    """Ray did not start in this process (its temp folder cannot be made, no shared memory, ...)."""


def start_ray(address: str | None = None) -> None:
    """Start Ray in this process (no ``address``: all its CPUs, no dashboard) or join the cluster at ``address``.

    :raises RayStartError: Ray could not start, with its reason on one line.
    """
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no phone-home from a sweep
    # A private, in-process Ray announces its (enabled) token authentication on stderr at every start:
    # noise above the sweep's own lines, so it is kept to errors while Ray starts.
    notice = logging.getLogger("ray._private.authentication.authentication_token_setup")
    level = notice.level
    notice.setLevel(logging.ERROR)
    try:
        if address is None:
            ray.init(
                address="local",
                num_cpus=os.cpu_count(),
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
            )
        else:
            ray.init(address=address, log_to_driver=False, configure_logging=False)
    except Exception as err:  # Ray raises what its parts raise: OSError, RuntimeError, ConnectionError, ...
        with contextlib.suppress(Exception):
            ray.shutdown()  # whatever half-started
        reason = " ".join(str(err).split()) or type(err).__name__
        where = os.environ.get("RAY_TMPDIR") or tempfile.gettempdir()
        raise RayStartError(
            f"Ray could not start: {type(err).__name__}: {reason} (its session files go under {where}/ray: "
            "a writable folder with free space, or set RAY_TMPDIR)"
        ) from err
    finally:
        notice.setLevel(level)


def run_sweep(
    sweep: Sweep | None,
    out: Path,
    address: str | None = None,
    resume: bool = False,
    on_result: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run ``sweep`` (or, with ``resume``, the sweep kept in ``out``) and return every trial's last result.

    :param out: the sweep's folder: ``sweep.json`` and Tune's experiment (``trials/``, checkpoints in it).
        On a cluster every node must reach it (a shared file system).
    :param address: ``None`` starts Ray in this process; ``"auto"`` or ``"ray://HOST:PORT"`` joins a cluster.
    :param on_result: called with each result a trial reports (its ``config`` fields merged in).
    :raises ConnectionError: nothing answers at ``address``.
    :raises RayStartError: Ray could not start here.
    :raises SweepStopped: Ctrl-C stopped it first (it continues with ``resume=True``).
    """
    check_address(address)
    out = Path(out).resolve()
    if resume:
        sweep = Sweep.from_dict(json.loads((out / SWEEP_FILE).read_text()))
    elif sweep is None:
        raise ValueError("a new sweep needs its Sweep")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    # A checkpoint at every evaluation is the design (resume loses at most one), not a bottleneck to warn of.
    os.environ.setdefault("TUNE_WARN_EXCESSIVE_EXPERIMENT_CHECKPOINT_SYNC_THRESHOLD_S", "0")
    started_here = not ray.is_initialized()  # a caller's Ray (a notebook, a test module) is used, and kept
    if started_here:
        start_ray(address)  # before anything is written: a Ray that cannot start leaves ``out`` as it was
    notices = _StopNotices()
    for name in notices.LOGGERS:
        logging.getLogger(name).addFilter(notices)
    try:
        if not resume:
            out.mkdir(parents=True, exist_ok=True)
            atomic_write_json(out / SWEEP_FILE, sweep.to_dict())
        trainable = tune.with_resources(seqgan_trial, {"cpu": sweep.cpus_per_trial})
        callbacks = [Progress(on_result)] if on_result is not None else []
        if resume:
            tuner = tune.Tuner.restore(
                str(out / TRIALS_DIR),
                trainable,
                resume_unfinished=True,
                resume_errored=True,
                param_space=_param_space(sweep, out),  # the folder as it is now, if it moved since
            )
        else:
            tuner = tune.Tuner(
                trainable,
                param_space=_param_space(sweep, out),
                tune_config=_tune_config(sweep),
                run_config=tune.RunConfig(
                    name=TRIALS_DIR,
                    storage_path=str(out),
                    checkpoint_config=tune.CheckpointConfig(num_to_keep=1),
                    failure_config=tune.FailureConfig(max_failures=0),
                    callbacks=callbacks,
                    verbose=0,
                ),
            )
        grid = tuner.fit()
        for result in grid:
            if result.error is not None:
                raise RuntimeError(f"a trial failed: {result.error}")
        # Ctrl-C: Tune saved its state, marked the running trials ended and returned. A trial that did not
        # run its whole schedule was stopped by Ctrl-C, unless ASHA may have stopped it (then it has reported).
        unfinished = [r for r in grid if not (r.metrics or {}).get("finished")]
        if unfinished and (sweep.scheduler != "asha" or any(r.metrics is None for r in unfinished)):
            raise SweepStopped(f"stopped with {len(grid) - len(unfinished)} of {len(grid)} trials finished")
        results = [{**result.config, **result.metrics, "sweep": None} for result in grid]
        return results
    finally:
        for name in notices.LOGGERS:
            logging.getLogger(name).removeFilter(notices)
        if started_here:
            ray.shutdown()


class _StopNotices(logging.Filter):
    """Tune's notices on Ctrl-C: its three-sentence warning in one short line, and after it nothing.

    What follows it in Tune is advice for Tune's own API (``Tuner.restore``); :class:`SweepStopped`, and
    the command's last line, say how this sweep goes on. Also dropped, stopped or not: the warning that
    trials which have not started yet have no metrics (every trial after a Ctrl-C, and on ``resume``).
    """

    #: Where Tune logs them.
    LOGGERS = ("ray.tune.tune", "ray.tune.analysis.experiment_analysis")

    def __init__(self) -> None:
        super().__init__()
        self.stopping = False

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Stop signal received"):
            self.stopping = True
            record.msg, record.args = "stopping: the sweep's state is being saved (Ctrl-C again stops at once)", ()
            return True
        if message.startswith("Failed to fetch metrics"):
            failures = message.splitlines()[1:]
            return not all("both result.json and progress.csv were not found" in line for line in failures)
        return not (self.stopping and message.startswith("Experiment has been interrupted"))


class SweepStopped(Exception):
    """Ctrl-C ended the sweep before every trial finished; Tune kept its state, so ``resume`` continues it.

    Under ASHA a Ctrl-C between reports is not told apart from ASHA's own stops: only trials that never
    reported show it.
    """


def _param_space(sweep: Sweep, out: Path) -> dict[str, Any]:
    space: dict[str, Any] = {"sweep": sweep.to_dict(), "sweep_dir": str(out)}
    if sweep.search_alg == "optuna":
        space.update(seed=sweep.seeds[0], method=sweep.methods[0])
        for name, (low, high, log) in sweep.search.items():
            if name in INTEGER_FIELDS:  # a count: Optuna samples integers, so the table shows what ran
                space[name] = (tune.lograndint if log else tune.randint)(math.ceil(low), math.floor(high) + 1)
            else:
                space[name] = (tune.loguniform if log else tune.uniform)(low, high)
        return space
    space.update(seed=tune.grid_search(list(sweep.seeds)), method=tune.grid_search(list(sweep.methods)))
    space.update({name: tune.grid_search(list(values)) for name, values in sweep.grid.items()})
    return space


def _tune_config(sweep: Sweep) -> tune.TuneConfig:
    search_alg = scheduler = None
    if sweep.search_alg == "optuna":
        from ray.tune.search.optuna import OptunaSearch

        search_alg = OptunaSearch(seed=sweep.seeds[0])
    if sweep.scheduler == "asha":
        from ray.tune.schedulers import ASHAScheduler

        # Units, so that trials compare at the same point of their schedule; none stops before its method starts.
        units = len(sweep.trial_config(sweep.points()[0]).units())
        method_units = sweep.base.adversarial_epochs
        scheduler = ASHAScheduler(
            time_attr="unit", max_t=units, grace_period=max(1, units - method_units + method_units // 4)
        )
    metric = {"metric": METRIC, "mode": "min"} if (search_alg or scheduler) else {}
    return tune.TuneConfig(
        search_alg=search_alg, scheduler=scheduler, num_samples=sweep.num_samples if search_alg else 1, **metric
    )


class Progress(tune.Callback):
    """Hands every result a trial reports to ``on_result``, with the trial's own fields (the command line prints it)."""

    def __init__(self, on_result: Callable[[dict[str, Any]], None]) -> None:
        self.on_result = on_result

    def on_trial_result(self, iteration: int, trials: list, trial: Any, result: dict, **info: Any) -> None:
        fields = {k: v for k, v in trial.config.items() if k not in NOT_TRIAL_FIELDS}
        self.on_result({**fields, **result, "trial_id": trial.trial_id})
