"""The paper's synthetic benchmark: the oracle, the real data it generated and the discriminator."""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from seqgan_gym._checks import MAX_N_SEQUENCES, MAX_SEQ_LEN, MAX_VOCAB_SIZE, check_device, check_int, check_memory
from seqgan_gym.envs.benchmark import build_discriminator
from seqgan_gym.oracle import DEFAULT_ORACLE_SEED, OracleLSTM
from seqgan_gym.rewards import SequenceScorer

DEFAULT_VOCAB_SIZE = 5000
DEFAULT_SEQ_LEN = 20
DEFAULT_N_REAL = 10_000


#: What scores a finished sequence: ``"discriminator"`` (D(Y), the paper's reward) or
#: ``"oracle_log_likelihood"`` (the oracle's mean log-probability per token, -NLL-oracle of that
#: sequence: an evaluation signal, e.g. for RL Zoo's evaluation env; a GAN never sees it).
TERMINAL_REWARDS: tuple[str, ...] = ("discriminator", "oracle_log_likelihood")


class OracleLogLikelihood:
    """The oracle's mean per-token log-likelihood of each sequence, in the place of D (not a probability).

    ``prob_real(Y) = (1/T) log G_oracle(Y)`` (≤ 0): averaged over sequences it is minus the paper's
    NLL-oracle. It lets an evaluation loop that only reads episode returns (RL Zoo's, Optuna's
    objective) measure NLL-oracle; nothing trains it.
    """

    #: The Monte Carlo wrappers pass such an env's rewards through (an evaluation, not a GAN's reward).
    evaluation_only = True

    def __init__(self, oracle: OracleLSTM) -> None:
        self.oracle = oracle
        self.vocab_size, self.seq_len = oracle.vocab_size, oracle.seq_len

    @property
    def device(self) -> torch.device:
        return self.oracle.device

    def to(self, device: torch.device | str) -> OracleLogLikelihood:
        self.oracle = self.oracle.to(device)
        return self

    @torch.no_grad()
    def prob_real(self, tokens: torch.Tensor) -> torch.Tensor:
        """``Tensor[n]``: the mean log-probability per token of each ``LongTensor[n, seq_len]`` row."""
        return self.oracle.log_prob(tokens.to(self.device)).mean(dim=1)

    def prob_real_completions(self, prefix: torch.Tensor, suffix: torch.Tensor) -> torch.Tensor:
        """The score of N completions of each prefix: ``[B, t]`` and ``[B * N, seq_len - t]`` -> ``Tensor[B * N]``."""
        repeats = suffix.shape[0] // max(prefix.shape[0], 1)
        return self.prob_real(torch.cat([prefix.repeat_interleave(repeats, dim=0), suffix], dim=1))


