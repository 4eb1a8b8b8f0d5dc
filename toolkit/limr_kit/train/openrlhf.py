"""OpenRLHF 0.11 (PPO on Ray with vLLM): the exact launch from a recipe, a check of its flags by OpenRLHF's own
argument parser (read from its source, nothing imported), and the launch itself on a GPU machine."""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib.util
import io
import json
import math
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from limr_kit.errors import ConfigError, TrainError
from limr_kit.machine import cuda_gpus, installed_version


REWARD_MODULE = "limr_kit.rewards.openrlhf_reward"
ENTRY_POINT = ("python3", "-m", "openrlhf.cli.train_ppo_ray")
SUPPORTED = "0.11"
TESTED = "0.11.2"  # the release the tests parse every shipped recipe with
# train_ppo_ray's defaults (0.11.2) for the values the scheduler horizon and the accumulation windows depend on.
_DEFAULTS = {
    "rollout.batch_size": 1024,
    "rollout.n_samples_per_prompt": 1,
    "train.micro_batch_size": 1,
    "train.batch_size": 128,
    "train.num_episodes": 1,
    "train.max_epochs": 1,
}
IMAGE_HINT = (
    "Build the training image with `limr-kit build train`, then run this command with "
    "`--image limr-kit:train --gpus all`; or add --dry-run to write OUT/launch.sh and run it on a GPU machine "
    "with OpenRLHF 0.11.2."
)


def reward_file() -> Path:
    """limr-kit's reward file for ``--reward.remote_url``, as installed here."""
    spec = importlib.util.find_spec(REWARD_MODULE)
    assert spec is not None and spec.origin is not None
    return Path(spec.origin).resolve()


def format_value(value: Any) -> str:
    """A flag value as argparse reads it; floats in their shortest form (``5e-7``, not ``5e-07``)."""
    if isinstance(value, float):
        mantissa, exponent_mark, exponent = repr(value).partition("e")
        return f"{mantissa}e{int(exponent)}" if exponent_mark else mantissa
    return str(value)


