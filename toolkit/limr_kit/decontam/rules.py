"""The two decontamination rules: open-r1's any-shared-8-gram, and ours, n-gram candidates confirmed by similarity.

open-r1 (``scripts/decontaminate.py``, after s1's ``decontaminate_util.py``): lowercase, strip and collapse
whitespace, word 8-grams split on whitespace; a training text is contaminated by a benchmark if it shares
any 8-gram with any of its problems. A text shorter than 8 words has no 8-gram and is never flagged.

Ours (the default): candidates are benchmark problems sharing a word n-gram (default 8) with the training
text after lowercasing and replacing every number with '#', so a problem whose numbers alone changed
is still a candidate. N-grams that are boilerplate are ignored: those in at least ``BENCH_BOILERPLATE``
problems of one benchmark, or in at least max(``TRAIN_BOILERPLATE_MIN``, ``TRAIN_BOILERPLATE_SHARE`` x rows)
training texts ("express your answer as a common fraction"). A training text equal to a problem once
both are normalized is a candidate too (short problems have no n-gram). Each text's ``CANDIDATES``
problems sharing the most n-grams are compared on compacted texts (lowercase, no whitespace, ``$``,
braces, ``\\left``/``\\right`` or spacing commands, so LaTeX layout does not count) with a similarity ratio (rapidfuzz's ``fuzz.ratio`` / 100 when installed, else difflib's
``SequenceMatcher.ratio``); a pair at or above the threshold is a near-duplicate.
"""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from limr_kit.decontam.ngrams import (
    OPEN_R1,
    SKELETON,
    Matches,
    NgramIndex,
    build_index,
    compact,
    equal_texts,
    match_all,
    ngram_text,
    normalize,
    string_ngrams,
    unique_rows,
)


OPEN_R1_N = 8
DEFAULT_N = 8
DEFAULT_THRESHOLD = 0.8
BENCH_BOILERPLATE = 3
TRAIN_BOILERPLATE_MIN = 10
TRAIN_BOILERPLATE_SHARE = 0.001
CANDIDATES = 3
TOP_NGRAMS = 10


@dataclass(frozen=True, slots=True)
class Reference:
    """One benchmark problem."""

    benchmark: str
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Hit:
    """A training text matched to a benchmark problem."""

    row: int
    reference: int  # index into the references
    similarity: float | None = None  # ours
    shared_ngrams: tuple[str, ...] = ()  # open-r1: a few of the shared 8-grams


@dataclass(frozen=True, slots=True)
class RuleResult:
    rule: str
    parameters: dict[str, Any]
    hits: list[Hit]
    candidates: int  # training texts that were candidates before confirmation
    common_ngrams: list[tuple[str, int]] = field(default_factory=list)  # open-r1: shared; ours: boilerplate


def _difflib_ratio(a: str, b: str, floor: float = 0.0) -> float:
    """difflib's ratio, or its cheap upper bound when that is already below ``floor``."""
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    bound = matcher.quick_ratio()
    return bound if bound < floor else matcher.ratio()


def similarity_function() -> tuple[Callable[[str, str], float], str]:
    """rapidfuzz's ratio when installed, else difflib's, both in [0, 1]; a value under the floor may be a bound."""
    try:
        from rapidfuzz import fuzz
    except ImportError:
        return _difflib_ratio, "difflib.SequenceMatcher.ratio"
    return (lambda a, b, floor=0.0: fuzz.ratio(a, b, score_cutoff=floor * 100) / 100.0), "rapidfuzz.fuzz.ratio"


def open_r1(texts: Sequence[str], references: Sequence[Reference], n: int = OPEN_R1_N) -> RuleResult:
    """open-r1's rule: flagged by a benchmark if any word n-gram is shared with one of its problems."""
    index = build_index([ref.text for ref in references], OPEN_R1, n)
    matches = match_all(texts, index)
    reference_ngrams: dict[int, set[str]] = {}
    ngrams_of_row: dict[int, set[str]] = {}
    shared_of_row: dict[int, set[str]] = {}
    hits: list[Hit] = []
    pairs = (
        unique_rows(np.stack([matches.texts, matches.owners], axis=1).astype(np.uint64)) if matches.texts.size else []
    )
    for row, owner in (tuple(int(v) for v in pair) for pair in pairs):
        if row not in ngrams_of_row:
            ngrams_of_row[row] = string_ngrams(OPEN_R1.words(texts[row]), n)
        if owner not in reference_ngrams:
            reference_ngrams[owner] = string_ngrams(OPEN_R1.words(references[owner].text), n)
        shared = ngrams_of_row[row] & reference_ngrams[owner]  # exact check of the hash match
        if shared:
            hits.append(Hit(row, owner, shared_ngrams=tuple(sorted(shared)[:3])))
            shared_of_row.setdefault(row, set()).update(shared)
    counted: Counter[str] = Counter()
    for shared in shared_of_row.values():
        counted.update(sorted(shared))  # ties in the order of first appearance, not of string hashes
    return RuleResult(
        "open-r1",
        {"n": n, "normalize": "lowercase, strip, collapse whitespace; words split on whitespace"},
        hits,
        candidates=len(ngrams_of_row),
        common_ngrams=counted.most_common(TOP_NGRAMS),
    )


