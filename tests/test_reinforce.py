"""REINFORCE and LSTMGeneratorPolicy: the paper's policy gradient in the SB3 family."""

from __future__ import annotations

import io
import json
import pickle
import zipfile

import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback

from agents import REINFORCE, LSTMGeneratorPolicy
from seqgan_gym.oracle import OracleLSTM
from seqgan_gym.sb3 import make_sb3_vec_env

V, T, B = 12, 6, 8  # V, T: the tiny fixtures of conftest.py
POLICY_KWARGS = {"emb_dim": 8, "hidden_dim": 8}


@pytest.fixture
def env(tiny_oracle: OracleLSTM):
    return make_sb3_vec_env(n_envs=B, n_rollouts=3, oracle=tiny_oracle, n_real=64)


@pytest.fixture
def bare_env(tiny_oracle: OracleLSTM):
    return make_sb3_vec_env(n_envs=B, n_rollouts=None, oracle=tiny_oracle, n_real=64)


def _model(env, **kwargs) -> REINFORCE:
    kwargs = {"seed": 0, "device": "cpu", "policy_kwargs": POLICY_KWARGS, **kwargs}
    return REINFORCE("LSTMGeneratorPolicy", env, **kwargs)


def _params(model: REINFORCE) -> torch.Tensor:
    return torch.cat([p.detach().flatten().clone() for p in model.policy.parameters()])


class Counter(BaseCallback):
    def __init__(self, stop_after_steps: int | None = None) -> None:
        super().__init__()
        self.steps = self.starts = self.ends = 0
        self.stop_after_steps = stop_after_steps

    def _on_step(self) -> bool:
        self.steps += 1
        return self.stop_after_steps is None or self.steps < self.stop_after_steps

    def _on_rollout_start(self) -> None:
        self.starts += 1

    def _on_rollout_end(self) -> None:
        self.ends += 1


# ---- the policy ----


def test_policy_decodes_incrementally_and_matches_teacher_forcing(env) -> None:
    model = _model(env)
    policy, gen = model.policy, model.policy.generator
    sequences = torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(0))
    expected = gen.log_prob(sequences).detach()  # log G(y_t | y_<t) by teacher forcing
    calls = []
    original_step = gen.step
    gen.step = lambda *a, **k: calls.append(1) or original_step(*a, **k)  # type: ignore[method-assign]
    obs = torch.full((B, T), V)
    for t in range(T):
        calls.clear()
        log_probs = torch.log_softmax(policy.next_token_logits(obs), dim=1)
        assert len(calls) == 1  # one LSTM step per env step: the prefix is not re-encoded
        torch.testing.assert_close(log_probs.gather(1, sequences[:, t : t + 1]).squeeze(1), expected[:, t])
        obs[:, t] = sequences[:, t]


def test_policy_handles_prefixes_of_different_lengths(env) -> None:
    policy = _model(env).policy
    gen = policy.generator
    sequences = torch.randint(0, V, (4, T), generator=torch.Generator().manual_seed(1))
    lengths = [0, 2, 5, 3]
    obs = torch.full((4, T), V)
    for row, length in enumerate(lengths):
        obs[row, :length] = sequences[row, :length]
    logits = policy.next_token_logits(obs)
    for row, length in enumerate(lengths):  # each row re-encoded on its own
        state, token = gen.initial_state(1), gen.start_tokens(1)
        for k in range(length + 1):
            step_logits, state = gen.step(token, state)
            token = sequences[row : row + 1, k] if k < T else token
        torch.testing.assert_close(logits[row], step_logits[0])


def test_predict_deterministic_is_the_most_likely_token(env) -> None:
    model = _model(env)
    obs = env.reset()
    action, _ = model.predict(obs, deterministic=True)
    expected = model.policy.next_token_logits(torch.as_tensor(obs)).argmax(dim=1).numpy()
    np.testing.assert_array_equal(action, expected)


# ---- the algorithm ----


def test_returns_follow_gamma_and_the_baseline(env) -> None:
    rewards = torch.tensor([[0.1, 0.2, 0.3], [0.5, 0.0, 1.0]])
    torch.testing.assert_close(_model(env).returns(rewards), rewards)  # γ = 0: G_t = Q_t
    torch.testing.assert_close(
        _model(env, gamma=1.0).returns(rewards), torch.tensor([[0.6, 0.5, 0.3], [1.5, 1.0, 1.0]])
    )
    centered = _model(env, baseline="batch_mean").returns(rewards)
    torch.testing.assert_close(centered, rewards - rewards.mean(dim=0, keepdim=True))


def test_train_uses_the_reference_loss(env) -> None:
    model = _model(env)
    model._setup_learn(B * T, None)
    assert model.collect_episodes(model._init_callback(None))
    actions, rewards = (torch.as_tensor(x) for x in model._episodes)
    assert actions.shape == (B, T) and rewards.shape == (B, T)
    expected = float(-(model.policy.generator.log_prob(actions).detach() * rewards).sum())  # summed, not averaged
    before = _params(model)
    model.train()
    assert model.logger.name_to_value["train/loss"] == pytest.approx(expected, rel=1e-5)
    assert not torch.equal(before, _params(model))


