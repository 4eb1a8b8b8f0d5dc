"""Word n-grams of many texts at once: words become ids, n-grams become 64-bit hashes, matched with numpy.

Texts are lowercased and split on whitespace by pyarrow's compute kernels (the same words as Python's
``str.lower().split()``), so a million prompts tokenize in C++. Only the benchmark's words get ids; a training
word the benchmark never uses gets id 0, and an n-gram holding one cannot be shared, so it is never hashed. A
hash match is a candidate; callers that need exactness (open-r1's rule) confirm it on the n-gram strings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np


_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # odd: a polynomial hash modulo 2^64
_DIGITS = str.maketrans("", "", "0123456789")
_LAYOUT = re.compile(r"\s+|\$|\\left|\\right|\\[\[\]()]|\\quad|\\text|\\[,;!]|[{}]")
_FILTER_MASK = np.uint64((1 << 24) - 1)  # a 16 MiB table: ~1% of unshared windows pass for 150k reference n-grams
CHUNK = 100_000  # training texts hashed at a time: bounds memory at about 100k x words x 40 bytes


def normalize(text: str) -> str:
    """open-r1's ``normalize_string``: lowercase, strip, collapse whitespace."""
    return " ".join(text.lower().split())


def compact(text: str) -> str:
    """Lowercased text without whitespace, math delimiters, braces and spacing commands, for the similarity."""
    return _LAYOUT.sub("", text.lower())


@dataclass(frozen=True, slots=True)
class Tokenizer:
    """How texts become words: in Python for one text, with pyarrow for many; both give the same words."""

    name: str
    words: Callable[[str], list[str]]
    drop_digits: bool

    def arrow_words(self, texts: Sequence[str]):
        """A pyarrow list array of each text's words."""
        import pyarrow as pa
        import pyarrow.compute as pc

        lowered = pc.utf8_lower(pa.array(texts, type=pa.large_string()))
        if self.drop_digits:
            lowered = pc.replace_substring_regex(lowered, "[0-9]+", "")
        return split_whitespace(lowered)


def split_whitespace(texts):
    """pyarrow's ``utf8_split_whitespace`` (Python's ``str.split()``), with its several times faster ASCII kernel
    on the texts that are pure ASCII (most prompts), the Unicode one on the others."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ascii_rows = pc.string_is_ascii(texts).fill_null(True).to_numpy(zero_copy_only=False)
    if ascii_rows.all():
        return pc.ascii_split_whitespace(texts)
    plain, other = np.flatnonzero(ascii_rows), np.flatnonzero(~ascii_rows)
    parts = pa.concat_arrays(
        [pc.ascii_split_whitespace(texts.take(plain)), pc.utf8_split_whitespace(texts.take(other))]
    )
    return parts.take(np.argsort(np.concatenate([plain, other]), kind="stable"))


OPEN_R1 = Tokenizer("open-r1", lambda text: text.lower().split(), drop_digits=False)
# Every digit removed: a problem whose numbers alone changed keeps its n-grams.
SKELETON = Tokenizer("skeleton", lambda text: text.lower().translate(_DIGITS).split(), drop_digits=True)


def string_ngrams(words: Sequence[str], n: int) -> set[str]:
    """open-r1's ``build_ngram_single``: the set of space-joined word n-grams."""
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


@dataclass(frozen=True, slots=True)
class NgramIndex:
    """The n-gram hashes of a collection of reference texts (a benchmark), sorted, with the text each came from."""

    tokenizer: Tokenizer
    vocab: object  # pyarrow array of the reference words; a word's id is its position + 1
    hashes: np.ndarray  # uint64, sorted
    owners: np.ndarray  # int64, index of the reference text of each hash
    n: int
    filter: np.ndarray  # bool, indexed by a hash's low bits: True where some reference hash has them

    @classmethod
    def of(cls, tokenizer: Tokenizer, vocab: object, hashes: np.ndarray, owners: np.ndarray, n: int) -> NgramIndex:
        table = np.zeros(_FILTER_MASK + 1, dtype=bool)
        table[hashes & _FILTER_MASK] = True
        return cls(tokenizer, vocab, hashes, owners, n, table)


