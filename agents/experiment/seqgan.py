"""SeqGAN end to end, on the oracle benchmark or a text corpus: the paper's Algorithm 1 as a resumable schedule.

Algorithm 1 of the paper, and where each line lives in :class:`SeqGANTrainer`:

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

A run is a fixed list of units (:mod:`agents.experiment.config`); ``_run_unit`` below does the work of one,
and :class:`~agents.experiment.schedule.UnitSchedule` runs them in order. Every unit starts by seeding every
random stream from ``(seed, unit index)`` (:mod:`agents.experiment.streams`), so the state between two units
is all a checkpoint needs (:mod:`agents.experiment.checkpoint`): a run resumed from any checkpoint produces
the same numbers and samples as an uninterrupted one, bit for bit on the CPU. The metrics rows and
the files they go to are :mod:`agents.experiment.records`. A config with a ``corpus`` runs the same units on
real text (:mod:`agents.experiment.run_benchmark` holds what differs, :mod:`agents.experiment.text_runs` the rest).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

import torch
from stable_baselines3.common.logger import Logger

from agents.callbacks import DiscriminatorTrainingCallback, RolloutPolicySync
from agents.experiment.checkpoint import CHECKPOINT_NAME, CheckpointError, file_sha256, load_checkpoint
from agents.experiment.config import METHOD_PHASES, PHASES, PRESETS, SeqGANConfig
from agents.experiment.figure2 import plot_nll_oracle
from agents.experiment.run_benchmark import RunBenchmark
from agents.experiment.run_folder import RunFolderError
from agents.experiment.schedule import UnitSchedule, resolve_device
from agents.experiment.streams import D_ACCURACY_STREAM, EVAL_STREAM, INIT_STREAM, stream_seed, unit_seed
from agents.experiment.text_runs import check_vocabulary
from agents.pretraining import (
    discriminator_accuracy,
    discriminator_optimizer,
    mle_epoch,
    mle_optimizer,
    real_subset,
    train_discriminator,
)
from agents.reinforce import REINFORCE
from agents.scheduled_sampling import scheduled_sampling_epoch
from seqgan_gym._io import FolderInUseError
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.metrics import nll_oracle, nll_test
from seqgan_gym.oracle import OracleLSTM
from seqgan_gym.rewards import TrainableScorer, get_reward

# The trainer, and the names of the modules above that callers import from here.
__all__ = ["CHECKPOINT_NAME", "METHOD_PHASES", "PHASES", "PRESETS", "CheckpointError", "RunFolderError", "SeqGANConfig"]
__all__ += ["FolderInUseError", "SeqGANTrainer", "load_checkpoint", "plot_nll_oracle", "resolve_device", "stream_seed"]
__all__ += ["unit_seed"]


class SeqGANTrainer(UnitSchedule):
    """Runs a :class:`SeqGANConfig` unit by unit, writing metrics, checkpoints and results.

    :param config: the run. :param out_dir: where results and checkpoints go (``None``: nowhere).
    :param device: ``"cpu"``, ``"cuda"`` or ``"auto"``. Bit-exact resume holds on the CPU.
    :param checkpoint_every_s: seconds between checkpoints (taken between units; ``0``: after
        every unit). Checkpoints are also written at the end of each phase and of every ``run``.
    :param on_row: called with every metrics row (a dict, see :attr:`rows`) as it is recorded.
        A row's ``elapsed_s`` is the run's training time at the end of its unit, evaluation included.

    :meth:`run`, :meth:`resume`, :meth:`save_checkpoint`, :meth:`summary` and :meth:`curve` come
    from :class:`~agents.experiment.schedule.UnitSchedule`. Writes to ``out_dir`` the files of
    :mod:`agents.experiment.records` and ``checkpoint.pt`` (:mod:`agents.experiment.checkpoint`).

    Faults: a non-finite reward, loss, gradient or metric stops :meth:`run` with a
    ``FloatingPointError`` that names the unit, the step and the quantity, before the parameters
    change; a failed write (e.g. a full disk) raises ``OSError``. Either way the checkpoint on disk
    is the last good one (checkpoints are written to a temporary file, then renamed), and this
    trainer refuses to checkpoint the half-done unit: resume from the file. ``out_dir`` must be new or
    empty (else ``RunFolderError``; :meth:`resume` continues a run), and no other process may be writing
    there (``FolderInUseError``): :meth:`run` holds the folder's lock.
    """

    def __init__(
        self,
        config: SeqGANConfig,
        out_dir: str | os.PathLike[str] | None = None,
        device: str | torch.device = "cpu",
        checkpoint_every_s: float = 300.0,
        on_row: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__(config, out_dir, device, checkpoint_every_s, on_row)

        # Line 1: the benchmark (oracle or corpus, real set S, D_φ) and G_θ, all from fixed seeds.
        benchmark = RunBenchmark.load(config)
        self.corpus = self.records.corpus = benchmark.corpus
        if self.corpus is not None and self.out_dir is not None:
            check_vocabulary(self.out_dir, self.corpus)  # a resumed run: the corpus it was trained on
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(stream_seed(config.seed, INIT_STREAM))
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
            scorer = benchmark.scorer(config, discriminator)
            self.env = benchmark.make_env(config, scorer, self.rollout_policy.to(self.device), self.device)
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
        self.oracle: OracleLSTM | None = None if benchmark.oracle is None else self.env.get_attr("oracle")[0]
        # What the adversarial methods train: D, or the method's own scorer (RankGAN's ranker); PG-BLEU's BLEU
        # and Scheduled Sampling train none (D is kept, untrained).
        trained = scorer if config.is_adversarial else discriminator
        self.discriminator: TrainableScorer = trained.to(self.device)  # type: ignore[assignment]
        self.real_data: torch.Tensor = self.env.get_attr("real_data")[0].to(self.device)
        self.generator: LSTMGenerator = self.model.policy.generator
        self.oracle_sha256 = None if config.oracle_file is None else file_sha256(config.oracle_file)
        self.mle_optimizer = mle_optimizer(self.generator, config.generator_lr)
        self.discriminator_optimizer = discriminator_optimizer(self.discriminator, config.discriminator_lr)
        self.mle_generator: LSTMGenerator | None = None  # Figure 2's MLE-only control, from line 3 on
        self.mle_generator_optimizer: torch.optim.Optimizer | None = None
        self.callbacks: list[Any] = [RolloutPolicySync(config.rollout_update_rate, rollout_policy=self.rollout_policy)]
        self.d_callback: DiscriminatorTrainingCallback | None = None
        if config.is_adversarial:
            self.d_callback = DiscriminatorTrainingCallback(
                d_steps=config.d_steps,
                k_epochs=config.k_epochs,
                batch_size=config.d_batch_size,
                n_negatives=config.n_negatives,
                optimizer=self.discriminator_optimizer,
            )
            self.callbacks.insert(0, self.d_callback)  # the paper's order: d-steps, then β sync
        self.held_out = benchmark.held_out(config, self.device)  # NLL-test's real sequences
        if config.mle_epochs == 0:
            self._end_of_pretraining()

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
            self._maybe_record(phase, index + 1, cfg.continuation_epochs, self.mle_generator, {"g_loss": loss})
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
                if get_reward(cfg.method).reports_accuracy:
                    stats.update(self.discriminator_accuracy(index))
            self._maybe_record(phase, index + 1, cfg.adversarial_epochs, self.generator, stats)

    def _end_of_pretraining(self) -> None:
        """Line 3 (β ← θ), and the MLE-only control starts from this same G_θ."""
        self.rollout_policy.load_state_dict(self.generator.state_dict())
        self.mle_generator = copy.deepcopy(self.generator)
        self.mle_generator_optimizer = mle_optimizer(self.mle_generator, self.config.generator_lr)
        self.mle_generator_optimizer.load_state_dict(self.mle_optimizer.state_dict())

    def evaluate(self, generator: LSTMGenerator) -> dict[str, float]:
        """``nll_oracle`` (none on a corpus) and ``nll_test`` of ``generator``.

        The samples come from the same stream each time, and are kept in ``eval_samples``.
        """
        stream = torch.Generator(device=generator.device).manual_seed(stream_seed(self.config.seed, EVAL_STREAM))
        samples = self.eval_samples = generator.sample(self.config.n_eval, generator=stream)
        scores = {"nll_oracle": nll_oracle(self.oracle, samples)} if self.oracle is not None else {}
        return {**scores, "nll_test": nll_test(generator, self.held_out)}

    def discriminator_accuracy(self, epoch: int, n: int = 1000) -> dict[str, float]:
        """D's accuracy on ``n`` held-out real sequences and ``n`` fresh samples of G_θ (threshold 0.5).

        Logged every adversarial epoch beside the mean reward, so that a saturating D (accuracy near 1
        on both, reward near 0) shows. Its samples come from a stream of their own, so the training
        streams are untouched.
        """
        n = min(n, len(self.held_out))
        stream = torch.Generator(device=self.generator.device)
        stream.manual_seed(stream_seed(self.config.seed, D_ACCURACY_STREAM, epoch))
        return discriminator_accuracy(self.discriminator, self.held_out[:n], self.generator.sample(n, generator=stream))
