"""OracleLSTM: the paper's equations, the seeded default, sampling, and the paper-file loader."""

from __future__ import annotations

import io
import os
import pickle
import struct
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch

from seqgan_gym.oracle import (
    DEFAULT_ORACLE_SEED,
    PAPER_ARRAY_NAMES,
    OracleLoadError,
    OracleLSTM,
)

# A small oracle whose embedding and hidden sizes differ, so that every weight matrix is
# non-square and a transposed array is a detectable shape error.
SMALL = {"vocab_size": 11, "seq_len": 7, "emb_dim": 5, "hidden_dim": 6}


@pytest.fixture
def small_oracle() -> OracleLSTM:
    return OracleLSTM.seeded(seed=123, **SMALL)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def reference_nll(arrays: list[np.ndarray], tokens: np.ndarray, start_token: int = 0) -> np.ndarray:
    """Per-sequence mean per-token NLL, straight from design §1's equations, in float64 numpy."""
    emb, wi, ui, bi, wf, uf, bf, wo, uo, bo, wc, uc, bc, w_out, b_out = (a.astype(np.float64) for a in arrays)
    n, length = tokens.shape
    h = np.zeros((n, ui.shape[0]))
    c = np.zeros((n, ui.shape[0]))
    prev = np.full(n, start_token)
    total = np.zeros(n)
    for t in range(length):
        x = emb[prev]
        i = _sigmoid(x @ wi + h @ ui + bi)
        f = _sigmoid(x @ wf + h @ uf + bf)
        o = _sigmoid(x @ wo + h @ uo + bo)
        c_tilde = np.tanh(x @ wc + h @ uc + bc)
        c = f * c + i * c_tilde
        h = o * np.tanh(c)
        logits = h @ w_out + b_out
        m = logits.max(axis=1, keepdims=True)
        log_z = (m + np.log(np.exp(logits - m).sum(axis=1, keepdims=True)))[:, 0]
        total += log_z - logits[np.arange(n), tokens[:, t]]
        prev = tokens[:, t]
    return total / length


# --------------------------------------------------------------------------- equations


def test_paper_arrays_are_fifteen_float32_arrays_in_paper_shapes(small_oracle: OracleLSTM) -> None:
    arrays = small_oracle.paper_arrays()
    v, e, h = SMALL["vocab_size"], SMALL["emb_dim"], SMALL["hidden_dim"]
    gate = [(e, h), (h, h), (h,)]
    assert len(arrays) == len(PAPER_ARRAY_NAMES) == 15
    assert [a.shape for a in arrays] == [(v, e), *gate, *gate, *gate, *gate, (h, v), (v,)]
    assert all(a.dtype == np.float32 for a in arrays)


def test_nll_matches_numpy_reimplementation_of_paper_equations(small_oracle: OracleLSTM) -> None:
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, SMALL["vocab_size"], size=(40, SMALL["seq_len"]))
    expected = reference_nll(small_oracle.paper_arrays(), tokens)
    got = small_oracle.nll(torch.as_tensor(tokens)).numpy()
    assert got.shape == (40,)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
    # The oracle's own samples too (not only uniform tokens).
    samples = small_oracle.sample(40, generator=torch.Generator().manual_seed(1)).numpy()
    np.testing.assert_allclose(
        small_oracle.nll(samples).numpy(), reference_nll(small_oracle.paper_arrays(), samples), rtol=0, atol=1e-5
    )


def test_nll_of_prefix_uses_only_that_prefix(small_oracle: OracleLSTM) -> None:
    tokens = torch.randint(0, SMALL["vocab_size"], (9, SMALL["seq_len"]), generator=torch.Generator().manual_seed(2))
    full = small_oracle.log_prob(tokens)
    prefix = small_oracle.log_prob(tokens[:, :3])
    torch.testing.assert_close(prefix, full[:, :3], rtol=0, atol=1e-6)
    np.testing.assert_allclose(
        small_oracle.nll(tokens[:, :3]).numpy(),
        reference_nll(small_oracle.paper_arrays(), tokens[:, :3].numpy()),
        rtol=0,
        atol=1e-5,
    )


