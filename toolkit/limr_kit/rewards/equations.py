"""Answers written as labelled values or equations: ``f(x)=1``, ``AB=4, CD=5``, ``y=2x+1``.

On normalised answers (see ``normalize``). A *label* is the left side of an ``=`` that names a quantity
rather than computing one: no digit outside subscripts, no operator (``x``, ``AB``, ``a_{37}``, ``f(x)``,
``|AB|``, ``A:B``, ``(p,q)``, ``\\frac{NO}{BO}``, ``\\angle ABC``; not ``\\sin x``).

- one labelled value against a bare answer compares the value (``f(x)=1`` = ``1``, ``y=2x+1`` = ``2x+1``);
- values under one label are the list of its values (``x=1,2`` = ``p=1, p=2`` = ``2, 1``);
- values under distinct labels are a system: against a system, label by label in any order
  (``a_3=2, a_{37}=19`` = ``a_{37}=19, a_3=2``; ``x=1, y=2`` != ``y=1, x=2``); against bare values or a tuple,
  in the order written (``AB=4, CD=5`` = ``4, 5`` = ``(4,5)``, but != ``5, 4``);
- two equations in variables are the same equation when lhs - rhs of one is a nonzero constant times lhs - rhs
  of the other (``y=2x+1`` = ``2x-y+1=0``; ``y=-\\frac12x+\\frac34`` = ``2x+4y-3=0``; ``x^2=4`` != ``x=2``);
  labelled equations of constants compare their values, whatever the label (``x=5`` = ``n=5``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from limr_kit.rewards.extract import encloses, split_top_level


_SUBSCRIPT = re.compile(r"_(?:\{[^{}]*\}|[A-Za-z0-9])")
_LABEL = re.compile(r"^(?=.*[A-Za-z])[A-Za-z|():,\\{} ]+$")
_COMMAND = re.compile(r"\\([A-Za-z]+)")
# Commands a name may use: Greek letters and decorations. A function computes: tan(theta) = 2 theta is an equation.
_NAMING_COMMANDS = frozenset(
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa lambda mu nu xi rho sigma tau "
    "upsilon phi varphi chi psi omega Gamma Delta Theta Lambda Xi Sigma Phi Psi Omega "
    "angle measuredangle triangle overline overrightarrow vec hat widehat bar tilde frac mathbf".split()
)
_RELATION_BEFORE = "<>!:"
Same = Callable[[str, str], bool]


def split_equation(text: str) -> tuple[str, str] | None:
    """``(lhs, rhs)`` when ``text`` has exactly one top-level ``=`` (not ``<=``, ``>=``, ``!=``), else None."""
    parts = split_top_level(text, "=")
    if len(parts) != 2 or not parts[0] or not parts[1] or parts[0][-1] in _RELATION_BEFORE:
        return None
    return parts[0], parts[1]


def is_label(text: str) -> bool:
    """Names a quantity: letters, brackets, Greek letters and decorations only, once subscripts are removed."""
    return bool(_LABEL.match(_SUBSCRIPT.sub("", text))) and all(
        command in _NAMING_COMMANDS for command in _COMMAND.findall(text)
    )


def labelled_items(text: str) -> list[tuple[str | None, str]] | None:
    """The answer's comma-separated parts as ``(label, value)``, ``label`` None for a bare part; None if no label."""
    items: list[tuple[str | None, str]] = []
    for part in split_top_level(text, ","):
        equation = split_equation(part)
        items.append(equation if equation is not None and is_label(equation[0]) else (None, part))
    return items if any(label is not None for label, _ in items) else None


def _is_system(items: list[tuple[str | None, str]]) -> bool:
    labels = [label for label, _ in items]
    return None not in labels and len(set(labels)) == len(labels) > 1


def _bare_values(text: str) -> list[str]:
    """The values of a bare list or a tuple, in order (a set has no order to match a system's)."""
    if encloses(text, "(", ")") and len(inner := split_top_level(text[1:-1], ",")) > 1:
        return inner
    return split_top_level(text, ",")


def compare_labelled(pred: str, gold: str, same: Same) -> bool | None:
    """The verdict when either side is labelled (``same`` compares two values), None when neither is."""
    pred_items, gold_items = labelled_items(pred), labelled_items(gold)
    if pred_items is None and gold_items is None:
        return None
    if pred_items is not None and gold_items is not None and _is_system(pred_items) and _is_system(gold_items):
        golds = dict(gold_items)
        return golds.keys() == dict(pred_items).keys() and all(
            same(value, golds[label]) for label, value in pred_items
        )
    for system, other in ((pred_items, gold), (gold_items, pred)):
        if system is not None and _is_system(system):
            if labelled_items(other) is not None:
                return False  # a system against one label's values
            values = _bare_values(other)
            return len(values) == len(system) and all(same(v, o) for (_, v), o in zip(system, values, strict=True))
    pred_values = pred if pred_items is None else ",".join(value for _, value in pred_items)
    gold_values = gold if gold_items is None else ",".join(value for _, value in gold_items)
    return same(pred_values, gold_values)
