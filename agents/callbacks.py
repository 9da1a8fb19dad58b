"""SeqGAN's alternating training as Stable-Baselines3 callbacks (the paper's Algorithm 1, lines 9-13).

Each callback works with any SB3 algorithm on a seqgan-gym env: it finds the discriminator, the
real data and the rollout policy through ``training_env.get_attr``, and the generator G_θ as the
policy's ``generator`` (``LSTMGeneratorPolicy``) or, for other policies, by running the policy.

When training starts, each warns (once per model) of settings that do not fit episodes of T tokens:
:func:`warn_unfit_settings`.

"After every generator update" is the start of the next episode collection: SB3 algorithms
collect, then update, then collect again. The first collection of a ``learn`` call follows no
update, so it is skipped, and the end of training counts as the last update's "after".
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback

from agents.pretraining import (
    discriminator_optimizer,
    mle_pretrain,
    pretrain_discriminator,
    real_subset,
    train_discriminator,
)
from seqgan_gym._checks import MAX_N_SEQUENCES, check_float, check_int, check_memory, fault_context
from seqgan_gym._io import atomic_write
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import TokenLSTM
from seqgan_gym.metrics import nll_oracle, nll_test
from seqgan_gym.rewards import TrainableScorer


def policy_generator(model: BaseAlgorithm) -> TokenLSTM | None:
    """The policy's LSTM generator G_θ, if it has one (``LSTMGeneratorPolicy`` does)."""
    generator = getattr(model.policy, "generator", None)
    return generator if isinstance(generator, TokenLSTM) else None