def test_start_token_is_the_first_input(small_oracle: OracleLSTM) -> None:
    tokens = torch.randint(0, SMALL["vocab_size"], (5, SMALL["seq_len"]), generator=torch.Generator().manual_seed(3))
    other = OracleLSTM(start_token=4, **SMALL)
    other.load_paper_arrays(small_oracle.paper_arrays())
    np.testing.assert_allclose(
        other.nll(tokens).numpy(), reference_nll(small_oracle.paper_arrays(), tokens.numpy(), start_token=4), atol=1e-5
    )
    assert not torch.allclose(other.nll(tokens), small_oracle.nll(tokens))


def test_oracle_is_frozen(small_oracle: OracleLSTM) -> None:
    assert all(not p.requires_grad for p in small_oracle.parameters())


# --------------------------------------------------------------------------- seeded default


def test_seeded_is_deterministic_per_seed() -> None:
    a = OracleLSTM.seeded(seed=5, **SMALL).state_dict()
    b = OracleLSTM.seeded(seed=5, **SMALL).state_dict()
    c = OracleLSTM.seeded(seed=6, **SMALL).state_dict()
    assert a.keys() == b.keys() == c.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
        assert not torch.equal(a[key], c[key]), key


def test_seeded_default_is_the_paper_config_with_standard_normal_parameters() -> None:
    oracle = OracleLSTM.seeded()
    assert (oracle.vocab_size, oracle.seq_len, oracle.emb_dim, oracle.hidden_dim, oracle.start_token) == (
        5000,
        20,
        32,
        32,
        0,
    )
    default = OracleLSTM.seeded(seed=DEFAULT_ORACLE_SEED)
    for key, value in oracle.state_dict().items():
        assert torch.equal(value, default.state_dict()[key])
    flat = torch.cat([p.detach().flatten() for p in oracle.parameters()]).double()
    # 333,320 draws: the standard error of the mean and of the std is about 0.0017.
    assert flat.numel() == 5000 * 32 + 4 * (32 * 32 + 32 * 32 + 32) + 32 * 5000 + 5000
    assert abs(float(flat.mean())) < 0.01
    assert abs(float(flat.std()) - 1.0) < 0.01
    for name, array in zip(PAPER_ARRAY_NAMES, oracle.paper_arrays(), strict=True):
        # Even the 32-element biases must look like N(0, 1), not N(0, 0.1) or U(-1, 1).
        assert abs(float(array.mean())) < 0.6, name
        assert 0.6 < float(array.std()) < 1.4, name


def test_oracle_samples_score_far_lower_than_uniform_tokens() -> None:
    oracle = OracleLSTM.seeded()
    gen = torch.Generator().manual_seed(0)
    samples = oracle.sample(300, generator=gen)
    uniform = torch.randint(0, oracle.vocab_size, (300, oracle.seq_len), generator=gen)
    nll_samples = float(oracle.nll(samples).mean())
    nll_uniform = float(oracle.nll(uniform).mean())
    print(f"\nseeded default oracle: NLL of its own samples {nll_samples:.3f}, of uniform tokens {nll_uniform:.3f}")
    print("(paper's oracle: about 5.75 and 11.43)")
    assert nll_samples < nll_uniform - 2.0
    # An N(0, 1) oracle is peaked: uniform tokens score worse than log V, its samples much better.
    assert nll_uniform > np.log(oracle.vocab_size)
    assert nll_samples < np.log(oracle.vocab_size) - 1.0


# --------------------------------------------------------------------------- sampling


def test_sample_shape_dtype_range_and_reproducibility(small_oracle: OracleLSTM) -> None:
    a = small_oracle.sample(50, generator=torch.Generator().manual_seed(9))
    b = small_oracle.sample(50, generator=torch.Generator().manual_seed(9))
    c = small_oracle.sample(50, generator=torch.Generator().manual_seed(10))
    assert a.shape == (50, SMALL["seq_len"])
    assert a.dtype == torch.long
    assert int(a.min()) >= 0 and int(a.max()) < SMALL["vocab_size"]
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_sample_batch_size_does_not_change_shape(small_oracle: OracleLSTM) -> None:
    out = small_oracle.sample(10, generator=torch.Generator().manual_seed(1), batch_size=3)
    assert out.shape == (10, SMALL["seq_len"]) and out.dtype == torch.long


