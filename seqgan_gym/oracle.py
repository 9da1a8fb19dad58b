"""The paper's synthetic benchmark: a randomly initialised LSTM plays the real data distribution.

``OracleLSTM.seeded`` builds the default oracle (every parameter N(0, 1) from a seeded CPU
``torch.Generator``, so it is the same on every machine); ``OracleLSTM.from_paper_file`` loads
the SeqGAN authors' own oracle, a pickle of 15 float32 numpy arrays, through an unpickler that
admits numpy arrays and nothing else.
"""

from __future__ import annotations

import io
import os
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqgan_gym._checks import DEFAULT_ORACLE_SEED, check_memory, describe_non_finite
from seqgan_gym.generator import TokenLSTM

#: The arrays of the paper's pickle, in file order (gate o is "og" in the reference code).
PAPER_ARRAY_NAMES: tuple[str, ...] = (
    "embeddings", "Wi", "Ui", "bi", "Wf", "Uf", "bf", "Wog", "Uog", "bog", "Wc", "Uc", "bc", "Wout", "bout",
)  # fmt: skip


class OracleLoadError(ValueError):
    """An oracle file that is missing, not a pickle of numpy arrays, or of the wrong layout."""


# The globals a pickle of plain numpy arrays needs (numpy 1.x and 2.x module names). Python 3
# writes the raw bytes of protocols 0-2 through ``_codecs.encode`` (a pure data transform, also
# on torch's weights-only list), and protocol 5 (``pickle.dump``'s default) rebuilds arrays with
# ``numpy._core.numeric._frombuffer`` (``frombuffer`` + ``reshape``).
_ALLOWED_GLOBALS = frozenset(
    {
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.numeric", "_frombuffer"),
        ("_codecs", "encode"),
    }
)


