"""agents.load_model: every algorithm's model back, and nothing in a hostile zip ever runs."""

from __future__ import annotations

import base64
import contextlib
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from sb3_contrib import TRPO
from stable_baselines3 import A2C, PPO

from agents import REINFORCE, load_model
from seqgan_gym.sb3 import make_sb3_vec_env

V, T, B = 12, 6, 4


class Exploit:
    """Unpickling this creates ``target``: the proof that a loader ran code from the file."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self) -> tuple:
        return (open, (str(self.target), "w"))


def _env(vocab_size: int = V):
    return make_sb3_vec_env(n_envs=B, n_rollouts=None, vocab_size=vocab_size, seq_len=T, n_real=32)


BUILDERS = {
    "PPO": lambda env: PPO("GeneratorPolicy", env, n_steps=T, batch_size=B * T, n_epochs=2, clip_range=0.1, seed=0),
    "A2C": lambda env: A2C("GeneratorPolicy", env, n_steps=T, gamma=0.0, seed=0),
    "TRPO": lambda env: TRPO("GeneratorPolicy", env, n_steps=T, batch_size=B * T, target_kl=0.02, seed=0),
    "REINFORCE": lambda env: REINFORCE("LSTMGeneratorPolicy", env, gamma=0.5, seed=0),
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[object, Path]]:
    folder = tmp_path_factory.mktemp("models")
    models = {}
    for name, build in BUILDERS.items():
        model = build(_env())
        model.learn(2 * B * T)
        model.save(folder / name)  # SB3's own save (REINFORCE's: the same layout, no pickle)
        models[name] = (model, folder / f"{name}.zip")
    return models


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_every_algorithm_comes_back_exactly(saved, name: str) -> None:
    model, path = saved[name]
    loaded = load_model(path)
    assert type(loaded) is type(model)
    for (key, a), b in zip(model.policy.state_dict().items(), loaded.policy.state_dict().values(), strict=True):
        assert torch.equal(a, b), key
    assert type(loaded.policy.optimizer) is type(model.policy.optimizer)  # A2C's RMSprop, from plain text
    saved_moments = model.policy.optimizer.state_dict()["state"]
    for key, state in loaded.policy.optimizer.state_dict()["state"].items():
        assert all(torch.equal(v, saved_moments[key][k]) for k, v in state.items() if torch.is_tensor(v))
    assert loaded.num_timesteps == model.num_timesteps == 2 * B * T and loaded.gamma == model.gamma
    if name == "PPO":
        assert (loaded.n_epochs, loaded.clip_range(1.0)) == (2, 0.1)
    if name == "TRPO":
        assert loaded.target_kl == 0.02
    env = _env()
    obs = env.reset()
    np.testing.assert_array_equal(model.predict(obs, deterministic=True)[0], loaded.predict(obs, deterministic=True)[0])
    again = load_model(path.with_suffix(""), env=env)  # "m" finds "m.zip", as in SB3
    again.learn(B * T, reset_num_timesteps=False)
    assert again.num_timesteps == 3 * B * T


def _rewrite(src: Path, dst: Path, config: dict | None = None, **entries: bytes) -> Path:
    """``src`` with its ``data`` (``config`` as JSON) and other entries replaced."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as b:
        for name in a.namelist():
            new = json.dumps(config).encode() if name == "data" and config is not None else entries.get(name)
            b.writestr(name, a.read(name) if new is None else new)
    return dst


def _data(path: Path) -> dict:
    return json.loads(zipfile.ZipFile(path).read("data"))


def test_a_pickle_hidden_in_data_never_runs(saved, tmp_path: Path) -> None:
    _, path = saved["PPO"]
    data = _data(path)
    payload = base64.b64encode(pickle.dumps(Exploit(tmp_path / "pwned"))).decode()
    data["policy_kwargs"] = {":type:": "<class 'dict'>", ":serialized:": payload}
    hostile = _rewrite(path, tmp_path / "hostile.zip", data)
    model = load_model(hostile)  # the readable part (none) is enough: the policy's defaults
    assert isinstance(model, PPO) and not (tmp_path / "pwned").exists()
    with contextlib.suppress(Exception):  # SB3's own loader runs the payload: the threat this loader removes
        PPO.load(hostile)
    assert (tmp_path / "pwned").exists()


def test_hostile_or_foreign_zips_are_refused(saved, tmp_path: Path) -> None:
    _, path = saved["PPO"]
    data = _data(path)
    exploit = pickle.dumps(Exploit(tmp_path / "pwned"))
    cases = {
        "pickled weights": (_rewrite(path, tmp_path / "w.zip", **{"policy.pth": exploit}), "does not hold the weights"),
        "other policy": (
            _rewrite(path, tmp_path / "p.zip", {**data, "policy_class": {":serialized:": "", "__module__": "evil"}}),
            "load_model loads models of agents.policies.GeneratorPolicy",
        ),
        "class by name": (
            _rewrite(path, tmp_path / "c.zip", {**data, "policy_kwargs": {"activation_fn": "<class 'os.system'>"}}),
            r"policy_kwargs\['activation_fn'\] = \"<class 'os.system'>\" is not one load_model can rebuild",
        ),
        "schedule": (
            _rewrite(path, tmp_path / "s.zip", {**data, "clip_range": {":serialized:": exploit.hex()}}),
            r"clip_range is saved as a pickle .* pass clip_range=\.\.\. to load_model",
        ),
        "recurrent": (
            _rewrite(path, tmp_path / "r.zip", {**data, "_last_lstm_states": {":serialized:": ""}}),
            "holds a model of RecurrentPPO; load_model loads REINFORCE, PPO, A2C, TRPO",
        ),
        "other algorithm": (
            _rewrite(path, tmp_path / "o.zip", {"buffer_size": 10, "policy_class": data["policy_class"]}),
            "holds a model of an unknown algorithm",
        ),
        "bomb": (_rewrite(path, tmp_path / "b.zip", **{"data": b" " * 2**23}), r"data unpacks to 8,388,608 bytes"),
        "not a zip": (tmp_path / "n.zip", "is not a saved model"),
        "huge": (
            _rewrite(
                path,
                tmp_path / "h.zip",
                {**data, "policy_kwargs": {"features_extractor_kwargs": {"hidden_dim": 10**6}}},
            ),
            "GiB, more than the",
        ),
    }
    (tmp_path / "n.zip").write_bytes(b"not a zip")
    for case, (hostile, match) in cases.items():
        with pytest.raises(ValueError, match=match) as info:
            load_model(hostile)
        assert str(hostile) in str(info.value), case
    assert not (tmp_path / "pwned").exists()
    # A schedule it cannot read is given as SB3's load takes it.
    assert load_model(cases["schedule"][0], clip_range=0.3).clip_range(1.0) == 0.3
    with pytest.raises(ValueError, match="env has spaces"):
        load_model(path, env=_env(vocab_size=V + 1))
