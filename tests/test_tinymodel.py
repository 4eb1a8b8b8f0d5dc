"""The tiny Qwen2 model: same bytes per seed, loadable by transformers and vLLM, Qwen2.5 chat prompt."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from limr_kit._io import sha256_file
from limr_kit.cli import app
from limr_kit.errors import InputError, MissingDependencyError
from limr_kit.tinymodel import (
    DEFAULT_SYSTEM_PROMPT,
    TinyModelSpec,
    held_out_problems,
    render_prompt,
    write_tiny_model,
)


FILES = {
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
}
QWEN25_PROMPT = (
    "<|im_start|>system\nPlease reason step by step, and put your final answer within \\boxed{{}}.<|im_end|>\n"
    "<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n"
)
WARM_START_STEPS = 600


def _hashes(folder: Path) -> dict[str, str]:
    return {path.name: sha256_file(path) for path in sorted(folder.iterdir())}


def _boxed(text: str) -> str | None:
    found = re.findall(r"\\boxed\{([^{}]*)\}", text)
    return found[-1] if found else None


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_model(tmp_path_factory.mktemp("warm") / "model", warm_start_steps=WARM_START_STEPS)


def test_same_seed_writes_the_same_bytes(tmp_path: Path, tiny: Path) -> None:
    again = write_tiny_model(tmp_path / "again")
    assert set(_hashes(tiny)) == FILES
    assert _hashes(again) == _hashes(tiny)
    other = _hashes(write_tiny_model(tmp_path / "other", seed=1))
    assert other["model.safetensors"] != _hashes(tiny)["model.safetensors"]
    assert other["tokenizer.json"] == _hashes(tiny)["tokenizer.json"]


def test_warm_start_is_deterministic(tmp_path: Path) -> None:
    first = write_tiny_model(tmp_path / "a", warm_start_steps=3)
    second = write_tiny_model(tmp_path / "b", warm_start_steps=3)
    assert _hashes(first) == _hashes(second)
    assert _hashes(first)["model.safetensors"] != _hashes(write_tiny_model(tmp_path / "c"))["model.safetensors"]


def test_config_is_a_small_qwen2(tmp_path: Path, tiny: Path) -> None:
    config = json.loads((tiny / "config.json").read_text())
    assert config["architectures"] == ["Qwen2ForCausalLM"]
    assert config["hidden_size"] // config["num_attention_heads"] >= 32
    assert config["tie_word_embeddings"] is True
    assert config["torch_dtype"] == "float32"
    assert config["max_position_embeddings"] == 1024
    short = write_tiny_model(tmp_path / "short", max_position_embeddings=64)
    assert json.loads((short / "config.json").read_text())["max_position_embeddings"] == 64
    assert json.loads((short / "tokenizer_config.json").read_text())["model_max_length"] == 64


def test_tokenizer_specials_and_chat_template(tiny: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    assert 300 <= len(tokenizer) <= 1000
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<|endoftext|>"
    for special in ("<|endoftext|>", "<|im_start|>", "<|im_end|>"):
        assert len(tokenizer(special, add_special_tokens=False)["input_ids"]) == 1
    generation = json.loads((tiny / "generation_config.json").read_text())
    assert generation["eos_token_id"] == [tokenizer.eos_token_id, tokenizer.pad_token_id]
    assert "chat_template" in json.loads((tiny / "tokenizer_config.json").read_text())

    question = "What is 12 + 7?"
    user = [{"role": "user", "content": question}]
    rendered = tokenizer.apply_chat_template(user, tokenize=False, add_generation_prompt=True)
    assert rendered == QWEN25_PROMPT.format(q=question) == render_prompt(question)
    assert DEFAULT_SYSTEM_PROMPT in rendered
    own_system = tokenizer.apply_chat_template(
        [{"role": "system", "content": "Be brief."}, *user, {"role": "assistant", "content": "19"}], tokenize=False
    )
    assert own_system == (
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhat is 12 + 7?<|im_end|>\n"
        "<|im_start|>assistant\n19<|im_end|>\n"
    )
    text = "Let x = \\frac{12}{7}, so \\boxed{19}."
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text
    assert tokenizer.convert_ids_to_tokens(tokenizer("12", add_special_tokens=False)["input_ids"]) == ["1", "2"]


def test_transformers_loads_and_generates_greedily(tiny: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny)
    model = AutoModelForCausalLM.from_pretrained(tiny)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    inputs = tokenizer(render_prompt("What is 2 + 3?"), return_tensors="pt")
    with torch.no_grad():
        first = model.generate(**inputs, max_new_tokens=8, do_sample=False, min_new_tokens=8)
        second = model.generate(**inputs, max_new_tokens=8, do_sample=False, min_new_tokens=8)
    assert first.shape == (1, inputs["input_ids"].shape[1] + 8)
    assert torch.equal(first, second)


def test_spec_that_cannot_work_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a multiple of 3 heads"):
        write_tiny_model(tmp_path / "bad", spec=TinyModelSpec(num_attention_heads=3))
    assert not (tmp_path / "bad").exists()


def test_missing_tokenizers_package_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    find_spec = importlib.util.find_spec
    # A fake: the shared environment has every package, so hide one from the lookup.
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None if name == "tokenizers" else find_spec(name))
    with pytest.raises(MissingDependencyError, match=r"'tokenizers' package.*limr-kit\[bench\]"):
        write_tiny_model(tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_cli_writes_the_model(tmp_path: Path, tiny: Path) -> None:
    result = CliRunner().invoke(app, ["tiny-model", str(tmp_path / "cli"), "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert _hashes(tmp_path / "cli") == _hashes(tiny)
    refused = CliRunner().invoke(app, ["tiny-model", str(tmp_path / "x"), "--max-position-embeddings", "4"])
    assert refused.exit_code == 2


def _greedy_answers(model_dir: Path, questions: list[str]) -> list[list[int]]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    answers = []
    with torch.no_grad():
        for question in questions:
            inputs = tokenizer(render_prompt(question), return_tensors="pt")
            output = model.generate(**inputs, max_new_tokens=40, do_sample=False)
            answers.append(output[0, inputs["input_ids"].shape[1] :].tolist())
    return answers


@pytest.mark.slow
def test_warm_start_answers_in_boxed(warm: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(warm)
    problems = held_out_problems()
    texts = tokenizer.batch_decode(_greedy_answers(warm, [p["question"] for p in problems]), skip_special_tokens=True)
    answers = [_boxed(text) for text in texts]
    assert sum(answer is not None for answer in answers) >= 0.9 * len(problems)
    one_digit_correct = sum(answer == p["answer"] for answer, p in zip(answers[:20], problems[:20], strict=True))
    assert 4 <= one_digit_correct < 20  # sometimes right on additions it never saw, not always


@pytest.mark.slow
def test_vllm_cpu_generates(warm: Path) -> None:
    from vllm import LLM, SamplingParams

    questions = [p["question"] for p in held_out_problems()[:3]]
    environment = dict(os.environ)  # LLM() sets LD_PRELOAD, KMP_* and more for its workers; later tests get none
    try:
        llm = LLM(
            model=str(warm),
            dtype="float32",
            max_model_len=1024,
            kv_cache_memory_bytes=64 << 20,
            enforce_eager=True,
            seed=0,
        )
        prompts = [render_prompt(question) for question in questions]
        sampling = SamplingParams(n=2, temperature=1.0, max_tokens=48, seed=1234)
        first = llm.generate(prompts, sampling, use_tqdm=False)
        second = llm.generate(prompts, sampling, use_tqdm=False)
        greedy = llm.generate(prompts, SamplingParams(temperature=0.0, max_tokens=40), use_tqdm=False)
        del llm
    finally:
        os.environ.clear()
        os.environ.update(environment)
    assert [len(request.outputs) for request in first] == [2, 2, 2]
    assert [[c.text for c in r.outputs] for r in first] == [[c.text for c in r.outputs] for r in second]
    assert {c.finish_reason for r in first for c in r.outputs} <= {"stop", "length"}
    assert all(c.finish_reason == "stop" for c in greedy[0].outputs)
    assert [list(r.outputs[0].token_ids) for r in greedy] == _greedy_answers(warm, questions)
