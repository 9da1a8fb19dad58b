"""Evaluation metrics of the paper's synthetic benchmark.

* NLL-oracle: mean per-token negative log-likelihood (nats) that the oracle gives to a
  generator's samples; lower means the samples look more like the real distribution.
* NLL-test: mean per-token negative log-likelihood that the generator gives to held-out real
  (oracle) sequences; lower means the generator covers the real distribution better.
"""

from __future__ import annotations

from typing import Any

from seqgan_gym._checks import check_tokens
from seqgan_gym.models import TokenLSTM


def nll_oracle(oracle: TokenLSTM, samples: Any) -> float:
    """The paper's NLL-oracle: the oracle's mean per-token NLL of ``samples``.

    :param oracle: the ``OracleLSTM`` that defines the real distribution.
    :param samples: generated token ids, ``[n, T]`` (tensor or array), ``n >= 1``.
    :return: the mean over all ``n * T`` tokens, in nats.
    """
    return _mean_nll(oracle, samples, "oracle", "samples")


def nll_test(generator: TokenLSTM, held_out: Any) -> float:
    """NLL-test: the generator's mean per-token NLL of held-out real sequences.

    :param generator: the model under evaluation (an ``LSTMGenerator``).
    :param held_out: real token ids, ``[n, T]`` (tensor or array), ``n >= 1``.
    :return: the mean over all ``n * T`` tokens, in nats.
    """
    return _mean_nll(generator, held_out, "generator", "held_out")


def _mean_nll(model: TokenLSTM, tokens: Any, model_name: str, name: str) -> float:
    if not isinstance(model, TokenLSTM):
        raise TypeError(f"{model_name} must be a TokenLSTM (OracleLSTM or LSTMGenerator), got {type(model).__name__}")
    tokens = check_tokens(name, tokens, model.vocab_size, max_len=model.seq_len, device=model.device)
    if tokens.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sequence, got shape {tuple(tokens.shape)}")
    # Every sequence has the same length, so the mean of per-sequence means is the per-token mean.
    return float(model.nll(tokens).mean())
