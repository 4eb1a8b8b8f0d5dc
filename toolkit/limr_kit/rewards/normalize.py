"""Answer normalisation: the same rewrite on prediction and gold before they are compared.

Policies (documented in the README):
- math delimiters (``$``, ``\\(``, ``\\[``), ``\\displaystyle``, ``\\left``/``\\right`` and spacing
  commands are dropped; ``\\dfrac``/``\\tfrac`` become ``\\frac``; ``\\frac12`` becomes ``\\frac{1}{2}``;
- ``\\text{..}``, ``\\textbf{..}``, ``\\mathrm{..}``, ``\\mbox{..}`` are unwrapped (``\\text{Tuesday}`` = ``Tuesday``);
- degrees (``^\\circ``, ``°``), percent (``\\%``, ``percent``, ``pct``) and dollar signs (``\\$``) are dropped:
  ``30^\\circ`` = ``30``, ``10\\%`` = ``10 percent`` = ``10`` (but not ``0.1``), ``\\$5`` = ``5``;
- a unit word after a number is dropped (``5 \\text{ cm}`` = ``5``);
- digit-group commas are removed when the groups are unspaced and the first is not 0 (``1,000`` = ``1000``,
  ``1,\\!000`` too; ``32, 349`` is a list of two numbers, ``0,111`` a list or a decimal comma, never ``111``;
  ``(1,000)`` stays a pair);
- ``\\approx`` reads as ``=``; between answers containing a digit, the words ``and``/``or`` read as commas
  (``6 \\text{ and } 8`` = ``6, 8``); a pair of plain braces around the whole answer is a group and goes;
- a leading single-letter assignment of a constant is dropped (``x = 5`` = ``5``); one whose value has a
  variable stays an equation (``y = 2x + 1``, see ``equations``);
- a multiple-choice letter loses its parentheses (``(C)`` = ``C``);
- whitespace is removed, except one space that keeps a command apart from a following letter.
"""

from __future__ import annotations

import re

from limr_kit.rewards.equivalence import has_free_variable
from limr_kit.rewards.extract import closing_brace, encloses


_UNWRAP_COMMANDS = (
    "text",
    "textnormal",
    "textbf",
    "textit",
    "textrm",
    "mathrm",
    "mathbf",
    "mbox",
    "operatorname",
    "boxed",
)
_DROP = (
    "\\displaystyle",
    "\\left",
    "\\right",
    "\\quad",
    "\\qquad",
    "\\$",
    "\\%",
    "^\\circ",
    "^{\\circ}",
    "\\circ",
    "°",
    "\\degree",
    "%",
)
_SPACING = re.compile(r"(?<!\\)\\[,;: ]")  # \, \; \: and "\ ", but not a line break "\\" then a space
_NEGATIVE_SPACE = re.compile(r"(?<!\\)\\!")
_GROUP_COMMA = re.compile(r"(?<=\d)\s*,\s*\\!\s*(?=\d)")  # 1,\!000: LaTeX's digit-group comma, whatever the spacing
_LIST_WORD = re.compile(r"\s+(?:and|or)\s+")
_UNITS = (
    "percentage",
    "percent",
    "pct",
    "square units",
    "sq units",
    "units",
    "unit",
    "degrees",
    "degree",
    "radians",
    "cm",
    "mm",
    "km",
    "meters",
    "meter",
    "metres",
    "m",
    "inches",
    "inch",
    "feet",
    "foot",
    "ft",
    "yards",
    "yard",
    "miles",
    "mile",
    "mph",
    "seconds",
    "second",
    "sec",
    "minutes",
    "minute",
    "min",
    "hours",
    "hour",
    "days",
    "day",
    "weeks",
    "years",
    "dollars",
    "dollar",
    "cents",
    "cent",
    "pounds",
    "lbs",
    "kg",
    "grams",
    "g",
    "liters",
    "ml",
    "people",
    "students",
    "ways",
    "times",
    "points",
    "feet^2",
    "cm^2",
    "m^2",
    "inches^2",
)
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_UNIT_SUFFIX = re.compile(
    rf"^(?P<number>{_NUMBER}|\\frac\{{\d+\}}\{{\d+\}})\s*(?:{'|'.join(re.escape(u) for u in _UNITS)})(?:\^\{{?[23]\}}?)?$"
)
_DIGIT_GROUPS = re.compile(r"^[-+]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$")  # no space after a comma, no leading 0
_ASSIGNMENT = re.compile(r"^[a-zA-Z]\s*=\s*(?P<value>[^=]+)$")
_CHOICE = re.compile(r"^\(([A-Ea-e])\)$")
_FRAC_SHORT = re.compile(r"\\frac(?:(\d)(\d)|(\d)(\{)|\{([^{}]+)\}(\d))")
_SQRT_SHORT = re.compile(r"\\sqrt(\d)")
_COMMAND_SPACE = re.compile(r"(\\[a-zA-Z]+)\s+(?=[a-zA-Z])")
_WHITESPACE = re.compile(r"\s+")


