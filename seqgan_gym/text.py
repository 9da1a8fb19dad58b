"""Real text for SeqGAN: a vocabulary with an end-of-sequence token, and corpora as fixed-length token tensors.

The paper's text experiments (and Texygen's) generate sequences of a fixed length T. A sentence
of L <= T tokens becomes its L token ids followed by T - L end-of-sequence ids; the text of a
generated sequence is everything before its first end-of-sequence token. So the generation MDP,
the wrapper, the agents and the discriminator are the same as on the oracle benchmark.

Built-in corpora (``seqgan_gym/data``, from Texygen, MIT; captions from MS-COCO, CC BY 4.0):

* ``"coco"``: 10,000 image captions to train on (``coco_train.txt``) and 10,000 held out
  (``coco_test.txt``), tokenized at whitespace (punctuation stays attached: ``"wheel."``); T = 35
  (the longest caption).
* ``"poems"``: 16,394 Chinese quatrains (``poems.txt``, 15,993 distinct), one token per
  character; a fixed, seeded 10% of the distinct poems (1,599) is held out as the test set, the
  rest is the training set; T = 24.

A corpus file's default T (:func:`default_seq_len`) is the 99th percentile of its line lengths,
at most :data:`DEFAULT_SEQ_LEN_CAP`: one stray long line does not set the length of every sequence.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import torch

from seqgan_gym._checks import MAX_SEQ_LEN, check_int

EOS = "<eos>"
EOS_ID = 0
LEVELS = ("word", "char")
BUILTIN_CORPORA = ("coco", "poems")
#: T of the built-in corpora: their longest training sentence (Texygen's), so none is dropped.
BUILTIN_SEQ_LEN = {"coco": 35, "poems": 24}
#: The percentile of a corpus file's line lengths that sets its default T ...
DEFAULT_SEQ_LEN_PERCENTILE = 99
#: ... and the most that default may be (an explicit ``seq_len`` may go up to ``MAX_SEQ_LEN``).
DEFAULT_SEQ_LEN_CAP = 100
_POEMS_TEST_FRACTION = 0.1
_POEMS_SPLIT_SEED = 0


def tokenize(line: str, level: str) -> list[str]:
    """Split one line into tokens: at whitespace (``"word"``) or into non-space characters (``"char"``)."""
    if level == "word":
        return line.split()
    if level == "char":
        return [c for c in line if not c.isspace()]
    raise ValueError(f"level must be one of {list(LEVELS)}, got {level!r}")


def default_seq_len(lengths: Sequence[int]) -> int:
    """The default T of a corpus file: the 99th percentile of its ``lengths`` (tokens per line), at most 100.

    The percentile is the nearest rank (the ``ceil(0.99 n)``-th shortest line, a length that occurs),
    so a file of fewer than 100 lines gets its longest line, and the few longest lines of a bigger
    one (at most 1%, unless the cap drops more) are dropped (counted in ``TextCorpus.n_dropped``)
    rather than padding every sequence to their length.
    """
    if not lengths:
        raise ValueError("lengths must hold at least one line length")
    rank = -(-DEFAULT_SEQ_LEN_PERCENTILE * len(lengths) // 100)  # ceil, in integers (no float rounding)
    return min(sorted(lengths)[rank - 1], DEFAULT_SEQ_LEN_CAP)


@dataclass(frozen=True)
class Vocabulary:
    """Token strings and their ids; id 0 is the end-of-sequence token ``"<eos>"``.

    :ivar tokens: ``tokens[i]`` is the string of id ``i``; ``tokens[0] == "<eos>"``.
    :ivar level: ``"word"`` (tokens joined with spaces when decoding) or ``"char"`` (joined directly).
    """

    tokens: tuple[str, ...]
    level: str = "word"
    _ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {list(LEVELS)}, got {self.level!r}")
        if not self.tokens or self.tokens[0] != EOS:
            raise ValueError(f"tokens must start with the end-of-sequence token {EOS!r}")
        ids = {token: i for i, token in enumerate(self.tokens)}
        if len(ids) != len(self.tokens):
            raise ValueError("tokens must be distinct")
        object.__setattr__(self, "_ids", ids)

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], level: str = "word") -> Vocabulary:
        """The vocabulary of tokenized ``sentences``: ``"<eos>"``, then tokens by count (ties by string)."""
        counts = Counter(token for sentence in sentences for token in sentence)
        if EOS in counts:
            raise ValueError(f"the text contains the reserved token {EOS!r}")
        ordered = sorted(counts, key=lambda token: (-counts[token], token))
        return cls((EOS, *ordered), level)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, sentence: Sequence[str], seq_len: int) -> list[int]:
        """Ids of a tokenized sentence of at most ``seq_len`` tokens, padded with ``<eos>`` to ``seq_len``."""
        if len(sentence) > seq_len:
            raise ValueError(f"sentence has {len(sentence)} tokens, more than seq_len={seq_len}")
        try:
            ids = [self._ids[token] for token in sentence]
        except KeyError as err:
            raise ValueError(f"token {err.args[0]!r} is not in the vocabulary") from None
        return ids + [EOS_ID] * (seq_len - len(ids))

    def to_tokens(self, ids: Iterable[int]) -> list[str]:
        """The token strings before the first ``<eos>`` of one sequence of ids."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS_ID:
                break
            if not 0 <= i < len(self.tokens):
                raise ValueError(f"ids must be token ids in [0, {len(self.tokens) - 1}], got {i}")
            out.append(self.tokens[i])
        return out

    def decode(self, ids: Iterable[int]) -> str:
        """The text of one sequence of ids: the tokens before its first ``<eos>``, joined by ``level``."""
        return (" " if self.level == "word" else "").join(self.to_tokens(ids))


