"""Monte Carlo search: the per-step action values Q_t of the paper (Eq. 4), batched.

For a prefix Y_{1:t} of a sequence of length T the paper estimates

    Q(Y_{1:t-1}, y_t) = 1/N Σ_n D(Y^n_{1:T}),  Y^n ~ G_β completing Y_{1:t}    (t < T)
    Q(Y_{1:T-1}, y_T) = D(Y_{1:T})                                            (t = T)

(the mean is the default reward function; a method of :mod:`seqgan_gym.rewards` may give another).

:class:`MonteCarloQEstimator` follows B prefixes one token at a time. The rollout policy G_β
reads each new token once (its LSTM state is kept, never re-encoded), and the N completions of
all B prefixes are sampled and scored as one ``[B * N, T]`` batch.
"""

from __future__ import annotations

import torch

from seqgan_gym._checks import check_int
from seqgan_gym.generator import LSTMState, TokenLSTM
from seqgan_gym.rewards import RewardFunction, SequenceScorer, check_reward_function, mean_reward


class MonteCarloQEstimator:
    """Per-step Q_t for ``B`` sequences generated in lockstep.

    Call :meth:`reset` at the start of the episodes, then :meth:`advance` once per step with the
    token each sequence just took; :meth:`advance` returns Q_t for t < T. (At t = T, Q_T = D(Y)
    is the environment's own terminal reward.)

    :param rollout_policy: G_β, a :class:`~seqgan_gym.generator.TokenLSTM` (e.g. an ``LSTMGenerator``);
        read at every step, so updating its parameters in place takes effect at once.
    :param discriminator: D, scores complete sequences with ``prob_real`` (any ``SequenceScorer``:
        PG-BLEU passes a ``BLEUReward``).
    :param n_rollouts: N, completions per prefix (``>= 1``).
    :param reward: the completions' scores ``[B, N]`` to Q_t ``[B]`` (:mod:`seqgan_gym.rewards`; the
        paper's mean by default).
    """

    def __init__(
        self,
        rollout_policy: TokenLSTM,
        discriminator: SequenceScorer,
        n_rollouts: int = 16,
        reward: RewardFunction = mean_reward,
    ) -> None:
        if not isinstance(rollout_policy, TokenLSTM):
            raise TypeError(
                "rollout_policy must be a seqgan_gym.generator.TokenLSTM (e.g. LSTMGenerator), "
                f"got {type(rollout_policy).__name__}"
            )
        if not isinstance(discriminator, SequenceScorer):
            raise TypeError(
                "discriminator must be a seqgan_gym.discriminator.Discriminator (or another SequenceScorer such as "
                f"BLEUReward), got {type(discriminator).__name__}"
            )
        if rollout_policy.vocab_size != discriminator.vocab_size or rollout_policy.seq_len != discriminator.seq_len:
            raise ValueError(
                "rollout_policy and discriminator must share vocab_size and seq_len, got "
                f"({rollout_policy.vocab_size}, {rollout_policy.seq_len}) and "
                f"({discriminator.vocab_size}, {discriminator.seq_len})"
            )
        self.rollout_policy = rollout_policy
        self.discriminator = discriminator
        self.n_rollouts = check_int("n_rollouts", n_rollouts, minimum=1)
        self.reward = check_reward_function(reward)
        self.seq_len = rollout_policy.seq_len
        self.t = 0
        self._prefix = torch.zeros(0, self.seq_len, dtype=torch.long)
        self._state: LSTMState | None = None

    @torch.inference_mode()
    def reset(self, batch_size: int) -> None:
        """Start ``batch_size`` empty prefixes; G_β reads the start token now, once."""
        policy = self.rollout_policy
        self.t = 0
        self._prefix = torch.zeros(batch_size, self.seq_len, dtype=torch.long, device=policy.device)
        _, self._state = policy.step(policy.start_tokens(batch_size), policy.initial_state(batch_size))

    @property
    def ready(self) -> bool:
        """Whether :meth:`advance` may be called: after :meth:`reset`, before the T-th token."""
        return self._state is not None and self.t < self.seq_len

    @torch.inference_mode()
    def advance(self, tokens: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor | None:
        """Append ``tokens`` (``LongTensor[B]``, y_t) to the prefixes and estimate Q_t.

        :param generator: random stream of the rollouts (on G_β's device).
        :return: ``Tensor[B]`` of Q_t for t < T (``reward`` of the scores of ``n_rollouts`` completions
            of Y_{1:t}), ``None`` at t = T (Q_T is :meth:`terminal_q` of the env's terminal reward D(Y)).
        """
        if not self.ready:
            raise RuntimeError("MonteCarloQEstimator.advance called before reset or after seq_len tokens")
        policy = self.rollout_policy
        tokens = tokens.to(device=policy.device, dtype=torch.long)
        self._prefix[:, self.t] = tokens
        self.t += 1
        if self.t == self.seq_len:
            return None
        logits, self._state = policy.step(tokens, self._state)
        return self._q_values(logits, self._state, generator)

    def _q_values(self, logits: torch.Tensor, state: LSTMState, generator: torch.Generator | None) -> torch.Tensor:
        n, t = self.n_rollouts, self.t
        batch = logits.shape[0]
        # Row b * N + k is the k-th completion of prefix b. The step's logits are ours alone, so the
        # completion may overwrite them instead of copying them.
        suffix = self.rollout_policy.complete(logits, state, self.seq_len - t, generator, n, consume_logits=True)
        scores = self.discriminator.prob_real_completions(self._prefix[:, :t], suffix)
        return self.reward(scores.view(batch, n))

    def terminal_q(self, scores: torch.Tensor) -> torch.Tensor:
        """Q_T from the complete sequences' scores D(Y), ``Tensor[B]``: ``reward`` of them as ``[B, 1]``.

        For the paper's mean this is D(Y) itself; a reward that normalises over the batch (MaliGAN's)
        needs all B sequences of the step at once.
        """
        return self.reward(scores.reshape(-1, 1))
