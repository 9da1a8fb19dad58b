"""SeqGAN's text generation MDP as a natively batched Gymnasium ``VectorEnv``."""

from __future__ import annotations

import os

import torch
from gymnasium.vector import AutoresetMode

from seqgan_gym.envs.text_benchmark import TextBenchmark, TextBenchmarkEnv
from seqgan_gym.envs.token_generation_vector import TokenGenerationVectorEnv
from seqgan_gym.models import SequenceScorer
from seqgan_gym.text import TextCorpus


class TextGenerationVectorEnv(TextBenchmarkEnv, TokenGenerationVectorEnv):
    """``num_envs`` copies of :class:`~seqgan_gym.envs.TextGenerationEnv` stepped as one batch.

    Spaces, rewards and arguments are those of ``TextGenerationEnv``, batched as in
    ``TokenGenerationVectorEnv`` (its docstring: lockstep episodes, ``autoreset_mode``).
    ``gymnasium.make_vec("SeqGAN-Text-v0", num_envs=64, vectorization_mode="vector_entry_point")``.
    """

    def __init__(
        self,
        num_envs: int = 64,
        corpus: str | os.PathLike[str] | TextCorpus = "coco",
        seq_len: int | None = None,
        test_corpus: str | os.PathLike[str] | None = None,
        level: str | None = None,
        discriminator: SequenceScorer | None = None,
        discriminator_seed: int = 0,
        device: torch.device | str = "cpu",
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
        render_mode: str | None = None,
    ) -> None:
        self._check_vector_args(num_envs, autoreset_mode, render_mode)
        self.benchmark = TextBenchmark.build(
            corpus, seq_len, test_corpus, level, discriminator, discriminator_seed, device
        )
        self._init_mdp()
