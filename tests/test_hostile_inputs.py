"""Hostile or careless inputs from the reliability issue: each fails fast with an error that says what was wrong.

One section per issue item: a corpus's default length (3), line splitting (5), metrics of the wrong
length (6), unsigned token arrays (9), unchecked observations (12), other libraries' errors (13),
sizes without an upper bound (15), and an empty set of samples (17).
"""

from __future__ import annotations

import json
import pickle
import time
import zipfile
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import seqgan_gym  # noqa: F401  (registers the envs)
from agents import REINFORCE, GeneratorPolicy
from agents.callbacks import DiscriminatorTrainingCallback
from seqgan_gym._checks import MAX_N_SEQUENCES, MAX_SEQ_LEN, MAX_VOCAB_SIZE, check_tokens
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.metrics import nll_oracle, nll_test
from seqgan_gym.oracle import OracleLoadError, OracleLSTM
from seqgan_gym.sb3 import make_sb3_vec_env
from seqgan_gym.text import DEFAULT_SEQ_LEN_CAP, TextCorpus, default_seq_len, read_lines

V, T = 12, 6


@pytest.fixture(scope="module")
def oracle() -> OracleLSTM:
    return OracleLSTM.seeded(seed=3, vocab_size=V, seq_len=T, emb_dim=8, hidden_dim=8)


@pytest.fixture(scope="module")
def generator() -> LSTMGenerator:
    return LSTMGenerator(V, T, emb_dim=8, hidden_dim=8, generator=torch.Generator().manual_seed(5))


@pytest.fixture(scope="module")
def model(oracle: OracleLSTM) -> REINFORCE:
    env = make_sb3_vec_env(n_envs=2, n_rollouts=None, oracle=oracle, n_real=16)
    return REINFORCE("LSTMGeneratorPolicy", env, policy_kwargs={"emb_dim": 8, "hidden_dim": 8}, seed=0)