def _boilerplate(index: NgramIndex, benchmarks: np.ndarray, matches: Matches, rows: int) -> np.ndarray:
    """The boilerplate hashes: in BENCH_BOILERPLATE problems of one benchmark, or frequent in the training texts."""
    in_bench = np.zeros(0, np.uint64)
    if index.hashes.size:
        keys = np.stack([index.hashes, benchmarks[index.owners]], axis=1)  # (hash, owner) pairs are unique
        _, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
        in_bench = np.unique(index.hashes[counts[inverse.ravel()] >= BENCH_BOILERPLATE])
    in_train = np.zeros(0, np.uint64)
    if matches.hashes.size:
        text_hash = unique_rows(np.stack([matches.texts.astype(np.uint64), matches.hashes], axis=1))
        values, counts = np.unique(text_hash[:, 1], return_counts=True)
        in_train = values[counts >= _train_floor(rows)]
    return np.union1d(in_bench, in_train)


def _train_floor(rows: int) -> int:
    return max(TRAIN_BOILERPLATE_MIN, int(np.ceil(TRAIN_BOILERPLATE_SHARE * rows)))


def near_duplicates(
    texts: Sequence[str],
    references: Sequence[Reference],
    *,
    n: int = DEFAULT_N,
    threshold: float = DEFAULT_THRESHOLD,
) -> RuleResult:
    """Our rule: n-gram candidates that ignore boilerplate, confirmed by a similarity ratio."""
    similarity, similarity_name = similarity_function()
    names = sorted({ref.benchmark for ref in references})
    benchmarks = np.asarray([names.index(ref.benchmark) for ref in references], dtype=np.uint64)
    index = build_index([ref.text for ref in references], SKELETON, n)
    matches = match_all(texts, index)
    boilerplate = _boilerplate(index, benchmarks, matches, len(texts))
    keep = ~np.isin(matches.hashes, boilerplate)
    shared: Counter[tuple[int, int]] = Counter(
        zip(matches.texts[keep].tolist(), matches.owners[keep].tolist(), strict=True)
    )
    by_text: dict[str, list[int]] = {}
    compacted = [compact(ref.text) for ref in references]
    for owner, ref in enumerate(references):
        by_text.setdefault(normalize(ref.text), []).append(owner)
    candidates: dict[int, list[int]] = {}
    for (row, owner), _count in sorted(shared.items(), key=lambda item: (item[0][0], -item[1])):
        if len(candidates.setdefault(row, [])) < CANDIDATES:
            candidates[row].append(owner)
    for row, text in equal_texts(texts, list(by_text)):
        for owner in by_text[text]:
            if owner not in candidates.setdefault(row, []):
                candidates[row].append(owner)
    candidates = {row: owners for row, owners in candidates.items() if owners}
    hits = []
    for row, owners in sorted(candidates.items()):
        text = compact(texts[row])
        for owner in owners:
            ratio = similarity(text, compacted[owner], threshold)
            if ratio >= threshold:
                hits.append(Hit(row, owner, similarity=round(ratio, 4)))
    return RuleResult(
        "default",
        {
            "n": n,
            "threshold": threshold,
            "similarity": similarity_name,
            "numbers": "digits removed for the n-grams, kept for the similarity",
            "similarity_text": "lowercase; whitespace, $, braces, \\left, \\right and spacing commands removed",
            "boilerplate": {
                "benchmark_problems": BENCH_BOILERPLATE,
                "training_rows": _train_floor(len(texts)),
            },
            "candidates_per_row": CANDIDATES,
        },
        hits,
        candidates=len(candidates),
        common_ngrams=_boilerplate_examples(texts, references, index, matches, boilerplate),
    )


def _boilerplate_examples(
    texts: Sequence[str], references: Sequence[Reference], index: NgramIndex, matches: Matches, boilerplate: np.ndarray
) -> list[tuple[str, int]]:
    """The boilerplate n-grams that matched the most training texts, as text, with that count."""
    mask = np.isin(matches.hashes, boilerplate)
    if not mask.any():
        return []
    pairs = unique_rows(np.stack([matches.texts[mask].astype(np.uint64), matches.hashes[mask]], axis=1))
    values, counts = np.unique(pairs[:, 1], return_counts=True)
    examples = []
    for position in np.argsort(-counts, kind="stable")[:TOP_NGRAMS]:
        owner = int(index.owners[np.searchsorted(index.hashes, values[position])])
        text = ngram_text(references[owner].text, index, int(values[position]))
        examples.append((text or "?", int(counts[position])))
    return examples
