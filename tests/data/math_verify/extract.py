"""Rebuild ``cases.json`` from a checkout of huggingface/Math-Verify: every (gold, pred, expected) case of
its parametrised tests, read from the test files' syntax trees (nothing of Math-Verify is imported or run).

    python tests/data/math_verify/extract.py MATH_VERIFY_CHECKOUT [COMMIT]
"""

from __future__ import annotations

import ast
import json
import math
import sys
from pathlib import Path


FILES = ("test_all", "test_numina_cases", "test_open_thoughts", "test_yujianll", "test_boxed", "test_strict")
HERE = Path(__file__).resolve().parent


def _value(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except ValueError:  # one f-string (test_float_precision) formats math.sqrt(17): evaluate it with math only
        return eval(compile(ast.Expression(node), "<case>", "eval"), {"__builtins__": {}, "math": math})  # noqa: S307


def cases_of(source: str, file: str) -> list[dict]:
    cases = []
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef):
            continue
        for decorator in function.decorator_list:
            if not (isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", "") == "parametrize"):
                continue
            names = [name.strip() for name in ast.literal_eval(decorator.args[0]).split(",")]
            if names[:2] != ["gold", "pred"]:
                continue
            for number, row in enumerate(decorator.args[1].elts):
                values = dict(zip(names, (_value(element) for element in row.elts), strict=True))
                expected = values.pop("expected", values.pop("result", None))
                cases.append(
                    {
                        "id": f"{file}.py::{function.name}[{number}]",
                        "gold": values.pop("gold"),
                        "pred": values.pop("pred"),
                        "expected": bool(expected),
                        "options": values,  # strict, precision, allow_set_relation_comp where the test sets them
                    }
                )
    return cases


def main(checkout: str, commit: str = "") -> None:
    cases = [case for file in FILES for case in cases_of((Path(checkout) / "tests" / f"{file}.py").read_text(), file)]
    payload = {"source": "https://github.com/huggingface/Math-Verify", "commit": commit, "cases": cases}
    (HERE / "cases.json").write_text(json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases")


if __name__ == "__main__":
    main(*sys.argv[1:])
