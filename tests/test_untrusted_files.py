"""Untrusted files never execute code, and every bad one gets a clear error that names it.

A scan of the source proves the first half for every loader there is: ``torch.load`` only with
``weights_only=True``, no ``pickle.load(s)`` or ``Unpickler`` except the restricted one of
``seqgan_gym/oracle.py``, no ``np.load(allow_pickle=True)``. Tests of each loader prove the second.
"""

from __future__ import annotations

import ast
import dataclasses
import io
import json
import pickle
import re
import zipfile
from pathlib import Path

import pytest
import torch
from helpers import Exploit, tiny_config, torch_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents import REINFORCE
from agents.experiment.seqgan import CHECKPOINT_NAME, CheckpointError, SeqGANTrainer, load_checkpoint
from seqgan_gym.sb3 import make_sb3_vec_env

ROOT = Path(__file__).resolve().parents[1]
SCANNED = ("seqgan_gym", "agents", "examples", "benchmarks", "scripts")
#: The one unpickler allowed: it admits numpy arrays only (tests/test_oracle.py, tests/test_bad_input.py).
RESTRICTED_UNPICKLER = ("seqgan_gym/oracle.py", "_NumpyArrayUnpickler")
#: Modules whose loaders run code from the file.
UNSAFE_MODULES = {"pickle", "_pickle", "cPickle", "dill", "cloudpickle", "joblib", "marshal", "shelve"}


def unsafe_loads(source: str, filename: str = "<source>") -> list[str]:
    """Every call in ``source`` that could unpickle code: ``file:line: what``."""
    tree = ast.parse(source, filename)
    aliases: dict[str, str] = {}  # local name -> dotted origin, from the imports
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                aliases[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def dotted(node: ast.AST) -> str | None:
        if isinstance(node, ast.Name):
            return aliases.get(node.id, node.id)
        if isinstance(node, ast.Attribute):
            base = dotted(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    def keyword(call: ast.Call, name: str) -> object:
        for k in call.keywords:
            if k.arg == name:
                return k.value.value if isinstance(k.value, ast.Constant) else "<not a constant>"
            if k.arg is None:
                return "<**kwargs>"
        return None

    found = []
    for node in ast.walk(tree):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ClassDef):
            for base in node.bases:
                name = dotted(base) or ""
                if name.split(".")[0] in UNSAFE_MODULES and (filename, node.name) != RESTRICTED_UNPICKLER:
                    found.append(f"{where}: class {node.name} derives from {name}")
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func) or ""
        module = name.split(".")[0]
        if name in ("torch.load", "torch.serialization.load") and keyword(node, "weights_only") is not True:
            found.append(f"{where}: {name} without weights_only=True")
        elif name in ("numpy.load", "np.load") and keyword(node, "allow_pickle") not in (None, False):
            found.append(f"{where}: {name} with allow_pickle")
        elif module in UNSAFE_MODULES and name.rsplit(".", 1)[-1] in ("load", "loads", "Unpickler", "open"):
            found.append(f"{where}: {name}")
        elif name in ("yaml.load", "yaml.unsafe_load", "torch.jit.load", "torch.package.PackageImporter"):
            found.append(f"{where}: {name}")
    return found


def test_the_scanner_finds_every_kind_of_unsafe_load() -> None:
    source = """
import pickle, torch, joblib
import numpy as np
from pickle import loads as undo
from torch import load
torch.load("a")
torch.load("a", weights_only=False)
load("a", weights_only=True)
load("a")
pickle.load(f)
undo(b"")
pickle.Unpickler(f).load()
np.load("a.npy", allow_pickle=True)
joblib.load("m")
class Mine(pickle.Unpickler): pass
np.load("a.npy")
torch.load("a", map_location="cpu", weights_only=True)
"""
    found = unsafe_loads(source, "x.py")
    lines = sorted(int(f.split(":")[1]) for f in found)
    assert lines == [6, 7, 9, 10, 11, 12, 13, 14, 15], found


def test_no_loader_in_the_source_can_run_code() -> None:
    files = sorted(p for folder in SCANNED for p in (ROOT / folder).rglob("*.py"))
    assert len(files) > 20 and any(p.name == "seqgan.py" for p in files)
    found = [hit for p in files for hit in unsafe_loads(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))]
    assert found == []
    oracle = (ROOT / RESTRICTED_UNPICKLER[0]).read_text(encoding="utf-8")
    assert f"class {RESTRICTED_UNPICKLER[1]}(pickle.Unpickler)" in oracle and "def find_class" in oracle


# ---- the trainer's checkpoints ----

