"""The one-sample training set: the sample replicated, as JSONL (``limr-kit train --dataset``) and parquet."""

from __future__ import annotations

from pathlib import Path

from limr_kit._io import staged_output, write_jsonl
from limr_kit.errors import InputError
from limr_kit.polymath.sample import Sample


def replica_rows(sample: Sample, replicate: int) -> list[dict[str, str]]:
    """``replicate`` rows of (id, question, answer); ids are ``<name>-<i>`` since `limr-kit train` keys by id."""
    if replicate < 1:
        raise InputError(f"--replicate must be at least 1, got {replicate}.")
    width = len(str(replicate - 1))
    return [
        {"id": f"{sample.name}-{i:0{width}d}", "question": sample.question, "answer": sample.answer}
        for i in range(replicate)
    ]


def export(sample: Sample, out: Path, replicate: int = 128) -> dict[str, Path]:
    """Write ``OUT/train.jsonl`` and ``OUT/train.parquet`` (all or nothing)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = replica_rows(sample, replicate)
    with staged_output(out) as stage:
        write_jsonl(stage / "train.jsonl", rows)
        pq.write_table(pa.Table.from_pylist(rows), stage / "train.parquet")
    return {"jsonl": out / "train.jsonl", "parquet": out / "train.parquet"}
