"""Real text: the vocabulary and tokenizer, corpus loading and its errors, SeqGAN-Text-v0 with the wrapper and agent."""

from __future__ import annotations

import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env as gym_check_env
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from agents import REINFORCE
from agents.callbacks import DiscriminatorTrainingCallback, RolloutPolicySync
from agents.pretraining import mle_optimizer
from agents.sampling_schedule import SamplingSchedule
from agents.scheduled_sampling import scheduled_sampling_epoch
from seqgan_gym import TextCorpus, TextGenerationEnv, TextGenerationVectorEnv, Vocabulary
from seqgan_gym.bleu_reward import BLEUReward
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.envs import SequenceGenerationEnv, TokenGenerationEnv
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.sb3 import make_sb3_vec_env
from seqgan_gym.text import EOS, EOS_ID, data_file, read_lines
from seqgan_gym.tokenizers import CharTokenizer, WhitespaceTokenizer

LINES = [
    "a man rides a horse .",
    "a dog on a beach",
    "two cats sleep",
    "",  # blank lines are skipped
    "a horse on a beach near two dogs and a man",  # 11 tokens: dropped at seq_len=8
    "the man and the dog",
]


@pytest.fixture
def corpus_file(tmp_path: Path) -> Path:
    path = tmp_path / "train.txt"
    path.write_text("\n".join(LINES) + "\n", encoding="utf-8")
    return path


def _tiny_discriminator(corpus: TextCorpus) -> Discriminator:
    torch.manual_seed(7)
    return Discriminator(corpus.vocab_size, corpus.seq_len, emb_dim=8, filter_sizes=(1, 2, 3), num_filters=(4, 4, 4))


@pytest.fixture
def corpus(corpus_file: Path) -> TextCorpus:
    return TextCorpus.load(corpus_file, seq_len=8)


@pytest.fixture
def env_kwargs(corpus: TextCorpus) -> dict:
    return {"corpus": corpus, "discriminator": _tiny_discriminator(corpus)}


# ---- vocabulary and tokenizer ----


def test_tokenizer_round_trips_words_and_characters() -> None:
    lines = ["a  man rides\ta horse .", "秦 川 雄 帝 宅 ，", "秦川雄帝宅，"]
    words = [WhitespaceTokenizer().split(line) for line in lines]
    vocab = Vocabulary.build(words[:1], "word")
    assert vocab.tokenizer == WhitespaceTokenizer()
    ids = vocab.encode(words[0], seq_len=9)
    assert ids[-3:] == [EOS_ID] * 3 and EOS_ID not in ids[:6]
    assert vocab.decode(ids) == "a man rides a horse ."  # whitespace normalised, nothing else changed
    assert words[1] == list("秦川雄帝宅，")  # characters separated by spaces, as in poems.txt: words are characters
    chars = CharTokenizer().split(lines[2])
    assert chars == list("秦川雄帝宅，")
    cvocab = Vocabulary.build([chars], "char")
    assert cvocab.decode(cvocab.encode(chars, seq_len=6)) == "秦川雄帝宅，"


def test_vocabulary_order_and_errors() -> None:
    vocab = Vocabulary.build([["b", "a", "b"], ["c", "a", "b"]])
    assert vocab.tokens == (EOS, "b", "a", "c")  # by count, ties by string
    assert vocab.to_tokens([1, 2, EOS_ID, 3]) == ["b", "a"]  # the text ends at the first <eos>
    with pytest.raises(ValueError, match="'z' is not in the vocabulary"):
        vocab.encode(["z"], seq_len=3)
    with pytest.raises(ValueError, match="more than seq_len=1"):
        vocab.encode(["a", "b"], seq_len=1)
    with pytest.raises(ValueError, match=r"ids must be token ids in \[0, 3\]"):
        vocab.to_tokens([1, 7])
    with pytest.raises(ValueError, match="reserved token"):
        Vocabulary.build([["a", EOS]])
    with pytest.raises(ValueError, match="tokenizer must be 'word', 'char'"):
        Vocabulary.build([["a"]], "sentence")


def test_corpus_real_data_pads_with_eos_and_drops_long_lines(corpus: TextCorpus) -> None:
    assert corpus.seq_len == 8 and corpus.n_dropped == 1 and len(corpus.train) == 4 and corpus.test is None
    real = corpus.real_data()
    assert real.shape == (4, 8) and real.dtype == torch.long
    assert corpus.decode(real) == ["a man rides a horse .", "a dog on a beach", "two cats sleep", "the man and the dog"]
    assert (real[2, 3:] == EOS_ID).all() and (real[2, :3] != EOS_ID).all()
    # Default T: the 99th percentile of the line lengths, for a file of at most 100 lines its longest: nothing dropped.
    assert TextCorpus.load(corpus.name).seq_len == 11


