"""A tiny Qwen2-architecture causal LM written from nothing: no download, same seed gives the same bytes.

Tests and the demo use it wherever a real checkpoint would go (transformers, vLLM on CPU, lm-eval, TRL,
the Hub, container images). The tokenizer is a byte-level BPE trained in-process on a built-in
math-flavoured corpus, with Qwen2's pre-tokenizer (digits split one by one) and a Qwen2.5-Math-style
ChatML template whose default system prompt is LIMR's. Weights are random (normal, std 0.02) unless
``warm_start_steps`` trains them briefly on chat-formatted arithmetic so that greedy decoding answers in
``\\boxed{}``.
"""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from limr_kit._io import staged_output, write_json
from limr_kit.errors import InputError, MissingDependencyError
from limr_kit.progress import Progress, ProgressCounter


DEFAULT_SYSTEM_PROMPT = "Please reason step by step, and put your final answer within \\boxed{}."
ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
SPECIAL_TOKENS = (ENDOFTEXT, IM_START, IM_END)

# Qwen2.5-Math's template without tools: a system turn (LIMR's prompt unless one is given), then every turn.
CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\n" + DEFAULT_SYSTEM_PROMPT.replace("\\", "\\\\") + "<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (message['role'] == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}"
    "{{- '<|im_start|>assistant\\n' }}"
    "{%- endif %}"
)

# Qwen2's pre-tokenizer split: contractions, letter runs, single digits, punctuation runs, whitespace.
_QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_CORPUS_SEED = 20250211
_INIT_STD = 0.02
_HELD_OUT_EACH = 20
_TWO_DIGIT_SHARE = 0.3  # of warm-start examples; the rest have one-digit operands
_WARM_START_BATCH = 32
_WARM_START_LR = 1e-2
_WARM_START_WARMUP = 20
_WORDS = (
    "let we find the sum of two numbers so therefore answer is step first then next add subtract multiply "
    "divide equation solve value total each and a an in for to with by from this that result problem compute "
    "number integer fraction square root prime remainder when how many what which are there if since thus "
    "hence gives get write simplify evaluate expression both sides equal plus minus times over product "
    "difference quotient carry digit ones tens final check correct"
).split()
_LATEX = (
    "\\frac{1}{2}",
    "\\dfrac{3}{4}",
    "\\sqrt{2}",
    "\\sqrt{16} = 4",
    "x^2 + y^2",
    "\\left( x + 1 \\right)",
    "a \\cdot b",
    "3 \\times 4 = 12",
    "\\pi r^2",
    "$x = 5$",
    "\\text{cm}",
    "\\{1, 2, 3\\}",
    "x_1 + x_2",
    "\\le",
    "\\ge",
    "\\neq",
)


@dataclass(frozen=True, slots=True)
class TinyModelSpec:
    """Shape of the tiny model. vLLM's CPU attention needs head_dim (hidden / heads) of 32, 64, 80, 96, ..."""

    vocab_size: int = 512
    hidden_size: int = 64
    num_attention_heads: int = 2
    num_key_value_heads: int = 1
    num_hidden_layers: int = 2
    intermediate_size: int = 128
    rope_theta: float = 10000.0


def addition_problem(a: int, b: int) -> dict[str, str]:
    """``{"question": "What is a + b?", "answer": "<a+b>"}``."""
    return {"question": f"What is {a} + {b}?", "answer": str(a + b)}


def _worked_answer(a: int, b: int) -> str:
    return f"{a} + {b} = {a + b}. The answer is \\boxed{{{a + b}}}."