def test_sample_zero(small_oracle: OracleLSTM) -> None:
    out = small_oracle.sample(0, generator=torch.Generator().manual_seed(0))
    assert out.shape == (0, SMALL["seq_len"])
    assert out.dtype == torch.long


def test_sample_distribution_matches_nll() -> None:
    """The sampler draws from the distribution that ``nll`` scores: joint frequencies of (y1, y2)."""
    oracle = OracleLSTM.seeded(seed=1, vocab_size=4, seq_len=2, emb_dim=3, hidden_dim=3)
    n = 40_000
    samples = oracle.sample(n, generator=torch.Generator().manual_seed(0))
    pairs = torch.cartesian_prod(torch.arange(4), torch.arange(4))
    probs = torch.exp(-2.0 * oracle.nll(pairs).double())  # nll is the mean over the 2 tokens
    assert abs(float(probs.sum()) - 1.0) < 1e-6
    counts = torch.bincount(samples[:, 0] * 4 + samples[:, 1], minlength=16).double()
    freq = counts / n
    # 5 standard errors per cell: each cell is a binomial proportion.
    tol = 5.0 * torch.sqrt(probs * (1 - probs) / n) + 1e-4
    assert torch.all((freq - probs).abs() < tol), (freq, probs)


# --------------------------------------------------------------------------- paper-file loader


def _write_pickle(path: Path, obj: Any, protocol: int) -> Path:
    with open(path, "wb") as fh:
        pickle.dump(obj, fh, protocol=protocol)
    return path


def _assert_same_oracle(a: OracleLSTM, b: OracleLSTM) -> None:
    assert (a.vocab_size, a.emb_dim, a.hidden_dim) == (b.vocab_size, b.emb_dim, b.hidden_dim)
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    tokens = a.sample(16, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a.nll(tokens), b.nll(tokens))


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
@pytest.mark.parametrize("container", [list, tuple])
def test_from_paper_file_round_trip(small_oracle: OracleLSTM, tmp_path: Path, protocol: int, container: type) -> None:
    path = _write_pickle(tmp_path / "target_params.pkl", container(small_oracle.paper_arrays()), protocol)
    loaded = OracleLSTM.from_paper_file(path, seq_len=SMALL["seq_len"])
    assert loaded.seq_len == SMALL["seq_len"]
    _assert_same_oracle(small_oracle, loaded)
    # A str path works as well as a Path.
    _assert_same_oracle(small_oracle, OracleLSTM.from_paper_file(str(path), seq_len=SMALL["seq_len"]))


class _Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Writes bytes the way Python 2 wrote ``str`` (BINSTRING), as the paper's own file does."""

    dispatch: ClassVar[dict[type, Any]] = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]

    def save_bytes(self, obj: bytes) -> None:
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_bytes


def test_from_paper_file_reads_python2_numpy1_style_pickle(small_oracle: OracleLSTM, tmp_path: Path) -> None:
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(small_oracle.paper_arrays())
    data = buf.getvalue()
    assert b"_codecs" not in data
    # numpy 1.x named the module numpy.core.multiarray.
    data = data.replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")
    assert b"cnumpy.core.multiarray\n_reconstruct" in data
    path = tmp_path / "py2.pkl"
    path.write_bytes(data)
    _assert_same_oracle(small_oracle, OracleLSTM.from_paper_file(path, seq_len=SMALL["seq_len"]))


def test_from_paper_file_default_seq_len_is_20(small_oracle: OracleLSTM, tmp_path: Path) -> None:
    path = _write_pickle(tmp_path / "o.pkl", small_oracle.paper_arrays(), 4)
    assert OracleLSTM.from_paper_file(path).seq_len == 20


class _OpensFile:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.target, "w"))


class _RunsShell:
    def __init__(self, target: str) -> None:
        self.target = target

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (f"touch {self.target}",))