def substitute(text: str, values: Mapping[str, str]) -> str:
    """``{name}`` placeholders filled from ``values``; other braces are left alone."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return text


def render_flags(args: Mapping[str, Any], values: Mapping[str, str]) -> list[str]:
    """``{flag: value}`` as argv: ``true`` gives a bare flag, ``false``/null none, a list one value per item."""
    argv: list[str] = []
    for flag, value in args.items():
        if value is None or value is False:
            continue
        argv.append(f"--{flag}")
        if value is not True:
            argv.extend(
                substitute(format_value(item), values) for item in (value if isinstance(value, list) else [value])
            )
    return argv


def scheduler_steps(args: Mapping[str, Any], n_prompts: int) -> int:
    """OpenRLHF's LR-scheduler horizon in optimizer steps (``PPOTrainer``'s ``max_steps``)."""
    value = {**_DEFAULTS, **{key: args[key] for key in _DEFAULTS if args.get(key) is not None}}
    prompts = min(n_prompts, int(args.get("data.max_samples") or n_prompts))
    per_episode = prompts * int(value["rollout.n_samples_per_prompt"]) // int(value["train.batch_size"])
    return per_episode * int(value["train.num_episodes"]) * int(value["train.max_epochs"])


def warmup_ratio(steps: int, horizon: int, where: str | Path = "recipe") -> float:
    """A short ratio r with ``ceil(horizon * r) == steps``, which is how OpenRLHF turns the ratio into steps."""
    if steps == 0:
        return 0.0
    if horizon < steps:
        raise ConfigError(
            where,
            [
                f"warmup_steps: {steps} warm-up steps, but the run has only {horizon} optimizer steps (prompts x "
                "samples per prompt // train batch x episodes x PPO epochs); lower warmup_steps or train longer"
            ],
        )
    exact = (steps - 0.5) / horizon
    for digits in range(2, 17):
        ratio = float(f"{exact:.{digits}g}")
        if math.ceil(horizon * ratio) == steps:
            return ratio
    return exact


@dataclass(frozen=True, slots=True)
class OpenRLHFPlan:
    """The launch: ``train_ppo_ray``'s argv, the Ray job's environment and the script that runs both."""

    command: tuple[str, ...]
    env: dict[str, str]
    script: str
    scheduler_steps: int
    warmup_ratio: float | None


def plan_launch(
    args: Mapping[str, Any],
    *,
    model: str,
    prompts: Path,
    out: Path,
    n_prompts: int,
    warmup_steps: int | None,
    env: Mapping[str, str],
    recipe_name: str,
    where: str | Path = "recipe",
    raw_prompts: bool = False,
) -> OpenRLHFPlan:
    """Flags limr-kit owns (model, data, reward file), then the recipe's, placeholders filled. ``raw_prompts``: the
    rows hold the rendered prompt text (``prompt``), which OpenRLHF passes to the model as is (no chat template)."""
    args = dict(args)
    horizon = scheduler_steps(args, n_prompts)
    ratio = None
    if warmup_steps is not None:
        ratio = warmup_ratio(warmup_steps, horizon, where)
        args.update({"actor.lr_warmup_ratio": ratio, "critic.lr_warmup_ratio": ratio})
    managed = {
        "actor.model_name_or_path": model,
        "reward.remote_url": str(reward_file()),
        "data.prompt_dataset": str(prompts),
        "data.input_key": "prompt" if raw_prompts else "context_messages",
        "data.label_key": "label",
        "data.apply_chat_template": not raw_prompts,
    }
    flags = render_flags({**managed, **args}, {"out": str(out), "model": model})
    command = (*ENTRY_POINT, *flags)
    script = launch_script(command, env, recipe_name, run_dir=out, reward=str(reward_file()))
    return OpenRLHFPlan(command, dict(env), script, horizon, ratio)


def accumulation_misalignment(args: Mapping[str, Any], n_prompts: int) -> str | None:
    """A note when an episode's partial last rollout batch leaves a gradient-accumulation window half full.

    DeepSpeed counts accumulation boundaries over the whole run (``micro_steps``) and OpenRLHF 0.11 never resets
    them, so after such a batch every optimizer step mixes micro-batches of two rollouts.
    """
    value = {**_DEFAULTS, **{key: args[key] for key in _DEFAULTS if args.get(key) is not None}}
    world = int(args.get("actor.num_nodes") or 1) * int(args.get("actor.num_gpus_per_node") or 1)
    micro = int(value["train.micro_batch_size"])
    rollout = int(value["rollout.batch_size"])
    samples = int(value["rollout.n_samples_per_prompt"])
    window = int(value["train.batch_size"]) // (micro * world)
    prompts = min(n_prompts, int(args.get("data.max_samples") or n_prompts))
    last = prompts % rollout
    if window <= 1 or not last or math.ceil(last * samples / world / micro) % window == 0:
        return None
    per_window = window * micro * world  # samples in one accumulation window over all GPUs
    step = per_window // math.gcd(per_window, samples)  # prompts that fill whole windows
    aligned = prompts // rollout * rollout + last // step * step
    return (
        f"Each episode ends with a partial rollout batch of {last} prompts x {samples} samples, which leaves a "
        f"DeepSpeed gradient-accumulation window ({window} micro-batches) half full; OpenRLHF never resets the "
        "count, so every later update mixes two rollouts. Set data.max_samples to "
        f"{aligned} (or a rollout.batch_size that divides the data) to keep updates aligned."
    )


def _shell_word(token: str, run_dir: str, reward: str) -> str:
    """A token for the script: paths in the run folder relative to ``$RUN_DIR``, the reward file ``$REWARD_FILE``."""
    if token == reward:
        return '"$REWARD_FILE"'
    if token == run_dir or token.startswith(run_dir + "/"):
        rest = token[len(run_dir) :]
        return '"$RUN_DIR"' + (shlex.quote(rest) if rest else "")
    return shlex.quote(token)


def _lines(command: Sequence[str], run_dir: str, reward: str) -> list[str]:
    """The command one flag (with its values) per line."""
    lines: list[str] = []
    for token in command:
        word = _shell_word(token, run_dir, reward)
        if token.startswith("--") or not lines:
            lines.append(word)
        else:
            lines[-1] += " " + word
    return lines


def launch_script(
    command: Sequence[str], env: Mapping[str, str], recipe_name: str, *, run_dir: Path, reward: str
) -> str:
    """A bash script submitting the run as a Ray job (starting a one-node Ray cluster if none is running).

    It is portable: paths inside the run folder are taken from where the script lies, and limr-kit's reward
    file is looked up in the Python that runs the job (``LIMR_PYTHON``, default ``python3``) at launch time.
    """
    folder = str(run_dir)
    portable_env = {name: value.replace(folder, "@RUN_DIR@") for name, value in env.items()}
    runtime_env = json.dumps({"env_vars": portable_env})
    head = [
        "#!/usr/bin/env bash",
        f"# Written by `limr-kit train` (recipe {recipe_name}): OpenRLHF {SUPPORTED} PPO as a Ray job.",
        f"# Run it on the Ray head node with OpenRLHF {TESTED} and limr-kit (the image of `limr-kit build train`).",
        "# The run folder may be moved or copied: paths are relative to this script's folder. On several nodes it",
        "# must be on a filesystem every node shares (the reward workers write OUT/rewards).",
        "# A running Ray cluster is used as is (start the other nodes with `ray start --address HEAD:6379 --block`);",
        "# otherwise a one-node cluster is started here and stopped at the end. RAY_DASHBOARD names another head.",
        "set -euo pipefail",
        'RUN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"',
        'REWARD_FILE="$("${LIMR_PYTHON:-python3}" -c '
        + shlex.quote(f"import {REWARD_MODULE} as m; print(m.__file__)")
        + ')"',
        f"RUNTIME_ENV={shlex.quote(runtime_env)}",
        'RUNTIME_ENV="${RUNTIME_ENV//@RUN_DIR@/$RUN_DIR}"',
        'RAY_DASHBOARD="${RAY_DASHBOARD:-http://127.0.0.1:8265}"',
        "if ! ray status >/dev/null 2>&1; then",
        "  ray start --head --node-ip-address 127.0.0.1 --disable-usage-stats",
        "  trap 'ray stop' EXIT",
        "fi",
        'ray job submit --address="$RAY_DASHBOARD" --runtime-env-json="$RUNTIME_ENV" -- \\',
    ]
    body = _lines(command, folder, reward)
    return "\n".join(head + [f"  {line} \\" for line in body[:-1]] + [f"  {body[-1]}", ""])


# CHECKING FLAGS WITH OPENRLHF'S OWN PARSER


def _is_main_guard(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.If)
        and isinstance(node.test, ast.Compare)
        and isinstance(node.test.left, ast.Name)
        and node.test.left.id == "__name__"
    )


def _is_parse_args(node: ast.stmt) -> bool:
    value = node.value if isinstance(node, ast.Assign) else None
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and value.func.attr == "parse_args"


def _is_stdlib_import(node: ast.stmt) -> bool:
    if isinstance(node, ast.Import):
        return all(alias.name.split(".")[0] in sys.stdlib_module_names for alias in node.names)
    return isinstance(node, ast.ImportFrom) and not node.level and node.module.split(".")[0] in sys.stdlib_module_names


def _is_train_call(node: ast.stmt) -> bool:
    call = node.value if isinstance(node, ast.Expr) else None
    return isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "train"


def _is_check(node: ast.stmt) -> bool:
    """A statement of the checks after ``parse_args``: not OpenRLHF's own imports, not the call to ``train``."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return _is_stdlib_import(node)
    return not _is_train_call(node)


