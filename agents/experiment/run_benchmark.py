"""The benchmark a run trains on, the oracle or a text corpus, and the env the trainer builds on it.

:class:`~agents.experiment.seqgan.SeqGANTrainer` builds the same models for both; what differs is here: where the
real set S comes from (oracle samples, or the corpus' training sentences), which env serves it
(``SeqGAN-Oracle-v0`` or ``SeqGAN-Text-v0``), and NLL-test's held-out real sequences (fresh oracle
samples, or the corpus' test sentences).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from agents.experiment.config import SeqGANConfig
from agents.experiment.streams import BLEU_REFERENCE_STREAM, HELD_OUT_SEED, stream_seed
from agents.experiment.text_runs import held_out_sentences, load_corpus
from seqgan_gym.bleu_reward import BLEUReward
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.envs.oracle_benchmark import sample_real_data
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.oracle import OracleLSTM
from seqgan_gym.rewards import SequenceScorer, get_reward, mean_reward
from seqgan_gym.sb3 import SB3VecEnv, make_sb3_vec_env
from seqgan_gym.text import TextCorpus


@dataclass
class RunBenchmark:
    """The oracle or the corpus of a run (exactly one of them is set).

    :ivar oracle: the oracle G_oracle (an oracle run), else ``None``.
    :ivar corpus: the text corpus (a text run), else ``None``.
    """

    oracle: OracleLSTM | None
    corpus: TextCorpus | None

    @classmethod
    def load(cls, config: SeqGANConfig) -> RunBenchmark:
        """The run's corpus (checked against the config), or its oracle: the paper's file or a seeded one."""
        if config.is_text:
            return cls(None, load_corpus(config))
        if config.oracle_file is not None:
            return cls(OracleLSTM.from_paper_file(config.oracle_file, seq_len=config.seq_len), None)
        shape = (config.vocab_size, config.seq_len, config.emb_dim, config.hidden_dim)
        return cls(OracleLSTM.seeded(config.oracle_seed, *shape), None)

    def real_data(self, config: SeqGANConfig) -> torch.Tensor:
        """The real set S, ``LongTensor[n_real, T]`` on the CPU (the env holds the same one)."""
        if self.corpus is not None:
            return self.corpus.real_data()
        assert self.oracle is not None
        return sample_real_data(self.oracle, config.n_real)

    def scorer(self, config: SeqGANConfig, discriminator: Discriminator) -> SequenceScorer:
        """What scores a finished sequence: the method's scorer (D for SeqGAN), or for PG-BLEU BLEU."""
        if config.method == "pg_bleu":
            references = bleu_references(self.real_data(config), config.bleu_reference_fraction, config.seed)
            return BLEUReward(references, config.vocab_size, config.bleu_max_n, smoothing=config.bleu_smoothing)
        if config.is_adversarial:
            return get_reward(config.method).make_scorer(discriminator, self.real_data(config))
        return discriminator

    def make_env(
        self,
        config: SeqGANConfig,
        scorer: SequenceScorer,
        rollout_policy: LSTMGenerator,
        device: torch.device,
    ) -> SB3VecEnv:
        """The batched env with the Monte Carlo reward wrapper, for SB3: ``batch_size`` sequences a step."""
        reward = get_reward(config.method).reward if config.is_adversarial else mean_reward
        common = {
            "n_envs": config.batch_size,
            "n_rollouts": config.n_rollouts,
            "rollout_policy": rollout_policy,
            "reward": reward,
        }
        if self.corpus is not None:
            return make_sb3_vec_env("SeqGAN-Text-v0", corpus=self.corpus, discriminator=scorer, device=device, **common)
        return make_sb3_vec_env(
            "SeqGAN-Oracle-v0",
            vocab_size=config.vocab_size,
            seq_len=config.seq_len,
            oracle=self.oracle,
            discriminator=scorer,
            n_real=config.n_real,
            device=device,
            **common,
        )

    def held_out(self, config: SeqGANConfig, device: torch.device) -> torch.Tensor:
        """NLL-test's real sequences, never trained on: ``n_eval`` fresh oracle samples, or test sentences."""
        if self.corpus is not None:
            return held_out_sentences(self.corpus, config.n_eval).to(device)
        assert self.oracle is not None
        generator = torch.Generator(device=self.oracle.device).manual_seed(HELD_OUT_SEED)
        return self.oracle.sample(config.n_eval, generator=generator)


def bleu_references(real_data: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """PG-BLEU's references: ``round(fraction * n)`` rows of ``real_data`` (at least one), drawn by ``seed``.

    The authors' ``pg_bleu`` code keeps each real sequence with probability 0.4; this keeps an exact
    count, drawn without replacement from the run's own stream, in the real set's order.
    """
    n = real_data.shape[0]
    count = max(1, round(fraction * n))
    if count >= n:
        return real_data
    stream = torch.Generator().manual_seed(stream_seed(seed, BLEU_REFERENCE_STREAM))
    keep = torch.randperm(n, generator=stream)[:count].sort().values
    return real_data[keep]
