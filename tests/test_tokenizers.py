"""Tokenizers for text corpora: word, char and HuggingFace subwords; their round trips, storage and errors."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import gymnasium as gym
import pytest

import seqgan_gym  # noqa: F401  (registers SeqGAN-Text-v0)
from seqgan_gym.text import TextCorpus, Vocabulary
from seqgan_gym.tokenizers import (
    KINDS,
    CharTokenizer,
    HFTokenizer,
    Tokenizer,
    WhitespaceTokenizer,
    make_tokenizer,
    tokenizer_from_dict,
)

if TYPE_CHECKING:
    import tokenizers

TRAIN = [
    "a man rides a horse on the beach .",
    "a dog runs on the beach near a man",
    "two cats sleep on a red bike",
    "the man and the dog ride a red bike",
    "a horse and two dogs near the water",
    "a woman rides a bike near the water",
]
TEST = ["a man and a dog on the beach", "two horses near a red bike"]


def _train_bpe() -> tokenizers.Tokenizer:
    """A small byte-level BPE tokenizer, trained here on the sentences above (no download)."""
    from tokenizers import Tokenizer as HuggingFaceTokenizer
    from tokenizers import decoders, models, pre_tokenizers, trainers

    tok = HuggingFaceTokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
    )
    tok.train_from_iterator(TRAIN + TEST, trainer)
    return tok


@pytest.fixture(scope="module")
def bpe() -> tokenizers.Tokenizer:
    return _train_bpe()  # tokenizers: an optional package of the package, in the test tools (the dev extra)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    train, test = tmp_path / "train.txt", tmp_path / "test.txt"
    train.write_text("\n".join(TRAIN) + "\n", encoding="utf-8")
    test.write_text("\n".join(TEST) + "\n", encoding="utf-8")
    return train, test


def _normalised(text: str) -> str:
    return " ".join(text.split())


# ---- word and char ----


def test_word_tokenizer_splits_at_whitespace_and_joins_with_spaces() -> None:
    tok = make_tokenizer("word")
    assert isinstance(tok, WhitespaceTokenizer) and tok.kind == "word"
    assert tok.split("  a  red\tbike. ") == ["a", "red", "bike."]
    assert tok.join(tok.split("  a  red\tbike. ")) == "a red bike."


def test_char_tokenizer_keeps_the_spaces_of_english() -> None:
    tok = make_tokenizer("char")
    assert isinstance(tok, CharTokenizer) and tok.kind == "char"
    assert tok.split("a red bike") == ["a", " ", "r", "e", "d", " ", "b", "i", "k", "e"]
    assert tok.join(tok.split("a red bike")) == "a red bike"
    assert tok.split("  a \t\n b  ") == ["a", " ", "b"]  # a run of whitespace is one " ", the ends are dropped
    assert tok.join(tok.split("  a \t\n b  ")) == "a b"
    assert tok.split("秦川雄帝宅") == list("秦川雄帝宅")


def test_char_corpus_decodes_real_data_to_its_lines(files: tuple[Path, Path]) -> None:
    corpus = TextCorpus.load(files[0], tokenizer="char", test_corpus=files[1])
    assert " " in corpus.vocabulary.tokens and corpus.vocabulary.tokenizer == CharTokenizer()
    assert corpus.decode(corpus.real_data()) == TRAIN
    assert corpus.bleu_words(corpus.real_data()) == [line.split() for line in TRAIN]  # words, not characters
    assert corpus.bleu_references() == [line.split() for line in TEST]
    assert corpus.seq_len == max(len(line) for line in TRAIN)  # T counts characters (and spaces)


# ---- HuggingFace ----


def test_hf_corpus_decodes_real_data_to_its_lines_and_scores_words(
    bpe: tokenizers.Tokenizer, files: tuple[Path, Path]
) -> None:
    corpus = TextCorpus.load(files[0], test_corpus=files[1], tokenizer=bpe)
    tok = corpus.vocabulary.tokenizer
    assert isinstance(tok, HFTokenizer) and tok.kind == "huggingface"
    assert any(t.startswith("Ġ") for t in corpus.vocabulary.tokens)  # byte-level pieces ...
    real = corpus.real_data()
    assert [_normalised(text) for text in corpus.decode(real)] == TRAIN  # ... decode back to the text
    assert corpus.to_tokens(real) == [list(s) for s in corpus.train] == [bpe.encode(x).tokens for x in TRAIN]
    words = corpus.bleu_words(real)
    assert words == [line.split() for line in TRAIN]  # BLEU's words, not the pieces
    assert not any("Ġ" in w for sentence in words for w in sentence)
    assert corpus.test_lines == tuple(TEST) and corpus.bleu_references() == [line.split() for line in TEST]
    assert corpus.test == tuple(tuple(tok.split(line)) for line in TEST)


def test_hf_tokenizer_from_a_tokenizer_json_file(bpe: tokenizers.Tokenizer, tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.json"
    bpe.save(str(path))
    assert make_tokenizer(path) == make_tokenizer(str(path)) == HFTokenizer(path) == make_tokenizer(bpe)
    train = tmp_path / "train.txt"
    train.write_text("\n".join(TRAIN) + "\n", encoding="utf-8")
    env = gym.make("SeqGAN-Text-v0", corpus=train, tokenizer=str(path), render_mode="ansi")
    corpus = env.unwrapped.corpus
    assert isinstance(corpus.vocabulary.tokenizer, HFTokenizer)
    env.reset(seed=0)
    for token in corpus.real_data()[0].tolist()[:2]:
        env.step(token)
    assert env.render() == "a man"  # "a", "Ġman"


def test_hf_tokenizer_is_a_copy_without_truncation_or_padding(bpe: tokenizers.Tokenizer) -> None:
    original = type(bpe).from_str(bpe.to_str())
    original.enable_truncation(2)
    tok = HFTokenizer(original)
    assert tok.split(TRAIN[0]) == bpe.encode(TRAIN[0]).tokens  # the whole line, not 2 pieces
    original.no_truncation()
    original.enable_padding(length=50)
    assert tok.split(TRAIN[0]) == bpe.encode(TRAIN[0]).tokens  # later changes to the original do not leak in
    assert tok.tokenizer is not original


def test_hf_join_of_an_unknown_token_names_it(bpe: tokenizers.Tokenizer) -> None:
    tok = HFTokenizer(bpe)
    with pytest.raises(ValueError, match="token 'zzzqqq' is not in the HuggingFace tokenizer's vocabulary"):
        tok.join(["a", "zzzqqq"])


# ---- storage ----


@pytest.mark.parametrize("kind", KINDS)
def test_to_dict_round_trips_through_json(kind: str, request: pytest.FixtureRequest) -> None:
    tok = make_tokenizer(request.getfixturevalue("bpe") if kind == "huggingface" else kind)
    data = json.loads(json.dumps(tok.to_dict()))
    assert data["kind"] == kind
    back = tokenizer_from_dict(data)
    assert type(back) is type(tok) and back == tok and hash(back) == hash(tok)
    assert back.split(TRAIN[0]) == tok.split(TRAIN[0])
    assert back.join(tok.split(TRAIN[0])) == tok.join(tok.split(TRAIN[0]))
    vocab = Vocabulary.build([tok.split(line) for line in TRAIN], tok)
    again = Vocabulary.from_dict(json.loads(json.dumps(vocab.to_dict())))
    assert again == vocab and again.tokenizer == tok
    ids = vocab.encode(tok.split(TRAIN[1]), seq_len=60)
    assert again.decode(ids) == vocab.decode(ids)


def test_tokenizers_compare_by_kind_and_content(bpe: tokenizers.Tokenizer) -> None:
    assert WhitespaceTokenizer() == WhitespaceTokenizer() != CharTokenizer()
    assert HFTokenizer(bpe) != WhitespaceTokenizer()
    other = type(bpe).from_str(bpe.to_str())
    other.add_tokens(["zebra"])
    assert HFTokenizer(bpe) != HFTokenizer(other)
    assert make_tokenizer(WhitespaceTokenizer()) == WhitespaceTokenizer()
    assert "vocab_size=" in repr(HFTokenizer(bpe))


def test_bad_stored_data_gives_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"tokenizer kind must be one of \['word', 'char', 'huggingface'\]"):
        tokenizer_from_dict({"kind": "pickle"})
    with pytest.raises(ValueError, match="tokenizer kind must be one of"):
        tokenizer_from_dict({})
    with pytest.raises(ValueError, match="tokenizer data must be a dict"):
        tokenizer_from_dict(["word"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"must have the keys \['kind'\]"):
        tokenizer_from_dict({"kind": "word", "json": "{}"})
    with pytest.raises(ValueError, match=r"must have the keys \['json', 'kind'\]"):
        tokenizer_from_dict({"kind": "huggingface"})
    with pytest.raises(ValueError, match="'json' must be a string"):
        tokenizer_from_dict({"kind": "huggingface", "json": {"model": {}}})
    with pytest.raises(ValueError, match=r"is not a HuggingFace tokenizer\.json"):
        tokenizer_from_dict({"kind": "huggingface", "json": '{"not": "a tokenizer"}'})
    with pytest.raises(ValueError, match="vocabulary data must be a dict"):
        Vocabulary.from_dict([])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"must have the keys \['tokenizer', 'tokens'\], got \['tokens'\]"):
        Vocabulary.from_dict({"tokens": ["<eos>"]})
    with pytest.raises(ValueError, match="'tokens' must be a list of strings"):
        Vocabulary.from_dict({"tokens": ["<eos>", 3], "tokenizer": {"kind": "word"}})
    with pytest.raises(ValueError, match="must start with the end-of-sequence token"):
        Vocabulary.from_dict({"tokens": ["a"], "tokenizer": {"kind": "word"}})
    with pytest.raises(ValueError, match="tokens must be distinct"):
        Vocabulary.from_dict({"tokens": ["<eos>", "a", "a"], "tokenizer": {"kind": "char"}})


# ---- bad specs, and no tokenizers package ----


@pytest.mark.parametrize("spec", ["byte", "Word", "", 42, None, b"word", ["word"]])
def test_bad_specs_name_the_argument(spec: object) -> None:
    with pytest.raises(
        ValueError, match=r"tokenizer must be 'word', 'char', the path of a HuggingFace tokenizer\.json"
    ):
        make_tokenizer(spec)  # type: ignore[arg-type]


def test_bad_tokenizer_files_give_clear_errors(tmp_path: Path, files: tuple[Path, Path]) -> None:
    with pytest.raises(ValueError, match=r"tokenizer must be .* \(no such file\)"):
        make_tokenizer(tmp_path / "missing.json")
    with pytest.raises(ValueError, match="tokenizer must be"):
        TextCorpus.load(files[0], tokenizer=tmp_path)  # a folder
    bad = tmp_path / "tokenizer.json"
    bad.write_text('{"version": "1.0"}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"tokenizer: .*tokenizer\.json' is not a HuggingFace tokenizer\.json file"):
        TextCorpus.load(files[0], tokenizer=bad)
    with pytest.raises(ValueError, match=r"tokenizer must be a tokenizers\.Tokenizer or the path"):
        HFTokenizer(42)  # type: ignore[arg-type]


def test_missing_tokenizers_package_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "tokenizer.json"
    path.write_text("{}", encoding="utf-8")
    data = {"kind": "huggingface", "json": "{}"}
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # `import tokenizers` now raises ImportError
    message = r'pip install "seqgan-gym\[text\]" \(or bash scripts/setup.sh dev\)'
    with pytest.raises(ImportError, match=message):
        make_tokenizer(path)
    with pytest.raises(ImportError, match=message):
        tokenizer_from_dict(data)
    assert make_tokenizer("word") == WhitespaceTokenizer()  # word and char need nothing
    assert isinstance(make_tokenizer("char"), Tokenizer)


def test_a_tokenizer_of_ones_own_and_lines_it_turns_into_nothing(tmp_path: Path) -> None:
    class Letters(Tokenizer):
        kind = "letters"

        def split(self, line: str) -> list[str]:
            return [c for c in line if c.isalpha()]

        def join(self, tokens: Sequence[str]) -> str:
            return "".join(tokens)

    path = tmp_path / "train.txt"
    path.write_text("ab c\n123\nd\n", encoding="utf-8")
    corpus = TextCorpus.load(path, tokenizer=Letters())
    assert corpus.train == (("a", "b", "c"), ("d",)) and corpus.n_dropped == 0  # "123": no token, skipped
    assert corpus.decode(corpus.real_data()) == ["abc", "d"]
    with pytest.raises(ValueError, match="has no test set"):
        corpus.bleu_references()
    digits = tmp_path / "digits.txt"
    digits.write_text("12\n3\n", encoding="utf-8")
    with pytest.raises(ValueError, match="the tokenizer turns no line into any token"):
        TextCorpus.load(digits, tokenizer=Letters())


def test_a_run_with_a_huggingface_tokenizer_generates_words(bpe: tokenizers.Tokenizer, tmp_path: Path) -> None:
    """Train on BPE pieces, then generate from the run's folder alone: text, not pieces like 'Ġman'."""
    from agents.experiment.generate import generate
    from agents.experiment.seqgan import SeqGANTrainer
    from agents.experiment.text_runs import text_config

    train, test = tmp_path / "train.txt", tmp_path / "test.txt"
    train.write_text("\n".join(TRAIN * 4) + "\n", encoding="utf-8")
    test.write_text("\n".join(TEST) + "\n", encoding="utf-8")
    bpe.save(str(tmp_path / "tokenizer.json"))
    sizes = {"emb_dim": 8, "hidden_dim": 8, "mle_epochs": 2, "d_pretrain_rounds": 1, "d_pretrain_epochs": 1}
    sizes |= {"adversarial_epochs": 1, "batch_size": 8, "n_rollouts": 2, "n_negatives": 16, "n_eval": 12}
    config = text_config(train, test_corpus=test, tokenizer=tmp_path / "tokenizer.json", **sizes)
    out = tmp_path / "run"
    SeqGANTrainer(config, out).run()
    (tmp_path / "tokenizer.json").unlink()  # the run's vocabulary.json holds the tokenizer itself
    lines = generate(out, 40, seed=1)
    words = {w for line in lines for w in line.split()}
    assert words and not any("Ġ" in w for w in words)
    pieces = set(make_tokenizer(bpe).split(" ".join(TRAIN)))
    assert any(p.startswith("Ġ") for p in pieces)  # the tokens were pieces; the decoded text is not


def test_a_tokenizer_that_drops_characters_says_so() -> None:
    """A BPE model with no unknown token skips what it cannot encode: the split refuses, naming the characters."""
    from tokenizers import Tokenizer as HuggingFaceTokenizer
    from tokenizers import models, pre_tokenizers

    tok = HuggingFaceTokenizer(models.BPE(vocab={"a": 0, "b": 1}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    hf = HFTokenizer(tok)
    assert hf.split("a b  a") == ["a", "b", "a"]  # whitespace is no content
    with pytest.raises(ValueError, match=r"cannot encode 'cé' in the line 'a b c é'"):
        hf.split("a b c é")
