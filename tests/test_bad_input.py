"""Bad input gives a clear error that names the argument, never a crash deep in torch."""

from __future__ import annotations

import itertools
import os
import pickle
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from seqgan_gym import (
    MonteCarloRewardVectorWrapper,
    MonteCarloRewardWrapper,
    TokenGenerationEnv,
    TokenGenerationVectorEnv,
)
from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.oracle import OracleLoadError, OracleLSTM

V, T, N_REAL, B = 12, 6, 16, 3
FAST = settings(max_examples=25, deadline=None)

# Anything that is not an integer (None excluded: it means "the default" for vocab_size/seq_len).
not_ints = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=5),
    st.booleans(),
    st.lists(st.integers(0, 3), max_size=2),
    st.just(b"7"),
    st.just(np.float32(3.0)),
    st.just(np.bool_(True)),
)


# --------------------------------------------------------------------------------------------
# Module fixtures: built once, hypothesis runs many examples against them
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oracle() -> OracleLSTM:
    return OracleLSTM.seeded(seed=3, vocab_size=V, seq_len=T, emb_dim=8, hidden_dim=8)


@pytest.fixture(scope="module")
def disc() -> Discriminator:
    torch.manual_seed(7)
    return Discriminator(V, T, emb_dim=8, filter_sizes=(1, 2, 3), num_filters=(4, 4, 4))


@pytest.fixture(scope="module")
def policy() -> LSTMGenerator:
    return LSTMGenerator(V, T, emb_dim=8, hidden_dim=8, generator=torch.Generator().manual_seed(5))


@pytest.fixture(scope="module")
def kwargs(oracle: OracleLSTM, disc: Discriminator) -> dict:
    return {"oracle": oracle, "discriminator": disc, "n_real": N_REAL}


@pytest.fixture(scope="module")
def env(kwargs: dict) -> TokenGenerationEnv:
    return TokenGenerationEnv(**kwargs)


@pytest.fixture(scope="module")
def venv(kwargs: dict) -> TokenGenerationVectorEnv:
    return TokenGenerationVectorEnv(num_envs=B, **kwargs)


@pytest.fixture(scope="module")
def wrapped_env(kwargs: dict, policy: LSTMGenerator) -> MonteCarloRewardWrapper:
    return MonteCarloRewardWrapper(TokenGenerationEnv(**kwargs), policy, n_rollouts=2)


@pytest.fixture(scope="module")
def oracle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("oracles")


_file_ids = itertools.count()


def _raises(exc: type[Exception] | tuple, name: str, fn, *args, **kw) -> Exception:
    with pytest.raises(exc) as info:
        fn(*args, **kw)
    assert name in str(info.value), f"{name!r} not in {info.value!r}"
    return info.value


# --------------------------------------------------------------------------------------------
# Integer arguments of the env constructors
# --------------------------------------------------------------------------------------------


@FAST
@given(value=st.integers(max_value=1), vector=st.booleans())
def test_vocab_size_below_two(value: int, vector: bool) -> None:
    cls = TokenGenerationVectorEnv if vector else TokenGenerationEnv
    _raises(ValueError, "vocab_size", cls, vocab_size=value, seq_len=T, n_real=N_REAL)


@FAST
@given(value=not_ints, vector=st.booleans())
def test_vocab_size_not_an_int(value: object, vector: bool) -> None:
    cls = TokenGenerationVectorEnv if vector else TokenGenerationEnv
    _raises(TypeError, "vocab_size", cls, vocab_size=value, seq_len=T, n_real=N_REAL)


@FAST
@given(value=st.integers(max_value=0), vector=st.booleans())
def test_seq_len_below_one(value: int, vector: bool) -> None:
    cls = TokenGenerationVectorEnv if vector else TokenGenerationEnv
    _raises(ValueError, "seq_len", cls, vocab_size=V, seq_len=value, n_real=N_REAL)


@FAST
@given(value=not_ints)
def test_seq_len_not_an_int(value: object) -> None:
    _raises(TypeError, "seq_len", TokenGenerationEnv, vocab_size=V, seq_len=value, n_real=N_REAL)


@FAST
@given(value=st.integers(max_value=0))
def test_num_envs_below_one(kwargs: dict, value: int) -> None:
    _raises(ValueError, "num_envs", TokenGenerationVectorEnv, num_envs=value, **kwargs)