@pytest.mark.parametrize("payload", [_OpensFile, _RunsShell])
@pytest.mark.parametrize("protocol", [2, 4])
def test_malicious_pickle_is_refused_without_running(
    small_oracle: OracleLSTM, tmp_path: Path, payload: type, protocol: int
) -> None:
    pwned = tmp_path / "pwned"
    arrays: list[Any] = small_oracle.paper_arrays()
    arrays[5] = payload(str(pwned))
    path = _write_pickle(tmp_path / "evil.pkl", arrays, protocol)
    with pytest.raises(OracleLoadError) as info:
        OracleLSTM.from_paper_file(path)
    assert not pwned.exists()
    assert str(path) in str(info.value)
    assert "refused" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_malicious_payload_would_work_without_the_guard(tmp_path: Path) -> None:
    """The payload used above is live: plain ``pickle.load`` does create the file."""
    pwned = tmp_path / "pwned"
    data = pickle.dumps([_OpensFile(str(pwned))], protocol=4)
    handle = pickle.loads(data)[0]
    handle.close()
    assert pwned.exists()


def _bad_layouts(arrays: list[np.ndarray]) -> dict[str, Any]:
    """Every case of ``BAD_LAYOUTS``: the small oracle's arrays, damaged one way each."""
    transposed_wi = list(arrays)
    transposed_wi[1] = np.ascontiguousarray(arrays[1].T)
    transposed_out = list(arrays)
    transposed_out[13] = np.ascontiguousarray(arrays[13].T)
    short_bout = list(arrays)
    short_bout[14] = arrays[14][:-1]
    float64 = list(arrays)
    float64[7] = arrays[7].astype(np.float64)
    all_float64 = [a.astype(np.float64) for a in arrays]
    not_array = list(arrays)
    not_array[2] = arrays[2].tolist()
    flat_embeddings = list(arrays)
    flat_embeddings[0] = arrays[0].ravel()
    return {
        "14 arrays": arrays[:14],
        "16 arrays": [*arrays, arrays[-1]],
        "empty list": [],
        "Wi transposed": transposed_wi,
        "Wout transposed": transposed_out,
        "bout too short": short_bout,
        "one float64": float64,
        "all float64": all_float64,
        "a python list inside": not_array,
        "1-D embeddings": flat_embeddings,
        "a dict": dict(zip(PAPER_ARRAY_NAMES, arrays, strict=True)),
        "a single array": arrays[0],
    }


BAD_LAYOUTS = (
    "14 arrays", "16 arrays", "empty list", "Wi transposed", "Wout transposed", "bout too short",
    "one float64", "all float64", "a python list inside", "1-D embeddings", "a dict", "a single array",
)  # fmt: skip


@pytest.mark.parametrize("case", BAD_LAYOUTS)
def test_wrong_layout_is_refused_with_clear_message(small_oracle: OracleLSTM, tmp_path: Path, case: str) -> None:
    obj = _bad_layouts(small_oracle.paper_arrays())[case]
    path = _write_pickle(tmp_path / "bad.pkl", obj, 4)
    with pytest.raises(OracleLoadError) as info:
        OracleLSTM.from_paper_file(path)
    message = str(info.value)
    assert str(path) in message
    if case in ("14 arrays", "16 arrays", "empty list", "a dict", "a single array"):
        assert "15" in message
    if case in ("one float64", "all float64", "a python list inside"):
        assert "float32" in message
    if case in ("Wi transposed", "Wout transposed", "bout too short"):
        assert "shape" in message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope" / "target_params.pkl"
    with pytest.raises(OracleLoadError) as info:
        OracleLSTM.from_paper_file(path)
    assert str(path) in str(info.value)
    assert "cannot read" in str(info.value)


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(OracleLoadError) as info:
        OracleLSTM.from_paper_file(tmp_path)
    assert str(tmp_path) in str(info.value)


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty", "text"])
def test_corrupt_file(small_oracle: OracleLSTM, tmp_path: Path, damage: str) -> None:
    good = pickle.dumps(small_oracle.paper_arrays(), protocol=2)
    data = {
        "truncated": good[: len(good) // 2],
        "garbage": bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8)),
        "empty": b"",
        "text": b"embeddings,Wi,Ui\n1,2,3\n",
    }[damage]
    path = tmp_path / f"{damage}.pkl"
    path.write_bytes(data)
    with pytest.raises(OracleLoadError) as info:
        OracleLSTM.from_paper_file(path)
    assert str(path) in str(info.value)
