"""Word-level tokenizer shared by demo-model training and run-time text encoding.

Text is lowercased and split into ``[a-z0-9]+`` words; each word maps to its
index in a closed vocabulary, unknown words to ``unk``. Every sequence is
``bos, w1, ..., wk, eos`` padded with ``pad`` to ``context_length``; prompts
that are too long are truncated (the ``eos`` is kept) and reported in
:class:`EncodeStats` so callers can warn about them.

Vocabulary file (JSON)::

    {"tokens": ["<pad>", "<unk>", "<bos>", "<eos>", "a", ...],
     "pad": 0, "unk": 1, "bos": 2, "eos": 3, "context_length": 24}
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import ModelLoadError
from videorag_ros.core.printable import bounded_repr
from videorag_ros.core.safe_files import UnsafeFileError, read_regular_file

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = ("<pad>", "<unk>", "<bos>", "<eos>")
MAX_VOCAB_BYTES = 64 << 20
_WORD_RE = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class EncodeStats:
    """What happened to one text during encoding.

    Attributes:
        n_words: Words found in the text.
        unknown_words: Words not in the vocabulary, in order of appearance (mapped to ``unk``).
        truncated: True if words were dropped to fit the context length.
    """

    n_words: int
    unknown_words: tuple[str, ...]
    truncated: bool


def split_words(text: str) -> list[str]:
    """Lowercase ``text`` and return its ``[a-z0-9]+`` words."""
    return _WORD_RE.findall(text.lower())


class WordTokenizer:
    """Closed-vocabulary word tokenizer.

    Args:
        tokens: Vocabulary; a token's id is its index. Must contain the special tokens
            at the indices given below.
        context_length: Length of every encoded sequence, including ``bos`` and ``eos``.
        pad: Id of the padding token.
        unk: Id of the unknown-word token.
        bos: Id of the begin-of-sequence token.
        eos: Id of the end-of-sequence token.

    Raises:
        ValueError: If the vocabulary or ids are inconsistent.
    """

    def __init__(
        self,
        tokens: Sequence[str],
        context_length: int,
        *,
        pad: int = 0,
        unk: int = 1,
        bos: int = 2,
        eos: int = 3,
    ) -> None:
        if context_length < 3:
            msg = f"context_length must be at least 3, got {context_length}"
            raise ValueError(msg)
        if len(set(tokens)) != len(tokens):
            msg = "vocabulary tokens must be unique"
            raise ValueError(msg)
        for name, idx in (("pad", pad), ("unk", unk), ("bos", bos), ("eos", eos)):
            if not 0 <= idx < len(tokens):
                msg = f"{name} id {idx} is outside the vocabulary of {len(tokens)} tokens"
                raise ValueError(msg)
        if len({pad, unk, bos, eos}) != 4:
            msg = "pad, unk, bos and eos ids must be distinct"
            raise ValueError(msg)
        self.tokens: tuple[str, ...] = tuple(tokens)
        self.context_length = int(context_length)
        self.pad, self.unk, self.bos, self.eos = pad, unk, bos, eos
        self._ids = {tok: i for i, tok in enumerate(self.tokens)}

    @classmethod
    def from_words(cls, words: Iterable[str], context_length: int) -> WordTokenizer:
        """Build a tokenizer with the special tokens first, then the sorted unique words.

        Args:
            words: Vocabulary words (lowercase ``[a-z0-9]+``; others are split first).
            context_length: Encoded sequence length.

        Returns:
            The tokenizer.
        """
        vocab = sorted({w for word in words for w in split_words(word)})
        return cls([*SPECIAL_TOKENS, *vocab], context_length)

    @classmethod
    def from_file(cls, path: str | Path) -> WordTokenizer:
        """Load a vocabulary JSON file.

        Args:
            path: The ``vocab.json`` file.

        Returns:
            The tokenizer.

        Raises:
            ModelLoadError: If the file is missing, unreadable or malformed (the message names the path).
        """
        path = Path(path)
        try:
            data = json.loads(read_regular_file(path, what="tokenizer vocabulary", max_bytes=MAX_VOCAB_BYTES).decode("utf-8"))
        except UnsafeFileError as exc:
            raise ModelLoadError(str(exc)) from exc
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            msg = f"tokenizer vocabulary {path} could not be read as JSON: {type(exc).__name__}: {str(exc)[:200]}"
            raise ModelLoadError(msg) from exc
        try:
            if not isinstance(data, dict):
                msg = "top level must be an object"
                raise TypeError(msg)
            tokens = data["tokens"]
            if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
                msg = "'tokens' must be a list of strings"
                raise TypeError(msg)
            ints = {k: data.get(k, default) for k, default in (("pad", 0), ("unk", 1), ("bos", 2), ("eos", 3))}
            context_length = data["context_length"]
            for key, value in [*ints.items(), ("context_length", context_length)]:
                if not isinstance(value, int) or isinstance(value, bool):
                    msg = f"'{key}' must be an integer, got {bounded_repr(value)}"
                    raise TypeError(msg)
            return cls(tokens, context_length, **ints)
        except (KeyError, TypeError, ValueError) as exc:
            detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            msg = f"tokenizer vocabulary {path} is malformed: {detail}"
            raise ModelLoadError(msg) from exc

    def to_dict(self) -> dict[str, object]:
        """Return the JSON-serialisable vocabulary description."""
        return {
            "tokens": list(self.tokens),
            "pad": self.pad,
            "unk": self.unk,
            "bos": self.bos,
            "eos": self.eos,
            "context_length": self.context_length,
        }

    def save(self, path: str | Path) -> None:
        """Write the vocabulary JSON file (stable formatting, so its hash is reproducible)."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    @property
    def vocab_size(self) -> int:
        """Number of tokens, special tokens included."""
        return len(self.tokens)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word in self._ids and word not in SPECIAL_TOKENS

    def unknown_words(self, text: str) -> list[str]:
        """Return the words of ``text`` that are not in the vocabulary, in order."""
        return [w for w in split_words(text) if w not in self._ids or w in SPECIAL_TOKENS]

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.int64]:
        """Encode texts to padded id sequences.

        Args:
            texts: Texts to encode.

        Returns:
            ``(len(texts), context_length)`` int64 ids.
        """
        return self.encode_with_stats(texts)[0]

    def encode_with_stats(self, texts: Sequence[str]) -> tuple[npt.NDArray[np.int64], list[EncodeStats]]:
        """Encode texts and report unknown words and truncation per text.

        Args:
            texts: Texts to encode.

        Returns:
            ``(ids, stats)``: ``(N, context_length)`` int64 ids and one :class:`EncodeStats` per text.

        Raises:
            TypeError: If ``texts`` is a single string or holds non-strings.
        """
        if isinstance(texts, str):
            msg = "encode expects a list of strings, not a single string"
            raise TypeError(msg)
        max_words = self.context_length - 2
        out = np.full((len(texts), self.context_length), self.pad, dtype=np.int64)
        stats: list[EncodeStats] = []
        for row, text in enumerate(texts):
            if not isinstance(text, str):
                msg = f"text {row} is {type(text).__name__}, expected str"
                raise TypeError(msg)
            found = split_words(text)
            ids = [self._ids.get(w, self.unk) for w in found]
            unknown = tuple(w for w, i in zip(found, ids, strict=False) if i == self.unk)
            truncated = len(ids) > max_words
            if truncated:
                logger.debug("text %d has %d words; truncated to %d", row, len(ids), max_words)
                ids = ids[:max_words]
            seq = [self.bos, *ids, self.eos]
            out[row, : len(seq)] = seq
            stats.append(EncodeStats(n_words=len(found), unknown_words=unknown, truncated=truncated))
        return out, stats

    def decode(self, ids: Sequence[int] | npt.NDArray[np.int64]) -> str:
        """Turn one id sequence back into words (special tokens dropped, ``unk`` shown as ``<unk>``)."""
        skip = {self.pad, self.bos, self.eos}
        return " ".join(self.tokens[int(i)] for i in ids if int(i) not in skip and 0 <= int(i) < len(self.tokens))