@torch.no_grad()
def sample_sequences(model: BaseAlgorithm, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``n`` sequences ``LongTensor[n, T]`` from the model's current policy (its G_θ when it has one).

    A policy without an LSTM generator (e.g. SB3's ``MlpPolicy``) writes them by acting on the
    padded prefixes, 1,024 sequences at a time, T ``predict`` calls each.
    """
    gen = policy_generator(model)
    if gen is not None:
        return gen.sample(n, generator=generator)
    seq_len, pad = int(model.observation_space.shape[0]), int(model.action_space.n)
    out = []
    for start in range(0, n, 1024):
        obs = np.full((min(1024, n - start), seq_len), pad, dtype=np.int64)
        for t in range(seq_len):
            obs[:, t] = model.predict(obs, deterministic=False)[0]
        out.append(torch.from_numpy(obs))
    return torch.cat(out) if out else torch.zeros(0, seq_len, dtype=torch.long)


def unfit_settings(model: BaseAlgorithm, env: Any) -> list[str]:
    """What in ``model``'s settings does not fit episodes of T tokens on ``env``, one message a setting.

    * ``policy`` without G_θ (e.g. ``MlpPolicy``): it reads the prefix as numbers, and cannot start
      from MLE pretraining;
    * ``gamma``: with Monte Carlo rewards each action's reward is already its return Q_t, so γ must
      be 0; with the terminal reward only, γ < 1 shrinks what reaches the first tokens;
    * ``n_steps`` (on-policy algorithms) not a multiple of T: every update cuts episodes.
    """
    found = []
    seq_len = int(model.observation_space.shape[0])  # type: ignore[index]
    if policy_generator(model) is None:
        found.append(
            f"policy: {type(model.policy).__name__} is not the generator G_θ (no LSTM over the prefix): it reads "
            "token ids as numbers and cannot start from MLE pretraining; use policy='GeneratorPolicy' "
            "(REINFORCE: 'LSTMGeneratorPolicy')"
        )
    try:
        monte_carlo = env.get_attr("n_rollouts")[0] is not None
    except AttributeError:  # no Monte Carlo wrapper: D's score at t = T is the only reward
        monte_carlo = False
    gamma = getattr(model, "gamma", None)
    if gamma is not None and monte_carlo and gamma != 0:
        found.append(
            f"gamma={gamma:g}: with Monte Carlo rewards each action's reward is already its return Q_t, and "
            "gamma > 0 adds the later tokens' Q_t to it; use gamma=0.0 (the paper's policy gradient)"
        )
    elif gamma is not None and not monte_carlo and gamma != 1:
        found.append(
            f"gamma={gamma:g}: without Monte Carlo rewards only the last token is rewarded, and the first token "
            f"gets gamma**{seq_len - 1} = {gamma ** (seq_len - 1):.3g} of it; use gamma=1.0, or the Monte Carlo "
            "wrapper with gamma=0.0"
        )
    n_steps = getattr(model, "n_steps", None)
    if isinstance(n_steps, int) and n_steps % seq_len:
        found.append(
            f"n_steps={n_steps} is not a multiple of the episode length T={seq_len}: every update cuts episodes "
            f"(and bootstraps their rest from the critic); use n_steps={seq_len}, one episode per sub-env per update"
        )
    return found


def warn_unfit_settings(model: BaseAlgorithm, env: Any, stacklevel: int = 1) -> None:
    """A ``UserWarning`` for each of :func:`unfit_settings`, once per model (its setup and callbacks may ask)."""
    if getattr(model, "_unfit_settings_warned", False):
        return
    model._unfit_settings_warned = True  # type: ignore[attr-defined]
    for message in unfit_settings(model, env):
        warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)


class _AfterEachUpdate(BaseCallback):
    """Calls :meth:`after_update` once after every generator update (see the module docstring)."""

    def __init__(self, verbose: int = 0) -> None:
        super().__init__(verbose)
        self.n_updates_seen = 0
        self._collections = 0

    def _init_callback(self) -> None:
        warn_unfit_settings(self.model, self.training_env)

    def _on_training_start(self) -> None:
        self._collections = 0

    def _on_rollout_start(self) -> None:
        self._collections += 1
        if self._collections > 1:
            self._after_update()

    def _on_training_end(self) -> None:
        if self._collections > 0:
            self._after_update()

    def _after_update(self) -> None:
        self.n_updates_seen += 1
        self.after_update()

    def after_update(self) -> None:
        raise NotImplementedError

    def _on_step(self) -> bool:
        return True

    def _env_attr(self, name: str) -> Any:
        try:
            return self.training_env.get_attr(name)[0]
        except AttributeError as err:
            raise AttributeError(f"{type(self).__name__} needs a seqgan-gym env with {name!r}: {err}") from err

    def _other_copies(self, name: str, own: Any) -> list[int]:
        """The sub-envs that hold a copy of ``name`` other than ``own``: they are sent its weights.

        A batched seqgan-gym env (``make_sb3_vec_env``) holds one D and one G_β for all its sub-envs:
        none. SB3's ``make_vec_env`` (and RL Zoo, which uses it) builds one env, so one D and one G_β,
        per sub-env; a ``SubprocVecEnv`` hands back pickled copies, so every worker holds another.
        Asking twice tells the two apart: a sub-env in this process answers with the same object.
        """
        first, again = self.training_env.get_attr(name), self.training_env.get_attr(name)
        return [i for i, (a, b) in enumerate(zip(first, again, strict=True)) if not (a is b and a is own)]

    def _send_weights(self, method: str, module: torch.nn.Module, indices: list[int]) -> None:
        """``module``'s weights to the sub-envs ``indices`` through their ``method`` (``VecEnv.env_method``)."""
        if indices:
            self.training_env.env_method(method, module.state_dict(), indices=indices)


class PretrainingCallback(_AfterEachUpdate):
    """The paper's pretraining (Algorithm 1, lines 1-3) when training starts: MLE for G_θ, then D.

    For tools that build only an algorithm and its callbacks (RL Zoo's yaml). On the first
    ``learn``: ``mle_epochs`` epochs of MLE on the env's real data, then ``d_rounds`` rounds of
    ``d_epochs`` epochs of D on fresh negatives; D's weights then reach every sub-env. List it
    before ``RolloutPolicySync`` (which then starts G_β as the pretrained G_θ).

    :param mle_epochs: paper: 120. :param d_rounds: paper: 50. :param d_epochs: paper: 3.
    :param n_negatives: negatives per D round (``None``: as many as real sequences, the paper's).
    :param pretrained_file: a weights-only file of G_θ and D: loaded when it exists, else written
        after pretraining, so that many runs (an Optuna study's trials) start from the same pair.
    :param seed: seed of the negatives and of dropout.
    """

    def __init__(
        self,
        mle_epochs: int = 120,
        d_rounds: int = 50,
        d_epochs: int = 3,
        n_negatives: int | None = None,
        pretrained_file: str | None = None,
        seed: int = 0,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.mle_epochs = check_int("mle_epochs", mle_epochs, minimum=0)
        self.d_rounds = check_int("d_rounds", d_rounds, minimum=0)
        self.d_epochs = check_int("d_epochs", d_epochs, minimum=1)
        if n_negatives is not None:
            n_negatives = check_int("n_negatives", n_negatives, minimum=1, maximum=MAX_N_SEQUENCES)
        self.n_negatives, self.pretrained_file = n_negatives, pretrained_file
        self.seed = check_int("seed", seed, minimum=0)
        self.done = False

    def _on_training_start(self) -> None:
        super()._on_training_start()
        if self.done:
            return
        generator, discriminator = policy_generator(self.model), self._env_attr("discriminator")
        if generator is None:
            raise TypeError(
                f"PretrainingCallback trains G_θ by MLE: policy must hold it (policy='GeneratorPolicy', or "
                f"'LSTMGeneratorPolicy' for REINFORCE), got {type(self.model.policy).__name__}"
            )
        if not isinstance(discriminator, Discriminator):
            raise TypeError(f"PretrainingCallback needs an env with the paper's Discriminator, got {discriminator!r}")
        path = None if self.pretrained_file is None else Path(self.pretrained_file)
        if path is not None and path.exists():
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
                generator.load_state_dict(state["generator"])
                discriminator.load_state_dict(state["discriminator"])
            except Exception as err:
                raise ValueError(f"pretrained_file {str(path)!r} holds no G and D of these sizes: {err}") from err
        else:
            real = self._env_attr("real_data")
            torch.manual_seed(self.seed)  # dropout
            mle_pretrain(generator, real, epochs=self.mle_epochs)
            stream = torch.Generator().manual_seed(self.seed)
            pretrain_discriminator(
                discriminator,
                generator,
                real,
                self.d_rounds,
                self.d_epochs,
                sample_generator=stream,
                n_negatives=self.n_negatives,
            )
            if path is not None:
                with atomic_write(path, "wb") as f:
                    torch.save({"generator": generator.state_dict(), "discriminator": discriminator.state_dict()}, f)
        self._send_weights(
            "load_discriminator_state", discriminator, self._other_copies("discriminator", discriminator)
        )
        self.done = True

    def after_update(self) -> None:
        pass


class DiscriminatorTrainingCallback(_AfterEachUpdate):
    """Train the env's discriminator after every generator update (paper: d_steps=5, k_epochs=3).

    Each of ``d_steps`` times: draw fresh negatives from the current generator, as many as the
    real set (or ``n_negatives``), and train D ``k_epochs`` epochs on real + generated with the
    paper's loss (Adam 1e-4, output-layer L2, dropout on). D is the very module the env scores with.

    :param d_steps: rounds of fresh negatives per update (paper: 5). :param k_epochs: paper: 3.
    :param batch_size: paper: 64. :param lr: Adam's learning rate (paper: 1e-4).
    :param n_negatives: negatives per round (``<= MAX_N_SEQUENCES``, 10,000,000, and they must fit in
        memory with as many real sequences); ``None``: the size of the real set. A smaller number
        pairs them with as many real sequences drawn at random, so every round stays balanced.
    :param optimizer: D's optimiser to continue (e.g. the one of D pretraining); ``None``: a new Adam.
    :param seed: seed of the negatives and the shuffling (``None``: torch's global stream).
    """

    def __init__(
        self,
        d_steps: int = 5,
        k_epochs: int = 3,
        batch_size: int = 64,
        lr: float = 1e-4,
        n_negatives: int | None = None,
        optimizer: torch.optim.Optimizer | None = None,
        seed: int | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.d_steps = check_int("d_steps", d_steps, minimum=1)
        self.k_epochs = check_int("k_epochs", k_epochs, minimum=1)
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.lr = check_float("lr", lr, 0, low_open=True)
        if n_negatives is not None:
            n_negatives = check_int("n_negatives", n_negatives, minimum=1, maximum=MAX_N_SEQUENCES)
        self.n_negatives = n_negatives
        self.optimizer = optimizer
        self._random = None if seed is None else torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
        self.last_loss = math.nan
        self._discriminator: TrainableScorer | None = None
        self._real: torch.Tensor | None = None
        self._other_discriminators: list[int] = []
        self._env_of_discriminator: Any = None

    def _on_training_start(self) -> None:
        super()._on_training_start()
        if self._env_of_discriminator is not self.training_env:  # keep a worker's copy (and its optimiser)
            discriminator = self._env_attr("discriminator")
            if not isinstance(discriminator, TrainableScorer):  # e.g. PG-BLEU's fixed BLEUReward
                raise TypeError(
                    "DiscriminatorTrainingCallback trains the env's scorer (a TrainableScorer such as the paper's "
                    "Discriminator); this env scores with a "
                    f"{type(discriminator).__name__}, which has nothing to train"
                )
            self._discriminator, self._real = discriminator, self._env_attr("real_data")
            self._other_discriminators = self._other_copies("discriminator", discriminator)
            self._env_of_discriminator = self.training_env
        discriminator = self._discriminator
        assert discriminator is not None
        self._send_weights("load_discriminator_state", discriminator, self._other_discriminators)
        if self.n_negatives is not None:  # checked now, not after the first generator update
            n, t = self.n_negatives, discriminator.seq_len
            # The negatives and as many positives, int64 token ids each.
            check_memory(f"n_negatives={n} (with as many real sequences, of seq_len={t})", 2 * 8 * n * t)

    def after_update(self) -> None:
        discriminator, real = self._discriminator, self._real
        assert discriminator is not None and real is not None
        if self.optimizer is None:
            self.optimizer = discriminator_optimizer(discriminator, self.lr)
        n_fake = len(real) if self.n_negatives is None else self.n_negatives
        for step in range(self.d_steps):
            fake = sample_sequences(self.model, n_fake, self._random)
            positives = real_subset(real, n_fake, self._random)
            with fault_context(
                f"d-step {step + 1} of {self.d_steps} after the generator update at timestep {self.model.num_timesteps}"
            ):
                self.last_loss = train_discriminator(
                    discriminator, positives, fake, self.optimizer, self.k_epochs, self.batch_size, self._random
                )
        self._send_weights("load_discriminator_state", discriminator, self._other_discriminators)
        self.logger.record("discriminator/loss", self.last_loss)


class RolloutPolicySync(_AfterEachUpdate):
    """β ← θ after every generator update, as in the paper's Algorithm 1 (the default), and when training starts.

    The reference code (LantaoYu/SeqGAN) computes a blend β ← 0.8·β + 0.2·θ in
    ``Rollout.update_params()``, but its rollout sampling graph is built once from ``tf.identity``
    of the generator's live variables, so the blend never reaches it: it rolls out the current θ.
    ``update_rate > 0`` keeps the blend as a variant, a delayed copy of G_θ:
    β ← update_rate·β + (1 - update_rate)·θ, with the embedding copied outright as that blend does.

    :param update_rate: the weight of the old β (``0 <= update_rate < 1``; 0, the default, copies θ).
    :param rollout_policy: G_β; ``None``: the env's Monte Carlo wrapper's ``rollout_policy``.
    :param generator: G_θ; ``None``: the policy's ``generator``.
    """

    def __init__(
        self,
        update_rate: float = 0.0,
        rollout_policy: TokenLSTM | None = None,
        generator: TokenLSTM | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        self.update_rate = check_float("update_rate", update_rate, 0, 1, high_open=True)
        for name, value in (("rollout_policy", rollout_policy), ("generator", generator)):
            if value is not None and not isinstance(value, TokenLSTM):
                raise TypeError(f"{name} must be a TokenLSTM (e.g. LSTMGenerator) or None, got {type(value).__name__}")
        self.rollout_policy, self.generator = rollout_policy, generator
        self._other_rollout_policies: list[int] = []
        self._env_of_rollout_policy: Any = None

    def _on_training_start(self) -> None:
        super()._on_training_start()
        if self.rollout_policy is None:
            self.rollout_policy = self._env_attr("rollout_policy")
        if self._env_of_rollout_policy is not self.training_env:
            self._other_rollout_policies = self._other_copies("rollout_policy", self.rollout_policy)
            self._env_of_rollout_policy = self.training_env
        if self.generator is None:
            self.generator = policy_generator(self.model)
        if self.generator is None:
            raise TypeError(
                f"RolloutPolicySync needs G_θ: the policy {type(self.model.policy).__name__} has no LSTM "
                "`generator`; pass generator=..."
            )
        if self.generator.state_dict().keys() != self.rollout_policy.state_dict().keys() or any(
            a.shape != b.shape
            for a, b in zip(
                self.generator.state_dict().values(), self.rollout_policy.state_dict().values(), strict=True
            )
        ):
            raise ValueError("rollout_policy and generator must have the same architecture")
        if self.update_rate == 0.0:  # G_β starts as G_θ (a no-op when they agree; an env's fresh G_β does not)
            self._copy_theta(blend=False)
        self._send_weights("load_rollout_policy_state", self.rollout_policy, self._other_rollout_policies)

    @torch.no_grad()
    def _copy_theta(self, blend: bool) -> None:
        beta, theta = self.rollout_policy, self.generator
        assert beta is not None and theta is not None
        for (name, b), t in zip(beta.named_parameters(), theta.parameters(), strict=True):
            if name == "embedding" or not blend:
                b.copy_(t)
            else:
                b.mul_(self.update_rate).add_(t, alpha=1.0 - self.update_rate)

    def after_update(self) -> None:
        assert self.rollout_policy is not None
        self._copy_theta(blend=self.update_rate > 0.0)
        self._send_weights("load_rollout_policy_state", self.rollout_policy, self._other_rollout_policies)


class OracleNLLCallback(_AfterEachUpdate):
    """Log the paper's NLL-oracle (and NLL-test) every ``eval_every`` generator updates.

    Records ``eval/nll_oracle`` (the oracle's NLL of ``n_samples`` generated sequences) and, when
    the policy has an LSTM generator, ``eval/nll_test`` (its NLL of ``n_held_out`` fresh oracle
    samples, drawn once with ``seed + 1``). ``history`` keeps ``(num_timesteps, nll_oracle,
    nll_test)`` rows. Evaluated before the first update too (``on_training_start``).

    :param eval_every: updates between evaluations (``>= 1``). :param n_samples: paper: 10,000.
    :param n_held_out: held-out oracle sequences for NLL-test. :param seed: seed of the samples.
    """

    def __init__(
        self, eval_every: int = 1, n_samples: int = 10_000, n_held_out: int = 10_000, seed: int = 0, verbose: int = 0
    ) -> None:
        super().__init__(verbose)
        self.eval_every = check_int("eval_every", eval_every, minimum=1)
        self.n_samples = check_int("n_samples", n_samples, minimum=1)
        self.n_held_out = check_int("n_held_out", n_held_out, minimum=1)
        self.seed = check_int("seed", seed, minimum=0)
        self.history: list[tuple[int, float, float]] = []
        self._held_out: torch.Tensor | None = None

    def _on_training_start(self) -> None:
        super()._on_training_start()
        if not self.history:
            self.evaluate()

    def after_update(self) -> None:
        if self.n_updates_seen % self.eval_every == 0:
            self.evaluate()

    def evaluate(self) -> tuple[float, float]:
        oracle = self._env_attr("oracle")
        samples = sample_sequences(self.model, self.n_samples, torch.Generator().manual_seed(self.seed))
        score = nll_oracle(oracle, samples)
        gen = policy_generator(self.model)
        test = math.nan
        if gen is not None:
            if self._held_out is None:
                self._held_out = oracle.sample(self.n_held_out, generator=torch.Generator().manual_seed(self.seed + 1))
            test = nll_test(gen, self._held_out)
        self.history.append((self.model.num_timesteps, score, test))
        self.logger.record("eval/nll_oracle", score)
        if not math.isnan(test):
            self.logger.record("eval/nll_test", test)
        if self.verbose:
            print(f"step {self.model.num_timesteps}: nll_oracle {score:.4f}, nll_test {test:.4f}")
        return score, test