@FAST
@given(value=not_ints)
def test_num_envs_not_an_int(kwargs: dict, value: object) -> None:
    _raises(TypeError, "num_envs", TokenGenerationVectorEnv, num_envs=value, **kwargs)


@FAST
@given(value=st.one_of(st.integers(max_value=0), not_ints), vector=st.booleans())
def test_n_real_below_one_or_not_an_int(oracle: OracleLSTM, disc: Discriminator, value: object, vector: bool) -> None:
    cls = TokenGenerationVectorEnv if vector else TokenGenerationEnv
    _raises((ValueError, TypeError), "n_real", cls, oracle=oracle, discriminator=disc, n_real=value)


@FAST
@given(name=st.sampled_from(["real_data_seed", "discriminator_seed"]), value=st.integers(max_value=-1))
def test_negative_seeds(kwargs: dict, name: str, value: int) -> None:
    _raises(ValueError, name, TokenGenerationEnv, **kwargs, **{name: value})


@FAST
@given(
    arg=st.one_of(
        st.tuples(st.just("vocab_size"), st.integers(2, 40).filter(lambda v: v != V)),
        st.tuples(st.just("seq_len"), st.integers(1, 40).filter(lambda t: t != T)),
    )
)
def test_size_that_contradicts_the_oracle(kwargs: dict, arg: tuple[str, int]) -> None:
    name, value = arg
    _raises(ValueError, name, TokenGenerationEnv, **kwargs, **{name: value})


def test_bad_device(kwargs: dict) -> None:
    _raises(ValueError, "device", TokenGenerationEnv, **{**kwargs, "device": "no-such-device"})


# --------------------------------------------------------------------------------------------
# Modes
# --------------------------------------------------------------------------------------------


@FAST
@given(mode=st.one_of(st.text(max_size=12), st.integers(), st.just("Disabled")).filter(lambda m: m is not None))
def test_unknown_autoreset_mode(kwargs: dict, mode: object) -> None:
    if mode in ("NextStep", "SameStep"):
        return
    _raises(ValueError, "autoreset_mode", TokenGenerationVectorEnv, num_envs=B, autoreset_mode=mode, **kwargs)


@FAST
@given(mode=st.one_of(st.text(max_size=12), st.integers()).filter(lambda m: m != "ansi"), vector=st.booleans())
def test_unknown_render_mode(kwargs: dict, mode: object, vector: bool) -> None:
    cls = TokenGenerationVectorEnv if vector else TokenGenerationEnv
    _raises(ValueError, "render_mode", cls, render_mode=mode, **kwargs)


# --------------------------------------------------------------------------------------------
# Oracle and discriminator arguments
# --------------------------------------------------------------------------------------------


@FAST
@given(data=st.binary(max_size=64))
def test_corrupt_oracle_file(oracle_dir: Path, data: bytes) -> None:
    path = oracle_dir / f"corrupt_{next(_file_ids)}.pkl"
    path.write_bytes(data)
    _raises(OracleLoadError, str(path), OracleLSTM.from_paper_file, path)
    err = _raises(OracleLoadError, str(path), TokenGenerationEnv, oracle=str(path), n_real=N_REAL)
    assert isinstance(err, ValueError)


@FAST
@given(name=st.text(alphabet="abcdefghij_", min_size=1, max_size=10))
def test_missing_oracle_file(oracle_dir: Path, name: str) -> None:
    path = oracle_dir / "missing" / f"{name}.pkl"
    _raises(OracleLoadError, str(path), TokenGenerationEnv, oracle=path, n_real=N_REAL)
    _raises(OracleLoadError, str(path), TokenGenerationVectorEnv, num_envs=B, oracle=str(path), n_real=N_REAL)


