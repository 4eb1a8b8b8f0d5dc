"""Training data: a dataset's rows as problems (id, question, gold answer), and each backend's prompt rows."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from limr_kit.datasets_io import read_table
from limr_kit.errors import BadRowError, InputError
from limr_kit.train.recipes import PROBLEM_SLOT, DatasetSpec


DATA_DIR_ENV = "LIMR_DATA_DIR"


@dataclass(frozen=True, slots=True)
class Problem:
    """One training sample; ``sample_id`` is how the reward log and LIM know it."""

    sample_id: str
    question: str
    answer: str


def dataset_path(text: str, data_dir: Path | None) -> Path:
    """The dataset location, with ``{data_dir}`` filled from ``data_dir`` or ``LIMR_DATA_DIR``."""
    if "{data_dir}" in text:
        root = data_dir or (Path(os.environ[DATA_DIR_ENV]) if os.environ.get(DATA_DIR_ENV) else None)
        if root is None:
            raise InputError(
                f"The recipe reads its dataset from {text}: pass --data-dir DIR (the folder holding LIMR's released "
                f"data, e.g. ../shared/data) or set {DATA_DIR_ENV}, or give the data itself with --dataset PATH."
            )
        text = text.replace("{data_dir}", str(root))
    return Path(text).expanduser()


def _describe(value: Any) -> str:
    return "missing" if value is None else f"a {type(value).__name__}"


def read_problems(spec: DatasetSpec, path: Path, fix: str = "the recipe's dataset.fields.{role}") -> list[Problem]:
    """Every row of the dataset as a :class:`Problem`; one error naming the file and row for the first bad one.

    An empty gold answer is kept (LIMR's math.8k has two): such a problem trains as it did in the paper.
    ``fix`` names where the user sets a field's column (``{role}``: question, answer or id).
    """
    table = read_table(path, split=spec.split)
    columns = table.column_names
    fields = spec.fields
    question = next((name for name in fields.question if name in columns), None)
    wanted = [("question", question or " or ".join(fields.question)), ("answer", fields.answer)]
    if fields.id is not None:
        wanted.append(("id", fields.id))
    for role, name in wanted:
        if name not in columns:
            raise InputError(
                f"{path} has no {role} field '{name}' (columns: {', '.join(columns)}). "
                f"Name the right column in {fix.format(role=role)}."
            )
    problems: list[Problem] = []
    first_row: dict[str, int] = {}
    names = [question, fields.answer] + ([fields.id] if fields.id else [])
    for number, row in enumerate(table.select(names).to_pylist(), start=1):
        text, answer = row[question], row[fields.answer]
        sample_id = row[fields.id] if fields.id else number
        if not isinstance(text, str) or not text.strip():
            raise BadRowError(path, None, f"row {number}: the question '{question}' is {_describe(text)} or empty")
        if answer is None or isinstance(answer, (list, dict)):  # an empty one is kept: math.8k has two
            raise BadRowError(path, None, f"row {number}: the answer '{fields.answer}' is {_describe(answer)}")
        if sample_id is None or isinstance(sample_id, (list, dict)):
            raise BadRowError(path, None, f"row {number}: the id '{fields.id}' is {_describe(sample_id)}")
        key = str(sample_id)
        if key in first_row:
            raise BadRowError(
                path, None, f"row {number}: id '{key}' repeats row {first_row[key]}", "LIM tracks samples by id"
            )
        first_row[key] = number
        problems.append(Problem(key, text, str(answer)))
    return problems


def chat(problem: Problem, system_prompt: str) -> list[dict[str, str]]:
    """The paper's prompt: LIMR's system message, then the question as the user turn."""
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": problem.question}]


def raw_prompt(problem: Problem, template: str) -> str:
    """A raw-text prompt: the template with the question in place of ``[PROBLEM]`` (no chat template)."""
    return template.replace(PROBLEM_SLOT, problem.question)


def openrlhf_row(problem: Problem, system_prompt: str, template: str | None = None) -> dict[str, Any]:
    """A row of OpenRLHF's prompt JSONL: chat messages (or, with a template, the raw ``prompt`` text) and the label
    limr-kit's reward file reads."""
    label = json.dumps({"sample_id": problem.sample_id, "answer": problem.answer}, ensure_ascii=False)
    if template is not None:
        return {"prompt": raw_prompt(problem, template), "label": label}
    return {"context_messages": chat(problem, system_prompt), "label": label}


def trl_row(problem: Problem, system_prompt: str, template: str | None = None) -> dict[str, Any]:
    """A row of TRL's dataset: conversational (chat template), or with a template a standard one whose ``prompt``
    text TRL tokenises as is; ``answer`` and ``sample_id`` reach the reward function."""
    prompt = raw_prompt(problem, template) if template is not None else chat(problem, system_prompt)
    return {"prompt": prompt, "answer": problem.answer, "sample_id": problem.sample_id}
