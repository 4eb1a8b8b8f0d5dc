"""The released LIMR reward's format checks (a failed one scores -1)."""

from __future__ import annotations

import re

import numpy as np


MAX_BOXES = 5  # 5 or more boxes is a format error
GARBLED_RATIO = 0.3
# Characters the released reward counts as valid; more than 30% of anything else is "garbled".
VALID_CHARACTERS = re.compile(r'[a-zA-Z0-9\s\.,!?"\'\(\)\{\}\[\]_\-+=<>/@#$%^&*\\|:;~`\u2200-\u22FF]')
# A chunk of 5+ characters (no newline) repeated 5+ times in a row.
LIMR_REPETITION = re.compile(r"(.{5,}?)\1{4,}")


def is_garbled(text: str) -> bool:
    """More than 30% of the characters fall outside the released reward's valid set."""
    if not text:
        return False
    return len(VALID_CHARACTERS.sub("", text)) / len(text) > GARBLED_RATIO


def box_count(text: str) -> int:
    """Occurrences of ``\\boxed`` as the released reward counts them."""
    return text.count("\\boxed")


def has_repetition(text: str, unit: int = 5, copies: int = 5) -> bool:
    """Same verdict as ``LIMR_REPETITION.search``, vectorised.

    A chunk of length p >= 5 repeated 5 times in a row is a stretch of 5p characters with period p:
    4p consecutive positions i where text[i] == text[i + p], none of them a newline (the regex's
    ``.`` excludes it). Checking every period costs O(n^2 / 5) numpy work instead of the regex's
    backtracking, which takes seconds on a 12,000-character response.
    """
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    usable = codes != ord("\n")
    for period in range(unit, codes.size // copies + 1):
        same = (codes[:-period] == codes[period:]) & usable[:-period]
        breaks = np.flatnonzero(~same)
        edges = np.concatenate(([-1], breaks, [same.size]))
        if int(np.max(np.diff(edges))) - 1 >= (copies - 1) * period:
            return True
    return False