def _run(body: list[ast.stmt], namespace: dict[str, Any], filename: str) -> None:
    exec(compile(ast.Module(body=body, type_ignores=[]), filename, "exec"), namespace)


class _Rejected(Exception):
    pass


def _reject(message: str) -> None:
    raise _Rejected(message)


class OpenRLHFArguments:
    """An OpenRLHF CLI's parser (``train_ppo_ray``, ``train_sft``) and the checks that follow it, from a package folder.

    The parser is built inside ``if __name__ == "__main__":``; only that block's statements up to
    ``parse_args`` (and the module's standard-library imports) run, so nothing of OpenRLHF is imported.
    """

    def __init__(self, package_dir: str | Path, script: str = "train_ppo_ray") -> None:
        self.package_dir = Path(package_dir)
        self.script = script
        self.path = self.package_dir / "cli" / f"{script}.py"
        try:
            tree = ast.parse(self.path.read_text(encoding="utf-8"), str(self.path))
            block = next(node.body for node in tree.body if _is_main_guard(node))
            split = next(index for index, node in enumerate(block) if _is_parse_args(node))
        except (OSError, SyntaxError, StopIteration) as exc:
            raise TrainError(
                f"Cannot read OpenRLHF's arguments from {self.path}: not the {script} of OpenRLHF {SUPPORTED} ({exc})."
            ) from exc
        self._imports = [node for node in tree.body if _is_stdlib_import(node)]
        self._build = block[:split]
        self._checks = [node for node in block[split + 1 :] if _is_check(node)]

    def parser(self) -> argparse.ArgumentParser:
        namespace: dict[str, Any] = {"__name__": self.script}
        _run(self._imports + self._build, namespace, str(self.path))
        parser = namespace["parser"]
        parser.error = _reject
        return parser

    def _hierarchize(self) -> Any:
        namespace: dict[str, Any] = {}
        config = self.package_dir / "utils" / "config.py"
        _run(ast.parse(config.read_text(encoding="utf-8")).body, namespace, str(config))
        return namespace["hierarchize"]

    def check(self, argv: Sequence[str]) -> list[str]:
        """Parse ``argv`` and run OpenRLHF's checks on it; returns what they printed, raises ``_Rejected``."""
        args = self.parser().parse_args(list(argv))
        namespace = {"__name__": self.script, "args": args, "hierarchize": self._hierarchize()}
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                _run(self._imports + self._checks, namespace, str(self.path))
        except AssertionError as exc:
            raise _Rejected(str(exc) or "an assertion failed") from exc
        except Exception as exc:  # OpenRLHF tripping over the combination before it would train
            raise _Rejected(f"{type(exc).__name__}: {exc}") from exc
        return [line for line in printed.getvalue().splitlines() if line.strip()]