class _Evil:
    """A pickle that would run a shell command if the loader executed what the file asks for."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize(
    "payload",
    [
        [np.zeros((V, 4), np.float32)] * 14,  # one array short
        [np.zeros((V, 4), np.float64)] * 15,  # wrong dtype
        [np.zeros(3, np.float32)] * 15,  # embeddings not 2-D
        [np.zeros((V, 4), np.float32), *[np.zeros((4, 4), np.float32)] * 14],  # bi not 1-D
        {"embeddings": np.zeros((V, 4), np.float32)},
        [np.zeros((V, 4), np.float32), np.zeros(4, np.float32), "bi", *[np.zeros(4, np.float32)] * 12],
    ],
    ids=["14-arrays", "float64", "1-d-embeddings", "2-d-bias", "dict", "a-string"],
)
def test_oracle_file_with_wrong_layout(tmp_path: Path, payload: object) -> None:
    path = tmp_path / "oracle.pkl"
    path.write_bytes(pickle.dumps(payload))
    _raises(OracleLoadError, str(path), TokenGenerationEnv, oracle=path, n_real=N_REAL)


def test_oracle_file_that_asks_to_run_code_is_refused_unexecuted(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    path = tmp_path / "oracle.pkl"
    path.write_bytes(pickle.dumps([_Evil(marker)]))
    _raises(OracleLoadError, str(path), TokenGenerationEnv, oracle=path, n_real=N_REAL)
    assert not marker.exists()


def test_oracle_file_with_wrong_shapes(tmp_path: Path, oracle: OracleLSTM) -> None:
    arrays = oracle.paper_arrays()
    arrays[-1] = np.zeros(V + 1, np.float32)  # bout of the wrong size
    path = tmp_path / "oracle.pkl"
    path.write_bytes(pickle.dumps(arrays))
    err = _raises(OracleLoadError, str(path), TokenGenerationEnv, oracle=path, n_real=N_REAL)
    assert "bout" in str(err)


@FAST
@given(
    value=st.one_of(
        st.integers(),
        st.floats(),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
        st.binary(min_size=1, max_size=4),
        st.just(object()),
    )
)
def test_oracle_of_the_wrong_type(value: object) -> None:
    _raises(TypeError, "oracle", TokenGenerationEnv, oracle=value, n_real=N_REAL)


def test_oracle_that_is_a_generator_or_a_discriminator(policy: LSTMGenerator, disc: Discriminator) -> None:
    for value in (policy, disc):
        _raises(TypeError, "oracle", TokenGenerationEnv, oracle=value, n_real=N_REAL)


@FAST
@given(vocab_size=st.integers(2, 16), seq_len=st.integers(1, 8), vector=st.booleans())
def test_discriminator_with_mismatching_sizes(oracle: OracleLSTM, vocab_size: int, seq_len: int, vector: bool) -> None:
    if (vocab_size, seq_len) == (V, T):
        return
    d = Discriminator(vocab_size, seq_len, emb_dim=2, filter_sizes=(1,), num_filters=(1,))
    cls = TokenGenerationVectorEnv if vector else TokenGenerationEnv
    _raises(ValueError, "discriminator", cls, oracle=oracle, discriminator=d, n_real=N_REAL)


@pytest.mark.parametrize("value", [1, "D", torch.nn.Linear(2, 2), "policy"])
def test_discriminator_of_the_wrong_type(oracle: OracleLSTM, policy: LSTMGenerator, value: object) -> None:
    value = policy if value == "policy" else value
    _raises(TypeError, "discriminator", TokenGenerationEnv, oracle=oracle, discriminator=value, n_real=N_REAL)


# --------------------------------------------------------------------------------------------
# Actions
# --------------------------------------------------------------------------------------------


bad_token_ids = st.one_of(st.integers(max_value=-1), st.integers(min_value=V))
bad_action_types = st.one_of(
    st.floats(allow_nan=True),
    st.text(max_size=3),
    st.booleans(),
    st.lists(st.integers(0, V - 1), max_size=3),
    st.just(np.float64(1.0)),
    st.just(np.array([1, 2])),
    st.just(torch.tensor(1.0)),
    st.just(None),
)


@FAST
@given(action=bad_token_ids)
def test_single_env_action_out_of_range(env: TokenGenerationEnv, action: int) -> None:
    env.reset()
    err = _raises(ValueError, "action", env.step, action)
    assert f"[0, {V - 1}]" in str(err)
    obs, *_ = env.step(4)  # the failed step left the episode as it was
    assert obs[0] == 4 and np.all(obs[1:] == V)


@FAST
@given(action=bad_action_types)
def test_single_env_action_of_the_wrong_type(env: TokenGenerationEnv, action: object) -> None:
    env.reset()
    _raises(TypeError, "action", env.step, action)
    obs, *_ = env.step(np.int64(2))
    assert obs[0] == 2 and np.all(obs[1:] == V)


@FAST
@given(action=st.one_of(bad_token_ids, bad_action_types))
def test_single_wrapper_passes_bad_actions_to_the_env_check(wrapped_env: MonteCarloRewardWrapper, action) -> None:
    env = wrapped_env
    env.reset(seed=0)
    _raises((ValueError, TypeError), "action", env.step, action)
    obs, reward, *_ = env.step(3)
    assert obs[0] == 3 and 0.0 <= reward <= 1.0


def test_single_env_step_after_the_episode_ended(env: TokenGenerationEnv, kwargs: dict, policy) -> None:
    env.reset()
    for _ in range(T):
        env.step(0)
    _raises(RuntimeError, "reset", env.step, 0)
    fresh = TokenGenerationEnv(**kwargs)
    _raises(RuntimeError, "reset", fresh.step, 0)
    wrapped = MonteCarloRewardWrapper(TokenGenerationEnv(**kwargs), policy, n_rollouts=2)
    wrapped.reset()
    for _ in range(T):
        wrapped.step(1)
    _raises(RuntimeError, "reset", wrapped.step, 1)


@FAST
@given(
    actions=st.one_of(
        hnp.arrays(np.int64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)).filter(lambda a: a.shape != (B,)),
        st.lists(st.integers(0, V - 1), min_size=1, max_size=6).filter(lambda a: len(a) != B),
    )
)
def test_vector_actions_of_the_wrong_shape(venv: TokenGenerationVectorEnv, actions: object) -> None:
    venv.reset()
    err = _raises(ValueError, "actions", venv.step, actions)
    assert f"({B},)" in str(err)


@FAST
@given(
    actions=st.one_of(
        hnp.arrays(st.sampled_from([np.float32, np.float64, np.bool_, np.complex64]), (B,)),
        st.lists(st.text(max_size=2), min_size=B, max_size=B),
        st.just(torch.zeros(B)),
        st.just(None),
    )
)
def test_vector_actions_of_the_wrong_dtype(venv: TokenGenerationVectorEnv, actions: object) -> None:
    venv.reset()
    _raises(TypeError, "actions", venv.step, actions)


@FAST
@given(actions=hnp.arrays(np.int64, (B,), elements=st.integers(-(2**40), 2**40)))
def test_vector_actions_out_of_range(venv: TokenGenerationVectorEnv, actions: np.ndarray) -> None:
    venv.reset()
    if np.all((actions >= 0) & (actions < V)):
        obs, *_ = venv.step(actions)
        np.testing.assert_array_equal(obs[:, 0], actions)
        return
    _raises(ValueError, "actions", venv.step, actions)
    obs, *_ = venv.step(np.arange(B))  # the failed step changed nothing
    np.testing.assert_array_equal(obs[:, 0], np.arange(B))
    assert np.all(obs[:, 1:] == V)


def test_vector_ragged_actions(venv: TokenGenerationVectorEnv) -> None:
    venv.reset()
    _raises((ValueError, TypeError), "actions", venv.step, [[1], [1, 2], [3]])


def test_vector_step_before_reset(kwargs: dict, policy: LSTMGenerator) -> None:
    fresh = TokenGenerationVectorEnv(num_envs=B, **kwargs)
    _raises(RuntimeError, "reset", fresh.step, np.zeros(B, dtype=np.int64))
    wrapped = MonteCarloRewardWrapper(TokenGenerationVectorEnv(num_envs=B, **kwargs), policy, n_rollouts=2)
    _raises(RuntimeError, "reset", wrapped.step, np.zeros(B, dtype=np.int64))


def test_vector_partial_reset_mask(venv: TokenGenerationVectorEnv) -> None:
    _raises(ValueError, "reset_mask", venv.reset, options={"reset_mask": np.array([True, False, True])})


# --------------------------------------------------------------------------------------------
# Wrapper arguments
# --------------------------------------------------------------------------------------------


@FAST
@given(n=st.one_of(st.integers(max_value=0), not_ints), vector=st.booleans())
def test_bad_n_rollouts(env: TokenGenerationEnv, venv: TokenGenerationVectorEnv, policy, n: object, vector) -> None:
    _raises((ValueError, TypeError), "n_rollouts", MonteCarloRewardWrapper, venv if vector else env, policy, n)


@FAST
@given(mode=st.one_of(st.text(max_size=8), st.integers(), st.none()).filter(lambda m: m != "q"), vector=st.booleans())
def test_unknown_reward_mode(env, venv, policy: LSTMGenerator, mode: object, vector: bool) -> None:
    target = venv if vector else env
    _raises(ValueError, "reward_mode", MonteCarloRewardWrapper, target, policy, 2, reward_mode=mode)


@pytest.mark.parametrize("vector", [False, True])
def test_rollout_policy_of_the_wrong_type(env, venv, disc: Discriminator, vector: bool) -> None:
    target = venv if vector else env
    for value in ("G", torch.nn.LSTM(2, 2), disc, 3):  # None is allowed: a fresh G_β of the env's size
        _raises(TypeError, "rollout_policy", MonteCarloRewardWrapper, target, value, 2)


@FAST
@given(vocab_size=st.integers(2, 16), seq_len=st.integers(1, 8), vector=st.booleans())
def test_rollout_policy_with_other_sizes(env, venv, vocab_size: int, seq_len: int, vector: bool) -> None:
    if (vocab_size, seq_len) == (V, T):
        return
    other = LSTMGenerator(vocab_size, seq_len, emb_dim=2, hidden_dim=2)
    _raises(ValueError, "rollout_policy", MonteCarloRewardWrapper, venv if vector else env, other, 2)


def test_wrapper_on_an_env_that_is_not_seqgan(policy: LSTMGenerator) -> None:
    _raises(TypeError, "env", MonteCarloRewardWrapper, gym.make("CartPole-v1"), policy, 2)
    _raises(TypeError, "env", MonteCarloRewardWrapper, "SeqGAN-Oracle-v0", policy, 2)


def test_wrapping_twice_is_refused(wrapped_env: MonteCarloRewardWrapper, venv, policy: LSTMGenerator) -> None:
    """A second Monte Carlo wrapper would replace Q_t by its own rollouts: refused, also under other wrappers."""
    from gymnasium.wrappers import TimeLimit

    for env in (wrapped_env, TimeLimit(wrapped_env, max_episode_steps=T)):
        error = _raises(ValueError, "env", MonteCarloRewardWrapper, env, policy, 2)
        assert "already wrapped in MonteCarloRewardWrapper" in str(error)
    once = MonteCarloRewardVectorWrapper(venv, policy, n_rollouts=2)
    error = _raises(ValueError, "env", MonteCarloRewardVectorWrapper, once, policy, 2)
    assert "already wrapped in MonteCarloRewardVectorWrapper" in str(error)


def test_wrapper_stepped_without_its_own_reset_leaves_the_env_untouched(kwargs: dict, policy: LSTMGenerator) -> None:
    inner = TokenGenerationEnv(**kwargs)
    wrapped = MonteCarloRewardWrapper(inner, policy, n_rollouts=2)
    inner.reset(seed=0)  # the env is reset directly, the wrapper's rollout state is not
    _raises(RuntimeError, "reset", wrapped.step, 1)
    obs, *_ = inner.step(2)  # the refused step did not advance the env
    assert obs[0] == 2 and np.all(obs[1:] == V)

    inner_vec = TokenGenerationVectorEnv(num_envs=B, **kwargs)
    wrapped_vec = MonteCarloRewardWrapper(inner_vec, policy, n_rollouts=2)
    inner_vec.reset(seed=0)
    _raises(RuntimeError, "reset", wrapped_vec.step, np.ones(B, dtype=np.int64))
    assert inner_vec.t == 0


# --------------------------------------------------------------------------------------------
# Agent, callback and trainer constructors
# --------------------------------------------------------------------------------------------

not_numbers = st.one_of(
    st.text(max_size=5), st.booleans(), st.none(), st.lists(st.integers(), max_size=2), st.just(b"1")
)
not_positive = st.one_of(
    st.floats(max_value=0.0), st.just(float("nan")), st.just(float("inf")), st.integers(max_value=0)
)


@pytest.fixture(scope="module")
def sb3_env(oracle: OracleLSTM):
    from seqgan_gym.sb3 import make_sb3_vec_env

    return make_sb3_vec_env(n_envs=B, n_rollouts=None, oracle=oracle, n_real=N_REAL)


@FAST
@given(
    arg=st.one_of(
        st.tuples(st.just("learning_rate"), st.one_of(not_positive, not_numbers.filter(lambda v: not callable(v)))),
        st.tuples(st.just("gamma"), st.one_of(not_numbers, st.floats().filter(lambda g: not 0 <= g <= 1))),
        st.tuples(st.just("max_grad_norm"), st.one_of(not_positive, not_numbers)),
        st.tuples(st.just("baseline"), st.one_of(st.text(max_size=8), st.integers())),
        st.tuples(st.just("policy"), st.text(max_size=12).filter(lambda p: p != "LSTMGeneratorPolicy")),
    )
)
def test_reinforce_arguments(sb3_env, arg: tuple[str, object]) -> None:
    from agents import REINFORCE

    name, value = arg
    kwargs = {"policy": "LSTMGeneratorPolicy", "env": sb3_env, name: value}
    _raises((ValueError, TypeError), name, REINFORCE, **kwargs)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("verbose", "x"),
        ("verbose", -1),
        ("verbose", 3),
        ("seed", "a"),
        ("seed", -3),
        ("seed", 1.5),
        ("seed", 2**32),
        ("tensorboard_log", 5),
        ("tensorboard_log", ""),
        ("policy_kwargs", "x"),
        ("policy_kwargs", {"foo": 1}),
        ("policy_kwargs", {1: 2}),
    ],
)
def test_reinforce_sb3_arguments(sb3_env, name: str, value: object) -> None:
    """SB3's own arguments are checked up front, not deep inside NumPy's seeding or the policy."""
    from agents import REINFORCE

    _raises((ValueError, TypeError), name, REINFORCE, "LSTMGeneratorPolicy", sb3_env, **{name: value})


def test_reinforce_without_an_env_is_refused_unless_loading(sb3_env) -> None:
    from agents import REINFORCE

    error = _raises(ValueError, "env", REINFORCE, "LSTMGeneratorPolicy", None)
    assert "load" in str(error)


def test_reinforce_named_the_actor_critic_policy_is_told_which_algorithms_take_it(sb3_env) -> None:
    from agents import REINFORCE

    error = _raises(ValueError, "policy", REINFORCE, "GeneratorPolicy", sb3_env)
    assert "PPO" in str(error) and "LSTMGeneratorPolicy" in str(error)


@pytest.mark.parametrize("size", ["hidden_dim", "emb_dim"])
def test_ppo_given_generator_sizes_at_the_top_level_is_pointed_to_the_extractor(sb3_env, size: str) -> None:
    from stable_baselines3 import PPO

    import agents  # noqa: F401  (registers "GeneratorPolicy")

    error = _raises(ValueError, "policy_kwargs", PPO, "GeneratorPolicy", sb3_env, policy_kwargs={size: 8})
    assert f"features_extractor_kwargs=dict({size}=" in str(error)
    error = _raises(ValueError, "policy_kwargs", PPO, "GeneratorPolicy", sb3_env, policy_kwargs={"foo": 1})
    assert "'foo'" in str(error) and "net_arch" in str(error)


@FAST
@given(
    arg=st.one_of(
        st.tuples(
            st.sampled_from(["d_steps", "k_epochs", "batch_size", "n_negatives"]),
            st.one_of(st.integers(max_value=0), not_ints.filter(lambda v: v is not None)),
        ),
        st.tuples(st.just("seed"), st.one_of(st.integers(max_value=-1), not_ints)),
        st.tuples(st.just("lr"), st.one_of(not_positive, not_numbers)),
    )
)
def test_discriminator_training_callback_arguments(arg: tuple[str, object]) -> None:
    from agents.callbacks import DiscriminatorTrainingCallback

    name, value = arg
    _raises((ValueError, TypeError), name, DiscriminatorTrainingCallback, **{name: value})


@FAST
@given(
    arg=st.one_of(
        st.tuples(st.just("update_rate"), st.one_of(not_numbers, st.floats().filter(lambda r: not 0 <= r < 1))),
        st.tuples(st.sampled_from(["rollout_policy", "generator"]), st.one_of(st.integers(), st.text(max_size=3))),
    )
)
def test_rollout_policy_sync_arguments(arg: tuple[str, object]) -> None:
    from agents.callbacks import RolloutPolicySync

    name, value = arg
    _raises((ValueError, TypeError), name, RolloutPolicySync, **{name: value})


@FAST
@given(
    name=st.sampled_from(["eval_every", "n_samples", "n_held_out", "seed"]),
    value=st.one_of(st.integers(max_value=-1), not_ints),
)
def test_oracle_nll_callback_arguments(name: str, value: object) -> None:
    from agents.callbacks import OracleNLLCallback

    _raises((ValueError, TypeError), name, OracleNLLCallback, **{name: value})


_CONFIG_INTS = ["vocab_size", "seq_len", "emb_dim", "hidden_dim", "n_real", "mle_epochs", "adversarial_epochs"]
_CONFIG_INTS += ["batch_size", "n_rollouts", "d_steps", "k_epochs", "d_batch_size", "n_eval", "eval_every", "seed"]


@FAST
@given(
    arg=st.one_of(
        st.tuples(st.sampled_from(_CONFIG_INTS), st.one_of(st.integers(max_value=-1), not_ints)),
        st.tuples(
            st.sampled_from(["generator_lr", "max_grad_norm", "discriminator_lr"]), st.one_of(not_positive, not_numbers)
        ),
        st.tuples(st.just("rollout_update_rate"), st.one_of(not_numbers, st.floats().filter(lambda r: not 0 <= r < 1))),
        st.tuples(st.just("method"), st.text(max_size=8)),
        st.tuples(st.just("discriminator_filter_sizes"), st.lists(st.integers(-2, 30), min_size=1, max_size=3)),
    )
)
def test_seqgan_config_arguments(arg: tuple[str, object]) -> None:
    from agents.experiment.seqgan import SeqGANConfig

    name, value = arg
    if name == "discriminator_filter_sizes":  # widths must fit in T=20 and come with as many counts
        if all(1 <= w <= 20 for w in value):  # type: ignore[union-attr]
            value = [*value, 1]  # type: ignore[misc]
        kwargs = {name: tuple(value), "discriminator_num_filters": (4,) * (len(value) - 1)}  # type: ignore[arg-type]
    elif name == "method" and value in ("seqgan", "pg_bleu", "scheduled_sampling"):
        return
    else:
        kwargs = {name: value}
    _raises((ValueError, TypeError), name, SeqGANConfig, **kwargs)


@FAST
@given(
    arg=st.one_of(
        st.tuples(
            st.just("checkpoint_every_s"), st.one_of(st.floats(max_value=-1e-9), st.just(float("nan")), not_numbers)
        ),
        st.tuples(
            st.just("device"), st.text(max_size=8).filter(lambda d: d not in ("cpu", "auto", "") and "cpu" not in d)
        ),
        st.tuples(st.just("config"), st.one_of(st.integers(), st.dictionaries(st.text(max_size=3), st.integers()))),
    )
)
def test_seqgan_trainer_arguments(arg: tuple[str, object]) -> None:
    from agents.experiment.seqgan import SeqGANConfig, SeqGANTrainer

    name, value = arg
    kwargs = {"config": SeqGANConfig(vocab_size=V, seq_len=T, n_real=N_REAL), name: value}
    _raises((ValueError, TypeError), name, SeqGANTrainer, **kwargs)


# --------------------------------------------------------------------------------------------
# Corpus files
# --------------------------------------------------------------------------------------------


@FAST
@given(data=st.binary(max_size=200), seq_len=st.one_of(st.none(), st.integers(1, 4)))
def test_random_corpus_bytes(oracle_dir: Path, data: bytes, seq_len: int | None) -> None:
    """Any bytes: a corpus with every sentence within T, or a ValueError naming the file."""
    from seqgan_gym.text import TextCorpus

    path = oracle_dir / f"corpus_{next(_file_ids)}.txt"
    path.write_bytes(data)
    try:
        corpus = TextCorpus.load(path, seq_len=seq_len)
    except ValueError as err:
        assert str(path) in str(err) or "seq_len" in str(err), err
    else:
        assert corpus.train and all(1 <= len(s) <= corpus.seq_len for s in corpus.train)
        assert seq_len is None or corpus.seq_len == seq_len
        assert corpus.real_data().shape == (len(corpus.train), corpus.seq_len)
