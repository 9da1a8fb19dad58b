"""``SeqGAN-Oracle-v0``: the generation MDP on the paper's synthetic oracle benchmark, single and batched."""

from __future__ import annotations

from seqgan_gym.envs.oracle_benchmark import OracleBenchmark
from seqgan_gym.envs.sequence_generation import SequenceGenerationEnv
from seqgan_gym.envs.sequence_generation_vector import SequenceGenerationVectorEnv
from seqgan_gym.oracle import OracleLSTM


class TokenGenerationEnv(SequenceGenerationEnv):
    """SeqGAN's sequence generation MDP (Yu et al., 2017), on the paper's synthetic oracle benchmark.

    ## Description

    :class:`~seqgan_gym.envs.SequenceGenerationEnv` over an :class:`~seqgan_gym.envs.OracleBenchmark`:
    the real data are samples of an oracle LSTM that plays the real distribution, so the quality
    of the generator G_θ (the agent's policy) is measured as NLL-oracle. ``env.unwrapped``
    exposes ``oracle``, ``discriminator`` and ``real_data``.

    ## Action Space

    ``Discrete(vocab_size)``: the id of the next token, ``0 .. vocab_size - 1``.

    ## Observation Space

    ``Box(0, vocab_size, (seq_len,), int64)``: the tokens written so far, left-aligned; positions
    not yet written hold the pad value ``vocab_size``.

    ## Rewards

    0 for steps 1..T-1; at step T, D(Y) in [0, 1], D's probability that the sequence came from the oracle
    (with ``terminal_reward="oracle_log_likelihood"``: (1/T) log G_oracle(Y) instead).

    ## Starting State

    The empty prefix. The oracle, its real data and a default D come from fixed seeds;
    ``reset(seed=...)`` seeds ``np_random``, which wrappers use.

    ## Episode End

    Terminated after exactly ``seq_len`` actions (never truncated); the finished sequence is in
    ``info["sequence"]`` of the last step.

    ## Arguments

    ```python
    gymnasium.make("SeqGAN-Oracle-v0", vocab_size=5000, seq_len=20, oracle=None, discriminator=None,
                   n_real=10_000, real_data_seed=0, discriminator_seed=0, device="cpu",
                   terminal_reward="discriminator", render_mode=None)
    ```

    * ``vocab_size``, ``seq_len``: V (``2 <= V <= 10,000,000``) and T (``1 <= T <= 10,000``); default
      5000 and 20, or the oracle's.
    * ``oracle``: an ``OracleLSTM``, the path of the paper's oracle pickle, or ``None`` for
      ``OracleLSTM.seeded()`` (the default benchmark oracle).
    * ``discriminator``: a ``Discriminator`` (same V and T) or ``None`` for a fresh paper CNN
      initialised from ``discriminator_seed``; any ``SequenceScorer`` may stand in for D (PG-BLEU
      passes a ``BLEUReward``).
    * ``n_real``: size of the real data set sampled from the oracle with ``real_data_seed``
      (``<= 10,000,000``, and ``n_real x seq_len`` token ids must fit in memory).
    * ``device``: where the oracle and D run (``"cuda"`` only where torch sees a GPU).
    * ``terminal_reward``: ``"discriminator"`` (D(Y), the paper's) or ``"oracle_log_likelihood"``:
      the oracle's mean log-probability per token of the sequence, -NLL-oracle of that one sequence
      (≤ 0), for an evaluation env whose mean return should be the paper's metric (RL Zoo's
      ``--eval-env-kwargs``); it replaces D, so nothing can train it.
    * ``render_mode``: ``None`` or ``"ansi"`` (the prefix as token ids).

    All but ``render_mode`` go to :meth:`~seqgan_gym.envs.OracleBenchmark.build`; or pass
    ``benchmark=``, an ``OracleBenchmark`` already built (one benchmark can serve several envs).
    """

    benchmark: OracleBenchmark
    build_benchmark = OracleBenchmark.build

    @property
    def oracle(self) -> OracleLSTM:
        """The oracle LSTM: the real distribution, and the scorer of NLL-oracle."""
        return self.benchmark.oracle


class TokenGenerationVectorEnv(SequenceGenerationVectorEnv):
    """``num_envs`` copies of :class:`~seqgan_gym.envs.TokenGenerationEnv` stepped as one batch.

    ``gymnasium.make_vec("SeqGAN-Oracle-v0", num_envs=64, vectorization_mode="vector_entry_point")``:
    :class:`~seqgan_gym.envs.SequenceGenerationVectorEnv` over an ``OracleBenchmark``.

    ## Action Space

    ``MultiDiscrete([vocab_size] * num_envs)``.

    ## Observation Space

    ``Box(0, vocab_size, (num_envs, seq_len), int64)``, pad value ``vocab_size``.

    ## Rewards

    ``float64[num_envs]``: 0 before the last step, then D(Y) of each sequence (one batch of D).

    ## Episode End

    All sub-envs terminate together after ``seq_len`` steps, then reset by ``autoreset_mode``
    (see ``SequenceGenerationVectorEnv``).

    ## Arguments

    ``num_envs`` (``>= 1``, default 64), ``autoreset_mode`` (``"NextStep"``, the default, or
    ``"SameStep"``), and the arguments of ``TokenGenerationEnv``.
    """

    benchmark: OracleBenchmark
    build_benchmark = OracleBenchmark.build
    oracle = TokenGenerationEnv.oracle
