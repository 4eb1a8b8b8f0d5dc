"""Is a normalised prediction the same answer as the normalised gold? Cheapest test first.

1. exact text (plain words compare case-insensitively: ``Tuesday`` = ``tuesday``);
2. numbers: integers, decimals, fractions, mixed numbers (``2\\frac{1}{2}``), scientific notation,
   compared exactly as rationals, or within a relative 1e-6 (``27`` = ``27.0`` = ``027``; ``0.333`` != ``1/3``);
3. equations and labelled values (``y=2x+1`` = ``2x-y+1=0``, ``f(x)=1`` = ``1``, ``AB=4, CD=5`` = ``4, 5``;
   see ``equations``);
4. structure, element by element with this same cascade: tuples and intervals keep order and brackets
   (``(5,7)`` != ``(7,5)``, ``[1,2)`` != ``(1,2)``); sets and bare lists of solutions ignore order but count
   every element as written (``1, 1, 2`` != ``1, 2``: a repeated element is one more answer);
   unions of intervals ignore the order of their parts; matrices compare cell by cell;
5. symbolic, last: math-verify with both sides wrapped in ``\\boxed{}`` for LaTeX extraction (gold first;
   math-verify's comparison is gold-guided); skipped when one side is a plain number and the other a
   tuple/interval/set/matrix or an expression in a variable (never equal).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from limr_kit.rewards.equations import compare_labelled, is_label, split_equation
from limr_kit.rewards.extract import encloses, split_top_level


_INTEGER = re.compile(r"^[-+]?\d+$")
_DECIMAL = re.compile(r"^[-+]?(?:\d+\.\d*|\.\d+)$")
_SCIENTIFIC = re.compile(
    r"^(?P<mantissa>[-+]?(?:\d+(?:\.\d*)?|\.\d+))(?:[eE](?P<e>[-+]?\d+)|\\times10\^\{?(?P<t>[-+]?\d+)\}?)$"
)
_FRACTION = re.compile(r"^(?P<sign>[-+]?)\\frac\{(?P<num>[-+]?\d+)\}\{(?P<den>[-+]?\d+)\}$")
_SLASH = re.compile(r"^(?P<num>[-+]?\d+)/(?P<den>[-+]?\d+)$")
_MIXED = re.compile(r"^(?P<sign>-?)(?P<whole>\d+)\\frac\{(?P<num>\d+)\}\{(?P<den>\d+)\}$")
_PLAIN_WORD = re.compile(r"^[A-Za-z][A-Za-z]+$")
_MATRIX = re.compile(r"^\\begin\{(?P<env>[pbvBV]?matrix)\}(?P<body>.*)\\end\{(?P=env)\}$", re.DOTALL)
_COMMAND = re.compile(r"\\[a-zA-Z]+")
_VARIABLE = re.compile(r"[a-df-hj-zA-Z]")
RELATIVE_TOLERANCE = Fraction(1, 10**6)


def parse_number(text: str) -> Fraction | None:
    """The exact rational value of a plain number, or None."""
    try:
        if _INTEGER.match(text) or _DECIMAL.match(text):
            return Fraction(Decimal(text))
        if match := _SCIENTIFIC.match(text):
            exponent = int(match.group("e") or match.group("t"))
            return Fraction(Decimal(match.group("mantissa"))) * Fraction(10) ** exponent
        if match := _FRACTION.match(text) or _SLASH.match(text):
            value = Fraction(int(match.group("num")), int(match.group("den")))
            return -value if match.groupdict().get("sign") == "-" else value
        if match := _MIXED.match(text):
            value = int(match.group("whole")) + Fraction(int(match.group("num")), int(match.group("den")))
            return -value if match.group("sign") else value
    except (InvalidOperation, ZeroDivisionError, ValueError):
        return None
    return None


def numbers_close(a: Fraction, b: Fraction) -> bool:
    """Equal, or within a relative 1e-6 of each other."""
    return a == b or abs(a - b) <= RELATIVE_TOLERANCE * max(abs(a), abs(b))


@dataclass(frozen=True, slots=True)
class Structure:
    """A bracketed sequence, a set or list, a union of intervals, or a matrix."""

    kind: str  # "seq" (ordered, brackets kept), "collection" (order-free), "union", "matrix"
    brackets: str
    items: tuple


def parse_structure(text: str) -> Structure | None:
    """The structure of a compound answer, or None for a single value."""
    if match := _MATRIX.match(text):
        rows = [row for row in match.group("body").split("\\\\") if row.strip()]
        return Structure("matrix", match.group("env"), tuple(tuple(cell for cell in row.split("&")) for row in rows))
    if len(parts := split_top_level(text, "\\cup")) > 1:
        return Structure("union", "", tuple(parse_structure(part) or part for part in parts))
    if encloses(text, "\\{", "\\}"):
        return Structure("collection", "{}", tuple(split_top_level(text[2:-2], ",")))
    for left, right in (("(", ")"), ("[", "]"), ("(", "]"), ("[", ")"), ("\\langle", "\\rangle")):
        if encloses(text, left, right) and len(items := split_top_level(text[len(left) : -len(right)], ",")) > 1:
            return Structure("seq", left + right, tuple(items))
    if len(items := split_top_level(text, ",")) > 1:
        return Structure("collection", "", tuple(items))
    return None


def _match_unordered(preds: tuple, golds: tuple, same) -> bool:
    if len(preds) != len(golds):
        return False
    remaining = list(preds)
    for gold in golds:
        for index, pred in enumerate(remaining):
            if same(pred, gold):
                del remaining[index]
                break
        else:
            return False
    return True


def structures_equal(pred: Structure, gold: Structure) -> bool:
    """Element-wise comparison with each part's own rules."""
    if pred.kind == "matrix" or gold.kind == "matrix":
        return (
            pred.kind == gold.kind
            and [len(row) for row in pred.items] == [len(row) for row in gold.items]
            and all(
                answers_equal(p, g)
                for prow, grow in zip(pred.items, gold.items, strict=True)
                for p, g in zip(prow, grow, strict=True)
            )
        )
    if pred.kind == "union" or gold.kind == "union":
        return pred.kind == gold.kind and _match_unordered(pred.items, gold.items, _parts_equal)
    if pred.kind == "seq" and gold.kind == "seq":
        return (
            pred.brackets == gold.brackets
            and len(pred.items) == len(gold.items)
            and all(answers_equal(p, g) for p, g in zip(pred.items, gold.items, strict=True))
        )
    if "seq" in (pred.kind, gold.kind):  # "5, 7" written for the pair "(5,7)": same elements, same order
        return (
            "" in (pred.brackets, gold.brackets)
            and len(pred.items) == len(gold.items)
            and all(answers_equal(p, g) for p, g in zip(pred.items, gold.items, strict=True))
        )
    return _match_unordered(pred.items, gold.items, answers_equal)


