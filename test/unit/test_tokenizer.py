"""Tests for the word-level tokenizer (no torch)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from videorag_ros.core.encoder.tokenizer import SPECIAL_TOKENS, WordTokenizer, split_words
from videorag_ros.core.errors import ModelLoadError


@pytest.fixture
def tok() -> WordTokenizer:
    return WordTokenizer.from_words(["a", "person", "in", "the", "corridor", "red", "door"], context_length=8)


def test_torch_is_not_imported() -> None:
    assert "torch" not in sys.modules


def test_split_words_lowercases_and_drops_punctuation() -> None:
    assert split_words("A Person, in the CORRIDOR!  3rd-door") == ["a", "person", "in", "the", "corridor", "3rd", "door"]
    assert split_words("") == []


def test_encode_layout(tok: WordTokenizer) -> None:
    ids = tok.encode(["a person", "the red door"])
    assert ids.dtype == np.int64
    assert ids.shape == (2, 8)
    assert ids[0, 0] == tok.bos
    assert list(ids[0, 1:3]) == [tok.tokens.index("a"), tok.tokens.index("person")]
    assert ids[0, 3] == tok.eos
    assert (ids[0, 4:] == tok.pad).all()
    assert tok.decode(ids[1]) == "the red door"


def test_empty_text_and_empty_batch(tok: WordTokenizer) -> None:
    ids = tok.encode([""])
    assert list(ids[0, :3]) == [tok.bos, tok.eos, tok.pad]
    assert tok.encode([]).shape == (0, 8)


def test_unknown_words_are_reported(tok: WordTokenizer) -> None:
    ids, stats = tok.encode_with_stats(["a purple person", "a person"])
    assert ids[0, 2] == tok.unk
    assert stats[0].unknown_words == ("purple",)
    assert stats[1].unknown_words == ()
    assert "person" in tok and "purple" not in tok and "<pad>" not in tok
    assert tok.unknown_words("A purple person, pad") == ["purple", "pad"]


def test_huge_prompt_is_truncated_not_crashed(tok: WordTokenizer) -> None:
    ids, stats = tok.encode_with_stats(["a person " * 5000])
    assert ids.shape == (1, 8)
    assert stats[0].truncated and stats[0].n_words == 10000
    assert ids[0, -1] == tok.eos  # eos kept at the end
    assert not tok.encode_with_stats(["a person"])[1][0].truncated


def test_single_string_is_rejected(tok: WordTokenizer) -> None:
    with pytest.raises(TypeError, match="list of strings"):
        tok.encode("a person")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected str"):
        tok.encode([None])  # type: ignore[list-item]


def test_round_trip_through_file(tok: WordTokenizer, tmp_path: Path) -> None:
    path = tmp_path / "vocab.json"
    tok.save(path)
    loaded = WordTokenizer.from_file(path)
    assert loaded.tokens == tok.tokens
    assert loaded.context_length == 8
    assert loaded.tokens[:4] == SPECIAL_TOKENS
    np.testing.assert_array_equal(loaded.encode(["the red door"]), tok.encode(["the red door"]))
    # Stable formatting: saving twice gives identical bytes.
    first = path.read_bytes()
    loaded.save(path)
    assert path.read_bytes() == first


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(ModelLoadError, match=re.escape("nope.json")):
        WordTokenizer.from_file(path)


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"tokens": ["<pad>", "<unk>", "<bos>", "<eos>"]}),
        json.dumps({"tokens": "abc", "context_length": 8}),
        json.dumps({"tokens": ["<pad>", "<unk>", "<bos>", "<eos>"], "context_length": "8"}),
        json.dumps({"tokens": ["<pad>", "<unk>", "<bos>", "<eos>"], "context_length": 8, "eos": 99}),
        json.dumps({"tokens": ["<pad>", "<pad>", "<bos>", "<eos>"], "context_length": 8}),
        json.dumps({"tokens": ["<pad>", "<unk>", "<bos>", "<eos>"], "context_length": 2}),
    ],
)
def test_corrupt_file_raises_model_load_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "vocab.json"
    path.write_text(content)
    with pytest.raises(ModelLoadError, match=re.escape("vocab.json")):
        WordTokenizer.from_file(path)


def test_binary_garbage_raises_model_load_error(tmp_path: Path) -> None:
    path = tmp_path / "vocab.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ModelLoadError, match=re.escape("vocab.json")):
        WordTokenizer.from_file(path)


def test_shipped_vocab_covers_prompts() -> None:
    path = Path(__file__).resolve().parents[2] / "models" / "videorag-tiny" / "vocab.json"
    if not path.exists():
        pytest.skip("demo model not built")
    from videorag_ros.sim import PARAPHRASES, class_prompts

    tok = WordTokenizer.from_file(path)
    texts = [p for ps in class_prompts().values() for p in ps] + [p for ps in PARAPHRASES.values() for p in ps]
    _, stats = tok.encode_with_stats(texts)
    assert all(not s.unknown_words and not s.truncated for s in stats)
