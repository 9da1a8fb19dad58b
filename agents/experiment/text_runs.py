"""SeqGAN on real text with the same trainer: a text run's configuration, its corpus and its vocabulary file.

A text run is a :class:`~agents.experiment.seqgan.SeqGANTrainer` run whose
:class:`~agents.experiment.config.SeqGANConfig` names a ``corpus`` in place of the oracle: the env
is ``SeqGAN-Text-v0``, the real set is the corpus' training sentences, and, with no oracle to score
samples, each evaluation records NLL-test on test sentences. Everything else (the units, the
checkpoints, the bit-exact resume) is the oracle run's.
BLEU is scored once the run is done (``examples/train_text.py``).

The run's folder keeps ``vocabulary.json`` (the tokens and the tokenizer, as JSON), so that its
generator can be decoded without the corpus (:mod:`agents.experiment.generate`), and a resumed run is
refused if the corpus now gives another vocabulary or other training sentences.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.experiment.config import SeqGANConfig
from seqgan_gym._io import atomic_write_json
from seqgan_gym.text import BUILTIN_CORPORA, TextCorpus, Vocabulary

if TYPE_CHECKING:
    import torch

#: The vocabulary file of a text run's folder.
VOCABULARY_NAME = "vocabulary.json"
#: The BLEU and Self-BLEU orders a text run's samples are scored with (train-text and evaluate).
BLEU_ORDERS = (2, 3, 4, 5)
SELF_BLEU_ORDERS = (2, 3, 4)

#: A text run's schedule unless told otherwise: the oracle's ``fast`` preset, sized for real text
#: (a smaller generator and fewer epochs: the corpora are of about the oracle's 10,000 sequences).
TEXT_DEFAULTS: dict[str, Any] = {
    "emb_dim": 32,
    "hidden_dim": 32,
    "mle_epochs": 30,
    "d_pretrain_rounds": 5,
    "d_pretrain_epochs": 2,
    "adversarial_epochs": 30,
    "d_steps": 1,
    "k_epochs": 1,
    "n_negatives": 2500,
    "n_eval": 2000,
}


def text_config(
    corpus: str | os.PathLike[str] = "coco",
    *,
    seq_len: int | None = None,
    test_corpus: str | os.PathLike[str] | None = None,
    tokenizer: str | os.PathLike[str] = "word",
    **fields: Any,
) -> SeqGANConfig:
    """The config of a text run: :data:`TEXT_DEFAULTS` and ``fields``, with V, T and ``n_real`` of the corpus.

    :param corpus: ``"coco"``, ``"poems"`` or the path of a training file (one sentence a line).
    :param seq_len: T (``None``: the corpus' default, see ``TextCorpus.load``).
    :param test_corpus: the test file of a file ``corpus`` (NLL-test and BLEU score against it).
    :param tokenizer: ``"word"``, ``"char"`` or the path of a HuggingFace ``tokenizer.json``.
    :param fields: any other :class:`SeqGANConfig` field.
    :raises ValueError: the corpus cannot be read, or a file corpus comes without a test file.
    """
    for name in ("vocab_size", "n_real", "corpus", "oracle_file"):
        if name in fields:
            raise ValueError(f"{name} comes from the corpus in a text run; do not pass it")
    corpus, test_corpus, tokenizer = (None if p is None else os.fspath(p) for p in (corpus, test_corpus, tokenizer))
    loaded = TextCorpus.load(corpus, seq_len=seq_len, test_corpus=test_corpus, tokenizer=tokenizer)
    if loaded.test is None:
        raise ValueError(f"test_corpus: the corpus file {corpus!r} needs a test file (NLL-test and BLEU score it)")
    try:  # NLL-test needs test sentences the run can score: refused now, not after pretraining
        held_out_sentences(loaded, 1)
    except ValueError as err:
        raise ValueError(f"test_corpus: {err}") from None
    values = {**TEXT_DEFAULTS, **fields}
    batch_size = values.get("batch_size", SeqGANConfig.batch_size)
    if isinstance(batch_size, int) and len(loaded.train) < batch_size:  # MLE batches are drawn from them
        raise ValueError(
            f"batch_size: the corpus has {len(loaded.train)} training sentences, fewer than a batch of {batch_size}: "
            f"give a batch_size of {len(loaded.train)} or less, or a larger corpus"
        )
    # Files by their absolute paths: a run folder moved or read from another directory still finds them.
    corpus, test_corpus, tokenizer = (
        os.path.abspath(p) if _is_file_path(name, p) else p
        for name, p in (("corpus", corpus), ("test_corpus", test_corpus), ("tokenizer", tokenizer))
    )
    return SeqGANConfig(
        **values,
        corpus=corpus,
        test_corpus=test_corpus,
        tokenizer=tokenizer,
        vocab_size=loaded.vocab_size,
        seq_len=loaded.seq_len,
        n_real=len(loaded.train),
    )


def _is_file_path(name: str, value: str | None) -> bool:
    """Whether the config field ``name`` names a file (not a built-in corpus or tokenizer, not unset)."""
    builtin = BUILTIN_CORPORA if name == "corpus" else ("word", "char") if name == "tokenizer" else ()
    return value is not None and value not in builtin


def load_corpus(config: SeqGANConfig) -> TextCorpus:
    """The corpus of a text run, checked against its config (V, T and the number of training sentences).

    :raises ValueError: the corpus now gives other sizes than the config was made for.
    """
    assert config.corpus is not None
    for name in ("corpus", "test_corpus", "tokenizer"):
        path = getattr(config, name)
        if _is_file_path(name, path) and not os.path.isfile(path):
            raise ValueError(
                f"{name}: the run's file {path!r} is not there (moved or deleted?): put it back at that path (the "
                f"run's {VOCABULARY_NAME} keeps its vocabulary and the digest of its training sentences)"
            )
    corpus = TextCorpus.load(
        config.corpus, seq_len=config.seq_len, test_corpus=config.test_corpus, tokenizer=config.tokenizer
    )
    if corpus.test is None:
        raise ValueError(f"test_corpus: the corpus file {config.corpus!r} needs a test file")
    found = (corpus.vocab_size, len(corpus.train))
    if found != (config.vocab_size, config.n_real):
        raise ValueError(
            f"corpus {config.corpus!r} now gives vocab_size={found[0]} and n_real={found[1]} training sentences, "
            f"not the vocab_size={config.vocab_size} and n_real={config.n_real} the run's config was made for: put "
            "the corpus back as it was, or start a new run on it"
        )
    return corpus


def held_out_sentences(corpus: TextCorpus, n: int) -> torch.Tensor:
    """NLL-test's sentences: the first ``n`` test sentences that fit in T and the vocabulary, ``LongTensor[m, T]``.

    :raises ValueError: no test sentence fits.
    """
    import torch  # only here: a text run's configuration is read without it

    assert corpus.test is not None
    known = set(corpus.vocabulary.tokens)
    rows = [
        corpus.vocabulary.encode(s, corpus.seq_len)
        for s in corpus.test
        if 0 < len(s) <= corpus.seq_len and all(t in known for t in s)
    ][:n]
    if not rows:
        too_long = sum(len(s) > corpus.seq_len for s in corpus.test)
        raise ValueError(
            f"corpus {corpus.name!r}: none of its {len(corpus.test)} test sentences fits in T={corpus.seq_len} "
            f"tokens of the training vocabulary ({too_long} longer than T, the rest with unknown tokens), so "
            "NLL-test has nothing to score"
        )
    return torch.tensor(rows, dtype=torch.long)


def _real_digest(corpus: TextCorpus) -> str:
    return hashlib.sha256(corpus.real_data().numpy().tobytes()).hexdigest()


def write_vocabulary(out_dir: Path, corpus: TextCorpus) -> None:
    """``out_dir/vocabulary.json``: the tokens, the tokenizer and a digest of the training sentences."""
    data = {"vocabulary": corpus.vocabulary.to_dict(), "real_data_sha256": _real_digest(corpus)}
    atomic_write_json(out_dir / VOCABULARY_NAME, data)


def check_vocabulary(out_dir: Path, corpus: TextCorpus) -> None:
    """Refuse to go on with a run whose corpus now gives another vocabulary or other training sentences.

    :raises ValueError: it does (a missing file is not checked: the run has not written it yet).
    """
    path = out_dir / VOCABULARY_NAME
    if not path.is_file():
        return
    saved = read_vocabulary_file(path)
    if saved["vocabulary"] != corpus.vocabulary.to_dict() or saved["real_data_sha256"] != _real_digest(corpus):
        raise ValueError(
            f"corpus {corpus.name!r} now gives another vocabulary or other training sentences than the run in "
            f"{str(out_dir)!r} was trained on ({VOCABULARY_NAME}): put the corpus back as it was"
        )


def read_vocabulary_file(path: Path) -> dict[str, Any]:
    """The contents of a ``vocabulary.json`` (plain JSON: nothing in it runs)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{str(path)!r} is not a run's {VOCABULARY_NAME}: {err}") from err
    if not isinstance(data, dict) or set(data) != {"vocabulary", "real_data_sha256"}:
        raise ValueError(f"{str(path)!r} is not a run's {VOCABULARY_NAME}: expected keys vocabulary, real_data_sha256")
    return data


def read_vocabulary(out_dir: str | os.PathLike[str]) -> Vocabulary:
    """The vocabulary (tokens and tokenizer) of the text run in ``out_dir``.

    :raises ValueError: the folder has no readable ``vocabulary.json``.
    """
    path = Path(out_dir) / VOCABULARY_NAME
    if not path.is_file():
        raise ValueError(f"{str(Path(out_dir))!r} holds no {VOCABULARY_NAME}: it is not a text run's folder")
    return Vocabulary.from_dict(read_vocabulary_file(path)["vocabulary"])