def _held_out_pairs() -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Single-digit and two-digit operand pairs the warm start never trains on."""
    rng = random.Random(_CORPUS_SEED)
    single = sorted(rng.sample([(a, b) for a in range(10) for b in range(10)], _HELD_OUT_EACH))
    double = sorted(rng.sample([(a, b) for a in range(10, 100) for b in range(10, 100)], _HELD_OUT_EACH))
    return single, double


def held_out_problems() -> list[dict[str, str]]:
    """Additions kept out of the warm start: 20 with one-digit operands, then 20 with two-digit operands."""
    single, double = _held_out_pairs()
    return [addition_problem(a, b) for a, b in single + double]


def render_prompt(question: str, system: str = DEFAULT_SYSTEM_PROMPT) -> str:
    """The text the chat template renders for one user turn plus the generation prompt."""
    return f"{IM_START}system\n{system}{IM_END}\n{IM_START}user\n{question}{IM_END}\n{IM_START}assistant\n"


def _corpus() -> list[str]:
    """The fixed text the tokenizer is trained on."""
    rng = random.Random(_CORPUS_SEED)
    lines = [DEFAULT_SYSTEM_PROMPT, "system\n", "user\n", "assistant\n"] * 100
    for _ in range(400):
        a, b = rng.randint(0, 99), rng.randint(0, 99)
        lines += [addition_problem(a, b)["question"], _worked_answer(a, b)]
        lines.append(" ".join(rng.choice(_WORDS) for _ in range(rng.randint(4, 12))).capitalize() + ".")
        lines.append(f"{rng.choice(_WORDS)} {rng.choice(_LATEX)} {rng.choice(_WORDS)} {rng.choice(_LATEX)}")
    return lines


def _train_tokenizer(vocab_size: int) -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

    tokenizer = Tokenizer(models.BPE(unk_token=None, byte_fallback=False))
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN2_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False, trim_offsets=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        show_progress=False,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(_corpus(), trainer=trainer)
    return tokenizer


def _special_ids(tokenizer: Any) -> dict[str, int]:
    return {token: tokenizer.token_to_id(token) for token in SPECIAL_TOKENS}


def _model_config(spec: TinyModelSpec, max_position_embeddings: int, ids: dict[str, int]) -> dict[str, Any]:
    """config.json in the layout of Qwen2.5's own, readable by transformers 4.x and 5.x and by vLLM."""
    return {
        "architectures": ["Qwen2ForCausalLM"],
        "attention_dropout": 0.0,
        "bos_token_id": ids[ENDOFTEXT],
        "eos_token_id": ids[IM_END],
        "hidden_act": "silu",
        "hidden_size": spec.hidden_size,
        "initializer_range": _INIT_STD,
        "intermediate_size": spec.intermediate_size,
        "max_position_embeddings": max_position_embeddings,
        "max_window_layers": spec.num_hidden_layers,
        "model_type": "qwen2",
        "num_attention_heads": spec.num_attention_heads,
        "num_hidden_layers": spec.num_hidden_layers,
        "num_key_value_heads": spec.num_key_value_heads,
        "pad_token_id": ids[ENDOFTEXT],
        "rms_norm_eps": 1e-06,
        "rope_theta": spec.rope_theta,
        "sliding_window": None,
        "tie_word_embeddings": True,
        "torch_dtype": "float32",
        "use_cache": True,
        "use_sliding_window": False,
        "vocab_size": spec.vocab_size,
    }


def _tokenizer_config(tokenizer: Any, max_position_embeddings: int) -> dict[str, Any]:
    added = {
        str(token_id): {
            "content": token,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": True,
        }
        for token, token_id in _special_ids(tokenizer).items()
    }
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "additional_special_tokens": [IM_START, IM_END],
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": IM_END,
        "errors": "replace",
        "model_max_length": max_position_embeddings,
        "pad_token": ENDOFTEXT,
        "split_special_tokens": False,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "unk_token": None,
    }


