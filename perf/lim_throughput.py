"""LIM scoring throughput and peak memory on large long-format reward logs, vs a pandas baseline.

Target (issue 2): 100 M reward rows in 16 JSONL shards scored end to end at >= 2 M rows/s with peak
memory under 4 GiB on 2 cores. Each engine runs in its own child process so wall time and peak RSS
(ru_maxrss of the child) are its own. pandas cannot hold 100 M rows in 24 GiB, so the ratio is
measured on the same subset of shards for both engines; limr-kit also runs on the full input.

    python perf/lim_throughput.py                 # 100 M rows, 16 shards
    python perf/lim_throughput.py --rows 8000000  # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


ENGINE_LIMR = """
import sys, json, resource
from limr_kit.lim import load_trajectories, score_trajectories
result = score_trajectories(load_trajectories(sys.argv[1]), 'lim')
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({'samples': len(result.sample_ids), 'selected': result.n_selected, 'peak_kib': peak}))
"""

ENGINE_PANDAS = """
import sys, json, resource
from pathlib import Path
import pandas as pd
frames = [pd.read_json(path, lines=True, dtype={'sample_id': str}) for path in sorted(Path(sys.argv[1]).glob('*.jsonl'))]
rows = pd.concat(frames, ignore_index=True)
rows['passed'] = rows['reward'] == 1.0
rates = rows.groupby(['sample_id', 'epoch'])['passed'].mean().unstack('epoch')
filled = rates.copy()
for k in range(filled.shape[1] - 1):
    gap = filled.iloc[:, k].isna() & filled.iloc[:, k + 1].notna()
    filled.loc[gap, filled.columns[k]] = filled.loc[gap, filled.columns[k + 1]]
kept = filled.dropna()
curve = kept.mean(axis=0)
scores = 1 - ((kept - curve) ** 2).sum(axis=1) / ((1 - curve) ** 2).sum()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({'samples': int(rates.shape[0]), 'selected': int((scores >= 0.6).sum()), 'peak_kib': peak}))
"""


def generate(folder: Path, rows: int, shards: int, samples: int, epochs: int) -> list[Path]:
    """Write ``rows`` reward rows as ``shards`` JSONL files with DuckDB (fast, deterministic)."""
    import duckdb

    rollouts = max(1, rows // (samples * epochs))
    per_shard = rows // shards
    con = duckdb.connect()
    paths = []
    for shard in range(shards):
        path = folder / f"rewards.rank{shard:02d}.jsonl"
        start = shard * per_shard
        con.execute(
            f"""
            COPY (
              SELECT 's' || lpad(CAST((i // {rollouts}) % {samples} AS VARCHAR), 6, '0') AS sample_id,
                     CAST(i // ({rollouts} * {samples}) AS BIGINT) AS epoch,
                     CASE WHEN hash(i) % 100 < hash((i // {rollouts}) % {samples}) % 60 + 2 * (i // ({rollouts} * {samples})) THEN 1.0
                          WHEN hash(i) % 5 = 0 THEN -1.0 ELSE -0.5 END AS reward
              FROM range({start}, {start + per_shard}) t(i)
            ) TO '{path}' (FORMAT JSON)
            """
        )
        paths.append(path)
    return paths


def run_child(code: str, source: Path) -> tuple[float, float, dict]:
    """Run one engine on ``source`` in a fresh process: wall seconds, its peak RSS in GiB, its output."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, str(source)], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"engine failed:\n{done.stderr[-3000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return wall, out.pop("peak_kib") / (1024 * 1024), out


def count_lines(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 24):
                total += chunk.count(b"\n")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000_000)
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--subset-shards", type=int, default=1, help="shards both engines score for the ratio")
    parser.add_argument("--keep", type=Path, help="keep (or reuse) the generated shards in this folder")
    args = parser.parse_args()

    folder = args.keep or Path(tempfile.mkdtemp(prefix="limr-perf-"))
    full, subset = folder / "full", folder / "subset"
    full.mkdir(parents=True, exist_ok=True)
    try:
        paths = sorted(full.glob("rewards.rank*.jsonl"))
        if len(paths) != args.shards:
            for stale in paths:
                stale.unlink()
            start = time.perf_counter()
            paths = generate(full, args.rows, args.shards, args.samples, args.epochs)
            print(f"generated {args.rows:,} rows in {len(paths)} shards in {time.perf_counter() - start:.0f} s")
        shutil.rmtree(subset, ignore_errors=True)
        subset.mkdir()
        for path in paths[: args.subset_shards]:
            os.link(path, subset / path.name)
        total_rows = count_lines(paths)
        subset_rows = count_lines(sorted(subset.glob("*.jsonl")))
        size_gb = sum(path.stat().st_size for path in paths) / 1e9
        print(f"input: {total_rows:,} rows, {len(paths)} shards, {size_gb:.1f} GB on disk, {os.cpu_count()} cores")

        limr_sub = run_child(ENGINE_LIMR, subset)
        pandas_sub = run_child(ENGINE_PANDAS, subset)
        limr_full = run_child(ENGINE_LIMR, full)
        assert limr_sub[2] == pandas_sub[2], f"engines disagree: {limr_sub[2]} vs {pandas_sub[2]}"

        def line(name: str, rows: int, result: tuple[float, float, dict]) -> str:
            wall, peak, out = result
            rate = rows / wall / 1e6
            return f"{name:<22} {rows:>13,} rows {wall:8.1f} s {rate:7.2f} M rows/s  peak {peak:5.2f} GiB  {out}"

        print(line("limr-kit (subset)", subset_rows, limr_sub))
        print(line("pandas (subset)", subset_rows, pandas_sub))
        print(line("limr-kit (full input)", total_rows, limr_full))
        print(f"ratio limr-kit / pandas throughput, same {subset_rows:,} rows: {pandas_sub[0] / limr_sub[0]:.1f}x")
        print(f"ratio pandas / limr-kit peak memory, same rows: {pandas_sub[1] / limr_sub[1]:.1f}x")
        full_rate = total_rows / limr_full[0] / 1e6
        rate_verdict = "met" if full_rate >= 2 else "NOT met"
        memory_verdict = "met" if limr_full[1] < 4 else "NOT met"
        print(
            f"full input: {full_rate:.2f} M rows/s (target >= 2: {rate_verdict}), "
            f"peak {limr_full[1]:.2f} GiB (target < 4: {memory_verdict})"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
