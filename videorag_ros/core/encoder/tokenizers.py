"""Tokenizer factory: the manifest's ``tokenizer.type`` picks the implementation.

- ``word``: the closed-vocabulary :class:`~videorag_ros.core.encoder.tokenizer.WordTokenizer`
  of the demo model (``vocab.json``).
- ``hf``: a Hugging Face ``tokenizer.json`` run by the ``tokenizers`` library (Rust, no
  torch), padded and truncated to the text encoder's ``context_length``. Exported
  CLIP/SigLIP checkpoints use it.

Both expose ``encode(texts) -> (N, L) int64`` and ``unknown_words(text) -> list[str]``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from videorag_ros.core.errors import ModelLoadError

if TYPE_CHECKING:
    from videorag_ros.core.encoder.manifest import Manifest

log = logging.getLogger(__name__)

TOKENIZER_TYPES = ("word", "hf")
#: CLIP's special tokens; random-init models reuse them (and CLIP's ids) so EOS pooling works.
CLIP_BOS, CLIP_EOS = "<|startoftext|>", "<|endoftext|>"
CLIP_BOS_ID, CLIP_EOS_ID, CLIP_VOCAB = 49406, 49407, 49408
_WORD_RE = re.compile(r"[a-z0-9]+")


class TextTokenizer(Protocol):
    """What the encoder needs from a tokenizer."""

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.int64]: ...

    def unknown_words(self, text: str) -> list[str]: ...


class HFTokenizer:
    """A ``tokenizer.json`` (Hugging Face ``tokenizers``) padded/truncated to a fixed length.

    Args:
        tokenizer: A loaded ``tokenizers.Tokenizer``.
        context_length: Length of every encoded sequence (CLIP: 77, SigLIP: 64).
        source: Where it came from, for error messages.
    """

    def __init__(self, tokenizer: Any, context_length: int, *, source: str = "<memory>") -> None:
        if context_length < 2:
            msg = f"context_length must be at least 2, got {context_length}"
            raise ValueError(msg)
        self.context_length = int(context_length)
        self.source = source
        pad = tokenizer.padding or {}
        self.pad_id = int(pad.get("pad_id", 0))
        self.pad_token = str(pad.get("pad_token", tokenizer.id_to_token(self.pad_id) or "[PAD]"))
        tokenizer.enable_truncation(max_length=self.context_length)
        tokenizer.enable_padding(length=self.context_length, pad_id=self.pad_id, pad_token=self.pad_token)
        self._tok = tokenizer
        model = tokenizer.model
        self._unk: str | None = None
        # Word-level vocabularies (random-init models) can tell which words are unknown;
        # BPE/unigram vocabularies spell any word, so nothing is "unknown" there.
        if type(model).__name__ == "WordLevel":
            self._unk = str(getattr(model, "unk_token", "") or "") or None

    @classmethod
    def from_file(cls, path: str | Path, context_length: int) -> HFTokenizer:
        """Load a ``tokenizer.json``.

        Raises:
            ModelLoadError: Missing or unparsable file.
        """
        from tokenizers import Tokenizer  # Rust extension; kept out of package import

        path = Path(path)
        if not path.is_file():
            msg = f"tokenizer file {path} does not exist"
            raise ModelLoadError(msg)
        try:
            tok = Tokenizer.from_file(str(path))
        except Exception as err:  # the Rust side raises plain Exception
            msg = f"tokenizer file {path} is not a valid Hugging Face tokenizer.json: {err}"
            raise ModelLoadError(msg) from err
        return cls(tok, context_length, source=str(path))

    @property
    def vocab_size(self) -> int:
        """Number of tokens including added special tokens."""
        return int(self._tok.get_vocab_size(with_added_tokens=True))

    def encode(self, texts: Sequence[str]) -> npt.NDArray[np.int64]:
        """Encode texts to ``(N, context_length)`` int64 ids (special tokens added, padded, truncated).

        Raises:
            TypeError: ``texts`` is a single string or holds non-strings.
        """
        if isinstance(texts, str):
            msg = "encode expects a list of strings, not a single string"
            raise TypeError(msg)
        for row, text in enumerate(texts):
            if not isinstance(text, str):
                msg = f"text {row} is {type(text).__name__}, expected str"
                raise TypeError(msg)
        if not texts:
            return np.zeros((0, self.context_length), np.int64)
        encs = self._tok.encode_batch(list(texts))
        out = np.asarray([e.ids for e in encs], dtype=np.int64)
        if out.shape[1] != self.context_length:  # defensive: a file whose padding we could not force
            msg = f"tokenizer {self.source} produced length {out.shape[1]}, expected {self.context_length}"
            raise ModelLoadError(msg)
        return out

    def unknown_words(self, text: str) -> list[str]:
        """Words mapped to the unknown token (word-level vocabularies only; ``[]`` for BPE)."""
        if self._unk is None:
            return []
        vocab = self._tok.get_vocab()
        return [w for w in _WORD_RE.findall(text.lower()) if w not in vocab]

    def save(self, path: str | Path) -> None:
        """Write ``tokenizer.json`` with the padding/truncation settings baked in."""
        self._tok.save(str(path))


def build_word_tokenizer(words: Iterable[str], context_length: int) -> HFTokenizer:
    """A word-level ``tokenizers`` tokenizer with CLIP's special-token ids, for random-init models.

    Words get ids from 0 (``<unk>`` first); ``<|startoftext|>``/``<|endoftext|>`` keep CLIP's ids
    49406/49407 so a CLIP-style text tower pools at the EOS token (the highest id), and padding
    uses ``<|endoftext|>`` as CLIP does.

    Args:
        words: Vocabulary words (lowercased, split on non-alphanumerics).
        context_length: Encoded length, including BOS/EOS.

    Returns:
        The tokenizer wrapper.
    """
    from tokenizers import Tokenizer, normalizers, pre_tokenizers, processors
    from tokenizers.models import WordLevel

    vocab_words = sorted({w for word in words for w in _WORD_RE.findall(word.lower())})
    if len(vocab_words) + 1 >= CLIP_BOS_ID:
        msg = f"{len(vocab_words)} words do not fit below CLIP's special-token ids"
        raise ValueError(msg)
    vocab = {"<unk>": 0, **{w: i + 1 for i, w in enumerate(vocab_words)}, CLIP_BOS: CLIP_BOS_ID, CLIP_EOS: CLIP_EOS_ID}
    tok = Tokenizer(WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace()])
    tok.post_processor = processors.TemplateProcessing(single=f"{CLIP_BOS} $A {CLIP_EOS}", special_tokens=[(CLIP_BOS, CLIP_BOS_ID), (CLIP_EOS, CLIP_EOS_ID)])
    tok.add_special_tokens([CLIP_BOS, CLIP_EOS])
    tok.enable_padding(length=context_length, pad_id=CLIP_EOS_ID, pad_token=CLIP_EOS)
    return HFTokenizer(tok, context_length, source="word-level (random-init)")


def load_tokenizer(manifest: Manifest) -> TextTokenizer:
    """The tokenizer a manifest names.

    Args:
        manifest: A loaded manifest with a text encoder.

    Returns:
        ``WordTokenizer`` for ``type: word`` (the default), ``HFTokenizer`` for ``type: hf``.

    Raises:
        ModelLoadError: No tokenizer, an unknown type, or an unreadable file.
    """
    if manifest.tokenizer_file is None or manifest.text is None:
        msg = f"model '{manifest.name}' has no text encoder/tokenizer in its manifest"
        raise ModelLoadError(msg)
    tok = manifest.raw.get("tokenizer") or {}
    kind = tok.get("type", "word")
    if kind == "word":
        from videorag_ros.core.encoder.tokenizer import WordTokenizer

        return WordTokenizer.from_file(manifest.tokenizer_file)
    if kind == "hf":
        return HFTokenizer.from_file(manifest.tokenizer_file, manifest.text.context_length)
    msg = f"manifest of '{manifest.name}': tokenizer type '{kind}' is not one of {TOKENIZER_TYPES}"
    raise ModelLoadError(msg)