def check_flags(
    command: Sequence[str],
    package_dir: str | Path,
    where: str | Path,
    entry: tuple[str, ...] = ENTRY_POINT,
    script: str = "train_ppo_ray",
) -> list[str]:
    """Check ``script``'s flags (``command`` after ``entry``) with OpenRLHF's own parser and checks.

    Returns the notes OpenRLHF prints about them; a rejected flag raises a :class:`ConfigError` naming it.
    """
    argv = list(command[len(entry) :] if tuple(command[: len(entry)]) == entry else command)
    try:
        return OpenRLHFArguments(package_dir, script).check(argv)
    except _Rejected as exc:
        hint = f"OpenRLHF {SUPPORTED} flags are dotted (data.max_len, rollout.temperature...); " * (
            "unrecognized arguments" in str(exc)
        )
        raise ConfigError(
            where, [f"OpenRLHF's {script} rejects the launch: {exc}. {hint}Fix the recipe's openrlhf: or --set"]
        ) from exc


# RUNNING


def installed_openrlhf() -> tuple[Path, str] | None:
    """The installed ``openrlhf`` package folder and version, found without importing it."""
    spec = importlib.util.find_spec("openrlhf")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))), installed_version("openrlhf") or "unknown"


def ensure_can_launch() -> None:
    """Raise one :class:`TrainError` saying what is missing to train with OpenRLHF here, and how to get it."""
    missing = []
    if installed_openrlhf() is None:
        missing.append("OpenRLHF is not installed")
    if not cuda_gpus():
        missing.append("no CUDA GPU is visible")
    if not missing and shutil.which("ray") is None:
        missing.append("the `ray` command is not on PATH")
    if missing:
        raise TrainError(
            f"Training with OpenRLHF needs CUDA GPUs and OpenRLHF {SUPPORTED} with Ray ({'; '.join(missing)}). "
            + IMAGE_HINT
        )


def launch(script: Path) -> None:
    """Run the launch script; OpenRLHF's output goes to this process's stderr."""
    code = subprocess.run(["bash", str(script)], stdout=sys.stderr, check=False).returncode
    if code:
        raise TrainError(f"The OpenRLHF launch ({script}) exited with status {code}; its output is above.")
