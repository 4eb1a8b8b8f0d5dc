"""Word n-grams of many texts at once: words become ids, n-grams become 64-bit hashes, matched with numpy.

Only the benchmark's words get ids; a training word the benchmark never uses gets id 0, and an n-gram
holding one cannot be shared, so it is never hashed. A hash match is a candidate; callers that need
exactness (open-r1's rule) confirm it on the n-gram strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np


Tokenizer = Callable[[str], list[str]]

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: a polynomial hash modulo 2^64
CHUNK = 50_000  # training texts hashed at a time: bounds memory at about 50k x words x 24 bytes


def normalize(text: str) -> str:
    """open-r1's ``normalize_string``: lowercase, strip, collapse whitespace."""
    return " ".join(text.lower().split())


_LAYOUT = re.compile(r"\s+|\$|\\left|\\right|\\[\[\]()]|\\quad|\\text|\\[,;!]|[{}]")


def compact(text: str) -> str:
    """Lowercased text without whitespace, math delimiters, braces and spacing commands, for the similarity."""
    return _LAYOUT.sub("", text.lower())


def open_r1_words(text: str) -> list[str]:
    """The words open-r1's ``word_ngrams`` splits a normalized text into."""
    return text.lower().split()


def skeleton_words(text: str) -> list[str]:
    """Lowercased words with every number replaced by '#': a problem whose numbers changed keeps its n-grams."""
    return _NUMBER.sub("#", text.lower()).split()


def string_ngrams(words: Sequence[str], n: int) -> set[str]:
    """open-r1's ``build_ngram_single``: the set of space-joined word n-grams."""
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


@dataclass(frozen=True, slots=True)
class NgramIndex:
    """The n-gram hashes of a collection of reference texts (a benchmark), sorted, with the text each came from."""

    vocab: dict[str, int]
    hashes: np.ndarray  # uint64, sorted
    owners: np.ndarray  # int64, index of the reference text of each hash
    n: int


def _window_hashes(ids: np.ndarray, lengths: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every n-word window inside one text and free of unknown words, and each window's text index."""
    if ids.size < n:
        return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64)
    text_of = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    windows = ids.size - n + 1
    unknown = np.concatenate(([0], np.cumsum(ids == 0)))
    valid = (unknown[n:] - unknown[:windows] == 0) & (text_of[:windows] == text_of[n - 1 :])
    values = ids.astype(np.uint64)
    hashes = np.zeros(windows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            hashes = hashes * _MULTIPLIER + values[j : j + windows]
    return hashes[valid], text_of[:windows][valid]


def _ids(
    texts: Sequence[str], tokenize: Tokenizer, vocab: dict[str, int], grow: bool
) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.zeros(len(texts), dtype=np.int64)
    flat: list[int] = []
    get = vocab.setdefault if grow else vocab.get
    for index, text in enumerate(texts):
        words = tokenize(text)
        lengths[index] = len(words)
        if grow:
            flat.extend(get(word, len(vocab) + 1) for word in words)
        else:
            flat.extend(get(word, 0) for word in words)
    return np.asarray(flat, dtype=np.int64), lengths


def build_index(texts: Sequence[str], tokenize: Tokenizer, n: int) -> NgramIndex:
    """Index the n-grams of reference ``texts``."""
    vocab: dict[str, int] = {}
    ids, lengths = _ids(texts, tokenize, vocab, grow=True)
    hashes, owners = _window_hashes(ids, lengths, n)
    pairs = np.unique(np.stack([hashes, owners.astype(np.uint64)], axis=1), axis=0) if hashes.size else None
    if pairs is None:
        return NgramIndex(vocab, np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), n)
    return NgramIndex(vocab, pairs[:, 0].copy(), pairs[:, 1].astype(np.int64), n)


def ngram_text(text: str, tokenize: Tokenizer, n: int, vocab: dict[str, int], wanted: int) -> str | None:
    """The n-gram of ``text`` whose hash is ``wanted`` (for reports), or None."""
    words = tokenize(text)
    ids = np.asarray([vocab.get(word, 0) for word in words], dtype=np.int64)
    hashes, _ = _window_hashes(ids, np.asarray([ids.size]), n)
    valid_starts = [i for i in range(len(words) - n + 1) if all(ids[i : i + n])]
    for start, value in zip(valid_starts, hashes.tolist(), strict=True):
        if value == wanted:
            return " ".join(words[start : start + n])
    return None


@dataclass(frozen=True, slots=True)
class Matches:
    """(training text, reference text, n-gram hash) for every shared n-gram, deduplicated."""

    texts: np.ndarray  # int64, global index of the training text
    owners: np.ndarray  # int64, reference text
    hashes: np.ndarray  # uint64


def match(texts: Sequence[str], index: NgramIndex, tokenize: Tokenizer, start: int = 0) -> Matches:
    """Every n-gram of ``texts`` found in ``index`` (text indices offset by ``start``)."""
    ids, lengths = _ids(texts, tokenize, index.vocab, grow=False)
    hashes, text_of = _window_hashes(ids, lengths, index.n)
    left = np.searchsorted(index.hashes, hashes, side="left")
    right = np.searchsorted(index.hashes, hashes, side="right")
    hit = right > left
    hashes, text_of, left, right = hashes[hit], text_of[hit], left[hit], right[hit]
    spans = right - left  # a hash shared by several reference texts matches each of them
    positions = np.repeat(left, spans) + (np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans))
    found = np.stack(
        [
            np.repeat(text_of, spans).astype(np.uint64),
            index.owners[positions].astype(np.uint64),
            index.hashes[positions],
        ],
        axis=1,
    )
    found = np.unique(found, axis=0) if found.size else found.reshape(0, 3)
    return Matches(found[:, 0].astype(np.int64) + start, found[:, 1].astype(np.int64), found[:, 2].copy())


def chunks(texts: Sequence[str], size: int = CHUNK) -> Iterator[tuple[int, Sequence[str]]]:
    for start in range(0, len(texts), size):
        yield start, texts[start : start + size]


def match_all(texts: Sequence[str], index: NgramIndex, tokenize: Tokenizer) -> Matches:
    """:func:`match` over ``texts`` in chunks of :data:`CHUNK`, concatenated."""
    parts = [match(part, index, tokenize, start) for start, part in chunks(texts)]
    if not parts:
        return Matches(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint64))
    return Matches(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("texts", "owners", "hashes")))