SMALL = tiny_config(
    discriminator_filter_sizes=(1, 2),
    discriminator_num_filters=(4, 4),
    mle_epochs=1,
    mle_continuation_epochs=0,
    d_pretrain_rounds=1,
    adversarial_epochs=1,
    d_steps=1,
    n_negatives=16,
    n_eval=16,
    seed=5,
)


@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("good")
    SeqGANTrainer(SMALL, out).run(max_units=1)
    return (out / CHECKPOINT_NAME).read_bytes()


def _resume_error(folder: Path, data: bytes) -> CheckpointError:
    folder.mkdir()
    (folder / CHECKPOINT_NAME).write_bytes(data)
    with pytest.raises(CheckpointError) as info:
        SeqGANTrainer.resume(folder)
    assert str(folder / CHECKPOINT_NAME) in str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"vocab_size": 13}, r"does not fit its configuration.*size mismatch"),  # tensors of V=12, config V=13
        ({"vocab_size": 1}, r"invalid configuration.*vocab_size"),
        ({"bogus": 1}, r"invalid configuration.*bogus"),
    ],
)
def test_checkpoint_from_another_configuration(
    tmp_path: Path, good_checkpoint: bytes, change: dict, match: str
) -> None:
    state = torch.load(io.BytesIO(good_checkpoint), weights_only=True)
    state["config"] = {**state["config"], **change}
    err = _resume_error(tmp_path / "other", torch_bytes(state))
    assert re.search(match, str(err), re.S), err


@pytest.mark.parametrize("change", [{"vocab_size": 13}, {"seq_len": 7}, {"vocab_size": 13, "seq_len": 5}])
def test_checkpoint_loaded_into_a_trainer_of_another_configuration(good_checkpoint: bytes, change: dict) -> None:
    other = SeqGANTrainer(dataclasses.replace(SMALL, **change))
    before = [p.detach().clone() for p in other.generator.parameters()]
    with pytest.raises(CheckpointError, match="belongs to another configuration") as info:
        other.load_state_dict(torch.load(io.BytesIO(good_checkpoint), weights_only=True))
    for name, value in change.items():
        assert f"{name}={getattr(SMALL, name)} (here {value})" in str(info.value)
    assert all(torch.equal(a, b) for a, b in zip(before, other.generator.parameters(), strict=True))


@pytest.mark.parametrize("key", ["config", "generator", "rows", "units_done"])
def test_checkpoint_with_a_missing_or_mistyped_part(tmp_path: Path, good_checkpoint: bytes, key: str) -> None:
    state = torch.load(io.BytesIO(good_checkpoint), weights_only=True)
    _resume_error(tmp_path / "missing", torch_bytes({k: v for k, v in state.items() if k != key}))
    _resume_error(tmp_path / "mistyped", torch_bytes({**state, key: 3.5 if key != "units_done" else "three"}))


def test_checkpoint_of_a_newer_format_and_a_malicious_one(tmp_path: Path, good_checkpoint: bytes) -> None:
    state = torch.load(io.BytesIO(good_checkpoint), weights_only=True)
    err = _resume_error(tmp_path / "newer", torch_bytes({**state, "format_version": 2}))
    assert "format 2; this version reads format 1" in str(err)
    for name, payload in (
        ("pickled", pickle.dumps(Exploit(tmp_path / "pwned"))),
        ("in_torch_zip", torch_bytes({**state, "rows": Exploit(tmp_path / "pwned")})),
    ):
        assert "not a readable seqgan-gym checkpoint" in str(_resume_error(tmp_path / name, payload))
    assert not (tmp_path / "pwned").exists()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_checkpoints_give_a_checkpoint_error(
    tmp_path: Path, good_checkpoint: bytes, data: st.DataObject
) -> None:
    """Truncated, bit-flipped or overwritten files: a CheckpointError naming the file, or a whole valid state."""
    cut = data.draw(st.integers(0, len(good_checkpoint)), label="cut")
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(good_checkpoint) - 1), st.integers(1, 255)), max_size=4))
    damaged = bytearray(good_checkpoint)
    for at, mask in flips:
        damaged[at] ^= mask
    path = tmp_path / f"damaged_{cut}_{len(flips)}.pt"
    path.write_bytes(bytes(damaged[:cut]))
    try:
        state = load_checkpoint(path)
    except CheckpointError as err:
        assert str(path) in str(err)
    else:  # the damage missed everything that is read (e.g. a flip in zip padding): the state is whole
        assert state["units_done"] == 1 and cut == len(good_checkpoint)


# ---- REINFORCE zip files ----


