"""A run as a fixed list of units, run in order, timed, recorded and checkpointed between units.

:class:`UnitSchedule` is the machinery under :class:`~agents.experiment.seqgan.SeqGANTrainer`, as SB3's
``BaseAlgorithm`` is under ``PPO``: the trainer builds the models and says what each unit does
(``_run_unit``) and how a generator is scored (``evaluate``); this class runs the units
(:meth:`UnitSchedule.run`), times them, turns their metrics into rows and files
(:mod:`agents.experiment.records`) and checkpoints between them (:mod:`agents.experiment.checkpoint`).

A unit that raises leaves the trainer part-way through it: the trainer then refuses to checkpoint
or to run on, and the checkpoint on disk stays the last good one to resume from.

While it writes (:meth:`UnitSchedule.run`, :meth:`UnitSchedule.save_checkpoint`) a trainer holds its
``out_dir``'s lock, so two processes never write one run; a new run starts only in a new or empty
folder, and only :meth:`UnitSchedule.resume` continues one (:func:`~agents.experiment.run_folder.claim_run_folder`).
"""

from __future__ import annotations

import collections
import contextlib
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import torch

from agents.experiment.checkpoint import (
    CHECKPOINT_NAME,
    load_trainer_state,
    resume_trainer,
    trainer_state,
    write_checkpoint,
)
from agents.experiment.config import SeqGANConfig
from agents.experiment.records import METRIC_COLUMNS, RunRecords, advance, progress_bar
from agents.experiment.run_folder import claim_run_folder
from agents.experiment.streams import EVAL_STREAM, stream_seed
from agents.reinforce import REINFORCE
from seqgan_gym._checks import check_float, check_int, fault_context
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import LSTMGenerator

_Schedule = TypeVar("_Schedule", bound="UnitSchedule")
#: The types of the trainer's ``out_dir``, ``device`` and ``on_row``.
OutDir = str | os.PathLike[str] | None
Device = str | torch.device
OnRow = Callable[[dict[str, Any]], None] | None


