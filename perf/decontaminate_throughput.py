"""Decontamination throughput: limr-kit's rules vs a straightforward Python n-gram-set implementation.

Target (issue 17): 1 M training prompts against every benchmark of the `extended` suite on 2 cores in
<= 60 s and under 4 GiB. The prompts are synthetic: math.8k prompts with their numbers redrawn, plus
1,000 MATH500 problems (half verbatim, half with new numbers) so that there is something to find.

Timed in one run on the same input:
  1. straightforward: open-r1's rule as its script does it, a set of string 8-grams per benchmark and
     one per prompt, intersected;
  2. limr-kit --rule open-r1 (hashed n-grams matched with numpy, exact check on the matches);
  3. limr-kit default rule (boilerplate-free n-gram candidates confirmed by a similarity ratio).
Both open-r1 implementations must flag the same rows. The straightforward one runs on the first
--baseline-prompts prompts (default 100,000) and its time is extrapolated linearly to all of them (it is
a loop over prompts after one pass over the benchmarks; the output says when it is extrapolated). Peak RSS
is the process's, input included; the limr-kit rules run first, so the peak they print is theirs.

    python perf/decontaminate_throughput.py [--prompts 1000000] [--baseline-prompts 100000] [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import time
from pathlib import Path

from limr_kit.decontam.check import load_references
from limr_kit.decontam.rules import near_duplicates, open_r1


DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
NUMBER = re.compile(r"\d+")


def synthetic_prompts(data: Path, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    bases = [row["prompt"] for row in json.loads((data / "limr" / "prompts" / "math.8k.json").read_text())]
    math500 = [json.loads(line)["problem"] for line in (data / "bench" / "math500" / "test.jsonl").open()]

    def redraw(text: str) -> str:
        return NUMBER.sub(lambda _: str(rng.randint(2, 999)), text)

    prompts = [redraw(rng.choice(bases)) for _ in range(count - 1000)]
    planted = [problem if i % 2 else redraw(problem) for i, problem in enumerate(rng.sample(math500, 500) * 2)]
    for problem in planted:
        prompts.insert(rng.randrange(len(prompts) + 1), problem)
    return prompts


def straightforward_open_r1(texts: list[str], references: list[str], n: int = 8) -> tuple[set[int], float]:
    """Flagged rows, and the seconds spent building the benchmarks' n-gram set (paid once, not per prompt)."""

    def ngrams(text: str) -> set[str]:
        words = " ".join(text.lower().split()).split()
        return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}

    start = time.perf_counter()
    lookup: set[str] = set()
    for reference in references:
        lookup |= ngrams(reference)
    build_s = time.perf_counter() - start
    return {row for row, text in enumerate(texts) if ngrams(text) & lookup}, build_s


def peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=1_000_000)
    parser.add_argument("--baseline-prompts", type=int, default=100_000, help="prompts the slow baseline runs on")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    references, sources = load_references("extended", args.data_dir / "bench")
    texts = synthetic_prompts(args.data_dir, args.prompts, args.seed)
    words = sum(len(text.split()) for text in texts)
    cores = len(os.sched_getaffinity(0))
    print(f"{len(texts):,} prompts ({words:,} words) vs extended: {len(references):,} problems in {len(sources)} "
          f"benchmarks; {cores} cores")  # fmt: skip
    print(f"peak RSS after building the input: {peak_gib():.2f} GiB")

    start = time.perf_counter()
    ours = near_duplicates(texts, references)
    ours_s = time.perf_counter() - start
    ours_peak = peak_gib()
    print(f"limr-kit default rule: {ours_s:.1f} s, {len({h.row for h in ours.hits}):,} rows flagged, "
          f"peak RSS {ours_peak:.2f} GiB")  # fmt: skip

    start = time.perf_counter()
    kit = open_r1(texts, references)
    kit_s = time.perf_counter() - start
    kit_rows = {hit.row for hit in kit.hits}
    kit_peak = peak_gib()
    print(f"limr-kit open-r1 rule: {kit_s:.1f} s, {len(kit_rows):,} rows flagged, peak RSS {kit_peak:.2f} GiB")

    sample = min(args.baseline_prompts, len(texts))
    start = time.perf_counter()
    plain_rows, build_s = straightforward_open_r1(texts[:sample], [ref.text for ref in references])
    measured_s = time.perf_counter() - start
    plain_s = build_s + (measured_s - build_s) * len(texts) / sample
    how = (
        "measured"
        if sample == len(texts)
        else f"measured on the first {sample:,} prompts ({measured_s:.1f} s), extrapolated"
    )
    print(f"straightforward Python n-gram sets (open-r1 rule): {plain_s:.1f} s ({how}), "
          f"{len(plain_rows):,} rows flagged of those {sample:,}")  # fmt: skip
    assert {row for row in kit_rows if row < sample} == plain_rows, (
        "limr-kit's open-r1 rule and the straightforward one disagree"
    )

    print(f"ratio, straightforward / limr-kit open-r1 rule: {plain_s / kit_s:.2f}x")
    print(f"ratio, straightforward / limr-kit default rule: {plain_s / ours_s:.2f}x")
    for name, seconds, peak in (("default rule", ours_s, ours_peak), ("open-r1 rule", kit_s, kit_peak)):
        print(f"target, {name}: <= 60 s -> {'met' if seconds <= 60 else 'NOT met'} ({seconds:.1f} s); "
              f"peak RSS < 4 GiB -> {'met' if peak < 4 else 'NOT met'} ({peak:.2f} GiB)")  # fmt: skip


if __name__ == "__main__":
    main()