@pytest.fixture(scope="module")
def reinforce_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from seqgan_gym.oracle import OracleLSTM

    oracle = OracleLSTM.seeded(seed=3, vocab_size=12, seq_len=6, emb_dim=8, hidden_dim=8)
    env = make_sb3_vec_env(n_envs=4, n_rollouts=None, oracle=oracle, n_real=16)
    path = tmp_path_factory.mktemp("zips") / "good.zip"
    REINFORCE("LSTMGeneratorPolicy", env, policy_kwargs={"emb_dim": 8, "hidden_dim": 8}, seed=0).save(path)
    return path


def _rezip(src: Path, dst: Path, config: object = None, weights: bytes | None = None) -> Path:
    """``src`` with its ``data`` (JSON of ``config``) or ``policy.pth`` replaced."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(dst, "w") as b:
        for name in a.namelist():
            new = {"data": None if config is None else json.dumps(config).encode(), "policy.pth": weights}.get(name)
            b.writestr(name, a.read(name) if new is None else new)
    return dst


def test_reinforce_zip_from_another_configuration_or_format(tmp_path: Path, reinforce_zip: Path) -> None:
    config = json.loads(zipfile.ZipFile(reinforce_zip).read("data"))
    for name, change, match in (
        ("vocab", {"vocab_size": 13}, r"does not fit its own configuration \(vocab_size=13, seq_len=6\)"),
        ("seq_len", {"seq_len": 0}, "invalid REINFORCE configuration.*seq_len"),
        ("kwargs", {"policy_kwargs": {"emb_dim": 9, "hidden_dim": 8}}, "does not fit its own configuration"),
        ("no_gamma", {"gamma": None}, "invalid REINFORCE configuration.*gamma"),
        (
            "zero_hidden",  # the message itself, not the repr of an exception
            {"policy_kwargs": {"emb_dim": 8, "hidden_dim": 0}},
            r"invalid REINFORCE configuration: policy_kwargs\['hidden_dim'\] must be in \[1, inf\], got 0$",
        ),
        ("newer", {"format_version": 3}, r"format version 3 in data; this version reads format version 2 \(data\)"),
        ("older", {"format_version": 1}, r"format version 1 in data; .* and 1 \(config.json\)"),
        ("other", {"algorithm": "PPO"}, "names no REINFORCE model"),
    ):
        path = _rezip(reinforce_zip, tmp_path / f"{name}.zip", {**config, **change})
        with pytest.raises(ValueError, match=match) as info:
            REINFORCE.load(path)
        assert str(path) in str(info.value)
    for name, payload in (("list", [1, 2]), ("text", "REINFORCE")):
        with pytest.raises(ValueError, match="names no REINFORCE model"):
            REINFORCE.load(_rezip(reinforce_zip, tmp_path / f"{name}.zip", payload))


def test_reinforce_zip_malicious_or_damaged(tmp_path: Path, reinforce_zip: Path) -> None:
    cases = {
        "malicious": _rezip(
            reinforce_zip, tmp_path / "malicious.zip", weights=pickle.dumps({"policy": Exploit(tmp_path / "pwned")})
        ),
        "torch_exploit": _rezip(
            reinforce_zip,
            tmp_path / "torch_exploit.zip",
            weights=torch_bytes({"generator.b_out": Exploit(tmp_path / "pwned")}),
        ),
        "no_weights": _rezip(reinforce_zip, tmp_path / "no_weights.zip", weights=torch_bytes({"x": torch.zeros(2)})),
    }
    data = reinforce_zip.read_bytes()
    for cut in (0, 10, len(data) // 2, len(data) - 1):
        cases[f"cut_{cut}"] = tmp_path / f"cut_{cut}.zip"
        cases[f"cut_{cut}"].write_bytes(data[:cut])
    for name, path in cases.items():
        with pytest.raises(ValueError) as info:
            REINFORCE.load(path)
        assert str(path) in str(info.value), name
    assert not (tmp_path / "pwned").exists()


def test_a_truncated_model_file_says_so(tmp_path: Path, reinforce_zip: Path) -> None:
    from agents import load_model

    cut = tmp_path / "cut.zip"
    cut.write_bytes(reinforce_zip.read_bytes()[:3000])  # a copy that stopped early
    for load in (load_model, REINFORCE.load):
        with pytest.raises(ValueError, match=r"the zip is truncated or damaged \(3,000 bytes"):
            load(cut)
    (tmp_path / "text.zip").write_text("not a zip")
    with pytest.raises(ValueError, match="it is not a zip file"):
        load_model(tmp_path / "text.zip")
