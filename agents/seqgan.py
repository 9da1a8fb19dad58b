"""SeqGAN end to end on the oracle benchmark: the paper's Algorithm 1 as a resumable schedule.

Algorithm 1 of the paper, and where each line lives:

====  ===========================================================  =============================
line  paper                                                        here
====  ===========================================================  =============================
1     initialise G_θ, D_φ at random                                ``SeqGANTrainer.__init__``
2     pre-train G_θ with MLE on the real set S                     unit ``("mle", i)``
3     β ← θ                                                        ``_end_of_pretraining``
4-5   generate negatives with G_θ, pre-train D_φ                   unit ``("d_pretrain", r)``
6-13  repeat: g-step (MC rewards + policy gradient), β sync,       unit ``("adversarial", e)``
      d-steps (fresh negatives, k epochs)                          (REINFORCE + the callbacks)
====  ===========================================================  =============================

Figure 2's control, MLE training continued from the same pretrained start for as many epochs,
is unit ``("mle_continuation", j)`` on a copy of G_θ taken at line 3.

The paper's baselines run on the same schedule in place of lines 4-13 (``SeqGANConfig.method``):
``"pg_bleu"`` (units ``("pg_bleu", e)``: the same g-step, with BLEU against the real set in the
place of D and no discriminator) and ``"scheduled_sampling"`` (units ``("scheduled_sampling", e)``:
epochs of Scheduled Sampling continuing MLE). Every method builds its models in the same order
from the same seeds, so runs that differ only in ``method`` share the pretrained G_θ bit for bit.

A run is a fixed list of units. Every unit starts by seeding every random stream from
``(seed, unit index)``, so the state between two units (parameters, optimiser moments, the
metrics so far) is all a checkpoint needs: a run resumed from any checkpoint produces the same
numbers and samples as an uninterrupted one, bit for bit on the CPU.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from stable_baselines3.common.logger import Logger

from agents.callbacks import DiscriminatorTrainingCallback, RolloutPolicySync
from agents.pretraining import (
    discriminator_optimizer,
    mle_epoch,
    mle_optimizer,
    real_subset,
    train_discriminator,
)
from agents.reinforce import REINFORCE
from agents.scheduled_sampling import SamplingSchedule, scheduled_sampling_epoch
from seqgan_gym._checks import check_int, fault_context, non_finite_names
from seqgan_gym._io import atomic_write, atomic_write_json, atomic_write_png, atomic_write_text
from seqgan_gym.bleu_reward import BLEUReward
from seqgan_gym.envs.oracle_benchmark import sample_real_data
from seqgan_gym.metrics import nll_oracle, nll_test
from seqgan_gym.models import D_PRECISIONS, Discriminator, LSTMGenerator, check_filters
from seqgan_gym.oracle import DEFAULT_ORACLE_SEED, OracleLSTM
from seqgan_gym.sb3 import make_sb3_vec_env

PHASES: tuple[str, ...] = ("mle", "mle_continuation", "d_pretrain", "adversarial", "pg_bleu", "scheduled_sampling")
#: What trains G_θ after pretraining, and the phase of its units.
METHOD_PHASES: dict[str, str] = {
    "seqgan": "adversarial",
    "pg_bleu": "pg_bleu",
    "scheduled_sampling": "scheduled_sampling",
}
CHECKPOINT_NAME = "checkpoint.pt"
_CHECKPOINT_FORMAT = 1
_HELD_OUT_SEED = 1  # NLL-test's held-out oracle samples (the real set uses seed 0)
_INIT_STREAM, _EVAL_STREAM, _UNIT_STREAM, _D_ACCURACY_STREAM = 0, 1, 2, 3  # a run's random streams (stream_seed)


@dataclasses.dataclass(frozen=True)
class SeqGANConfig:
    """Everything that defines a run. The defaults are the paper's (design §1).

    Benchmark: ``vocab_size``, ``seq_len``, ``emb_dim`` and ``hidden_dim`` (oracle and generator
    share the shape), ``oracle_seed`` or ``oracle_file`` (the paper's published oracle), ``n_real``
    real sequences, the discriminator's ``discriminator_emb_dim`` / ``discriminator_filter_sizes``
    / ``discriminator_num_filters`` (``None``: the paper's) and ``discriminator_precision``
    (``Discriminator(precision=...)``: ``"auto"`` runs its matmuls in bfloat16 where the hardware
    has native bfloat16, ``"float32"`` everywhere).

    Schedule: ``mle_epochs`` (120), ``d_pretrain_rounds`` x ``d_pretrain_epochs`` (50 x 3),
    ``adversarial_epochs`` (200), ``mle_continuation_epochs`` (``None``: as many as the
    adversarial epochs; 0 skips the control).

    Method: ``method`` is ``"seqgan"`` (the paper's Algorithm 1), or a baseline of the paper's
    Table 1 trained for ``adversarial_epochs`` after the same pretraining: ``"pg_bleu"`` (the
    policy gradient with BLEU-``bleu_max_n`` against the real set as the reward; no D) or
    ``"scheduled_sampling"`` (Bengio et al. 2015, ε_i from ``SamplingSchedule(sampling_schedule,
    sampling_k)``).

    Generator: ``batch_size`` sequences per update (64), ``generator_lr`` (Adam 0.01, MLE and
    policy gradient alike), ``max_grad_norm`` (5.0), ``n_rollouts`` N (16),
    ``rollout_update_rate`` (0: β ← θ after every update, as in Algorithm 1; r > 0 is the delayed
    copy β ← r·β + (1 - r)·θ, see :class:`~agents.callbacks.RolloutPolicySync`).

    Discriminator: ``d_steps`` (5) rounds of fresh negatives per generator update, ``k_epochs``
    (3) each, ``d_batch_size`` (64), ``discriminator_lr`` (Adam 1e-4), ``n_negatives`` per round
    (``None``: the size of the real set; a smaller number also subsamples the real set).

    Evaluation: NLL-oracle of ``n_eval`` samples (10,000) and NLL-test on ``n_eval`` held-out
    oracle samples, every ``eval_every`` epochs. ``seed``: the run's seed.
    """

    vocab_size: int = 5000
    seq_len: int = 20
    emb_dim: int = 32
    hidden_dim: int = 32
    oracle_seed: int = DEFAULT_ORACLE_SEED
    oracle_file: str | None = None
    n_real: int = 10_000
    discriminator_emb_dim: int = 64
    discriminator_filter_sizes: tuple[int, ...] | None = None
    discriminator_num_filters: tuple[int, ...] | None = None
    discriminator_precision: str = "auto"
    mle_epochs: int = 120
    d_pretrain_rounds: int = 50
    d_pretrain_epochs: int = 3
    adversarial_epochs: int = 200
    mle_continuation_epochs: int | None = None
    batch_size: int = 64
    generator_lr: float = 0.01
    max_grad_norm: float = 5.0
    n_rollouts: int = 16
    rollout_update_rate: float = 0.0
    d_steps: int = 5
    k_epochs: int = 3
    d_batch_size: int = 64
    discriminator_lr: float = 1e-4
    n_negatives: int | None = None
    n_eval: int = 10_000
    eval_every: int = 1
    seed: int = 0
    method: str = "seqgan"
    bleu_max_n: int = 4
    sampling_schedule: str = "inverse_sigmoid"
    sampling_k: float = 10.0

    _MINIMUM: ClassVar[dict[str, int]] = {
        "vocab_size": 2,
        "seq_len": 1,
        "emb_dim": 1,
        "hidden_dim": 1,
        "oracle_seed": 0,
        "n_real": 1,
        "discriminator_emb_dim": 1,
        "mle_epochs": 0,
        "d_pretrain_rounds": 0,
        "d_pretrain_epochs": 1,
        "adversarial_epochs": 0,
        "mle_continuation_epochs": 0,
        "batch_size": 1,
        "n_rollouts": 1,
        "d_steps": 1,
        "k_epochs": 1,
        "d_batch_size": 1,
        "n_negatives": 1,
        "n_eval": 1,
        "eval_every": 1,
        "seed": 0,
        "bleu_max_n": 1,
    }

    def __post_init__(self) -> None:
        for name, minimum in self._MINIMUM.items():
            value = getattr(self, name)
            if value is not None or name not in ("mle_continuation_epochs", "n_negatives"):
                check_int(name, value, minimum=minimum)
        for name in ("generator_lr", "max_grad_norm", "discriminator_lr"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if self.method not in METHOD_PHASES:
            raise ValueError(f"method must be one of {list(METHOD_PHASES)}, got {self.method!r}")
        try:
            self.schedule()
        except ValueError as err:
            raise ValueError(f"sampling_schedule / sampling_k: {err}") from None
        rate = self.rollout_update_rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"rollout_update_rate must be a number in [0, 1), got {rate!r}")
        if self.oracle_file is not None and not isinstance(self.oracle_file, str):
            raise TypeError(f"oracle_file must be a path (str) or None, got {type(self.oracle_file).__name__}")
        if self.discriminator_precision not in D_PRECISIONS:
            raise ValueError(
                f"discriminator_precision must be one of {list(D_PRECISIONS)}, got {self.discriminator_precision!r}"
            )
        sizes, counts = self.discriminator_filter_sizes, self.discriminator_num_filters
        if (sizes is None) != (counts is None):
            raise ValueError("discriminator_filter_sizes and discriminator_num_filters must be given together")
        if sizes is not None and counts is not None:  # tuples, so the config stays hashable and comparable
            sizes, counts = check_filters(sizes, counts, self.seq_len, prefix="discriminator_")
            object.__setattr__(self, "discriminator_filter_sizes", sizes)
            object.__setattr__(self, "discriminator_num_filters", counts)

    @property
    def continuation_epochs(self) -> int:
        """Epochs of the MLE-only control (``mle_continuation_epochs``, else ``adversarial_epochs``)."""
        return self.adversarial_epochs if self.mle_continuation_epochs is None else self.mle_continuation_epochs

    @property
    def method_phase(self) -> str:
        """The phase of the units after pretraining: ``"adversarial"`` for SeqGAN, else the baseline's name."""
        return METHOD_PHASES[self.method]

    def schedule(self) -> SamplingSchedule:
        """Scheduled Sampling's ε_i (used when ``method == "scheduled_sampling"``)."""
        return SamplingSchedule(self.sampling_schedule, self.sampling_k)

    def units(self) -> list[tuple[str, int]]:
        """The run's schedule: ``(phase, index)`` for every unit of work, in order."""
        counts = dict.fromkeys(PHASES, 0)
        counts["mle"] = self.mle_epochs
        counts["mle_continuation"] = self.continuation_epochs
        if self.method == "seqgan":
            counts["d_pretrain"] = self.d_pretrain_rounds
        counts[self.method_phase] = self.adversarial_epochs
        return [(phase, i) for phase in PHASES for i in range(counts[phase])]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeqGANConfig:
        """The inverse of :meth:`to_dict`; unknown keys are an error naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise ValueError(f"unknown SeqGANConfig fields {unknown}; allowed: {sorted(names)}")
        return cls(**data)


#: ``paper``: Algorithm 1 with the paper's numbers. ``quick``: minutes on 2 CPU cores, the same
#: algorithm on a short schedule with small discriminator rounds and evaluations. ``fast``: a
#: shortened schedule that aims for the paper's quality in under an hour (fewer, smaller D rounds;
#: 50 adversarial epochs). Each adversarial epoch trains D on 1,000 negatives; D pretraining draws
#: as many negatives as 10 rounds of 2,500 would. With 2,500 per epoch D wins sooner, and a run
#: took longer for no better gap to MLE (three seeds each: 0.263 against 0.277 on average; see
#: ``docs/results/fast_2500_negatives`` and ``docs/results/oracle_fast_100_epochs``).
PRESETS: dict[str, SeqGANConfig] = {
    "paper": SeqGANConfig(),
    "quick": SeqGANConfig(
        mle_epochs=10,
        d_pretrain_rounds=5,
        d_pretrain_epochs=1,
        adversarial_epochs=12,
        d_steps=1,
        k_epochs=1,
        n_negatives=1000,
        n_eval=2000,
    ),
    "fast": SeqGANConfig(
        mle_epochs=50,
        d_pretrain_rounds=25,
        d_pretrain_epochs=2,
        adversarial_epochs=50,
        d_steps=1,
        k_epochs=1,
        n_negatives=1000,
        eval_every=2,
    ),
}


class CheckpointError(ValueError):
    """A checkpoint that cannot be resumed: missing, truncated, foreign or from another version."""


def stream_seed(seed: int, *key: int) -> int:
    """A seed for the random stream named by ``key`` in a run with ``seed`` (independent streams)."""
    return int(np.random.SeedSequence([seed, *key]).generate_state(1, dtype=np.uint64)[0] >> 1)


def unit_seed(seed: int, unit: int) -> int:
    """The seed that every random stream of unit ``unit`` starts from, in a run with ``seed``."""
    return stream_seed(seed, _UNIT_STREAM, unit)


def _file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_device(device: str | torch.device) -> torch.device:
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


class SeqGANTrainer:
    """Runs a :class:`SeqGANConfig` unit by unit, writing metrics, checkpoints and results.

    :param config: the run. :param out_dir: where results and checkpoints go (``None``: nowhere).
    :param device: ``"cpu"``, ``"cuda"`` or ``"auto"``. Bit-exact resume holds on the CPU.
    :param checkpoint_every_s: seconds between checkpoints (taken between units; ``0``: after
        every unit). Checkpoints are also written at the end of each phase and of every ``run``.
    :param on_row: called with every metrics row (a dict, see :attr:`rows`) as it is recorded.
        A row's ``elapsed_s`` is the run's training time at the end of its unit, evaluation included.

    Writes to ``out_dir``: ``config.json``, ``metrics.csv``, ``tensorboard/``, ``checkpoint.pt``,
    ``nll_oracle.png`` and, once the schedule is done, ``samples.txt`` (the final ``n_eval``
    SeqGAN samples, one sequence of token ids per line), ``generator.zip`` (``REINFORCE.load``)
    and ``summary.json``.

    Faults: a non-finite reward, loss, gradient or metric stops :meth:`run` with a
    ``FloatingPointError`` that names the unit, the step and the quantity, before the parameters
    change; a failed write (e.g. a full disk) raises ``OSError``. Either way the checkpoint on disk
    is the last good one (checkpoints are written to a temporary file, then renamed), and this
    trainer refuses to checkpoint the half-done unit: resume from the file.
    """

    def __init__(
        self,
        config: SeqGANConfig,
        out_dir: str | os.PathLike[str] | None = None,
        device: str | torch.device = "cpu",
        checkpoint_every_s: float = 300.0,
        on_row: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        if not isinstance(config, SeqGANConfig):
            raise TypeError(f"config must be a SeqGANConfig, got {type(config).__name__}")
        if (
            isinstance(checkpoint_every_s, bool)
            or not isinstance(checkpoint_every_s, (int, float))
            or not checkpoint_every_s >= 0
        ):
            raise ValueError(f"checkpoint_every_s must be a number >= 0, got {checkpoint_every_s!r}")
        self.config = config
        self.out_dir = None if out_dir is None else Path(out_dir)
        self.device = resolve_device(device)
        self.checkpoint_every_s = float(checkpoint_every_s)
        self.on_row = on_row
        self.units = config.units()
        self.units_done = 0
        self.rows: list[dict[str, Any]] = []
        self.elapsed_s = 0.0  # training time over all sessions of the run
        self._unit_started: float | None = None  # perf_counter() at the start of the unit under way
        self._writer: Any = None
        self._broken_unit: str | None = None  # a unit that failed half-way: the state is not between units

        # Line 1: the benchmark (oracle, real set S, D_φ) and the generator G_θ, all from fixed seeds.
        oracle = (
            OracleLSTM.from_paper_file(config.oracle_file, seq_len=config.seq_len)
            if config.oracle_file is not None
            else OracleLSTM.seeded(
                config.oracle_seed, config.vocab_size, config.seq_len, config.emb_dim, config.hidden_dim
            )
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(stream_seed(config.seed, _INIT_STREAM))
            discriminator = Discriminator(
                config.vocab_size,
                config.seq_len,
                config.discriminator_emb_dim,
                config.discriminator_filter_sizes,
                config.discriminator_num_filters,
                precision=config.discriminator_precision,
            )
            self.rollout_policy = LSTMGenerator(config.vocab_size, config.seq_len, config.emb_dim, config.hidden_dim)
            # PG-BLEU scores with BLEU where D would; D is still built above, so every method draws
            # the same initial parameters from the same stream.
            scorer: Discriminator | BLEUReward = (
                BLEUReward(sample_real_data(oracle, config.n_real), config.vocab_size, config.bleu_max_n)
                if config.method == "pg_bleu"
                else discriminator
            )
            self.env = make_sb3_vec_env(
                "SeqGAN-Oracle-v0",
                n_envs=config.batch_size,
                n_rollouts=config.n_rollouts,
                rollout_policy=self.rollout_policy.to(self.device),
                vocab_size=config.vocab_size,
                seq_len=config.seq_len,
                oracle=oracle,
                discriminator=scorer,
                n_real=config.n_real,
                device=self.device,
            )
            self.model = REINFORCE(
                "LSTMGeneratorPolicy",
                self.env,
                learning_rate=config.generator_lr,
                max_grad_norm=config.max_grad_norm,
                policy_kwargs={"emb_dim": config.emb_dim, "hidden_dim": config.hidden_dim},
                seed=config.seed,
                device=self.device,
            )
        self.model.set_logger(Logger(folder=None, output_formats=[]))  # metrics go to metrics.csv / TensorBoard
        self.oracle: OracleLSTM = self.env.get_attr("oracle")[0]
        self.discriminator: Discriminator = discriminator.to(self.device)  # trained by SeqGAN only
        self.real_data: torch.Tensor = self.env.get_attr("real_data")[0].to(self.device)
        self.generator: LSTMGenerator = self.model.policy.generator
        self.oracle_sha256 = None if config.oracle_file is None else _file_sha256(config.oracle_file)
        self.mle_optimizer = mle_optimizer(self.generator, config.generator_lr)
        self.discriminator_optimizer = discriminator_optimizer(self.discriminator, config.discriminator_lr)
        self.mle_generator: LSTMGenerator | None = None  # Figure 2's MLE-only control, from line 3 on
        self.mle_generator_optimizer: torch.optim.Optimizer | None = None
        self.callbacks: list[Any] = [RolloutPolicySync(config.rollout_update_rate, rollout_policy=self.rollout_policy)]
        self.d_callback: DiscriminatorTrainingCallback | None = None
        if config.method == "seqgan":
            self.d_callback = DiscriminatorTrainingCallback(
                d_steps=config.d_steps,
                k_epochs=config.k_epochs,
                batch_size=config.d_batch_size,
                n_negatives=config.n_negatives,
                optimizer=self.discriminator_optimizer,
            )
            self.callbacks.insert(0, self.d_callback)  # the paper's order: d-steps, then β sync
        generator = torch.Generator(device=self.oracle.device).manual_seed(_HELD_OUT_SEED)
        self.held_out = self.oracle.sample(config.n_eval, generator=generator)
        if config.mle_epochs == 0:
            self._end_of_pretraining()

    # ---- the schedule ----

    @property
    def finished(self) -> bool:
        return self.units_done == len(self.units)

    def run(self, max_units: int | None = None, progress: bool = False) -> list[dict[str, Any]]:
        """Run the remaining units (at most ``max_units``), then checkpoint and write the results.

        :param progress: show a tqdm progress bar over the units.
        :return: :attr:`rows`, the metrics of every epoch so far.
        """
        if max_units is not None:
            max_units = check_int("max_units", max_units, minimum=0)
        if self._broken_unit is not None:
            raise RuntimeError(f"this trainer stopped inside {self._broken_unit}; resume from its last checkpoint")
        stop = len(self.units) if max_units is None else min(len(self.units), self.units_done + max_units)
        if self.out_dir is not None:
            atomic_write_json(self.out_dir / "config.json", self.config.to_dict())
        bar = self._progress_bar() if progress else None
        last_checkpoint = time.monotonic()
        try:
            if self.units_done == 0 and not self.rows:
                self._record("mle", 0, self.generator, {})  # the untrained generator: Figure 2's first point
            while self.units_done < stop:
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
                    bar.set_description(phase)
                    if "nll_oracle" in self.rows[-1]:
                        bar.set_postfix(nll_oracle=f"{self.rows[-1]['nll_oracle']:.4f}", refresh=False)
                    bar.update(1)
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
            if self._writer is not None:
                self._writer.flush()
        return self.rows

    def _run_unit(self, phase: str, index: int) -> None:
        # Every random stream of the unit starts from (seed, unit): what makes resume exact.
        seed = unit_seed(self.config.seed, self.units_done)
        torch.manual_seed(seed)
        cfg = self.config
        if phase == "mle":  # line 2
            loss = mle_epoch(self.generator, self.real_data, self.mle_optimizer, cfg.batch_size, cfg.max_grad_norm)
            if index + 1 == cfg.mle_epochs:
                self._end_of_pretraining()
            self._maybe_record(phase, index + 1, cfg.mle_epochs, self.generator, {"g_loss": loss})
        elif phase == "mle_continuation":  # Figure 2's control
            assert self.mle_generator is not None and self.mle_generator_optimizer is not None
            loss = mle_epoch(
                self.mle_generator, self.real_data, self.mle_generator_optimizer, cfg.batch_size, cfg.max_grad_norm
            )
            stats = {"g_loss": loss}
            self._maybe_record(phase, index + 1, cfg.continuation_epochs, self.mle_generator, stats)
        elif phase == "d_pretrain":  # lines 4-5
            n_fake = cfg.n_real if cfg.n_negatives is None else cfg.n_negatives
            fake = self.generator.sample(n_fake)
            real = real_subset(self.real_data, n_fake)
            loss = train_discriminator(
                self.discriminator, real, fake, self.discriminator_optimizer, cfg.d_pretrain_epochs, cfg.d_batch_size
            )
            self._add_row({"phase": phase, "epoch": index + 1, "d_loss": loss})
        elif phase == "scheduled_sampling":  # the baseline, continuing MLE with its optimiser
            truth_prob = cfg.schedule().truth_prob(index)
            loss = scheduled_sampling_epoch(
                self.generator, self.real_data, self.mle_optimizer, truth_prob, cfg.batch_size, cfg.max_grad_norm
            )
            stats = {"g_loss": loss, "truth_prob": truth_prob}
            self._maybe_record(phase, index + 1, cfg.adversarial_epochs, self.generator, stats)
        else:  # lines 6-13: one g-step, then (callbacks) the d-steps and β sync; PG-BLEU: no d-steps
            self.env.seed(seed)
            self.model._last_obs = self.env.reset()  # type: ignore[assignment]
            self.model.policy.forget()
            self.model.learn(
                cfg.batch_size * cfg.seq_len, callback=self.callbacks, reset_num_timesteps=False, log_interval=1
            )
            stats = {"g_loss": self.model.last_stats["loss"], "mean_reward": self.model.last_stats["mean_reward"]}
            if self.d_callback is not None:
                stats["d_loss"] = self.d_callback.last_loss
                stats.update(self.discriminator_accuracy(index))
            self._maybe_record(phase, index + 1, cfg.adversarial_epochs, self.generator, stats)

    def _end_of_pretraining(self) -> None:
        """Line 3 (β ← θ), and the MLE-only control starts from this same G_θ."""
        self.rollout_policy.load_state_dict(self.generator.state_dict())
        self.mle_generator = copy.deepcopy(self.generator)
        self.mle_generator_optimizer = mle_optimizer(self.mle_generator, self.config.generator_lr)
        self.mle_generator_optimizer.load_state_dict(self.mle_optimizer.state_dict())

    # ---- metrics ----

    def evaluate(self, generator: LSTMGenerator) -> tuple[float, float]:
        """``(NLL-oracle, NLL-test)`` of ``generator``: the same sample stream at every evaluation."""
        stream = torch.Generator(device=generator.device).manual_seed(stream_seed(self.config.seed, _EVAL_STREAM))
        samples = generator.sample(self.config.n_eval, generator=stream)
        return nll_oracle(self.oracle, samples), nll_test(generator, self.held_out)

    def discriminator_accuracy(self, epoch: int, n: int = 1000) -> dict[str, float]:
        """D's accuracy on ``n`` held-out real sequences and ``n`` fresh samples of G_θ (threshold 0.5).

        Logged every adversarial epoch beside the mean reward, so that a saturating D (accuracy near 1
        on both, reward near 0) shows. Its samples come from a stream of their own, so the training
        streams are untouched.
        """
        n = min(n, len(self.held_out))
        stream = torch.Generator(device=self.generator.device)
        stream.manual_seed(stream_seed(self.config.seed, _D_ACCURACY_STREAM, epoch))
        fake = self.generator.sample(n, generator=stream)
        real_prob = self.discriminator.prob_real(self.held_out[:n])
        fake_prob = self.discriminator.prob_real(fake)
        return {
            "d_acc_real": (real_prob > 0.5).float().mean().item(),
            "d_acc_fake": (fake_prob <= 0.5).float().mean().item(),
        }

    def _maybe_record(
        self, phase: str, epoch: int, n_epochs: int, generator: LSTMGenerator, stats: dict[str, float]
    ) -> None:
        if epoch % self.config.eval_every == 0 or epoch == n_epochs:
            self._record(phase, epoch, generator, stats)
        else:
            self._add_row({"phase": phase, "epoch": epoch, **stats})

    def _record(self, phase: str, epoch: int, generator: LSTMGenerator, stats: dict[str, float]) -> None:
        score, test = self.evaluate(generator)
        self._add_row({"phase": phase, "epoch": epoch, "nll_oracle": score, "nll_test": test, **stats})

    def _add_row(self, row: dict[str, Any]) -> None:
        bad = non_finite_names(row)
        if bad:  # a metric is the last place a fault can show before it reaches metrics.csv and the checkpoint
            raise FloatingPointError(f"non-finite {', '.join(f'{k}={row[k]!r}' for k in bad)}")
        # Figure 2's x axis: pretraining epochs, then adversarial (or continued MLE) epochs after them.
        offset = 0 if row["phase"] in ("mle", "d_pretrain") else self.config.mle_epochs
        # A row is added at the end of its unit (after the evaluation): its time includes the unit.
        elapsed = self.elapsed_s + (0.0 if self._unit_started is None else time.perf_counter() - self._unit_started)
        row = {"step": offset + row["epoch"], **row, "elapsed_s": round(elapsed, 3)}
        self.rows.append(row)
        if self.out_dir is not None:
            self._write_csv()
            self._tensorboard(row)
        if self.on_row is not None:
            self.on_row(row)

    METRIC_COLUMNS: ClassVar[tuple[str, ...]] = (
        "phase",
        "epoch",
        "step",
        "nll_oracle",
        "nll_test",
        "g_loss",
        "d_loss",
        "mean_reward",
        "d_acc_real",
        "d_acc_fake",
        "truth_prob",
        "elapsed_s",
    )

    def _write_csv(self) -> None:
        assert self.out_dir is not None
        lines = [",".join(self.METRIC_COLUMNS)]
        for row in self.rows:
            lines.append(",".join(_csv_cell(row.get(column)) for column in self.METRIC_COLUMNS))
        atomic_write_text(self.out_dir / "metrics.csv", "\n".join(lines) + "\n")

    def _tensorboard(self, row: dict[str, Any]) -> None:
        assert self.out_dir is not None
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter  # imported only when writing results

            self._writer = SummaryWriter(str(self.out_dir / "tensorboard"))
        # Pretraining rows start both curves, as in Figure 2.
        method = self.config.method
        curves = {"mle": (method, "mle"), "mle_continuation": ("mle",), self.config.method_phase: (method,)}
        for name in ("nll_oracle", "nll_test"):
            if row.get(name) is not None:
                for curve in curves.get(row["phase"], ()):
                    self._writer.add_scalar(f"{name}/{curve}", row[name], row["step"])
        for name in ("g_loss", "d_loss", "mean_reward", "d_acc_real", "d_acc_fake"):
            if row.get(name) is not None:
                self._writer.add_scalar(f"{row['phase']}/{name}", row[name], row["step"])

    def curve(self, phase: str, column: str = "nll_oracle") -> list[tuple[int, float]]:
        """``(step, value)`` of ``column`` over the rows of ``phase`` that have it."""
        return [(r["step"], r[column]) for r in self.rows if r["phase"] == phase and r.get(column) is not None]

    def summary(self) -> dict[str, Any]:
        """The run's headline numbers: NLL-oracle after pretraining, of the method and of the MLE control.

        Keys name the method: ``nll_oracle_seqgan`` and ``seqgan_minus_mle`` for SeqGAN,
        ``nll_oracle_pg_bleu`` and ``pg_bleu_minus_mle`` for PG-BLEU, and so on.
        """

        def last(phase: str) -> float | None:
            points = self.curve(phase)
            return points[-1][1] if points else None

        method = self.config.method
        final, mle = last(self.config.method_phase), last("mle_continuation")
        return {
            "method": method,
            "nll_oracle_pretrained": last("mle"),
            f"nll_oracle_{method}": final,
            "nll_oracle_mle_continuation": mle,
            f"{method}_minus_mle": None if final is None or mle is None else final - mle,
            "units_done": self.units_done,
            "units": len(self.units),
            "training_seconds": round(self.elapsed_s, 1),
            "device": str(self.device),
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "config": self.config.to_dict(),
        }

    def _write_results(self) -> None:
        assert self.out_dir is not None
        stream = torch.Generator(device=self.generator.device).manual_seed(stream_seed(self.config.seed, _EVAL_STREAM))
        samples = self.generator.sample(self.config.n_eval, generator=stream).cpu()
        atomic_write_text(
            self.out_dir / "samples.txt", "\n".join(" ".join(map(str, r)) for r in samples.tolist()) + "\n"
        )
        self.model.save(self.out_dir / "generator.zip")
        atomic_write_json(self.out_dir / "summary.json", self.summary())

    def _progress_bar(self) -> Any:
        from tqdm.auto import tqdm

        return tqdm(total=len(self.units), initial=self.units_done, unit="epoch", dynamic_ncols=True)

    # ---- checkpoints ----

    def state_dict(self) -> dict[str, Any]:
        """Everything between two units, as tensors and plain Python values (``weights_only``-loadable)."""

        def optional(module: torch.nn.Module | torch.optim.Optimizer | None) -> dict[str, Any] | None:
            return None if module is None else module.state_dict()

        state = {
            "format_version": _CHECKPOINT_FORMAT,
            "kind": "seqgan-gym SeqGANTrainer",
            "config": self.config.to_dict(),
            "oracle_sha256": self.oracle_sha256,
            "units_done": self.units_done,
            "elapsed_s": self.elapsed_s,
            "rows": self.rows,
            "generator": self.generator.state_dict(),
            "generator_optimizer": self.model.policy.optimizer.state_dict(),
            "mle_optimizer": self.mle_optimizer.state_dict(),
            "rollout_policy": self.rollout_policy.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "discriminator_optimizer": self.discriminator_optimizer.state_dict(),
            "mle_generator": optional(self.mle_generator),
            "mle_generator_optimizer": optional(self.mle_generator_optimizer),
            "num_timesteps": self.model.num_timesteps,
            "n_updates": self.model._n_updates,
        }
        if self._broken_unit is not None:
            raise RuntimeError(
                f"refusing to checkpoint: this trainer stopped inside {self._broken_unit}, so its state is not "
                "between two units; resume from its last checkpoint"
            )
        bad = non_finite_names(state)
        if bad:
            raise FloatingPointError(f"refusing to checkpoint non-finite values in {', '.join(map(repr, bad))}")
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved (the config must be this trainer's)."""
        if state["config"] != self.config.to_dict():
            theirs, ours = state["config"], self.config.to_dict()
            differ = [
                f"{k}={theirs.get(k)!r} (here {ours.get(k)!r})"
                for k in sorted(set(theirs) | set(ours), key=str)
                if theirs.get(k) != ours.get(k)
            ]
            raise CheckpointError(f"the checkpoint belongs to another configuration: {', '.join(differ)}")
        if state["oracle_sha256"] != self.oracle_sha256:
            raise CheckpointError("the checkpoint was trained against another oracle file")
        self.generator.load_state_dict(state["generator"])
        self.model.policy.optimizer.load_state_dict(state["generator_optimizer"])
        self.mle_optimizer.load_state_dict(state["mle_optimizer"])
        self.rollout_policy.load_state_dict(state["rollout_policy"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.discriminator_optimizer.load_state_dict(state["discriminator_optimizer"])
        if state["mle_generator"] is not None:
            self._end_of_pretraining()  # creates the control's modules; their state follows
            assert self.mle_generator is not None and self.mle_generator_optimizer is not None
            self.rollout_policy.load_state_dict(state["rollout_policy"])
            self.mle_generator.load_state_dict(state["mle_generator"])
            self.mle_generator_optimizer.load_state_dict(state["mle_generator_optimizer"])
        self.model.num_timesteps = int(state["num_timesteps"])
        self.model._n_updates = int(state["n_updates"])
        self.units_done = int(state["units_done"])
        self.elapsed_s = float(state["elapsed_s"])
        self.rows = list(state["rows"])
        self.model.policy.forget()

    def save_checkpoint(self) -> Path:
        """Write ``out_dir/checkpoint.pt`` atomically (the previous one stays valid until the rename)."""
        if self.out_dir is None:
            raise ValueError("this trainer has no out_dir to checkpoint into")
        path = self.out_dir / CHECKPOINT_NAME
        plot_nll_oracle(self.rows, self.out_dir / "nll_oracle.png", method=self.config.method)
        buffer = io.BytesIO()
        torch.save(self.state_dict(), buffer)
        try:
            with atomic_write(path, "wb") as f:
                f.write(buffer.getbuffer())
        except OSError as err:  # e.g. ENOSPC: the rename never happened, so the last checkpoint is whole
            message = (
                f"could not write the checkpoint {str(path)!r} ({err.strerror or err}); the previous checkpoint "
                "there is intact: make room, then resume from it"
            )
            raise (OSError(message) if err.errno is None else type(err)(err.errno, message)) from err
        return path

    @classmethod
    def resume(
        cls,
        out_dir: str | os.PathLike[str],
        device: str | torch.device = "cpu",
        checkpoint_every_s: float = 300.0,
        on_row: Callable[[dict[str, Any]], None] | None = None,
    ) -> SeqGANTrainer:
        """The trainer of the run in ``out_dir``, at its last checkpoint (loaded with ``weights_only=True``)."""
        out_dir = Path(out_dir)
        state = load_checkpoint(out_dir / CHECKPOINT_NAME)
        # A crash between writing a temporary file and its rename leaves it behind; it was never the checkpoint.
        for stale in out_dir.glob(f".{CHECKPOINT_NAME}.*.tmp"):
            stale.unlink(missing_ok=True)
        try:
            config = SeqGANConfig.from_dict(_as_config_dict(state["config"]))
        except (KeyError, TypeError, ValueError) as err:
            raise CheckpointError(
                f"{str(out_dir / CHECKPOINT_NAME)!r} holds an invalid configuration: {err!r}"
            ) from err
        trainer = cls(config, out_dir, device, checkpoint_every_s, on_row)
        try:
            trainer.load_state_dict(state)
        except (KeyError, TypeError, ValueError, RuntimeError, AttributeError, IndexError) as err:
            raise CheckpointError(f"{str(out_dir / CHECKPOINT_NAME)!r} does not fit its configuration: {err}") from err
        return trainer


def load_checkpoint(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a trainer checkpoint without executing anything (``torch.load(weights_only=True)``).

    :raises CheckpointError: missing, truncated or foreign file, or another format version.
    """
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise CheckpointError(f"no checkpoint at {str(path)!r}") from err
    except Exception as err:  # untrusted bytes: truncated or forged files fail in many ways
        raise CheckpointError(
            f"{str(path)!r} is not a readable seqgan-gym checkpoint ({type(err).__name__}: {err})"
        ) from err
    if not isinstance(state, dict) or state.get("kind") != "seqgan-gym SeqGANTrainer":
        raise CheckpointError(f"{str(path)!r} is not a seqgan-gym SeqGANTrainer checkpoint")
    if state.get("format_version") != _CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{str(path)!r} has checkpoint format {state.get('format_version')!r}; this version reads "
            f"format {_CHECKPOINT_FORMAT}"
        )
    bad = non_finite_names(state)
    if bad:
        raise CheckpointError(f"{str(path)!r} holds non-finite values in {', '.join(map(repr, bad))}")
    return state


def _as_config_dict(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise TypeError("config is not a mapping")
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def plot_nll_oracle(
    rows: list[dict[str, Any]], path: str | os.PathLike[str], title: str = "", method: str = "seqgan"
) -> Path:
    """Figure 2 of the paper from metrics rows: NLL-oracle over epochs, SeqGAN beside the MLE-only control.

    Pretraining is drawn once and continues into both curves; a dotted line marks its end.
    Written atomically as PNG.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: no display needed
    import matplotlib.pyplot as plt

    def points(*phases: str) -> tuple[list[int], list[float]]:
        chosen = [
            (r["step"], r["nll_oracle"]) for r in rows if r["phase"] in phases and r.get("nll_oracle") is not None
        ]
        return [x for x, _ in chosen], [y for _, y in chosen]

    pre_x, pre_y = points("mle")
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    ax.plot(pre_x, pre_y, color="0.35", label="MLE pretraining")
    labels = {"seqgan": "SeqGAN (adversarial)", "pg_bleu": "PG-BLEU", "scheduled_sampling": "Scheduled Sampling"}
    for phase, label, color in (
        (METHOD_PHASES[method], labels[method], "tab:red"),
        ("mle_continuation", "MLE continued", "tab:blue"),
    ):
        x, y = points(phase)
        if x:
            start = ([pre_x[-1]], [pre_y[-1]]) if pre_x else ([], [])
            ax.plot(start[0] + x, start[1] + y, color=color, label=label)
    if pre_x:
        ax.axvline(pre_x[-1], color="0.6", linestyle=":", linewidth=1)
    ax.set_xlabel("epoch")
    ax.set_ylabel("NLL-oracle (nats per token)")
    ax.set_title(title or "NLL-oracle on the synthetic benchmark")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return atomic_write_png(path, fig)