def resolve_device(device: Device) -> torch.device:
    """``"auto"``: CUDA when available, else the CPU; anything else must name a torch device."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asks for CUDA, which this machine's torch cannot use; use 'cpu' or 'auto'")
    return resolved


class UnitSchedule:
    """Runs the units of a :class:`~agents.experiment.config.SeqGANConfig` in order; a subclass does their work.

    The arguments are :class:`~agents.experiment.seqgan.SeqGANTrainer`'s. A subclass builds the models below
    (the checkpoint holds them) and defines ``_run_unit``, ``evaluate`` and ``_end_of_pretraining``.
    """

    METRIC_COLUMNS: ClassVar[tuple[str, ...]] = METRIC_COLUMNS

    generator: LSTMGenerator  # G_θ, the policy of ``model``
    model: REINFORCE
    rollout_policy: LSTMGenerator  # G_β
    discriminator: Discriminator  # D_φ
    mle_optimizer: torch.optim.Optimizer
    discriminator_optimizer: torch.optim.Optimizer
    mle_generator: LSTMGenerator | None  # Figure 2's MLE-only control, from the end of pretraining on
    mle_generator_optimizer: torch.optim.Optimizer | None
    oracle_sha256: str | None  # the SHA-256 of ``config.oracle_file``; None for the seeded oracle
    eval_samples: torch.Tensor | None  # what ``evaluate`` last scored, if it keeps them: TensorBoard shows a few

    def __init__(
        self, config: SeqGANConfig, out_dir: OutDir, device: Device, checkpoint_every_s: float, on_row: OnRow
    ) -> None:
        """Check and keep the trainer's arguments (the subclass's signature gives their defaults)."""
        if not isinstance(config, SeqGANConfig):
            raise TypeError(f"config must be a SeqGANConfig, got {type(config).__name__}")
        if not (isinstance(checkpoint_every_s, float) and checkpoint_every_s == math.inf):  # inf: at phase ends only
            check_float("checkpoint_every_s", checkpoint_every_s, 0)
        self.config = config
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.device = resolve_device(device)
        self.checkpoint_every_s = float(checkpoint_every_s)
        self.on_row = on_row
        self.units = config.units()
        self.units_done = 0
        self.records = RunRecords(config, self.out_dir)
        self.elapsed_s = 0.0  # training time of the run, summed over every process that ran part of it
        self._unit_started: float | None = None  # perf_counter() at the start of the unit under way
        self._broken_unit: str | None = None  # a unit that failed half-way: the state is not between units
        self._claimed = False  # whether out_dir holds this trainer's run (new and written, or resumed)
        self.eval_samples = None
        #: Set (e.g. by a Ctrl-C or SIGTERM handler) to stop at the end of the unit under way: ``run`` then
        #: checkpoints and raises ``KeyboardInterrupt`` there, never inside a library's call.
        self.stop_requested = False

    def _run_unit(self, phase: str, index: int) -> None:
        """Unit ``(phase, index)`` of the schedule: its work, then its metrics row (``_add_row``)."""
        raise NotImplementedError

    def evaluate(self, generator: LSTMGenerator) -> dict[str, float]:
        """The metrics of ``generator``: ``nll_oracle`` (on an oracle) and ``nll_test``."""
        raise NotImplementedError

    def _end_of_pretraining(self) -> None:
        """What happens once G_θ's pretraining is over (a checkpoint after it restores it too)."""
        raise NotImplementedError

    @property
    def finished(self) -> bool:
        """Whether every unit of the schedule has run."""
        return self.units_done == len(self.units)

    def run(self, max_units: int | None = None, progress: bool = False) -> list[dict[str, Any]]:
        """Run the remaining units (at most ``max_units``), then checkpoint and write the results.

        :param progress: show a tqdm progress bar over the units.
        :return: :attr:`rows`, the metrics of every epoch so far.
        :raises RunFolderError: a new run's ``out_dir`` holds files (resume a run with :meth:`resume`).
        :raises FolderInUseError: another process is writing into ``out_dir``.
        """
        if max_units is not None:
            max_units = check_int("max_units", max_units, minimum=0)
        if self._broken_unit is not None:
            raise RuntimeError(f"this trainer stopped inside {self._broken_unit}; resume from its last checkpoint")
        stop = len(self.units) if max_units is None else min(len(self.units), self.units_done + max_units)
        with self._writing():
            return self._run_until(stop, progress)

    def _writing(self) -> contextlib.AbstractContextManager[None]:
        """Hold ``out_dir`` (its lock; a new run: only if it is empty) while writing into it."""
        return contextlib.nullcontext() if self.out_dir is None else claim_run_folder(self)

    def _run_until(self, stop: int, progress: bool) -> list[dict[str, Any]]:
        if self.out_dir is not None:
            self.records.write_config()
        bar = progress_bar(len(self.units), self.units_done) if progress else None
        last_checkpoint = time.monotonic()
        try:
            if self.units_done == 0 and not self.rows:
                self._record("mle", 0, self.generator, {})  # the untrained generator: Figure 2's first point
            while self.units_done < stop:
                if self.stop_requested:
                    if self.out_dir is not None:
                        self.save_checkpoint()
                    raise KeyboardInterrupt
                phase, index = self.units[self.units_done]
                started = self._unit_started = time.perf_counter()
                where = f"{phase} epoch {index + 1} (unit {self.units_done + 1} of {len(self.units)})"
                self._broken_unit = where
                with fault_context(where):
                    self._run_unit(phase, index)
                self._broken_unit = None
                self.units_done += 1
                self.elapsed_s += time.perf_counter() - started
                self._unit_started = None
                if bar is not None:
                    advance(bar, phase, self.rows[-1])
                phase_ends = self.finished or self.units[self.units_done][0] != phase
                if self.out_dir is not None and (
                    phase_ends or time.monotonic() - last_checkpoint >= self.checkpoint_every_s
                ):
                    self.save_checkpoint()
                    last_checkpoint = time.monotonic()
            if self.out_dir is not None:
                self.save_checkpoint()
                if self.finished:
                    self._write_results()
        finally:
            self._unit_started = None
            if bar is not None:
                bar.close()
            self.records.flush()
        return self.rows

    # ---- metrics rows (agents/experiment/records.py) ----

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The metrics rows so far, one per epoch: ``phase``, ``epoch``, ``step``, metrics, ``elapsed_s``."""
        return self.records.rows

    def curve(self, phase: str, column: str = "nll_oracle") -> list[tuple[int, float]]:
        """``(step, value)`` of ``column`` over the rows of ``phase`` that have it."""
        return self.records.curve(phase, column)

    def summary(self) -> dict[str, Any]:
        """The run's headline numbers: NLL-oracle after pretraining, of the method and of the MLE control.

        Keys name the method: ``nll_oracle_seqgan`` and ``seqgan_minus_mle`` for SeqGAN,
        ``nll_oracle_pg_bleu`` and ``pg_bleu_minus_mle`` for PG-BLEU, and so on.
        """
        return self.records.summary(self.units_done, len(self.units), self.elapsed_s, self.device)

    def _maybe_record(
        self, phase: str, epoch: int, n_epochs: int, generator: LSTMGenerator, stats: dict[str, float]
    ) -> None:
        """The row of ``epoch`` of ``n_epochs``, with ``generator`` evaluated every ``eval_every`` epochs and last."""
        if self._evaluates(epoch, n_epochs):
            self._record(phase, epoch, generator, stats)
        else:
            self._add_row({"phase": phase, "epoch": epoch, **stats})

    def _evaluates(self, epoch: int, n_epochs: int) -> bool:
        """Whether ``epoch`` (1-based) of a phase of ``n_epochs`` evaluates: every ``eval_every``, and the last."""
        return epoch % self.config.eval_every == 0 or epoch == n_epochs

    def units_to_next_evaluation(self) -> int:
        """The units from here through the next one that evaluates a generator (else to the end).

        ``run(max_units=units_to_next_evaluation())`` stops right after an evaluation, with the state
        between units: where a sweep's trial reports and checkpoints (D pretraining evaluates nothing).
        """
        counts = collections.Counter(phase for phase, _ in self.units)
        for ahead, (phase, index) in enumerate(self.units[self.units_done :], start=1):
            if phase != "d_pretrain" and self._evaluates(index + 1, counts[phase]):
                return ahead
        return len(self.units) - self.units_done

    def _record(self, phase: str, epoch: int, generator: LSTMGenerator, stats: dict[str, float]) -> None:
        self.eval_samples = None  # set again by an ``evaluate`` that keeps its samples
        row = {"phase": phase, "epoch": epoch, **self.evaluate(generator), **stats}
        self._add_row(row, self.eval_samples)

    def _add_row(self, row: dict[str, Any], samples: torch.Tensor | None = None) -> None:
        # A row is added at the end of its unit (after the evaluation): its time includes the unit.
        elapsed = self.elapsed_s + (0.0 if self._unit_started is None else time.perf_counter() - self._unit_started)
        row = self.records.add(row, elapsed, samples)
        if self.on_row is not None:
            self.on_row(row)

    def _write_results(self) -> None:
        stream = torch.Generator(device=self.generator.device).manual_seed(stream_seed(self.config.seed, EVAL_STREAM))
        samples = self.generator.sample(self.config.n_eval, generator=stream).cpu()
        self.records.write_results(samples, self.model, self.summary())

    # ---- checkpoints (agents/experiment/checkpoint.py) ----

    def state_dict(self) -> dict[str, Any]:
        """Everything between two units, as tensors and plain Python values (``weights_only``-loadable)."""
        return trainer_state(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved (the config must be this trainer's)."""
        load_trainer_state(self, state)

    def save_checkpoint(self) -> Path:
        """Write ``out_dir/checkpoint.pt`` atomically (the previous one stays valid until the rename)."""
        if self.out_dir is None:
            raise ValueError("this trainer has no out_dir to checkpoint into")
        with self._writing():
            self.records.write_plot()
            return write_checkpoint(self.out_dir / CHECKPOINT_NAME, self.state_dict())

    @classmethod
    def resume(
        cls: type[_Schedule],
        out_dir: str | os.PathLike[str],
        device: str | torch.device = "cpu",
        checkpoint_every_s: float = 300.0,
        on_row: Callable[[dict[str, Any]], None] | None = None,
    ) -> _Schedule:
        """The trainer of the run in ``out_dir``, at its last checkpoint (loaded with ``weights_only=True``)."""
        return resume_trainer(cls, out_dir, device, checkpoint_every_s, on_row)
