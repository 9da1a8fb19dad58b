"""Text generation as a Gymnasium environment: SeqGAN's generator MDP on a real corpus (one sequence at a time)."""

from __future__ import annotations

import os

import torch

from seqgan_gym.envs.text_benchmark import TextBenchmark, TextBenchmarkEnv
from seqgan_gym.envs.token_generation import TokenGenerationEnv
from seqgan_gym.models import SequenceScorer
from seqgan_gym.text import TextCorpus


class TextGenerationEnv(TextBenchmarkEnv, TokenGenerationEnv):
    """SeqGAN's sequence generation MDP (Yu et al., 2017) on real text: COCO captions, Chinese poems or a file.

    ## Description

    The agent writes a sentence as ``seq_len`` (T) tokens, one per step; the discriminator D then
    scores it against the corpus' training sentences. Sentences shorter than T end with the
    end-of-sequence token ``<eos>`` (id 0), repeated to length T, as in the paper's text
    experiments: the text of a sequence is everything before its first ``<eos>``. The MDP is that of
    ``TokenGenerationEnv`` (``SeqGAN-Oracle-v0``), so the Monte Carlo reward wrapper, the agents and
    the callbacks work unchanged. ``env.unwrapped`` exposes ``corpus`` (vocabulary, training and
    test sentences), ``discriminator`` and ``real_data``; it has no ``oracle``.

    ## Action Space

    ``Discrete(V)``: the id of the next token; V is the vocabulary size including ``<eos>``.

    ## Observation Space

    ``Box(0, V, (seq_len,), int64)``: the tokens written so far, left-aligned; positions not yet
    written hold the pad value V (never a token).

    ## Rewards

    0 for steps 1..T-1; at step T, D(Y) in [0, 1], D's probability that the sentence is real.

    ## Starting State

    The empty prefix. The env itself has no randomness; ``reset(seed=...)`` seeds ``np_random``.

    ## Episode End

    Terminated after exactly ``seq_len`` actions (never truncated, also after an ``<eos>``); the
    finished sequence is in ``info["sequence"]`` of the last step.

    ## Arguments

    ```python
    gymnasium.make("SeqGAN-Text-v0", corpus="coco", seq_len=None, test_corpus=None, level=None,
                   discriminator=None, discriminator_seed=0, device="cpu", render_mode=None)
    ```

    * ``corpus``: ``"coco"`` (image captions, words), ``"poems"`` (Chinese quatrains, characters),
      the path of a UTF-8 text file with one sentence a line, or a ``TextCorpus``.
    * ``seq_len``: T; ``None``: the longest training sentence (COCO 35, poems 24). Longer lines
      of a corpus are dropped (``corpus.n_dropped``).
    * ``test_corpus``: the path of a test file for a file ``corpus`` (BLEU's references).
    * ``level``: ``"word"`` (split at whitespace) or ``"char"``; ``None``: ``"char"`` for the poems.
    * ``discriminator``: a ``Discriminator`` of the corpus' V and T, or ``None`` for a fresh paper
      CNN initialised from ``discriminator_seed``; or another ``SequenceScorer`` (``BLEUReward``).
    * ``device``: where D runs. ``render_mode``: ``None`` or ``"ansi"`` (the prefix as text).
    """

    def __init__(
        self,
        corpus: str | os.PathLike[str] | TextCorpus = "coco",
        seq_len: int | None = None,
        test_corpus: str | os.PathLike[str] | None = None,
        level: str | None = None,
        discriminator: SequenceScorer | None = None,
        discriminator_seed: int = 0,
        device: torch.device | str = "cpu",
        render_mode: str | None = None,
    ) -> None:
        self._check_render_mode(render_mode)
        self.benchmark = TextBenchmark.build(
            corpus, seq_len, test_corpus, level, discriminator, discriminator_seed, device
        )
        self._init_mdp(render_mode)
