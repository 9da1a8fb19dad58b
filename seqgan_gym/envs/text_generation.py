"""``SeqGAN-Text-v0``: the generation MDP on real text (COCO captions, Chinese poems or a file), single and batched."""

from __future__ import annotations

from seqgan_gym.envs.sequence_generation import SequenceGenerationEnv
from seqgan_gym.envs.sequence_generation_vector import SequenceGenerationVectorEnv
from seqgan_gym.envs.text_benchmark import TextBenchmark
from seqgan_gym.text import TextCorpus


class TextGenerationEnv(SequenceGenerationEnv):
    """SeqGAN's sequence generation MDP (Yu et al., 2017) on real text: COCO captions, Chinese poems or a file.

    ## Description

    :class:`~seqgan_gym.envs.SequenceGenerationEnv` over a :class:`~seqgan_gym.envs.TextBenchmark`:
    the agent writes a sentence as ``seq_len`` (T) tokens and D scores it against the corpus'
    training sentences. Sentences shorter than T end with the end-of-sequence token ``<eos>``
    (id 0), repeated to length T, as in the paper's text experiments: the text of a sequence is
    everything before its first ``<eos>``. The MDP is that of the oracle env, so the Monte Carlo
    reward wrapper, the agents and the callbacks work unchanged. ``env.unwrapped`` exposes
    ``corpus`` (vocabulary, training and test sentences), ``discriminator`` and ``real_data``; it
    has no ``oracle``.

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
    gymnasium.make("SeqGAN-Text-v0", corpus="coco", seq_len=None, test_corpus=None, tokenizer=None,
                   discriminator=None, discriminator_seed=0, device="cpu", render_mode=None)
    ```

    * ``corpus``: ``"coco"`` (image captions, words), ``"poems"`` (Chinese quatrains, characters),
      the path of a UTF-8 text file with one sentence a line, or a ``TextCorpus``.
    * ``seq_len``: T (``<= 10,000``); ``None``: COCO 35, poems 24 (their longest sentences, in words),
      else the longest line within the 99th percentile of the line lengths and 100 tokens
      (``seqgan_gym.text.default_seq_len``).
      Longer lines of a corpus are dropped whole (``corpus.n_dropped``).
    * ``test_corpus``: the path of a test file for a file ``corpus`` (BLEU's references).
    * ``tokenizer``: ``"word"`` (split at whitespace), ``"char"`` (every character, a run of
      whitespace one ``" "`` token), the path of a HuggingFace ``tokenizer.json``, a
      ``tokenizers.Tokenizer`` (subwords; ``pip install "seqgan-gym[text]"``) or a
      ``seqgan_gym.tokenizers.Tokenizer``; ``None``: ``"word"`` (the poems' file separates its
      characters with spaces, so their words are characters). The vocabulary decodes with it.
    * ``discriminator``: a ``Discriminator`` of the corpus' V and T, or ``None`` for a fresh paper
      CNN initialised from ``discriminator_seed``; or another ``SequenceScorer`` (``BLEUReward``).
    * ``device``: where D runs. ``render_mode``: ``None`` or ``"ansi"`` (the prefix as text).

    All but ``render_mode`` go to :meth:`~seqgan_gym.envs.TextBenchmark.build`; or pass
    ``benchmark=``, a ``TextBenchmark`` already built (one benchmark can serve several envs).
    """

    benchmark: TextBenchmark
    build_benchmark = TextBenchmark.build

    @property
    def corpus(self) -> TextCorpus:
        """The corpus: ``vocabulary`` (decode samples with it), ``train`` and ``test`` sentences."""
        return self.benchmark.corpus


class TextGenerationVectorEnv(SequenceGenerationVectorEnv):
    """``num_envs`` copies of :class:`~seqgan_gym.envs.TextGenerationEnv` stepped as one batch.

    ``gymnasium.make_vec("SeqGAN-Text-v0", num_envs=64, vectorization_mode="vector_entry_point")``:
    :class:`~seqgan_gym.envs.SequenceGenerationVectorEnv` over a ``TextBenchmark``.

    ## Action Space

    ``MultiDiscrete([V] * num_envs)``, V the vocabulary size including ``<eos>``.

    ## Observation Space

    ``Box(0, V, (num_envs, seq_len), int64)``, pad value V.

    ## Rewards

    ``float64[num_envs]``: 0 before the last step, then D(Y) of each sentence (one batch of D).

    ## Episode End

    All sub-envs terminate together after ``seq_len`` steps (also after an ``<eos>``), then reset
    by ``autoreset_mode`` (see ``SequenceGenerationVectorEnv``).

    ## Arguments

    ``num_envs`` (``>= 1``, default 64), ``autoreset_mode`` (``"NextStep"``, the default, or
    ``"SameStep"``), and the arguments of ``TextGenerationEnv``.
    """

    benchmark: TextBenchmark
    build_benchmark = TextBenchmark.build
    corpus = TextGenerationEnv.corpus
