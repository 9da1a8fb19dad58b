"""NLL-oracle and NLL-test."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from seqgan_gym.discriminator import Discriminator
from seqgan_gym.generator import LSTMGenerator
from seqgan_gym.metrics import nll_oracle, nll_test
from seqgan_gym.oracle import OracleLSTM

TINY_VOCAB, TINY_SEQ_LEN = 12, 6  # tests/conftest.py's tiny configuration


def _tokens(n: int, seed: int, length: int = TINY_SEQ_LEN) -> torch.Tensor:
    return torch.randint(0, TINY_VOCAB, (n, length), generator=torch.Generator().manual_seed(seed))


def test_nll_oracle_is_mean_of_oracle_nll(tiny_oracle: OracleLSTM, tiny_generator: LSTMGenerator) -> None:
    samples = tiny_generator.sample(30, generator=torch.Generator().manual_seed(0))
    value = nll_oracle(tiny_oracle, samples)
    assert isinstance(value, float)
    assert value == pytest.approx(float(tiny_oracle.nll(samples).mean()), abs=1e-6)
    # It is a per-token mean: the mean of the oracle's teacher-forced -log-probabilities.
    assert value == pytest.approx(float(-tiny_oracle.log_prob(samples).mean()), abs=1e-5)


def test_tiny_configuration_matches_conftest(tiny_oracle: OracleLSTM) -> None:
    assert (tiny_oracle.vocab_size, tiny_oracle.seq_len) == (TINY_VOCAB, TINY_SEQ_LEN)


def test_nll_test_is_mean_of_generator_nll(tiny_oracle: OracleLSTM, tiny_generator: LSTMGenerator) -> None:
    held_out = tiny_oracle.sample(30, generator=torch.Generator().manual_seed(1))
    value = nll_test(tiny_generator, held_out)
    assert isinstance(value, float)
    assert value == pytest.approx(float(tiny_generator.nll(held_out).mean()), abs=1e-6)
    # A fresh generator (std 0.1) is nearly uniform: its NLL is close to log V.
    assert abs(value - np.log(TINY_VOCAB)) < 0.5


def test_metrics_distinguish_good_from_bad_samples(tiny_oracle: OracleLSTM) -> None:
    real = tiny_oracle.sample(200, generator=torch.Generator().manual_seed(2))
    uniform = _tokens(200, 3)
    assert nll_oracle(tiny_oracle, real) < nll_oracle(tiny_oracle, uniform)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.int16, np.uint8])
def test_accepts_numpy_arrays(tiny_oracle: OracleLSTM, tiny_generator: LSTMGenerator, dtype: type) -> None:
    tokens = _tokens(12, 4)
    array = tokens.numpy().astype(dtype)
    assert nll_oracle(tiny_oracle, array) == pytest.approx(nll_oracle(tiny_oracle, tokens), abs=1e-7)
    assert nll_test(tiny_generator, array) == pytest.approx(nll_test(tiny_generator, tokens), abs=1e-7)
    assert nll_oracle(tiny_oracle, array.tolist()) == pytest.approx(nll_oracle(tiny_oracle, tokens), abs=1e-7)


def test_accepts_shorter_prefixes(tiny_oracle: OracleLSTM) -> None:
    tokens = _tokens(8, 5)
    # Prefixes only when asked for: by default a length other than seq_len is refused (see test_hostile_inputs).
    value = nll_oracle(tiny_oracle, tokens[:, :3], prefix=True)
    assert value == pytest.approx(float(tiny_oracle.nll(tokens[:, :3]).mean()))


BAD_TOKENS: dict[str, tuple[Any, type[Exception] | tuple[type[Exception], ...], str]] = {
    "empty": (torch.zeros(0, TINY_SEQ_LEN, dtype=torch.long), ValueError, "at least one"),
    "empty list": ([], (TypeError, ValueError), ""),
    "float": (torch.zeros(3, TINY_SEQ_LEN), TypeError, "integer"),
    "float numpy": (np.zeros((3, TINY_SEQ_LEN)), TypeError, "integer"),
    "bool": (torch.zeros(3, TINY_SEQ_LEN, dtype=torch.bool), TypeError, "integer"),
    "too large": (torch.full((3, TINY_SEQ_LEN), TINY_VOCAB), ValueError, "token ids"),
    "negative": (torch.full((3, TINY_SEQ_LEN), -1), ValueError, "token ids"),
    "1-D": (torch.zeros(TINY_SEQ_LEN, dtype=torch.long), ValueError, "shape"),
    "3-D": (torch.zeros(2, TINY_SEQ_LEN, 1, dtype=torch.long), ValueError, "shape"),
    "too long": (torch.zeros(2, TINY_SEQ_LEN + 1, dtype=torch.long), ValueError, "length"),
    "zero length": (torch.zeros(2, 0, dtype=torch.long), ValueError, "length"),
    "strings": ([["a", "b"]], TypeError, ""),
    "ragged": ([[1, 2], [3]], TypeError, ""),
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
@pytest.mark.parametrize("metric", ["nll_oracle", "nll_test"])
def test_bad_tokens_raise_naming_the_argument(
    tiny_oracle: OracleLSTM, tiny_generator: LSTMGenerator, case: str, metric: str
) -> None:
    tokens, error, fragment = BAD_TOKENS[case]
    if metric == "nll_oracle":
        fn, model, arg = nll_oracle, tiny_oracle, "samples"
    else:
        fn, model, arg = nll_test, tiny_generator, "held_out"
    with pytest.raises(error) as info:
        fn(model, tokens)
    message = str(info.value)
    assert arg in message
    assert fragment in message


@pytest.mark.parametrize("bad_model", [None, "oracle", np.zeros((2, 2)), "discriminator"])
def test_non_model_first_argument(bad_model: Any, tiny_discriminator: Discriminator) -> None:
    if isinstance(bad_model, str) and bad_model == "discriminator":
        bad_model = tiny_discriminator
    tokens = _tokens(2, 6)
    with pytest.raises(TypeError) as info:
        nll_oracle(bad_model, tokens)
    assert "oracle" in str(info.value)
    assert type(bad_model).__name__ in str(info.value)
    with pytest.raises(TypeError) as info:
        nll_test(bad_model, tokens)
    assert "generator" in str(info.value)
    assert type(bad_model).__name__ in str(info.value)


def test_arguments_in_the_wrong_order(tiny_oracle: OracleLSTM) -> None:
    tokens = _tokens(2, 7)
    with pytest.raises(TypeError, match="oracle"):
        nll_oracle(tokens, tiny_oracle)  # type: ignore[arg-type]