def test_builtin_corpora() -> None:
    coco = TextCorpus.load("coco")
    assert (coco.seq_len, len(coco.train), len(coco.test), coco.n_dropped) == (35, 10_000, 10_000, 0)
    assert coco.vocabulary.tokenizer.kind == "word" and coco.decode(coco.real_data()[:1]) == [" ".join(coco.train[0])]
    poems = TextCorpus.load("poems")
    assert (poems.seq_len, len(poems.train), len(poems.test), poems.n_dropped) == (24, 14_760, 1_634, 0)
    assert max(len(s) for s in poems.train) == 24  # T = 24 keeps every poem
    assert not set(poems.train) & set(poems.test)  # the held-out split is disjoint from the training set
    assert poems.vocabulary.tokenizer.kind == "word" and len(poems.train[0]) == 24
    # poems.txt separates its characters with spaces: its words are its characters.
    lines = read_lines(data_file("poems.txt"), "corpus")
    assert all(line.split() == [c for c in line if not c.isspace()] for line in lines)
    # BLEU is word-level whatever the tokenizer: for the built-in corpora its words are the tokens.
    for corpus in (coco, poems):
        assert corpus.bleu_references() == [list(s) for s in corpus.test]
        real = corpus.real_data()[:200]
        assert corpus.bleu_words(real) == corpus.to_tokens(real) == [list(s) for s in corpus.train[:200]]