def _parts_equal(pred: Structure | str, gold: Structure | str) -> bool:
    if isinstance(pred, Structure) and isinstance(gold, Structure):
        return structures_equal(pred, gold)
    if isinstance(pred, str) and isinstance(gold, str):
        return answers_equal(pred, gold)
    return False


@functools.lru_cache(maxsize=8192)
def _parse_boxed(answer: str) -> tuple:
    """math-verify's parse of ``\\boxed{answer}`` (cached: a prompt's gold repeats across its rollouts)."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse

    config = [LatexExtractionConfig(boxed_match_priority=0), ExprExtractionConfig()]
    return tuple(parse(f"\\boxed{{{answer}}}", extraction_config=config, parsing_timeout=None))


def symbolic_equal(pred: str, gold: str) -> bool:
    """math-verify on ``\\boxed{}``-wrapped answers; its own timeouts off (the caller bounds the time)."""
    from math_verify import verify

    gold_parsed, pred_parsed = _parse_boxed(gold), _parse_boxed(pred)
    if not gold_parsed or not pred_parsed:
        return False
    return bool(verify(list(gold_parsed), list(pred_parsed), timeout_seconds=None))


def implicit_forms_equal(pred: str, gold: str) -> bool:
    """Two equations in the same variables whose lhs - rhs differ by a nonzero constant factor."""
    import sympy

    sides = []
    for text in (pred, gold):
        equation = next(iter(_parse_boxed(text)), None)
        if not isinstance(equation, sympy.Eq) or not all(isinstance(side, sympy.Expr) for side in equation.args):
            return False
        sides.append(equation.lhs - equation.rhs)
    if not sides[0].free_symbols or sides[0].free_symbols != sides[1].free_symbols:
        return False
    ratio = sympy.simplify(sides[0] / sides[1])
    return not ratio.free_symbols and ratio.is_finite is True and ratio.is_zero is False


def equations_equal(pred: str, gold: str, pred_equation: tuple[str, str], gold_equation: tuple[str, str]) -> bool:
    """Labelled values compare as values (the same label, or constants under any label); else as equations."""
    (pred_left, pred_right), (gold_left, gold_right) = pred_equation, gold_equation
    if is_label(pred_left) and is_label(gold_left):
        constants = not (has_free_variable(pred_right) or has_free_variable(gold_right))
        if (pred_left == gold_left or constants) and answers_equal(pred_right, gold_right):
            return True
    return implicit_forms_equal(pred, gold)


def has_free_variable(text: str) -> bool:
    """A letter that is not part of a LaTeX command nor the constants e and i: a variable, so not a number."""
    return bool(_VARIABLE.search(_COMMAND.sub(" ", text)))


def answers_equal(pred: str, gold: str) -> bool:
    """The default grader's verdict on two normalised answers."""
    if pred == gold:
        return True
    if not pred or not gold:
        return False
    if _PLAIN_WORD.match(pred) or _PLAIN_WORD.match(gold):
        return pred.lower() == gold.lower()
    pred_number, gold_number = parse_number(pred), parse_number(gold)
    if pred_number is not None and gold_number is not None:
        return numbers_close(pred_number, gold_number)
    pred_equation, gold_equation = split_equation(pred), split_equation(gold)
    if pred_equation is not None and gold_equation is not None:
        return equations_equal(pred, gold, pred_equation, gold_equation)
    if (labelled := compare_labelled(pred, gold, answers_equal)) is not None:
        return labelled
    pred_structure, gold_structure = parse_structure(pred), parse_structure(gold)
    if pred_structure is not None and gold_structure is not None:
        return structures_equal(pred_structure, gold_structure)
    for number, other, other_structure in ((pred_number, gold, gold_structure), (gold_number, pred, pred_structure)):
        # A number is never a tuple, interval, set or matrix, nor an expression in a variable.
        if number is not None and (other_structure is not None or has_free_variable(other)):
            return False
    return symbolic_equal(pred, gold)


def limr_compat_equal(pred: str, gold: str) -> bool:
    """The released LIMR reward's check: math-verify on bare strings, any exception is False."""
    from math_verify import parse, verify

    try:
        return bool(verify(parse(gold), parse(pred)))
    except Exception:  # the released reward swallows every error the same way
        return False
