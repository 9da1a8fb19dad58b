"""Tokenizers for text corpora: how a line becomes token strings, and token strings become text again.

A :class:`~seqgan_gym.text.TextCorpus` splits each line of its files with one :class:`Tokenizer`
and its :class:`~seqgan_gym.text.Vocabulary` joins generated tokens back into text with the same one:

* :class:`WhitespaceTokenizer` (``"word"``, the default): the line split at whitespace, tokens
  joined with single spaces. Punctuation stays attached (``"wheel."``), as in Texygen's COCO.
* :class:`CharTokenizer` (``"char"``): every character, a run of whitespace one ``" "`` token,
  tokens joined directly, so English keeps its spaces.
* :class:`HFTokenizer` (``"huggingface"``): a HuggingFace ``tokenizers.Tokenizer`` (BPE, WordPiece,
  Unigram, ...; e.g. a ``tokenizer.json`` file): the line's subword pieces, joined by the
  tokenizer's own decoder, so byte-level BPE pieces (``"Ġman"``) decode back to words. It needs the
  optional package ``tokenizers``: ``pip install "seqgan-gym[text]"``.

:func:`make_tokenizer` turns what a user passes (``"word"``, ``"char"``, a path, an instance) into a
tokenizer; :meth:`Tokenizer.to_dict` and :func:`tokenizer_from_dict` store and restore one as plain
JSON-able data (a HuggingFace tokenizer as its own JSON: no pickle, no code runs on loading).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

if TYPE_CHECKING:
    import tokenizers

#: The kinds of tokenizer, as in ``Tokenizer.kind`` and ``to_dict()["kind"]``.
KINDS = ("word", "char", "huggingface")
#: What :func:`make_tokenizer` accepts.
TokenizerSpec: TypeAlias = "str | os.PathLike[str] | Tokenizer | tokenizers.Tokenizer"

MISSING_TOKENIZERS = (
    "a HuggingFace tokenizer needs the optional package 'tokenizers': "
    'pip install "seqgan-gym[text]" (or bash scripts/setup.sh dev)'
)
_ALLOWED = (
    "'word', 'char', the path of a HuggingFace tokenizer.json file, a seqgan_gym.tokenizers.Tokenizer "
    "or a tokenizers.Tokenizer"
)


def _import_tokenizers() -> ModuleType:
    """The ``tokenizers`` package, imported on first use; an ImportError that says how to install it."""
    try:
        import tokenizers
    except ImportError as err:
        raise ImportError(MISSING_TOKENIZERS) from err
    return tokenizers


class Tokenizer:
    """How the lines of a corpus become token strings, and token strings text.

    Subclasses set :attr:`kind` and implement :meth:`split`, :meth:`join` and :meth:`to_dict`.
    Two tokenizers are equal when they are of the same class and their ``to_dict()`` agree.

    :cvar kind: ``"word"``, ``"char"`` or ``"huggingface"`` (the key of :func:`tokenizer_from_dict`).
    """

    kind: ClassVar[str] = ""

    def split(self, line: str) -> list[str]:
        """The token strings of one line."""
        raise NotImplementedError

    def join(self, tokens: Sequence[str]) -> str:
        """The text of a sequence of token strings."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The tokenizer as plain JSON-able data: ``{"kind": ..., ...}``; :func:`tokenizer_from_dict` inverts it."""
        return {"kind": self.kind}

    def _key(self) -> Any:
        """What equality and the hash compare, besides the class."""
        return ()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Tokenizer):
            return NotImplemented
        return type(self) is type(other) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class WhitespaceTokenizer(Tokenizer):
    """``"word"``: a line split at whitespace (``line.split()``); tokens joined with single spaces."""

    kind: ClassVar[str] = "word"

    def split(self, line: str) -> list[str]:
        return line.split()

    def join(self, tokens: Sequence[str]) -> str:
        return " ".join(tokens)


class CharTokenizer(Tokenizer):
    """``"char"``: every character of a line; a run of whitespace is one ``" "`` token; tokens joined directly.

    Leading and trailing whitespace is dropped, so ``join(split(line))`` is ``line`` with its
    whitespace normalised (``" ".join(line.split())``): English keeps its spaces.
    """

    kind: ClassVar[str] = "char"

    def split(self, line: str) -> list[str]:
        return list(" ".join(line.split()))

    def join(self, tokens: Sequence[str]) -> str:
        return "".join(tokens)