@pytest.fixture(scope="module")
def reinforce_zip(model: REINFORCE, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("zips") / "generator.zip"
    model.save(path)
    return path


def _tokens(n: int, seed: int, length: int = T) -> torch.Tensor:
    return torch.randint(0, V, (n, length), generator=torch.Generator().manual_seed(seed))


# ---- 3. one long line does not set a text corpus's sequence length ----


def test_one_long_line_does_not_set_the_default_seq_len(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    short = [f"a short line number {i}" for i in range(100)]  # 5 tokens each
    path.write_text("\n".join([*short[:50], " ".join(["word"] * 20_000), *short[50:]]) + "\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"T=5 .*drops 1 of 101 lines \(the longest has 20000 tokens\)"):
        corpus = TextCorpus.load(path)
    assert (corpus.seq_len, corpus.n_dropped, len(corpus.train)) == (5, 1, 100)
    assert corpus.real_data().shape == (100, 5)
    explicit = TextCorpus.load(path, seq_len=7)  # the user's T: no warning, the same count of dropped lines
    assert (explicit.seq_len, explicit.n_dropped) == (7, 1)
    with pytest.raises(ValueError, match=rf"seq_len must be in \[1, {MAX_SEQ_LEN}\], got 20000"):
        TextCorpus.load(path, seq_len=20_000)


def test_default_seq_len_rule() -> None:
    assert default_seq_len([3, 1, 2]) == 3  # under 100 lines: the longest
    assert default_seq_len([5] * 98 + [50]) == 50  # 99 lines: the longest (rank ceil(98.01) = 99)
    assert default_seq_len([5] * 99 + [50]) == 5  # 100 lines: the 99th shortest
    assert default_seq_len([5] * 100 + [20_000]) == 5  # 101 lines: the 100th shortest
    assert default_seq_len([7] * 98 + [8, 9, 10]) == 9  # the nearest rank, a length that occurs
    assert default_seq_len([300] * 10) == DEFAULT_SEQ_LEN_CAP == 100  # none fits: the cap (loading refuses it)
    assert default_seq_len([3] * 10 + [200_000]) == 3  # one stray line over the cap: the longest that fits
    assert default_seq_len([3] * 10 + [60, 200_000]) == 60
    with pytest.raises(ValueError, match="at least one line"):
        default_seq_len([])


def test_builtin_corpora_keep_their_seq_len() -> None:
    coco = TextCorpus.load("coco")
    assert (coco.seq_len, coco.n_dropped) == (35, 0)  # not the percentile rule (it would give 19)


# ---- 5. lines end at "\n" only ----


def test_lines_split_at_newlines_only(tmp_path: Path) -> None:
    path = tmp_path / "two_lines.txt"
    # U+2028, U+0085, form feed and \x1c-\x1e are line breaks to str.splitlines, not to a text file.
    path.write_bytes("a b\u2028c\x0cd\n\ne\x1cf\x1dg\x1eh\x85i\r\n".encode())
    assert read_lines(path, "corpus") == ["a b\u2028c\x0cd", "e\x1cf\x1dg\x1eh\x85i"]
    corpus = TextCorpus.load(path)
    assert len(corpus.train) == 2 and corpus.train[0] == ("a", "b", "c", "d")  # still whitespace between words
    crlf = tmp_path / "crlf.txt"
    crlf.write_bytes(b"one two\r\nthree\r\n")
    assert TextCorpus.load(crlf).train == (("one", "two"), ("three",))
    old_mac = tmp_path / "cr.txt"  # CR alone ends a line too (an old Mac editor's files), not one long sentence
    old_mac.write_bytes(b"one two\rthree\r\rfour five\r")
    assert read_lines(old_mac, "corpus") == ["one two", "three", "four five"]


# ---- 6. metrics refuse sequences of another length unless prefixes are asked for ----


@pytest.mark.parametrize("metric", ["nll_oracle", "nll_test"])
def test_metrics_refuse_prefixes_unless_asked(oracle: OracleLSTM, generator: LSTMGenerator, metric: str) -> None:
    fn, model, arg = (nll_oracle, oracle, "samples") if metric == "nll_oracle" else (nll_test, generator, "held_out")
    tokens = _tokens(8, 1)
    with pytest.raises(ValueError, match=rf"{arg} must have length {T} .*got shape \(8, 3\); pass prefix=True"):
        fn(model, tokens[:, :3])
    assert fn(model, tokens[:, :3], prefix=True) == pytest.approx(float(model.nll(tokens[:, :3]).mean()))
    assert fn(model, tokens, prefix=True) == fn(model, tokens)  # full length: the same either way
    with pytest.raises(ValueError, match=rf"length in \[1, {T}\]"):
        fn(model, _tokens(2, 1, T + 1), prefix=True)
    with pytest.raises(TypeError, match="prefix must be True or False"):
        fn(model, tokens, prefix="yes")


# ---- 9. unsigned token arrays ----


@pytest.mark.parametrize("dtype", [np.uint16, np.uint32, np.uint64])
def test_unsigned_token_arrays_are_accepted(
    oracle: OracleLSTM, generator: LSTMGenerator, dtype: type, tiny_discriminator: Discriminator
) -> None:
    tokens = _tokens(5, 2)
    array = tokens.numpy().astype(dtype)
    assert nll_oracle(oracle, array) == nll_oracle(oracle, tokens)
    assert nll_test(generator, array) == nll_test(generator, tokens)
    torch.testing.assert_close(tiny_discriminator.prob_real(array), tiny_discriminator.prob_real(tokens))
    torch.testing.assert_close(generator.log_prob(array), generator.log_prob(tokens))
    # torch's own unsigned tensors too (no min/max in torch for these).
    tensor = torch.from_numpy(array)
    assert nll_oracle(oracle, tensor) == nll_oracle(oracle, tokens)
    torch.testing.assert_close(generator.log_prob(tensor), generator.log_prob(tokens))


@pytest.mark.parametrize("as_tensor", [False, True])
def test_unsigned_ids_out_of_range_are_refused_not_wrapped(oracle: OracleLSTM, as_tensor: bool) -> None:
    array = np.zeros((2, T), dtype=np.uint64)
    array[1, 3] = 2**64 - 1  # -1 if it wrapped to int64
    tokens = torch.from_numpy(array) if as_tensor else array
    with pytest.raises(
        ValueError, match=rf"samples must hold token ids in \[0, {V - 1}\], got values in \[0, {2**64 - 1}\]"
    ):
        nll_oracle(oracle, tokens)
    array[1, 3] = V
    with pytest.raises(ValueError, match=rf"tokens must hold token ids in \[0, {V - 1}\], got values in \[0, {V}\]"):
        check_tokens("tokens", np.asarray(array, np.uint16), V)


# ---- 12. predict checks the observation ----


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (V + 1, rf"got values in \[{V}, {V + 1}\]"),
        (-1, rf"got values in \[-1, {V}\]"),
        (2**40, "got values in"),
        (np.nan, "NaN or infinite"),
        (np.inf, "NaN or infinite"),
        (3.5, "non-integer values such as 3.5"),
    ],
)
def test_predict_refuses_observations_outside_the_space(model: REINFORCE, value: float, fragment: str) -> None:
    obs = np.full((2, T), V)
    obs = obs.astype(np.float64) if isinstance(value, float) else obs
    obs[1, 0] = value
    with pytest.raises(ValueError, match=rf"observation must hold integers in \[0, {V}\] .*{fragment}"):
        model.predict(obs)


def test_predict_accepts_the_pad_and_token_ids(model: REINFORCE) -> None:
    obs = np.full((2, T), V)  # the pad V: the empty prefix
    obs[0, :2] = [0, V - 1]
    actions, _ = model.predict(obs, deterministic=True)
    assert actions.shape == (2,) and ((0 <= actions) & (actions < V)).all()
    model.predict(obs.astype(np.float32))  # integral floats, as SB3 may hand them
    with pytest.raises(TypeError, match="observation must hold integers"):
        model.predict(np.full((2, T), "a"))


def test_generator_policy_predict_checks_the_observation(oracle: OracleLSTM) -> None:
    from stable_baselines3 import A2C

    env = make_sb3_vec_env(n_envs=2, n_rollouts=None, oracle=oracle, n_real=16)
    agent = A2C(GeneratorPolicy, env, n_steps=T, policy_kwargs={"features_extractor_kwargs": {"hidden_dim": 8}})
    with pytest.raises(ValueError, match=rf"observation must hold integers in \[0, {V}\]"):
        agent.predict(np.full((2, T), V + 5))


# ---- 13. other libraries' errors become ours ----


def test_cuda_without_cuda_is_refused_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device='cuda', but CUDA is not available"):
        gym.make("SeqGAN-Oracle-v0", device="cuda", vocab_size=V, seq_len=T, n_real=4)
    with pytest.raises(ValueError, match="device='cuda:0', but CUDA is not available"):
        REINFORCE("LSTMGeneratorPolicy", None, device="cuda:0")


def test_make_sb3_vec_env_builds_seqgan_envs_only() -> None:
    for env_id in ("CartPole-v1", "No-Such-Env-v0", 3):
        with pytest.raises(
            ValueError, match=r"one of \['SeqGAN-Oracle-v0', 'SeqGAN-Text-v0'\].*builds the SeqGAN envs only"
        ):
            make_sb3_vec_env(env_id)  # type: ignore[arg-type]


@pytest.mark.parametrize(("env_id", "error"), [("CartPole-v1", ValueError), ("Pendulum-v1", TypeError)])
def test_reinforce_on_another_env_says_it_needs_seqgan_spaces(env_id: str, error: type[Exception]) -> None:
    # CartPole: float bounds of ±inf (OverflowError before); Pendulum: a Box action space (SB3's bare assert).
    with pytest.raises(error, match=r"env must be a SeqGAN env for REINFORCE: .*SeqGAN-Oracle-v0"):
        REINFORCE("LSTMGeneratorPolicy", env_id)


def test_oracle_file_with_a_nan_names_the_file_and_the_array(oracle: OracleLSTM, tmp_path: Path) -> None:
    arrays = oracle.paper_arrays()
    arrays[4][0, 1] = np.nan  # "Wf"
    path = tmp_path / "target_params.pkl"
    path.write_bytes(pickle.dumps(arrays))
    with pytest.raises(OracleLoadError, match=r"'Wf' holds non-finite values: 1 NaN") as info:
        OracleLSTM.from_paper_file(path, seq_len=T)
    assert str(path) in str(info.value)


# ---- 15. sizes have an upper bound, and files cannot ask for more ----


def test_seq_len_and_vocab_size_are_capped() -> None:
    start = time.perf_counter()
    with pytest.raises(ValueError, match=rf"seq_len must be in \[1, {MAX_SEQ_LEN}\], got 10000000"):
        gym.make("SeqGAN-Oracle-v0", seq_len=10**7)
    for cls in (LSTMGenerator, OracleLSTM, Discriminator):
        with pytest.raises(ValueError, match=rf"seq_len must be in \[1, {MAX_SEQ_LEN}\]"):
            cls(vocab_size=V, seq_len=10**7)
        with pytest.raises(ValueError, match=rf"vocab_size must be in \[2, {MAX_VOCAB_SIZE}\]"):
            cls(vocab_size=10**9, seq_len=T)
    with pytest.raises(ValueError, match=r"n_real must be in \[1, 10000000\]"):
        gym.make("SeqGAN-Oracle-v0", vocab_size=V, seq_len=T, n_real=10**9)
    assert time.perf_counter() - start < 30  # refused at once, not after a loop over 10**7 steps


def test_models_too_big_for_memory_fail_fast_with_the_numbers() -> None:
    with pytest.raises(ValueError, match=r"LSTMGenerator\(vocab_size=5000, emb_dim=32, hidden_dim=1000000\) .*GiB"):
        LSTMGenerator(5000, 20, hidden_dim=10**6)
    with pytest.raises(ValueError, match=r"Discriminator\(vocab_size=10000000, .*GiB, more than the .* available"):
        Discriminator(MAX_VOCAB_SIZE, 20, emb_dim=100_000)


def test_discriminator_callback_caps_n_negatives() -> None:
    with pytest.raises(ValueError, match=rf"n_negatives must be in \[1, {MAX_N_SEQUENCES}\], got 1000000000"):
        DiscriminatorTrainingCallback(n_negatives=10**9)


def _rezip(src: Path, dst: Path, config: bytes | None = None, weights: bytes | None = None) -> Path:
    """``src`` with its ``data`` or ``policy.pth`` replaced."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as b:
        for name in a.namelist():
            new = {"data": config, "policy.pth": weights}.get(name)
            b.writestr(name, a.read(name) if new is None else new)
    return dst


def test_reinforce_zip_entries_are_bounded_before_they_are_read(
    reinforce_zip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = json.loads(zipfile.ZipFile(reinforce_zip).read("data"))
    # A data entry that unpacks to 8 MiB (a zip bomb in small): refused from its header, never inflated.
    bomb = _rezip(reinforce_zip, tmp_path / "bomb.zip", config=json.dumps(config).encode() + b" " * 2**23)
    assert bomb.stat().st_size < 20_000
    opened: list[object] = []
    real_open = zipfile.ZipFile.open

    def spy_open(self: zipfile.ZipFile, name: object, *args: object, **kwargs: object) -> object:
        opened.append(name)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy_open)
    with pytest.raises(ValueError, match=r"data unpacks to 8,388,[0-9]+ bytes, more than the 4,194,304") as info:
        REINFORCE.load(bomb)
    assert str(bomb) in str(info.value) and opened == []
    monkeypatch.undo()
    # policy.pth bigger than the policy its config describes (12 x 8 x 8 here).
    padded = _rezip(reinforce_zip, tmp_path / "padded.zip", weights=b"\0" * 3 * 2**20)
    with pytest.raises(ValueError, match=r"policy.pth unpacks to 3,145,728 bytes, more than the"):
        REINFORCE.load(padded)


def test_reinforce_config_cannot_ask_for_more_than_memory(reinforce_zip: Path, tmp_path: Path) -> None:
    config = json.loads(zipfile.ZipFile(reinforce_zip).read("data"))
    # A few hundred bytes asking for a 640 GB policy: refused from the numbers, nothing allocated.
    huge = {**config, "vocab_size": 5000, "policy_kwargs": {**config["policy_kwargs"], "hidden_dim": 200_000}}
    path = _rezip(reinforce_zip, tmp_path / "huge.zip", config=json.dumps(huge).encode())
    with pytest.raises(ValueError, match=r"invalid REINFORCE configuration.*hidden_dim=200000.*GiB, more than the"):
        REINFORCE.load(path)
    for change, match in (
        ({"vocab_size": 10**9}, rf"vocab_size must be in \[2, {MAX_VOCAB_SIZE}\]"),
        ({"seq_len": 10**7}, rf"seq_len must be in \[1, {MAX_SEQ_LEN}\]"),
        ({"policy_kwargs": [8, 8]}, "policy_kwargs must be a dict"),
        ({"policy_kwargs": {"emb_dim": -1}}, r"emb_dim'\] must be in \[1, inf\]"),
    ):
        path = _rezip(reinforce_zip, tmp_path / "bad.zip", config=json.dumps({**config, **change}).encode())
        with pytest.raises(ValueError, match=match):
            REINFORCE.load(path)


def test_text_corpus_seq_len_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_text("a b\n", encoding="utf-8")
    with pytest.raises(ValueError, match=rf"seq_len must be in \[1, {MAX_SEQ_LEN}\]"):
        TextCorpus.load(path, seq_len=10**7)


# ---- 17. no samples at all ----


@pytest.mark.parametrize("empty", [[], np.zeros((0, T), np.int64), torch.zeros(0, T, dtype=torch.long), np.array([])])
def test_empty_samples_say_at_least_one_sequence(oracle: OracleLSTM, generator: LSTMGenerator, empty: object) -> None:
    with pytest.raises(ValueError, match="samples must hold at least one sequence"):
        nll_oracle(oracle, empty)
    with pytest.raises(ValueError, match="held_out must hold at least one sequence"):
        nll_test(generator, empty)
