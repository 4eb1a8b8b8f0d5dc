"""Grading throughput: limr-kit's memoised worker pool vs sequential math-verify.

Target (issue 3): >= 4x the throughput of sequential math-verify on 20,000 (prediction, gold) pairs
built from real gold answers (LIMR's math.8k) with RL-like duplication: 8 rollouts per prompt whose
final answers often agree (the gold, a rewritten gold, or one of two wrong answers). Verdicts of the
pool must be identical to the same grading run sequentially in one process.

Three timings, all on the same pairs in one run:
  1. plain math-verify, sequential: verify(parse(boxed gold), parse(prediction));
  2. limr-kit's grading logic, sequential, no memo, one process;
  3. limr-kit's Grader: worker processes + per-worker memo on normalised (answer, gold).

    python perf/grading_throughput.py [--pairs 20000] [--data ../shared/data/limr/prompts/math.8k.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import time
from pathlib import Path

from limr_kit.rewards import GradeInput, Grader
from limr_kit.rewards.equivalence import answers_equal
from limr_kit.rewards.extract import last_boxed
from limr_kit.rewards.normalize import normalize_answer


DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "limr" / "prompts" / "math.8k.json"


def build_pairs(golds: list[str], n_pairs: int, rollouts: int, seed: int) -> list[GradeInput]:
    """``rollouts`` responses per sampled prompt, drawing from a few candidate answers each."""
    rng = random.Random(seed)
    pairs = []
    for gold in rng.sample(golds, n_pairs // rollouts):
        rewritten = gold.replace("\\frac", "\\dfrac").replace(",", ", ")
        candidates = [gold, rewritten, rng.choice(golds), str(rng.randint(0, 99))]
        weights = [0.45, 0.15, 0.25, 0.15]
        for _ in range(rollouts):
            answer = rng.choices(candidates, weights)[0]
            pairs.append(GradeInput(f"Working through it carefully, the answer is \\boxed{{{answer}}}.", gold, "stop"))
    return pairs


def plain_math_verify(pairs: list[GradeInput]) -> list[bool]:
    from math_verify import parse, verify

    return [
        bool(
            verify(
                parse(f"\\boxed{{{p.gold}}}", parsing_timeout=None),
                parse(p.prediction, parsing_timeout=None),
                timeout_seconds=None,
            )
        )
        for p in pairs
    ]


def sequential_limr_kit(pairs: list[GradeInput]) -> list[bool]:
    verdicts = []
    for pair in pairs:
        answer = last_boxed(pair.prediction)
        verdicts.append(answer is not None and answers_equal(normalize_answer(answer), normalize_answer(pair.gold)))
    return verdicts


def timed(function, pairs):
    start = time.perf_counter()
    result = function(pairs)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=20_000)
    parser.add_argument("--rollouts", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    logging.getLogger("math_verify").setLevel(logging.ERROR)

    golds = [row["answer"] for row in json.loads(args.data.read_text())]
    pairs = build_pairs(golds, args.pairs, args.rollouts, args.seed)
    distinct = len({(last_boxed(p.prediction), p.gold) for p in pairs})
    print(
        f"{len(pairs):,} pairs from {len(pairs) // args.rollouts:,} real golds, {distinct:,} distinct (answer, gold)"
    )

    with Grader() as grader:
        grader.grade(r"\boxed{1}", "1")  # workers started before the clock runs, as in a long training run
        pool_seconds, grades = timed(grader.grade_many, pairs)
        workers = grader.workers
    pool_verdicts = [grade.correct for grade in grades]
    plain_seconds, plain_verdicts = timed(plain_math_verify, pairs)
    sequential_seconds, sequential_verdicts = timed(sequential_limr_kit, pairs)

    for name, seconds in (
        ("math-verify, sequential", plain_seconds),
        ("limr-kit logic, sequential", sequential_seconds),
        (f"limr-kit Grader ({workers} workers + memo)", pool_seconds),
    ):
        print(f"{name:<38} {seconds:8.1f} s {len(pairs) / seconds:9.1f} pairs/s")
    print(f"ratio Grader / sequential math-verify: {plain_seconds / pool_seconds:.1f}x (target >= 4)")
    print(f"ratio Grader / sequential limr-kit logic: {sequential_seconds / pool_seconds:.1f}x")
    identical = pool_verdicts == sequential_verdicts
    print(f"Grader verdicts identical to the sequential run: {identical}")
    differ = sum(a != b for a, b in zip(pool_verdicts, plain_verdicts, strict=True))
    print(f"pairs where limr-kit and plain math-verify disagree: {differ} of {len(pairs)}")
    if not identical:
        raise SystemExit("verdicts differ between the pool and the sequential run")


if __name__ == "__main__":
    main()