def _unwrap(text: str, command: str) -> str:
    """Replace every ``\\command{content}`` by ``content`` (brace-matched; ``\\textbf`` is not ``\\text``)."""
    token = f"\\{command}"
    result = []
    position = 0
    while (start := text.find(token, position)) != -1:
        after = start + len(token)
        brace = after
        while brace < len(text) and text[brace] == " ":
            brace += 1
        end = closing_brace(text, brace) if brace < len(text) and text[brace] == "{" else None
        if (after < len(text) and text[after].isalpha()) or end is None:
            result.append(text[position:after])
            position = after
            continue
        result.append(text[position:start])
        result.append(text[brace + 1 : end])
        position = end + 1
    result.append(text[position:])
    return "".join(result)


def _short_fractions(text: str) -> str:
    def expand(match: re.Match) -> str:
        a, b, c, _, d, e = match.groups()
        if a is not None:
            return f"\\frac{{{a}}}{{{b}}}"
        if c is not None:
            return f"\\frac{{{c}}}{{"
        return f"\\frac{{{d}}}{{{e}}}"

    return _SQRT_SHORT.sub(r"\\sqrt{\1}", _FRAC_SHORT.sub(expand, text))


def _drop_unit(text: str) -> str:
    unit = _UNIT_SUFFIX.match(text)
    return text if unit is None else unit.group("number")


def _strip_delimiters(text: str) -> str:
    for left, right in (("$$", "$$"), ("$", "$"), ("\\(", "\\)"), ("\\[", "\\]")):
        if text.startswith(left) and text.endswith(right) and len(text) >= len(left) + len(right):
            text = text[len(left) : len(text) - len(right)].strip()
    return text


def normalize_answer(text: str) -> str:
    """Canonical form of an answer string (see the module docstring for the policies)."""
    text = _strip_delimiters(str(text).strip())
    text = text.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    text = text.replace("\\dbinom", "\\binom").replace("\\tbinom", "\\binom")
    for command in _UNWRAP_COMMANDS:
        text = _unwrap(text, command)
    text = _SPACING.sub(" ", _NEGATIVE_SPACE.sub("", _GROUP_COMMA.sub("", text)))
    for token in _DROP:
        text = text.replace(token, " " if token in ("\\quad", "\\qquad") else "")
    text = text.replace("{,}", "").replace("$", "").strip()
    if any(char.isdigit() for char in text):  # "6 and 8", "x = 1 or x = 2": a list of answers
        text = _LIST_WORD.sub(",", text)
    text = text.rstrip(".").strip()
    text = text.replace("\\approx", "=").lstrip("=").strip()
    text = _short_fractions(text)
    text = _drop_unit(text)
    if (assignment := _ASSIGNMENT.match(text)) is not None:
        value = _drop_unit(assignment.group("value").strip())
        text = text if has_free_variable(value) else value  # y = 2x + 1 stays an equation
    if _DIGIT_GROUPS.match(text):
        text = text.replace(",", "")
    text = _WHITESPACE.sub("", _COMMAND_SPACE.sub("\\1\x00", text)).replace("\x00", " ")
    if encloses(text, "{", "}"):  # a group, not a set (that is \\{...\\})
        text = text[1:-1]
    if (choice := _CHOICE.match(text)) is not None:
        text = choice.group(1).upper()
    return text
