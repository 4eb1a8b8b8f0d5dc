"""limr-kit sweep on a Ray cluster vs running the same bench jobs directly, on this machine.

Target (issue 18): at two tiny-model jobs (two checkpoints x tiny-additions x one seed), `limr-kit sweep
--ray-address` on a running loopback cluster within 1.2x of the two `limr-kit bench` runs one after the other,
each timed from process start to exit. Starting the cluster is a one-off cost of the cluster, not of a sweep: it
is printed apart, with the sweep's own breakdown (connect, actor start, model load, generation) from its
sweep.json. Run it alone (it uses every core of a small machine).

    python perf/sweep_overhead.py [--cpus 2] [--limit 20]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))  # the loopback cluster helper the Ray tests use

from ray_cluster import local_cluster  # noqa: E402


def timed(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "limr_kit", *args], capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"limr-kit {args[0]} failed:\n{done.stderr[-3000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", type=int, default=2, help="CPUs of the cluster (one actor per model each asks 1)")
    parser.add_argument("--limit", type=int, default=20, help="questions per job (tiny-additions has 20)")
    args = parser.parse_args()

    from limr_kit.demo import write_held_out_suite
    from limr_kit.tinymodel import write_tiny_model

    root = Path(tempfile.mkdtemp(prefix="sweep-perf-"))
    models = [write_tiny_model(root / "run" / f"checkpoint-{step}", seed=step) for step in (1, 2)]
    data = write_held_out_suite(root / "data")
    spec = root / "sweep.yaml"
    spec.write_text(
        f"models: [{{checkpoints: run}}]\nsuites: [tiny-additions]\nseeds: [0]\nlimit: {args.limit}\n"
        "data_dir: data\nretries: 0\n"
    )
    env = {**os.environ, "LIMR_NO_PROGRESS": "1"}

    direct = [
        timed(["bench", str(model), "--suite", "tiny-additions", "--data-dir", str(data), "--limit",
               str(args.limit), "--seed", "0", "--out", str(root / "direct" / model.name)], env)
        for model in models
    ]  # fmt: skip
    with local_cluster(num_cpus=args.cpus) as cluster:
        swept = timed(["sweep", str(spec), "--out", str(root / "ray")], {**cluster.env, **env})
    report = json.loads((root / "ray" / "sweep.json").read_text())
    jobs = report["jobs"]
    load = sum(job["load_seconds"] for job in jobs)
    generation = sum(job["seconds"] - job["load_seconds"] for job in jobs)
    timings = report["timings"]

    print(f"two tiny-model jobs (tiny-additions, {args.limit} questions, one seed), {args.cpus}-CPU loopback cluster")
    print(
        f"  direct: limr-kit bench x2, one after the other    {sum(direct):7.2f} s  ({' + '.join(f'{s:.2f}' for s in direct)})"
    )
    print(f"  ray:    limr-kit sweep --ray-address (end to end) {swept:7.2f} s")
    print("  breakdown of the Ray sweep:")
    print(f"    cluster start (ray start, one-off, not counted)  {cluster.start_seconds:7.2f} s")
    print(f"    connect (ray.init, ships limr_kit)              {sum(timings.get('connect', [])):7.2f} s")
    actors = timings.get("actor_start", [])
    print(f"    actor start ({len(actors)} actors, in parallel)           {max(actors, default=0):7.2f} s  (slowest)")
    print(f"    model load (sum over actors)                    {load:7.2f} s")
    print(f"    generation and grading (sum over jobs)          {generation:7.2f} s")
    print(f"  ratio ray / direct: {swept / sum(direct):.2f}x (target <= 1.2x)")
    print(f"  with the cluster start: {(swept + cluster.start_seconds) / sum(direct):.2f}x")


if __name__ == "__main__":
    main()