@dataclass(frozen=True)
class TextCorpus:
    """A training set and an optional test set of tokenized sentences, with their vocabulary.

    :ivar vocabulary: built from the training sentences (every token of ``real_data`` is in it).
    :ivar seq_len: T; every training sentence has at most T tokens.
    :ivar train: the tokenized training sentences (non-empty, at most T tokens each).
    :ivar test: the tokenized test sentences (the BLEU references; may hold tokens outside the
        vocabulary), or ``None``.
    :ivar n_dropped: training lines dropped (left out whole, never cut) because they have more than T tokens.
    :ivar name: ``"coco"``, ``"poems"`` or the path of the training file.
    """

    vocabulary: Vocabulary
    seq_len: int
    train: tuple[tuple[str, ...], ...]
    test: tuple[tuple[str, ...], ...] | None
    n_dropped: int = 0
    name: str = ""

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    @classmethod
    def load(
        cls,
        corpus: str | os.PathLike[str] = "coco",
        seq_len: int | None = None,
        test_corpus: str | os.PathLike[str] | None = None,
        level: str | None = None,
    ) -> TextCorpus:
        """Load a built-in corpus (``"coco"``, ``"poems"``) or a UTF-8 text file, one sentence a line.

        :param corpus: ``"coco"``, ``"poems"`` or the path of a training file. Lines end at ``"\\n"``
            only (a ``"\\r"`` before it is dropped); blank lines are skipped.
        :param seq_len: T, ``1 <= T <= MAX_SEQ_LEN`` (10,000); ``None``: 35 for ``"coco"``, 24 for
            ``"poems"``, else :func:`default_seq_len` (the 99th percentile of the line lengths, at most
            100; a warning says how many lines that drops). Longer lines are dropped whole (counted
            in ``n_dropped``); it is an error if none is left.
        :param test_corpus: the path of a test file (only with a path ``corpus``; the built-in corpora
            come with their test sets).
        :param level: ``"word"`` or ``"char"``; ``None``: ``"char"`` for the poems, else ``"word"``.
        """
        if level is not None and level not in LEVELS:
            raise ValueError(f"level must be one of {list(LEVELS)} or None, got {level!r}")
        if seq_len is not None:
            seq_len = check_int("seq_len", seq_len, minimum=1, maximum=MAX_SEQ_LEN)
        if isinstance(corpus, str) and corpus in BUILTIN_CORPORA:
            if test_corpus is not None:
                raise ValueError(f"test_corpus applies to a corpus file, not to the built-in corpus {corpus!r}")
            level = level or ("char" if corpus == "poems" else "word")
            if corpus == "coco":
                train_lines = read_lines(data_file("coco_train.txt"), "corpus")
                test_lines: list[str] | None = read_lines(data_file("coco_test.txt"), "test_corpus")
            else:
                poems = read_lines(data_file("poems.txt"), "corpus")
                # Split the distinct poems (the file repeats some), so no test poem is also trained on.
                distinct = sorted(set(poems))
                order = np.random.default_rng(_POEMS_SPLIT_SEED).permutation(len(distinct))
                held_out = {distinct[i] for i in order[: round(_POEMS_TEST_FRACTION * len(distinct))]}
                test_lines = [poem for poem in poems if poem in held_out]
                train_lines = [poem for poem in poems if poem not in held_out]
            name = corpus
        elif isinstance(corpus, (str, os.PathLike)):
            path = Path(corpus)
            if not path.is_file():
                raise ValueError(
                    f"corpus must be one of {list(BUILTIN_CORPORA)} or the path of a text file, got {corpus!r}"
                )
            level = level or "word"
            train_lines = read_lines(path, "corpus")
            if test_corpus is not None and not isinstance(test_corpus, (str, os.PathLike)):
                raise TypeError(
                    f"test_corpus must be the path of a text file or None, got {type(test_corpus).__name__}"
                )
            test_lines = None if test_corpus is None else read_lines(Path(test_corpus), "test_corpus")
            name = str(path)
        else:
            raise TypeError(
                f"corpus must be one of {list(BUILTIN_CORPORA)} or the path of a text file, got {type(corpus).__name__}"
            )

        sentences = [tokenize(line, level) for line in train_lines]
        defaulted = seq_len is None
        if seq_len is None:
            builtin = isinstance(corpus, str) and corpus in BUILTIN_SEQ_LEN  # not a file that happens to be named so
            seq_len = BUILTIN_SEQ_LEN[corpus] if builtin else default_seq_len([len(s) for s in sentences])
        kept = tuple(tuple(s) for s in sentences if len(s) <= seq_len)
        if defaulted and len(kept) < len(sentences):  # the user chose no T: say what the default cost
            warnings.warn(
                f"corpus {name!r}: seq_len=None became T={seq_len} (the {DEFAULT_SEQ_LEN_PERCENTILE}th percentile "
                f"of the line lengths, at most {DEFAULT_SEQ_LEN_CAP}), which drops {len(sentences) - len(kept)} of "
                f"{len(sentences)} lines (the longest has {max(len(s) for s in sentences)} tokens); pass seq_len "
                "to choose T",
                stacklevel=2,
            )
        if not kept:
            raise ValueError(
                f"corpus {name!r} has no line of at most seq_len={seq_len} tokens (the shortest has "
                f"{min(len(s) for s in sentences)})"
            )
        test = None if test_lines is None else tuple(tuple(tokenize(line, level)) for line in test_lines)
        return cls(Vocabulary.build(kept, level), seq_len, kept, test, len(sentences) - len(kept), name)

    def real_data(self) -> torch.Tensor:
        """The training sentences as ``LongTensor[n, T]``, each padded with ``<eos>`` (id 0)."""
        return torch.tensor([self.vocabulary.encode(s, self.seq_len) for s in self.train], dtype=torch.long)

    def to_tokens(self, samples: Any) -> list[list[str]]:
        """The token strings of each generated sequence (before its first ``<eos>``): BLEU's input.

        :param samples: token ids ``[n, T]`` (tensor or array).
        """
        rows = samples.tolist() if isinstance(samples, (torch.Tensor, np.ndarray)) else samples
        return [self.vocabulary.to_tokens(row) for row in rows]

    def decode(self, samples: Any) -> list[str]:
        """The text of each generated sequence. :param samples: token ids ``[n, T]``."""
        joiner = " " if self.vocabulary.level == "word" else ""
        return [joiner.join(tokens) for tokens in self.to_tokens(samples)]


def data_file(name: str) -> Path:
    """The path of one of the package's corpus files (``coco_train.txt``, ``coco_test.txt``, ``poems.txt``)."""
    return Path(str(resources.files("seqgan_gym") / "data" / name))


def read_lines(path: Path, name: str) -> list[str]:
    """The non-blank lines of a UTF-8 text file (split at ``"\\n"`` only), stripped; a clear error naming ``name``."""
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ValueError(f"{name}: cannot read {str(path)!r}: {err.strerror or err}") from err
    if b"\x00" in raw:
        raise ValueError(f"{name}: {str(path)!r} is a binary file (it holds NUL bytes), not UTF-8 text")
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark is not a token
    except UnicodeDecodeError as err:
        raise ValueError(f"{name}: {str(path)!r} is not UTF-8 text (invalid byte at offset {err.start})") from None
    # "\n" only: str.splitlines also breaks at U+2028, U+0085, form feed, \x1c-\x1e, ... inside a
    # sentence. A CRLF file's "\r" goes with the rest of the surrounding whitespace.
    lines = [line.strip() for line in text.split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError(f"{name}: {str(path)!r} is empty (no non-blank line)")
    return lines