def _random_weights(spec: TinyModelSpec, seed: int) -> dict[str, np.ndarray]:
    """Qwen2ForCausalLM's tensors (embeddings tied, so no ``lm_head``) drawn from ``seed`` alone."""
    hidden, head_dim = spec.hidden_size, spec.hidden_size // spec.num_attention_heads
    kv = spec.num_key_value_heads * head_dim
    shapes = {"model.embed_tokens.weight": (spec.vocab_size, hidden), "model.norm.weight": (hidden,)}
    for layer in range(spec.num_hidden_layers):
        prefix = f"model.layers.{layer}."
        shapes |= {
            prefix + "input_layernorm.weight": (hidden,),
            prefix + "post_attention_layernorm.weight": (hidden,),
            prefix + "self_attn.q_proj.weight": (hidden, hidden),
            prefix + "self_attn.q_proj.bias": (hidden,),
            prefix + "self_attn.k_proj.weight": (kv, hidden),
            prefix + "self_attn.k_proj.bias": (kv,),
            prefix + "self_attn.v_proj.weight": (kv, hidden),
            prefix + "self_attn.v_proj.bias": (kv,),
            prefix + "self_attn.o_proj.weight": (hidden, hidden),
            prefix + "mlp.gate_proj.weight": (spec.intermediate_size, hidden),
            prefix + "mlp.up_proj.weight": (spec.intermediate_size, hidden),
            prefix + "mlp.down_proj.weight": (hidden, spec.intermediate_size),
        }
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in sorted(shapes.items()):
        if name.endswith("norm.weight"):
            weights[name] = np.ones(shape, dtype=np.float32)
        elif name.endswith(".bias"):
            weights[name] = np.zeros(shape, dtype=np.float32)
        else:
            weights[name] = (rng.standard_normal(shape) * _INIT_STD).astype(np.float32)
    return weights


def write_tiny_model(
    out_dir: str | Path,
    *,
    seed: int = 0,
    max_position_embeddings: int = 1024,
    warm_start_steps: int = 0,
    spec: TinyModelSpec = TinyModelSpec(),
    progress: Progress | None = None,
) -> Path:
    """Write a tiny Qwen2 checkpoint folder to ``out_dir`` (replaced atomically) and return its path.

    The folder loads with ``AutoModelForCausalLM``/``AutoTokenizer.from_pretrained`` and ``vllm.LLM``.
    ``warm_start_steps`` > 0 trains the random weights that many steps on chat-formatted additions;
    ``progress`` hears of each step (task ``warm start``).
    """
    _check(spec, max_position_embeddings, warm_start_steps)
    from safetensors.numpy import save_file

    tokenizer = _train_tokenizer(spec.vocab_size)
    ids = _special_ids(tokenizer)
    config = _model_config(spec, max_position_embeddings, ids)
    weights = _random_weights(spec, seed)
    if warm_start_steps:
        weights = _warm_start(weights, config, tokenizer, warm_start_steps, seed, progress)
    with staged_output(out_dir) as stage:
        write_json(stage / "config.json", config, sort_keys=True)
        write_json(
            stage / "generation_config.json",
            {
                "bos_token_id": ids[ENDOFTEXT],
                "eos_token_id": [ids[IM_END], ids[ENDOFTEXT]],
                "pad_token_id": ids[ENDOFTEXT],
            },
            sort_keys=True,
        )
        save_file(weights, str(stage / "model.safetensors"), metadata={"format": "pt"})
        tokenizer.save(str(stage / "tokenizer.json"), pretty=True)
        write_json(
            stage / "tokenizer_config.json", _tokenizer_config(tokenizer, max_position_embeddings), sort_keys=True
        )
        write_json(
            stage / "special_tokens_map.json",
            {"additional_special_tokens": [IM_START, IM_END], "eos_token": IM_END, "pad_token": ENDOFTEXT},
            sort_keys=True,
        )
    return Path(out_dir)


