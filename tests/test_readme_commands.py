"""Every `limr-kit` command in the README and docs/ parses as written (the real command-line parser), and the ones
that run on a CPU without a GPU or a network run as written."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def _shell_blocks(path: Path) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", path.read_text(encoding="utf-8"), flags=re.S)


def documented_commands() -> list[tuple[str, list[str]]]:
    """(where, argv after `limr-kit`) for each documented command line, continuations joined, comments dropped."""
    found = []
    for path in DOCS:
        for block in _shell_blocks(path):
            for line in block.replace("\\\n", " ").splitlines():
                for part in re.split(r"\s(?:&&|;|\|)\s", line):
                    words = shlex.split(part, comments=True)
                    while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # HF_HUB_OFFLINE=1 limr-kit ...
                        words = words[1:]
                    if words[:1] == ["limr-kit"]:
                        found.append((f"{path.name}: {part.strip()[:80]}", words[1:]))
    return found


def test_the_docs_show_commands_of_every_kind():
    names = {argv[0] for _, argv in documented_commands() if argv}
    assert {"score", "curate", "train", "grade", "bench", "compare", "publish", "pull", "hub", "build"} <= names


@pytest.mark.parametrize(("where", "argv"), documented_commands(), ids=lambda value: str(value)[:60])
def test_every_documented_command_parses(where, argv):
    """Names, options and choices as the parser knows them: a renamed flag in the docs fails here."""
    import typer

    from limr_kit.cli import app
    from limr_kit.cli._help import tidy_help

    command = typer.main.get_command(app)
    tidy_help(command)
    words = list(argv)
    while getattr(command, "commands", None):  # publish dataset, pull model, hub serve
        assert words and words[0] in command.commands, (where, argv)
        command, words = command.commands[words[0]], words[1:]
    command.make_context(argv[0], words, resilient_parsing=False)  # raises on an unknown option or bad value


CPU_RUNNABLE = (
    "train limr-ppo --data-dir ../shared/data --out runs/limr-ppo --dry-run",
    "train full-ppo --data-dir ../shared/data --out runs/full",  # refused without GPUs, with what to do instead
    "curate ../shared/data/limr/scores.json --dataset ../shared/data/limr/prompts/math.8k.json",
    "decontaminate ../shared/data/limr/prompts/math.8k.json --suite limr-paper",
)


@pytest.mark.shared
def test_the_cpu_runnable_commands_run_as_written(shared_data, tmp_path, monkeypatch, run_cli):
    """From a folder beside ../shared, as a user following the README from the checkout would."""
    commands = [" ".join(argv) for _, argv in documented_commands()]
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (tmp_path / "shared").symlink_to(shared_data.parent)
    monkeypatch.chdir(checkout)
    for prefix in CPU_RUNNABLE:
        line = next(command for command in commands if command.startswith(prefix))
        result = run_cli(*shlex.split(line))
        if prefix.startswith("train full-ppo"):
            assert result.code == 1 and "needs CUDA GPUs" in result.stderr and "--dry-run" in result.stderr, line
            continue
        assert result.code == 0, (line, result.stderr)
    assert (checkout / "runs" / "limr-ppo" / "launch.sh").is_file()
    assert len((checkout / "runs" / "limr-set" / "train.jsonl").read_text().splitlines()) == 1389
    assert json.loads((checkout / "runs" / "decontam" / "report.json").read_text())["counts"]["flagged"] > 0


def _python_blocks() -> list[tuple[str, str]]:
    return [
        (f"{path.name} block {number}", block)
        for path in DOCS
        for number, block in enumerate(re.findall(r"```python\n(.*?)```", path.read_text(encoding="utf-8"), re.S))
    ]


@pytest.mark.parametrize(("where", "code"), _python_blocks(), ids=[where for where, _ in _python_blocks()])
def test_documented_python_imports_and_the_attributes_it_uses_exist(where, code):
    """The Python examples compile, every name they import exists, and so does every attribute they take of one."""
    import ast
    import importlib

    tree = ast.parse(code, filename=where)
    imported = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = importlib.import_module(node.module)
            for alias in node.names:
                assert hasattr(module, alias.name), f"{where}: {node.module} has no {alias.name}"
                imported[alias.asname or alias.name] = getattr(module, alias.name)
    used = [
        (node.value.id, node.attr)
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported
    ]
    missing = [f"{name}.{attr}" for name, attr in used if not hasattr(imported[name], attr)]
    assert not missing, f"{where} uses attributes that do not exist: {missing}"