@pytest.mark.parametrize("wrapped", [True, False])
def test_learn_runs_with_and_without_the_wrapper(env, bare_env, wrapped: bool) -> None:
    model = _model(env) if wrapped else _model(bare_env, gamma=1.0)
    before = _params(model)
    counter = Counter()
    model.learn(3 * B * T, callback=counter)
    assert model.num_timesteps == 3 * B * T and model._n_updates == 3
    assert counter.steps == 3 * T and counter.starts == 3 and counter.ends == 3
    assert not torch.equal(before, _params(model))
    assert torch.isfinite(_params(model)).all()


def test_a_callback_can_stop_training(env) -> None:
    model = _model(env)
    model.learn(10 * B * T, callback=Counter(stop_after_steps=T + 2))
    assert model._n_updates == 1 and model.num_timesteps == (T + 2) * B


def test_same_seed_same_training(env, tiny_oracle) -> None:
    runs = []
    for _ in range(2):
        fresh = make_sb3_vec_env(n_envs=B, n_rollouts=3, oracle=tiny_oracle, n_real=64)
        runs.append(_params(_model(fresh).learn(2 * B * T)))
    assert torch.equal(runs[0], runs[1])


# ---- save / load ----


def test_save_load_round_trips_predictions_exactly(env, tmp_path) -> None:
    model = _model(env).learn(2 * B * T)
    path = tmp_path / "reinforce.zip"
    model.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["reinforce.zip"]  # no temporary file left behind
    loaded = REINFORCE.load(path)
    obs = env.reset()
    for a, b in zip(model.policy.state_dict().values(), loaded.policy.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    for _ in range(T):
        action, _ = model.predict(obs, deterministic=True)
        np.testing.assert_array_equal(action, loaded.predict(obs, deterministic=True)[0])
        obs, *_ = env.step(action)
    resumed = REINFORCE.load(path, env=env)
    assert resumed.num_timesteps == 2 * B * T and resumed.gamma == model.gamma
    resumed.learn(B * T, reset_num_timesteps=False)
    assert resumed.num_timesteps == 3 * B * T


def test_bad_checkpoints_give_clear_errors(env, tmp_path, tiny_oracle) -> None:
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match=r"garbage\.zip"):
        REINFORCE.load(garbage)
    good = tmp_path / "good.zip"
    _model(env).save(good)
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"truncated\.zip"):
        REINFORCE.load(truncated)

    class Exploit:
        def __reduce__(self):
            return (open, (str(tmp_path / "pwned"), "w"))

    malicious = tmp_path / "malicious.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(malicious, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, pickle.dumps({"policy": Exploit()}) if name == "policy.pth" else src.read(name))
    with pytest.raises(ValueError, match=r"malicious\.zip"):
        REINFORCE.load(malicious)
    assert not (tmp_path / "pwned").exists()

    future = tmp_path / "future.zip"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(future, "w") as dst:
        for name in src.namelist():
            entry = src.read(name)
            dst.writestr(
                name, entry.replace(b'"format_version": 2', b'"format_version": 99') if name == "data" else entry
            )
    with pytest.raises(ValueError, match="format version"):
        REINFORCE.load(future)
    other = make_sb3_vec_env(
        n_envs=B, n_rollouts=None, oracle=OracleLSTM.seeded(1, vocab_size=V + 1, seq_len=T), n_real=8
    )
    with pytest.raises(ValueError, match="vocab_size"):
        REINFORCE.load(good, env=other)


def test_reads_the_earlier_layout(env, tmp_path) -> None:
    # Format 1: config.json and one policy.pt holding the policy's and the optimiser's state.
    model = _model(env).learn(B * T)
    model.save(tmp_path / "new.zip")
    with zipfile.ZipFile(tmp_path / "new.zip") as src, zipfile.ZipFile(tmp_path / "old.zip", "w") as dst:
        config = json.loads(src.read("data"))
        dst.writestr("config.json", json.dumps({**config, "format_version": 1}))
        buffer = io.BytesIO()
        torch.save({"policy": model.policy.state_dict(), "optimizer": model.policy.optimizer.state_dict()}, buffer)
        dst.writestr("policy.pt", buffer.getvalue())
    loaded = REINFORCE.load(tmp_path / "old.zip")
    for a, b in zip(model.policy.state_dict().values(), loaded.policy.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert loaded.num_timesteps == B * T


def test_bad_arguments(env) -> None:
    for kwargs, name in [
        ({"learning_rate": 0}, "learning_rate"),
        ({"learning_rate": float("nan")}, "learning_rate"),
        ({"gamma": 1.5}, "gamma"),
        ({"gamma": "0"}, "gamma"),
        ({"max_grad_norm": -1.0}, "max_grad_norm"),
        ({"baseline": "critic"}, "baseline"),
    ]:
        with pytest.raises(ValueError, match=name):
            _model(env, **kwargs)
    with pytest.raises(ValueError, match="policy"):
        REINFORCE("MlpPolicy", env)
    model = _model(env)
    for total in (0, -5, 2.5, True):
        with pytest.raises(ValueError, match="total_timesteps"):
            model.learn(total)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="log_interval"):
        model.learn(B * T, log_interval=0)
    with pytest.raises(TypeError, match="action_space"):
        LSTMGeneratorPolicy(env.observation_space, env.observation_space, lambda _: 0.01)