def _check(spec: TinyModelSpec, max_position_embeddings: int, warm_start_steps: int) -> None:
    problems = []
    if spec.hidden_size % spec.num_attention_heads:
        problems.append(f"hidden_size {spec.hidden_size} is not a multiple of {spec.num_attention_heads} heads")
    if spec.num_attention_heads % spec.num_key_value_heads:
        problems.append(
            f"{spec.num_attention_heads} attention heads are not a multiple of {spec.num_key_value_heads} KV heads"
        )
    if spec.vocab_size <= 256 + len(SPECIAL_TOKENS):
        problems.append(f"vocab_size {spec.vocab_size} leaves no room for merges beyond the 256 bytes and specials")
    if max_position_embeddings < 16:
        problems.append(f"max_position_embeddings {max_position_embeddings} is below 16")
    if warm_start_steps < 0:
        problems.append(f"warm_start_steps {warm_start_steps} is negative")
    if problems:
        raise InputError("Cannot build the tiny model: " + "; ".join(problems) + ". Choose other values.")
    needed = ("safetensors", "tokenizers") + (("torch", "transformers") if warm_start_steps else ())
    for module in needed:
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(module, "Writing the tiny model", "pip install 'limr-kit[bench]'")


def _warm_start(
    weights: dict[str, np.ndarray],
    config: dict[str, Any],
    tokenizer: Any,
    steps: int,
    seed: int,
    progress: Progress | None,
) -> dict[str, np.ndarray]:
    """Train ``steps`` AdamW steps on worked additions (loss on the answer only); returns the new weights.

    One CPU thread: the result is then the same bytes on every run, and a model this small is no faster on more.
    """
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng():
            model = Qwen2ForCausalLM(Qwen2Config.from_dict(config))
        model.load_state_dict({name: torch.from_numpy(array) for name, array in weights.items()}, strict=False)
        optimizer = torch.optim.AdamW(model.parameters(), lr=_WARM_START_LR, weight_decay=0.0)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: min(1.0, (step + 1) / _WARM_START_WARMUP) * (1.0 - step / steps)
        )
        draw = _example_sampler(tokenizer, random.Random(seed))
        pad = tokenizer.token_to_id(ENDOFTEXT)
        model.train()
        steps_done = ProgressCounter(progress, "warm start", steps)
        for _ in range(steps):
            batch = [draw() for _ in range(_WARM_START_BATCH)]
            length = max(len(prompt) + len(answer) for prompt, answer in batch)
            # Right padding needs no attention mask in a causal model; padded positions carry no loss.
            input_ids = torch.full((len(batch), length), pad)
            labels = torch.full((len(batch), length), -100)
            for row, (prompt, answer) in enumerate(batch):
                input_ids[row, : len(prompt) + len(answer)] = torch.tensor(prompt + answer)
                labels[row, len(prompt) : len(prompt) + len(answer)] = torch.tensor(answer)
            model(input_ids=input_ids, labels=labels).loss.backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            steps_done.advance()
        state = model.state_dict()
        return {name: state[name].detach().numpy().copy() for name in weights}
    finally:
        torch.set_num_threads(threads)


def _example_sampler(tokenizer: Any, rng: random.Random) -> Callable[[], tuple[list[int], list[int]]]:
    """Draws (prompt ids, answer ids + <|im_end|>) for a training addition, never a held-out one."""
    single, double = _held_out_pairs()
    single_pairs = sorted({(a, b) for a in range(10) for b in range(10)} - set(single))
    held_double = set(double)
    im_end = tokenizer.token_to_id(IM_END)
    cache: dict[tuple[int, int], tuple[list[int], list[int]]] = {}

    def draw() -> tuple[list[int], list[int]]:
        if rng.random() < _TWO_DIGIT_SHARE:
            pair = (rng.randint(10, 99), rng.randint(10, 99))
            while pair in held_double:
                pair = (rng.randint(10, 99), rng.randint(10, 99))
        else:
            pair = rng.choice(single_pairs)
        if pair not in cache:
            prompt = tokenizer.encode(render_prompt(addition_problem(*pair)["question"])).ids
            cache[pair] = (prompt, tokenizer.encode(_worked_answer(*pair)).ids + [im_end])
        return cache[pair]

    return draw