class _NumpyArrayUnpickler(pickle.Unpickler):
    """Admits numpy arrays (and lists/tuples of them); anything else is refused before it runs."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused global {module}.{name}: only numpy arrays are allowed")


def load_numpy_pickle(path: str | os.PathLike[str]) -> Any:
    """Unpickle ``path`` admitting only numpy arrays, lists and tuples; never executes other code.

    Python 2 pickles (the paper's files) are read with ``encoding="latin1"``, as numpy requires.
    """
    path = Path(path)
    try:
        check_memory(f"oracle file {str(path)!r}", path.stat().st_size)  # read whole: it must fit
        data = path.read_bytes()
    except ValueError as err:
        raise OracleLoadError(str(err)) from None
    except OSError as err:
        raise OracleLoadError(f"cannot read oracle file {str(path)!r}: {err.strerror or err}") from err
    try:
        return _NumpyArrayUnpickler(io.BytesIO(data), encoding="latin1").load()
    except pickle.UnpicklingError as err:
        raise OracleLoadError(f"oracle file {str(path)!r} is not a plain pickle of numpy arrays: {err}") from err
    except Exception as err:  # truncated or garbage bytes raise many types inside pickle
        raise OracleLoadError(f"oracle file {str(path)!r} is corrupt: {type(err).__name__}: {err}") from err


class OracleLSTM(TokenLSTM):
    """The oracle G_oracle of the paper's synthetic experiment (frozen; see ``TokenLSTM``).

    Build it with :meth:`seeded` or :meth:`from_paper_file`; ``sample(n)`` draws the real data and
    ``nll(tokens)`` scores a generator's samples (the NLL-oracle metric).
    """

    def __init__(
        self,
        vocab_size: int = 5000,
        seq_len: int = 20,
        emb_dim: int = 32,
        hidden_dim: int = 32,
        start_token: int = 0,
    ) -> None:
        super().__init__(vocab_size, seq_len, emb_dim, hidden_dim, start_token)
        self.requires_grad_(False)

    @classmethod
    def seeded(
        cls,
        seed: int = DEFAULT_ORACLE_SEED,
        vocab_size: int = 5000,
        seq_len: int = 20,
        emb_dim: int = 32,
        hidden_dim: int = 32,
    ) -> OracleLSTM:
        """The paper's recipe (every parameter N(0, 1)) from a fixed seed: identical on every machine.

        The 15 arrays are drawn in the paper's file order from one CPU ``torch.Generator``.
        """
        oracle = cls(vocab_size, seq_len, emb_dim, hidden_dim)
        gen = torch.Generator().manual_seed(int(seed))
        shapes = _paper_shapes(oracle.vocab_size, oracle.emb_dim, oracle.hidden_dim)
        oracle.load_paper_arrays([torch.randn(shape, generator=gen).numpy() for shape in shapes])
        return oracle

    @classmethod
    def from_paper_file(cls, path: str | os.PathLike[str], seq_len: int = 20) -> OracleLSTM:
        """Load the SeqGAN authors' oracle (``target_params.pkl``): 15 float32 arrays (docs/design.md §1).

        The arrays come in the order of :data:`PAPER_ARRAY_NAMES`; sizes (V, embedding, hidden) are
        read from them. Raises :class:`OracleLoadError` (a ``ValueError``) naming the file for a
        missing file, a pickle that refers to anything but numpy arrays (nothing in it is
        executed), a wrong count, shape or dtype, or a NaN or infinite parameter (naming the array).
        """
        arrays = load_numpy_pickle(path)
        where = f"oracle file {str(path)!r}"
        if not isinstance(arrays, (list, tuple)) or len(arrays) != len(PAPER_ARRAY_NAMES):
            got = f"{len(arrays)} items" if isinstance(arrays, (list, tuple)) else type(arrays).__name__
            raise OracleLoadError(f"{where} must hold a list of {len(PAPER_ARRAY_NAMES)} numpy arrays, got {got}")
        for name, array in zip(PAPER_ARRAY_NAMES, arrays, strict=True):
            if not isinstance(array, np.ndarray) or array.dtype != np.float32:
                kind = getattr(array, "dtype", type(array).__name__)
                raise OracleLoadError(f"{where}: array {name!r} must be a float32 numpy array, got {kind}")
            if not np.isfinite(array).all():  # else sampling fails later, naming neither file nor array
                raise OracleLoadError(f"{where}: array {name!r} holds non-finite values: {describe_non_finite(array)}")
        if arrays[0].ndim != 2:
            raise OracleLoadError(f"{where}: 'embeddings' must be 2-D [V, emb], got shape {arrays[0].shape}")
        if arrays[3].ndim != 1:
            raise OracleLoadError(f"{where}: 'bi' must be 1-D [hidden], got shape {arrays[3].shape}")
        (vocab_size, emb_dim), (hidden_dim,) = arrays[0].shape, arrays[3].shape
        try:
            oracle = cls(vocab_size=vocab_size, seq_len=seq_len, emb_dim=emb_dim, hidden_dim=hidden_dim)
        except ValueError as err:
            raise OracleLoadError(f"{where}: {err}") from err
        try:
            oracle.load_paper_arrays(arrays)
        except ValueError as err:
            raise OracleLoadError(f"{where}: {err}") from err
        return oracle

    def load_paper_arrays(self, arrays: Sequence[np.ndarray]) -> None:
        """Set the parameters from the 15 arrays in the paper's order (shapes checked)."""
        expected = _paper_shapes(self.vocab_size, self.emb_dim, self.hidden_dim)
        for name, array, shape in zip(PAPER_ARRAY_NAMES, arrays, expected, strict=True):
            if tuple(array.shape) != shape:
                raise ValueError(f"array {name!r} must have shape {shape}, got {tuple(array.shape)}")
        t = [torch.as_tensor(np.asarray(a, dtype=np.float32)) for a in arrays]
        emb, wi, ui, bi, wf, uf, bf, wo, uo, bo, wc, uc, bc, w_out, b_out = t
        with torch.no_grad():  # fused gate order of TokenLSTM: i, f, o, c
            self.embedding.copy_(emb)
            self.w_x.copy_(torch.cat([wi, wf, wo, wc], dim=1))
            self.w_h.copy_(torch.cat([ui, uf, uo, uc], dim=1))
            self.bias.copy_(torch.cat([bi, bf, bo, bc]))
            self.w_out.copy_(w_out)
            self.b_out.copy_(b_out)

    def paper_arrays(self) -> list[np.ndarray]:
        """The parameters as the paper's 15 float32 arrays (inverse of :meth:`load_paper_arrays`)."""
        arrays = [self.embedding]
        for w, u, b in zip(self.w_x.chunk(4, dim=1), self.w_h.chunk(4, dim=1), self.bias.chunk(4), strict=True):
            arrays += [w, u, b]
        arrays += [self.w_out, self.b_out]
        return [a.detach().cpu().numpy().astype(np.float32) for a in arrays]


def _paper_shapes(vocab_size: int, emb_dim: int, hidden_dim: int) -> list[tuple[int, ...]]:
    v, e, h = vocab_size, emb_dim, hidden_dim
    gate = [(e, h), (h, h), (h,)]
    return [(v, e), *gate, *gate, *gate, *gate, (h, v), (v,)]