class HFTokenizer(Tokenizer):
    """``"huggingface"``: a HuggingFace ``tokenizers.Tokenizer`` (BPE, WordPiece, Unigram, ...).

    ``split`` is the tokenizer's pieces of the line without special tokens
    (``encode(line, add_special_tokens=False).tokens``); ``join`` decodes the pieces' ids with the
    tokenizer's decoder, so byte-level BPE pieces (``"Ġman"``) become words again. The tokenizer is
    copied, with truncation and padding turned off (a corpus line is never cut or padded by it).

    :param tokenizer: a ``tokenizers.Tokenizer``, or the path of its ``tokenizer.json`` file.
    :raises ImportError: when the optional package ``tokenizers`` is not installed.
    """

    kind: ClassVar[str] = "huggingface"

    def __init__(self, tokenizer: tokenizers.Tokenizer | str | os.PathLike[str]) -> None:
        hf = _import_tokenizers()
        if isinstance(tokenizer, (str, os.PathLike)):
            path = Path(tokenizer)
            if not path.is_file():
                raise ValueError(f"tokenizer: no tokenizer.json file at {str(path)!r}")
            try:
                tokenizer = hf.Tokenizer.from_file(str(path))
            except Exception as err:  # tokenizers raises plain Exceptions for a bad file
                raise ValueError(f"tokenizer: {str(path)!r} is not a HuggingFace tokenizer.json file: {err}") from None
        elif not isinstance(tokenizer, hf.Tokenizer):
            raise ValueError(
                f"tokenizer must be a tokenizers.Tokenizer or the path of a tokenizer.json file, "
                f"got {type(tokenizer).__name__}"
            )
        copy = hf.Tokenizer.from_str(tokenizer.to_str())  # ours alone: later changes to the caller's do not leak in
        copy.no_truncation()
        copy.no_padding()
        self._tokenizer = copy
        self._json: str = copy.to_str()

    @property
    def tokenizer(self) -> tokenizers.Tokenizer:
        """The wrapped HuggingFace tokenizer (a copy of the one given)."""
        return self._tokenizer

    def split(self, line: str) -> list[str]:
        """The pieces of ``line``; a ``ValueError`` names what the tokenizer drops (a model with no unknown token).

        The pieces' offsets must cover every character of the line that is not whitespace: a BPE or
        WordPiece model without an unknown token skips what it cannot encode, without a word.
        """
        encoding = self._tokenizer.encode(line, add_special_tokens=False)
        covered = [False] * len(line)
        for start, end in encoding.offsets:
            covered[start:end] = [True] * (end - start)
        dropped = sorted({c for c, seen in zip(line, covered, strict=True) if not seen and not c.isspace()})
        if dropped:
            raise ValueError(
                f"the tokenizer cannot encode {''.join(dropped)!r} in the line {line[:60]!r}: it has no unknown token "
                "for them (give it one, or a byte-level pre-tokenizer, or remove them from the corpus)"
            )
        return list(encoding.tokens)

    def join(self, tokens: Sequence[str]) -> str:
        ids = []
        for token in tokens:
            i = self._tokenizer.token_to_id(token)
            if i is None:
                raise ValueError(f"token {token!r} is not in the HuggingFace tokenizer's vocabulary")
            ids.append(i)
        return self._tokenizer.decode(ids)

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": "huggingface", "json": tokenizer.to_str()}``: the tokenizer's own JSON."""
        return {"kind": self.kind, "json": self._json}

    def _key(self) -> Any:
        return self._json

    def __repr__(self) -> str:
        model = type(self._tokenizer.model).__name__
        return f"HFTokenizer(model={model}, vocab_size={self._tokenizer.get_vocab_size()})"


def make_tokenizer(spec: TokenizerSpec) -> Tokenizer:
    """The tokenizer of ``spec``: ``"word"``, ``"char"``, the path of a ``tokenizer.json`` file, or an instance.

    :param spec: ``"word"`` (:class:`WhitespaceTokenizer`), ``"char"`` (:class:`CharTokenizer`), the
        path of a HuggingFace ``tokenizer.json`` file or a ``tokenizers.Tokenizer``
        (:class:`HFTokenizer`), or a :class:`Tokenizer` (returned as it is).
    :raises ValueError: for anything else, naming the argument ``tokenizer`` and what it may be.
    """
    if isinstance(spec, Tokenizer):
        return spec
    if isinstance(spec, str) and spec == "word":
        return WhitespaceTokenizer()
    if isinstance(spec, str) and spec == "char":
        return CharTokenizer()
    if isinstance(spec, (str, os.PathLike)):
        if not Path(spec).is_file():
            raise ValueError(f"tokenizer must be {_ALLOWED}, got {spec!r} (no such file)")
        return HFTokenizer(spec)
    hf = sys.modules.get("tokenizers")  # an instance of its Tokenizer means the package is imported
    if hf is not None and isinstance(spec, hf.Tokenizer):
        return HFTokenizer(spec)
    raise ValueError(f"tokenizer must be {_ALLOWED}, got {spec!r} of type {type(spec).__name__}")


def tokenizer_from_dict(data: Mapping[str, Any]) -> Tokenizer:
    """The tokenizer that ``Tokenizer.to_dict()`` gave ``data``; checked, with errors that say what is wrong.

    Only plain data is read (a HuggingFace tokenizer from its own JSON): no pickle, no code runs.
    """
    if not isinstance(data, Mapping):
        raise ValueError(f"tokenizer data must be a dict with a 'kind', got {type(data).__name__}")
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"tokenizer kind must be one of {list(KINDS)}, got {kind!r}")
    expected = {"kind", "json"} if kind == "huggingface" else {"kind"}
    if set(data) != expected:
        raise ValueError(
            f"tokenizer data of kind {kind!r} must have the keys {sorted(expected)}, got {sorted(map(str, data))}"
        )
    if kind == "word":
        return WhitespaceTokenizer()
    if kind == "char":
        return CharTokenizer()
    text = data["json"]
    if not isinstance(text, str):
        raise ValueError(f"tokenizer data 'json' must be a string (a tokenizer.json), got {type(text).__name__}")
    hf = _import_tokenizers()
    try:
        tokenizer = hf.Tokenizer.from_str(text)
    except Exception as err:  # tokenizers raises plain Exceptions for bad JSON
        raise ValueError(f"tokenizer data 'json' is not a HuggingFace tokenizer.json: {err}") from None
    return HFTokenizer(tokenizer)