def test_bad_corpora_give_clear_errors(tmp_path: Path, corpus_file: Path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(ValueError, match="is empty"):
        TextCorpus.load(empty)
    binary = tmp_path / "binary.bin"
    binary.write_bytes(b"ab\x00\x01cd\n")
    with pytest.raises(ValueError, match="binary file"):
        TextCorpus.load(binary)
    latin = tmp_path / "latin1.txt"
    latin.write_bytes("caf\xe9 au lait\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"not UTF-8 text \(invalid byte at offset 3\)"):
        TextCorpus.load(latin)
    with pytest.raises(ValueError, match="no line of at most seq_len=2 tokens"):
        TextCorpus.load(corpus_file, seq_len=2)
    with pytest.raises(ValueError, match=r"corpus must be one of \['coco', 'poems'\] or the path"):
        TextCorpus.load("shakespeare")
    with pytest.raises(TypeError, match="corpus must be one of"):
        TextCorpus.load(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="test_corpus applies to a corpus file"):
        TextCorpus.load("coco", test_corpus=corpus_file)
    with pytest.raises(ValueError, match="tokenizer must be 'word', 'char'"):
        TextCorpus.load(corpus_file, tokenizer="byte")
    with pytest.raises(ValueError, match=r"seq_len must be in \[1, 10000\]"):
        TextCorpus.load(corpus_file, seq_len=0)
    with pytest.raises(TypeError, match="test_corpus must be the path of a text file"):
        TextCorpus.load(corpus_file, test_corpus=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="test_corpus: cannot read"):
        TextCorpus.load(corpus_file, test_corpus=tmp_path / "missing.txt")
    bom = tmp_path / "bom.txt"
    bom.write_text("\ufeffa b\n", encoding="utf-8")
    assert TextCorpus.load(bom).train == (("a", "b"),)  # a byte-order mark is not a token


# ---- the env ----


def test_env_checkers_pass_on_text_env(env_kwargs: dict) -> None:
    gym_check_env(TextGenerationEnv(**env_kwargs), skip_render_check=True)
    made = gym.make("SeqGAN-Text-v0", **env_kwargs)
    assert isinstance(made.unwrapped, TextGenerationEnv)
    gym_check_env(made.unwrapped)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SB3 only warns (e.g. about a non-image integer Box)
        sb3_check_env(TextGenerationEnv(**env_kwargs))


def test_text_env_scores_with_its_discriminator_and_renders_text(env_kwargs: dict, corpus: TextCorpus) -> None:
    env = gym.make("SeqGAN-Text-v0", render_mode="ansi", **env_kwargs)
    base = env.unwrapped
    assert env.action_space.n == corpus.vocab_size and env.observation_space.shape == (8,)
    assert base.corpus is corpus and torch.equal(base.real_data, corpus.real_data())
    env.reset(seed=0)
    sentence = corpus.real_data()[0].tolist()
    for token in sentence[:3]:
        env.step(token)
    assert env.render() == "a man rides"
    for token in sentence[3:]:
        _, reward, terminated, truncated, info = env.step(token)
    assert terminated and not truncated
    assert reward == pytest.approx(float(base.discriminator.prob_real(torch.tensor([sentence]))[0]))
    assert corpus.decode(info["sequence"][None]) == ["a man rides a horse ."]
    with pytest.raises(AttributeError, match="has no oracle"):
        _ = base.oracle


def test_vector_env_matches_single_env(env_kwargs: dict) -> None:
    single = TextGenerationEnv(**env_kwargs)
    vector = gym.make_vec(
        "SeqGAN-Text-v0", num_envs=3, vectorization_mode="vector_entry_point", autoreset_mode="SameStep", **env_kwargs
    )
    assert isinstance(vector.unwrapped, TextGenerationVectorEnv)
    assert vector.unwrapped.autoreset_mode == AutoresetMode.SAME_STEP
    actions = np.random.default_rng(0).integers(0, single.vocab_size, size=(8, 3))
    vector.reset(seed=0)
    for a in actions:
        _, rewards, terminated, _, infos = vector.step(a)
    assert terminated.all()
    for i in range(3):
        single.reset()
        for a in actions[:, i]:
            _, reward, *_ = single.step(int(a))
        assert rewards[i] == pytest.approx(reward, abs=1e-6)
        np.testing.assert_array_equal(infos["final_obs"][i], actions[:, i])


def test_text_env_with_bad_arguments(corpus_file: Path, corpus: TextCorpus) -> None:
    with pytest.raises(ValueError, match="seq_len, test_corpus and tokenizer must be None"):
        TextGenerationEnv(corpus=corpus, seq_len=5)
    with pytest.raises(ValueError, match=r"discriminator has vocab_size=.*corpus"):
        TextGenerationEnv(corpus=corpus_file, seq_len=8, discriminator=Discriminator(5, 8, emb_dim=4))
    with pytest.raises(ValueError, match="render_mode must be None"):
        TextGenerationEnv(corpus=corpus, render_mode="human")
    with pytest.raises(ValueError, match="num_envs must be in"):
        TextGenerationVectorEnv(num_envs=0, corpus=corpus)


def test_reinforce_with_monte_carlo_rewards_and_discriminator_loop_on_text(env_kwargs: dict) -> None:
    """The oracle benchmark's agent, wrapper and callbacks run unchanged on a text corpus."""
    corpus = env_kwargs["corpus"]
    rollout_policy = LSTMGenerator(corpus.vocab_size, corpus.seq_len, emb_dim=8, hidden_dim=8)
    env = make_sb3_vec_env("SeqGAN-Text-v0", n_envs=4, n_rollouts=2, rollout_policy=rollout_policy, **env_kwargs)
    model = REINFORCE("LSTMGeneratorPolicy", env, seed=0, policy_kwargs={"emb_dim": 8, "hidden_dim": 8})
    discriminator = env.get_attr("discriminator")[0]
    before = [p.detach().clone() for p in discriminator.parameters()]
    d_callback = DiscriminatorTrainingCallback(d_steps=1, k_epochs=1, batch_size=4, seed=0)
    model.learn(2 * 4 * 8, callback=[RolloutPolicySync(), d_callback])
    assert model.num_timesteps == 64
    assert any(not torch.equal(a, b) for a, b in zip(before, discriminator.parameters(), strict=True))
    samples = model.policy.generator.sample(5)
    assert len(env.get_attr("corpus")[0].decode(samples)) == 5


def test_baselines_run_on_text(env_kwargs: dict) -> None:
    """PG-BLEU (BLEU of the text before <eos> against the training sentences) and Scheduled Sampling on a corpus."""
    corpus = env_kwargs["corpus"]
    real = corpus.real_data()
    reward = BLEUReward(real, corpus.vocab_size, max_n=2, eos_token=EOS_ID)
    assert torch.equal(reward.prob_real(real), torch.ones(len(real)))  # every sentence is among the references
    rollout_policy = LSTMGenerator(corpus.vocab_size, corpus.seq_len, emb_dim=8, hidden_dim=8)
    env = make_sb3_vec_env(
        "SeqGAN-Text-v0", n_envs=4, n_rollouts=2, rollout_policy=rollout_policy, corpus=corpus, discriminator=reward
    )
    model = REINFORCE("LSTMGeneratorPolicy", env, seed=0, policy_kwargs={"emb_dim": 8, "hidden_dim": 8})
    model.learn(2 * 4 * 8, callback=RolloutPolicySync())
    assert 0.0 <= model.last_stats["mean_reward"] <= 1.0
    generator = model.policy.generator
    before = float(generator.nll(real).mean())
    optimizer = mle_optimizer(generator)
    for epoch in range(10):
        scheduled_sampling_epoch(generator, real, optimizer, SamplingSchedule().truth_prob(epoch), batch_size=4)
    assert float(generator.nll(real).mean()) < before


def test_text_env_is_not_an_oracle_env_and_says_so(env_kwargs: dict) -> None:
    env = TextGenerationEnv(**env_kwargs)
    assert isinstance(env, SequenceGenerationEnv) and not isinstance(env, TokenGenerationEnv)
    assert not hasattr(env, "oracle") and env.corpus is env_kwargs["corpus"]
    vector = make_sb3_vec_env("SeqGAN-Text-v0", n_envs=2, n_rollouts=None, **env_kwargs)
    assert vector.get_attr("corpus")[0] is env_kwargs["corpus"]
    with pytest.raises(AttributeError, match="TextGenerationVectorEnv has no oracle"):
        vector.get_attr("oracle")  # what OracleNLLCallback asks for: an error that names the text benchmark