@dataclass
class OracleBenchmark:
    """The oracle G_oracle, its ``n_real`` samples (the "real" training set) and the discriminator D.

    :ivar oracle: the ``OracleLSTM`` that defines the real distribution (scores NLL-oracle).
    :ivar discriminator: D; its ``prob_real`` is the terminal reward. Train this very module.
    :ivar real_data: ``LongTensor[n_real, T]`` on the CPU, sampled from the oracle with ``real_data_seed``.
    """

    oracle: OracleLSTM
    discriminator: SequenceScorer
    real_data: torch.Tensor

    @property
    def vocab_size(self) -> int:
        return self.oracle.vocab_size

    @property
    def seq_len(self) -> int:
        return self.oracle.seq_len

    @classmethod
    def build(
        cls,
        vocab_size: int | None = None,
        seq_len: int | None = None,
        oracle: OracleLSTM | str | os.PathLike[str] | None = None,
        discriminator: SequenceScorer | None = None,
        n_real: int = DEFAULT_N_REAL,
        real_data_seed: int = 0,
        discriminator_seed: int = 0,
        device: torch.device | str = "cpu",
        terminal_reward: str = "discriminator",
    ) -> OracleBenchmark:
        """The benchmark of these ``SeqGAN-Oracle-v0`` arguments (see Arguments in ``TokenGenerationEnv``)."""
        if vocab_size is not None:
            vocab_size = check_int("vocab_size", vocab_size, minimum=2, maximum=MAX_VOCAB_SIZE)
        if seq_len is not None:
            seq_len = check_int("seq_len", seq_len, minimum=1, maximum=MAX_SEQ_LEN)
        n_real = check_int("n_real", n_real, minimum=1, maximum=MAX_N_SEQUENCES)
        real_data_seed = check_int("real_data_seed", real_data_seed, minimum=0)
        discriminator_seed = check_int("discriminator_seed", discriminator_seed, minimum=0)
        device = check_device(device)

        if oracle is None:
            oracle = OracleLSTM.seeded(
                DEFAULT_ORACLE_SEED,
                vocab_size=DEFAULT_VOCAB_SIZE if vocab_size is None else vocab_size,
                seq_len=DEFAULT_SEQ_LEN if seq_len is None else seq_len,
            )
        elif isinstance(oracle, (str, os.PathLike)):
            oracle = OracleLSTM.from_paper_file(oracle, seq_len=DEFAULT_SEQ_LEN if seq_len is None else seq_len)
        elif not isinstance(oracle, OracleLSTM):
            raise TypeError(
                "oracle must be an OracleLSTM, the path of the paper's oracle file, or None; "
                f"got {type(oracle).__name__}"
            )
        for name, value, actual in (
            ("vocab_size", vocab_size, oracle.vocab_size),
            ("seq_len", seq_len, oracle.seq_len),
        ):
            if value is not None and value != actual:
                raise ValueError(f"{name}={value} does not match the oracle's {name}={actual}")
        n_ids = n_real * oracle.seq_len
        check_memory(f"real_data (n_real={n_real} x seq_len={oracle.seq_len} int64 token ids)", 8 * n_ids)
        # The real set is drawn where the oracle lives (the CPU for the built-in ones), so it is the
        # same on every machine whatever ``device`` the env then runs on.
        real_data = sample_real_data(oracle, n_real, real_data_seed)
        oracle = oracle.to(device)

        if terminal_reward not in TERMINAL_REWARDS:
            raise ValueError(f"terminal_reward must be one of {list(TERMINAL_REWARDS)}, got {terminal_reward!r}")
        if terminal_reward == "oracle_log_likelihood":
            if discriminator is not None:
                raise ValueError("discriminator must be None with terminal_reward='oracle_log_likelihood'")
            discriminator = OracleLogLikelihood(oracle)  # type: ignore[assignment]
        discriminator = build_discriminator(
            discriminator, oracle.vocab_size, oracle.seq_len, discriminator_seed, device, "the oracle"
        )
        return cls(oracle=oracle, discriminator=discriminator, real_data=real_data)

    def decode(self, tokens: Sequence[int]) -> str:
        """One sequence as text: its token ids separated by spaces."""
        return " ".join(str(int(t)) for t in tokens)


#: Real sets drawn lately, by (the oracle's weights, n_real, seed, device): SB3's ``make_vec_env``
#: builds one env per sub-env, and each would draw the same set again.
_recent_real_sets: OrderedDict[tuple[str, int, int, str], torch.Tensor] = OrderedDict()
_N_RECENT = 4
_MAX_KEPT_BYTES = 64 * 2**20  # a larger set is drawn each time rather than kept twice


def _weights_digest(module: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in module.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def sample_real_data(oracle: OracleLSTM, n_real: int, real_data_seed: int = 0) -> torch.Tensor:
    """The real set: ``n_real`` oracle samples drawn with ``real_data_seed``, ``LongTensor[n_real, T]`` on the CPU.

    The same oracle weights, size and seed give the same set; the last few are kept and handed out
    as copies, so the envs of one vector env do not each draw it again.
    """
    key = (_weights_digest(oracle), n_real, real_data_seed, str(oracle.device))
    if key in _recent_real_sets:
        _recent_real_sets.move_to_end(key)
        return _recent_real_sets[key].clone()
    generator = torch.Generator(device=oracle.device).manual_seed(real_data_seed)
    real_data = oracle.sample(n_real, generator=generator).cpu()
    if real_data.numel() * real_data.element_size() <= _MAX_KEPT_BYTES:
        _recent_real_sets[key] = real_data.clone()
        while len(_recent_real_sets) > _N_RECENT:
            _recent_real_sets.popitem(last=False)
    return real_data
