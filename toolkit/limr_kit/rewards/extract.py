"""Find the final answer in a model's response: the last ``\\boxed{...}`` (or ``\\fbox{...}``)."""

from __future__ import annotations

import re


_BOX_COMMAND = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])")
_BARE_ARGUMENT = re.compile(r"\s*([^\s$]+)")

# The released LIMR reward's pattern (openrlhf/cli/serve_rm.py): at most 3 levels of nested braces;
# the capture ends with the closing brace, which the reward strips with [:-1].
LIMR_BOXED = re.compile(
    r"\\boxed\{((?:[^{}]|\\{|\\}|(?:\{(?:[^{}]|\\{|\\}|(?:\{(?:[^{}]|\\{|\\}|(?:\{[^{}]*\}))*\}))*\}))*\})"
)
OPEN_BRACKETS = "([{"
CLOSE_BRACKETS = ")]}"
EOS_MARKERS = ("<|im_end|>", "<|endoftext|>")


def closing_brace(text: str, start: int) -> int | None:
    """Index of the brace closing the one at ``start``; escaped braces (``\\{``) do not count."""
    depth = 0
    index = start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return None


def split_top_level(text: str, separator: str) -> list[str]:
    """Split on ``separator`` where it is not nested inside brackets."""
    parts, depth, start, index = [], 0, 0, 0
    while index < len(text):
        if text[index] == "\\" and text.startswith(separator, index) and depth == 0 and separator.startswith("\\"):
            parts.append(text[start:index])
            index += len(separator)
            start = index
            continue
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if char in OPEN_BRACKETS:
            depth += 1
        elif char in CLOSE_BRACKETS:
            depth -= 1
        elif depth == 0 and text.startswith(separator, index):
            parts.append(text[start:index])
            index += len(separator)
            start = index
            continue
        index += 1
    parts.append(text[start:])
    return parts


def encloses(text: str, left: str, right: str) -> bool:
    """True when ``text`` is ``left ... right`` with the brackets matching each other."""
    if not (text.startswith(left) and text.endswith(right)) or len(text) < len(left) + len(right):
        return False
    inner = text[len(left) : len(text) - len(right)]
    depth = 0
    index = 0
    while index < len(inner):
        if inner[index] == "\\":
            index += 2
            continue
        depth += inner[index] in OPEN_BRACKETS
        depth -= inner[index] in CLOSE_BRACKETS
        if depth < 0:
            return False
        index += 1
    return depth == 0


def boxed_answers(text: str) -> list[str]:
    """Contents of every top-level box in order, matched by braces at any depth.

    ``\\boxed 5`` (no braces) takes the next token. A box whose brace never closes (a truncated
    response) is not an answer.
    """
    answers = []
    position = 0
    while match := _BOX_COMMAND.search(text, position):
        after = match.end()
        stripped = after
        while stripped < len(text) and text[stripped] in " \t":
            stripped += 1
        if stripped < len(text) and text[stripped] == "{":
            end = closing_brace(text, stripped)
            if end is None:
                break
            answers.append(text[stripped + 1 : end])
            position = end + 1
            continue
        bare = _BARE_ARGUMENT.match(text, after)
        if bare:
            answers.append(bare.group(1))
            position = bare.end()
        else:
            position = after
    return answers


def last_boxed(text: str) -> str | None:
    """The last box's content (the final answer), or None when the response has no box."""
    answers = boxed_answers(text)
    return answers[-1] if answers else None


def limr_last_boxed(text: str) -> str | None:
    """The released LIMR reward's extraction: the last regex match, minus its closing brace."""
    matches = LIMR_BOXED.findall(text)
    return matches[-1][:-1] if matches else None


def cut_at_eos(text: str) -> str:
    """The response up to its first end-of-sequence marker, stripped (as the released reward does)."""
    for marker in EOS_MARKERS:
        text = text.split(marker)[0]
    return text.strip()
