"""Real text for SeqGAN: a vocabulary with an end-of-sequence token, and corpora as fixed-length token tensors.

The paper's text experiments (and Texygen's) generate sequences of a fixed length T. A sentence
of L <= T tokens becomes its L token ids followed by T - L end-of-sequence ids; the text of a
generated sequence is everything before its first end-of-sequence token. So the generation MDP,
the wrapper, the agents and the discriminator are the same as on the oracle benchmark.

A line becomes tokens by a tokenizer (:mod:`seqgan_gym.tokenizers`): ``"word"`` (split at
whitespace, the default), ``"char"`` (every character, a run of whitespace one ``" "`` token) or
a HuggingFace subword tokenizer (a ``tokenizer.json``, with the optional ``tokenizers`` package);
the vocabulary joins generated tokens back into text with the same tokenizer. BLEU is word-level
whatever the tokenizer (:meth:`TextCorpus.bleu_words`, :meth:`TextCorpus.bleu_references`: the
text split at whitespace), so scores stay comparable with Texygen's.

Built-in corpora (``seqgan_gym/data``, from Texygen, MIT; captions from MS-COCO, CC BY 4.0):

* ``"coco"``: 10,000 image captions to train on (``coco_train.txt``) and 10,000 held out
  (``coco_test.txt``), tokenized at whitespace (punctuation stays attached: ``"wheel."``); T = 35
  (the longest caption).
* ``"poems"``: 16,394 Chinese quatrains (``poems.txt``, 15,993 distinct), one token per
  character (the file separates the characters with spaces, as Texygen's does, so ``"word"``
  splits it into characters); a fixed, seeded 10% of the distinct poems (1,599) is held out as
  the test set, the rest is the training set; T = 24.

A corpus file's default T (:func:`default_seq_len`) is the longest line within the 99th percentile
of its line lengths and :data:`DEFAULT_SEQ_LEN_CAP`: one stray long line does not set the length of
every sequence.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

from seqgan_gym._checks import MAX_SEQ_LEN, MAX_VOCAB_SIZE, check_int, is_tensor
from seqgan_gym.tokenizers import Tokenizer, TokenizerSpec, WhitespaceTokenizer, make_tokenizer, tokenizer_from_dict

EOS = "<eos>"
EOS_ID = 0
BUILTIN_CORPORA = ("coco", "poems")
#: T of the built-in corpora with the ``"word"`` tokenizer: their longest training sentence (Texygen's), so none
#: is dropped.
BUILTIN_SEQ_LEN = {"coco": 35, "poems": 24}
#: The percentile of a corpus file's line lengths that sets its default T ...
DEFAULT_SEQ_LEN_PERCENTILE = 99
#: ... and the most that default may be (an explicit ``seq_len`` may go up to ``MAX_SEQ_LEN``).
DEFAULT_SEQ_LEN_CAP = 100
_POEMS_TEST_FRACTION = 0.1
_POEMS_SPLIT_SEED = 0


def default_seq_len(lengths: Sequence[int]) -> int:
    """The default T of a corpus file: the longest line within the 99th percentile of ``lengths`` and 100 tokens.

    The percentile is the nearest rank (the ``ceil(0.99 n)``-th shortest line, a length that occurs),
    so a file of fewer than 100 lines gets its longest line, and the few longest lines of a bigger
    one (at most 1%) are dropped (counted in ``TextCorpus.n_dropped``) rather than padding every
    sequence to their length. A line longer than the cap is dropped too, and T is then the longest
    line that fits: one stray 200k-token line in a file of 3-token lines leaves T = 3, not 100. If no
    line fits under the cap, T is the cap (and loading says that no line fits).
    """
    if not lengths:
        raise ValueError("lengths must hold at least one line length")
    ordered = sorted(lengths)
    rank = -(-DEFAULT_SEQ_LEN_PERCENTILE * len(ordered) // 100)  # ceil, in integers (no float rounding)
    bound = min(ordered[rank - 1], DEFAULT_SEQ_LEN_CAP)
    fitting = [n for n in ordered if n <= bound]
    return fitting[-1] if fitting else DEFAULT_SEQ_LEN_CAP


@dataclass(frozen=True)
class Vocabulary:
    """Token strings and their ids; id 0 is the end-of-sequence token ``"<eos>"``.

    :ivar tokens: ``tokens[i]`` is the string of id ``i``; ``tokens[0] == "<eos>"``.
    :ivar tokenizer: the :class:`~seqgan_gym.tokenizers.Tokenizer` that made the tokens and joins them
        into text when decoding (a spec such as ``"char"`` is turned into one by
        :func:`~seqgan_gym.tokenizers.make_tokenizer`); default ``"word"``.
    """

    tokens: tuple[str, ...]
    tokenizer: Tokenizer = field(default_factory=WhitespaceTokenizer)
    _ids: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tokenizer", make_tokenizer(self.tokenizer))
        if not self.tokens or self.tokens[0] != EOS:
            raise ValueError(f"tokens must start with the end-of-sequence token {EOS!r}")
        ids = {token: i for i, token in enumerate(self.tokens)}
        if len(ids) != len(self.tokens):
            raise ValueError("tokens must be distinct")
        object.__setattr__(self, "_ids", ids)

    @classmethod
    def build(cls, sentences: Iterable[Sequence[str]], tokenizer: TokenizerSpec = "word") -> Vocabulary:
        """The vocabulary of tokenized ``sentences``: ``"<eos>"``, then tokens by count (ties by string).

        :param sentences: token strings, as ``tokenizer.split`` gave them.
        :param tokenizer: the tokenizer that made them (see :func:`~seqgan_gym.tokenizers.make_tokenizer`).
        """
        counts = Counter(token for sentence in sentences for token in sentence)
        if EOS in counts:
            raise ValueError(f"the text contains the reserved token {EOS!r}")
        ordered = sorted(counts, key=lambda token: (-counts[token], token))
        return cls((EOS, *ordered), make_tokenizer(tokenizer))

    def to_dict(self) -> dict[str, Any]:
        """The vocabulary as plain JSON-able data: ``{"tokens": [...], "tokenizer": {...}}``."""
        return {"tokens": list(self.tokens), "tokenizer": self.tokenizer.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Vocabulary:
        """The vocabulary that :meth:`to_dict` gave ``data`` (e.g. read back from JSON), checked.

        :raises ValueError: naming what is wrong: not a dict, missing or unexpected keys, tokens that
            are not distinct strings starting with ``"<eos>"``, or bad tokenizer data. Nothing runs code.
        """
        if not isinstance(data, Mapping):
            raise ValueError(
                f"vocabulary data must be a dict with keys 'tokens' and 'tokenizer', got {type(data).__name__}"
            )
        if set(data) != {"tokens", "tokenizer"}:
            raise ValueError(
                f"vocabulary data must have the keys ['tokenizer', 'tokens'], got {sorted(map(str, data))}"
            )
        tokens = data["tokens"]
        if not isinstance(tokens, (list, tuple)) or not all(isinstance(t, str) for t in tokens):
            raise ValueError("vocabulary data 'tokens' must be a list of strings")
        if len(tokens) > MAX_VOCAB_SIZE:
            raise ValueError(f"vocabulary data has {len(tokens):,} tokens, more than {MAX_VOCAB_SIZE:,}")
        return cls(tuple(tokens), tokenizer_from_dict(data["tokenizer"]))

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
        """The text of one sequence of ids: the tokens before its first ``<eos>``, joined by the tokenizer."""
        return self.tokenizer.join(self.to_tokens(ids))


@dataclass(frozen=True)
class TextCorpus:
    """A training set and an optional test set of tokenized sentences, with their vocabulary.

    :ivar vocabulary: built from the training sentences (every token of ``real_data`` is in it); its
        ``tokenizer`` made the tokens and decodes samples.
    :ivar seq_len: T; every training sentence has at most T tokens.
    :ivar train: the tokenized training sentences (non-empty, at most T tokens each).
    :ivar test: the tokenized test sentences (may hold tokens outside the vocabulary), or ``None``.
    :ivar n_dropped: training lines dropped (left out whole, never cut) because they have more than T tokens.
    :ivar name: ``"coco"``, ``"poems"`` or the path of the training file.
    :ivar test_lines: the raw test lines (stripped), or ``None``: BLEU's references are these split at
        whitespace (:meth:`bleu_references`).
    """

    vocabulary: Vocabulary
    seq_len: int
    train: tuple[tuple[str, ...], ...]
    test: tuple[tuple[str, ...], ...] | None
    n_dropped: int = 0
    name: str = ""
    test_lines: tuple[str, ...] | None = None

    @property
    def vocab_size(self) -> int:
        return len(self.vocabulary)

    @classmethod
    def load(
        cls,
        corpus: str | os.PathLike[str] = "coco",
        seq_len: int | None = None,
        test_corpus: str | os.PathLike[str] | None = None,
        tokenizer: TokenizerSpec | None = None,
    ) -> TextCorpus:
        """Load a built-in corpus (``"coco"``, ``"poems"``) or a UTF-8 text file, one sentence a line.

        :param corpus: ``"coco"``, ``"poems"`` or the path of a training file. Lines end at ``"\\n"``
            only (a ``"\\r"`` before it is dropped); blank lines, and lines the tokenizer turns into
            no token, are skipped.
        :param seq_len: T, ``1 <= T <= MAX_SEQ_LEN`` (10,000); ``None``: 35 for ``"coco"``, 24 for
            ``"poems"`` (with the ``"word"`` tokenizer), else :func:`default_seq_len` (the longest
            line within the 99th percentile of the line lengths in tokens and 100; a warning says how
            many lines that drops). Longer lines are dropped whole (counted in ``n_dropped``); it is an
            error if none is left.
        :param test_corpus: the path of a test file (only with a path ``corpus``; the built-in corpora
            come with their test sets).
        :param tokenizer: ``"word"`` (split at whitespace), ``"char"``, the path of a HuggingFace
            ``tokenizer.json``, a ``tokenizers.Tokenizer`` or a :class:`~seqgan_gym.tokenizers.Tokenizer`
            (see :func:`~seqgan_gym.tokenizers.make_tokenizer`); ``None``: ``"word"``, for every corpus
            (``poems.txt`` separates its characters with spaces, so its words are characters).
        """
        tok = make_tokenizer("word" if tokenizer is None else tokenizer)
        if seq_len is not None:
            seq_len = check_int("seq_len", seq_len, minimum=1, maximum=MAX_SEQ_LEN)
        if isinstance(corpus, str) and corpus in BUILTIN_CORPORA:
            if test_corpus is not None:
                raise ValueError(f"test_corpus applies to a corpus file, not to the built-in corpus {corpus!r}")
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

        sentences = [s for s in (tok.split(line) for line in train_lines) if s]
        if not sentences:
            raise ValueError(f"corpus {name!r}: the tokenizer turns no line into any token")
        defaulted = seq_len is None
        if seq_len is None:
            # Not a file that happens to be named so; and Texygen's T counts whitespace tokens.
            builtin = isinstance(corpus, str) and corpus in BUILTIN_SEQ_LEN and tok.kind == "word"
            seq_len = BUILTIN_SEQ_LEN[corpus] if builtin else default_seq_len([len(s) for s in sentences])
        kept = tuple(tuple(s) for s in sentences if len(s) <= seq_len)
        if defaulted and len(kept) < len(sentences):  # the user chose no T: say what the default cost
            warnings.warn(
                f"corpus {name!r}: seq_len=None became T={seq_len} (the longest line within the "
                f"{DEFAULT_SEQ_LEN_PERCENTILE}th percentile of the line lengths and {DEFAULT_SEQ_LEN_CAP}), "
                f"which drops {len(sentences) - len(kept)} of {len(sentences)} lines (the longest has "
                f"{max(len(s) for s in sentences)} tokens); choose T with seq_len (--seq-len of seqgan-gym train-text)",
                stacklevel=2,
            )
        if not kept:
            raise ValueError(
                f"corpus {name!r} has no line of at most seq_len={seq_len} tokens (the shortest has "
                f"{min(len(s) for s in sentences)})"
            )
        test = None if test_lines is None else tuple(tuple(tok.split(line)) for line in test_lines)
        raw_test = None if test_lines is None else tuple(test_lines)
        return cls(Vocabulary.build(kept, tok), seq_len, kept, test, len(sentences) - len(kept), name, raw_test)

    def real_data(self) -> torch.Tensor:
        """The training sentences as ``LongTensor[n, T]``, each padded with ``<eos>`` (id 0)."""
        import torch  # only here: a corpus loads, splits and encodes without it

        return torch.tensor([self.vocabulary.encode(s, self.seq_len) for s in self.train], dtype=torch.long)

    def to_tokens(self, samples: Any) -> list[list[str]]:
        """The token strings of each generated sequence (before its first ``<eos>``), the tokenizer's tokens.

        BLEU takes :meth:`bleu_words` (words whatever the tokenizer). :param samples: token ids ``[n, T]``
        (tensor or array).
        """
        return [self.vocabulary.to_tokens(row) for row in _rows(samples)]

    def decode(self, samples: Any) -> list[str]:
        """The text of each generated sequence, joined by the tokenizer. :param samples: token ids ``[n, T]``."""
        return [self.vocabulary.decode(row) for row in _rows(samples)]

    def bleu_words(self, samples: Any) -> list[list[str]]:
        """BLEU's hypotheses: the text of each generated sequence (:meth:`decode`) split at whitespace.

        Word-level whatever the tokenizer, so BLEU compares with Texygen's (for ``"coco"`` and
        ``"poems"`` these are the tokens). :param samples: token ids ``[n, T]``.
        """
        return [text.split() for text in self.decode(samples)]

    def bleu_references(self) -> list[list[str]]:
        """BLEU's references: each raw test line split at whitespace (words whatever the tokenizer).

        :raises ValueError: when the corpus has no test set.
        """
        if self.test_lines is not None:
            return [line.split() for line in self.test_lines]
        if self.test is not None:  # a corpus built by hand, without its raw lines
            return [self.vocabulary.tokenizer.join(s).split() for s in self.test]
        raise ValueError(f"corpus {self.name!r} has no test set (pass test_corpus to TextCorpus.load)")


def _rows(samples: Any) -> list[Any]:
    """The rows of token ids ``[n, T]`` (tensor, array or nested sequences) as lists."""
    return samples.tolist() if isinstance(samples, np.ndarray) or is_tensor(samples) else list(samples)


def data_file(name: str) -> Path:
    """The path of one of the package's corpus files (``coco_train.txt``, ``coco_test.txt``, ``poems.txt``)."""
    return Path(str(resources.files("seqgan_gym") / "data" / name))


def read_lines(path: Path, name: str) -> list[str]:
    """The non-blank lines of a UTF-8 text file, stripped; "\\n", "\\r\\n" or "\\r" ends a line.

    Errors name ``name``.
    """
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
    # Universal newlines ("\r\n", "\n" and a lone "\r", as an old Mac editor writes), and no others:
    # str.splitlines also breaks at U+2028, U+0085, form feed, \x1c-\x1e, ... inside a sentence.
    lines = [line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        raise ValueError(f"{name}: {str(path)!r} is empty (no non-blank line)")
    return lines