def _window_hashes(ids: np.ndarray, lengths: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hashes of the n-word windows inside one text and free of unknown words, their text and start position."""
    if ids.size < n:
        empty = np.zeros(0, dtype=np.int64)
        return np.zeros(0, dtype=np.uint64), empty, empty
    text_of = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    windows = ids.size - n + 1
    unknown = np.concatenate(([0], np.cumsum(ids == 0)))
    valid = (unknown[n:] - unknown[:windows] == 0) & (text_of[:windows] == text_of[n - 1 :])
    values = ids.astype(np.uint64)
    hashes = np.zeros(windows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):
            hashes = hashes * _MULTIPLIER + values[j : j + windows]
    starts = np.arange(windows, dtype=np.int64) - (np.cumsum(lengths) - lengths)[text_of[:windows]]
    return hashes[valid], text_of[:windows][valid], starts[valid]


def _ids(texts: Sequence[str], tokenizer: Tokenizer, vocab=None):
    """Word ids of all texts (0 for a word outside ``vocab``), words per text, and the vocabulary used."""
    import pyarrow.compute as pc

    words = tokenizer.arrow_words(texts)
    lengths = pc.list_value_length(words).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.list_flatten(words)
    if vocab is None:
        vocab = pc.unique(flat)
    ids = pc.index_in(flat, value_set=vocab).fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64) + 1
    return ids, lengths, vocab


def build_index(texts: Sequence[str], tokenizer: Tokenizer, n: int) -> NgramIndex:
    """Index the n-grams of reference ``texts``."""
    ids, lengths, vocab = _ids(texts, tokenizer)
    hashes, owners, _ = _window_hashes(ids, lengths, n)
    if not hashes.size:
        return NgramIndex.of(tokenizer, vocab, np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int64), n)
    pairs = unique_rows(np.stack([hashes, owners.astype(np.uint64)], axis=1))
    return NgramIndex.of(tokenizer, vocab, pairs[:, 0].copy(), pairs[:, 1].astype(np.int64), n)


def ngram_text(text: str, index: NgramIndex, wanted: int) -> str | None:
    """The n-gram of ``text`` whose hash is ``wanted`` (for reports), or None."""
    ids, lengths, _ = _ids([text], index.tokenizer, index.vocab)
    hashes, _, starts = _window_hashes(ids, lengths, index.n)
    words = index.tokenizer.words(text)
    for start in starts[hashes == np.uint64(wanted)].tolist():
        return " ".join(words[start : start + index.n])
    return None


@dataclass(frozen=True, slots=True)
class Matches:
    """(training text, reference text, n-gram hash) for every shared n-gram, deduplicated."""

    texts: np.ndarray  # int64, global index of the training text
    owners: np.ndarray  # int64, reference text
    hashes: np.ndarray  # uint64


def match(texts: Sequence[str], index: NgramIndex, start: int = 0) -> Matches:
    """Every n-gram of ``texts`` found in ``index`` (text indices offset by ``start``)."""
    ids, lengths, _ = _ids(texts, index.tokenizer, index.vocab)
    hashes, text_of, _ = _window_hashes(ids, lengths, index.n)
    maybe = index.filter[hashes & _FILTER_MASK]  # a table lookup drops almost every window before the search
    hashes, text_of = hashes[maybe], text_of[maybe]
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
    found = unique_rows(found) if found.size else found.reshape(0, 3)
    return Matches(found[:, 0].astype(np.int64) + start, found[:, 1].astype(np.int64), found[:, 2].copy())


def unique_rows(rows: np.ndarray) -> np.ndarray:
    """``np.unique(rows, axis=0)`` for a 2-D uint64 array, sorted the same way, with a lexsort (several times faster)."""
    order = np.lexsort(rows.T[::-1])
    rows = rows[order]
    keep = np.ones(len(rows), dtype=bool)
    keep[1:] = np.any(rows[1:] != rows[:-1], axis=1)
    return rows[keep]


def chunks(texts: Sequence[str], size: int = CHUNK) -> Iterator[tuple[int, Sequence[str]]]:
    for start in range(0, len(texts), size):
        yield start, texts[start : start + size]


def match_all(texts: Sequence[str], index: NgramIndex) -> Matches:
    """:func:`match` over ``texts`` in chunks of :data:`CHUNK`, concatenated."""
    parts = [match(part, index, start) for start, part in chunks(texts)]
    if not parts:
        return Matches(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.uint64))
    return Matches(*(np.concatenate([getattr(p, name) for p in parts]) for name in ("texts", "owners", "hashes")))


def equal_texts(texts: Sequence[str], wanted: Sequence[str]) -> Iterator[tuple[int, str]]:
    """``(row, normalize(texts[row]))`` for each text whose normalized form is in ``wanted``, normalized by pyarrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    for start, part in chunks(texts):
        words = split_whitespace(pc.utf8_lower(pa.array(part, type=pa.large_string())))
        found = pc.index_in(
            pc.binary_join(words, pa.scalar(" ", pa.large_string())),
            value_set=pa.array(wanted, type=pa.large_string()),
        )
        for row in np.flatnonzero(found.is_valid().to_numpy(zero_copy_only=False)).tolist():
            yield start + row, wanted[found[row].as_py()]
