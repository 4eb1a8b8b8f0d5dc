"""Out-of-core aggregation of long-format reward rows with DuckDB.

Rows ``(sample_id, reward, epoch | step)`` are streamed from every shard and reduced to one value per
(sample, epoch): the pass rate (share of rewards equal to 1, as LIMR) or the mean reward. Memory
stays bounded by the number of (sample, epoch) groups, not by the number of rows.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from typing import Literal

import numpy as np

from limr_kit.lim.inputs import InputFile
from limr_kit.progress import Progress, ProgressEvent


Aggregate = Literal["pass-rate", "mean"]
TimeSource = Literal["epoch", "step", "step-file", "position"]

READING = "reading trajectories"  # the progress task of the aggregation
_STEP_IN_NAME = re.compile(r"step_(\d+)")


@dataclass(frozen=True, slots=True)
class LongAggregation:
    """Per-(sample, epoch) values of a long-format log, samples in order of first appearance."""

    sample_ids: list[str]
    epochs: list[int]
    matrix: np.ndarray  # (n_samples, n_epochs), NaN where a sample has no rollout in an epoch
    rows_read: int
    bad_rows: int


def _sql_list(items: list[str]) -> str:
    return "[" + ", ".join("'" + item.replace("'", "''") + "'" for item in items) + "]"


def _reader_sql(
    files: list[InputFile], id_field: str, time_field: str | None, with_filename: bool, with_clock: bool
) -> str:
    paths = _sql_list([str(item.path) for item in files])
    file_format = files[0].format
    if file_format == "csv":
        return f"read_csv({paths}, header=true, all_varchar=true, store_rejects=true, ignore_errors=true)"
    if file_format == "parquet":
        return f"read_parquet({paths})"
    columns = {id_field: "VARCHAR", "reward": "DOUBLE"}  # typed columns parse fastest; bad values become NULL
    if time_field:
        columns[time_field] = "DOUBLE"  # not BIGINT: DuckDB would round 1.5 to 2 silently
    if with_clock:
        columns["time"] = "DOUBLE"
    spec = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items()) + "}"
    layout = "array" if file_format == "json-array" else "newline_delimited"
    extra = ", filename=true" if with_filename else ""
    return f"read_json({paths}, format='{layout}', columns={spec}, ignore_errors=true{extra})"


def time_source_for(files: list[InputFile], keys: set[str]) -> tuple[TimeSource, str | None]:
    """Which column (or file name) gives each row's epoch or step."""
    if "epoch" in keys:
        return "epoch", "epoch"
    if "step" in keys:
        return "step", "step"
    if all(_STEP_IN_NAME.search(item.path.name) for item in files):
        return "step-file", None
    return "position", None


def aggregate_long(
    files: list[InputFile],
    *,
    id_field: str,
    time_source: TimeSource,
    aggregate: Aggregate,
    samples_per_prompt: int | None,
    steps_per_epoch: int | None,
    ordered_by_clock: bool = False,
    progress: Progress | None = None,
) -> LongAggregation:
    """Stream all rows through DuckDB and return the per-(sample, epoch) matrix.

    ``ordered_by_clock``: rows carry a ``time`` (wall clock) that orders a sample's rollouts across
    shards, used when consecutive rows form epochs (``samples_per_prompt``).
    """
    import duckdb

    time_field = time_source if time_source in ("epoch", "step") else None
    with_clock = ordered_by_clock and time_source == "position"
    reader = _reader_sql(files, id_field, time_field, time_source == "step-file", with_clock)
    quoted_id = '"' + id_field.replace('"', '""') + '"'
    if time_field:
        time_expr = f'TRY_CAST("{time_field}" AS DOUBLE)'
    elif time_source == "step-file":
        time_expr = "TRY_CAST(regexp_extract(filename, 'step_(\\d+)', 1) AS DOUBLE)"
    else:
        time_expr = "0::DOUBLE"
    raw = f"""
        SELECT CAST({quoted_id} AS VARCHAR) AS sample_id,
               TRY_CAST(reward AS DOUBLE) AS reward,
               {time_expr} AS t,
               {"TRY_CAST(time AS DOUBLE)" if with_clock else "NULL::DOUBLE"} AS clock,
               row_number() OVER () AS rn
        FROM {reader}
    """
    bad = (
        "(sample_id IS NULL OR trim(sample_id) = '' OR reward IS NULL OR isnan(reward) OR isinf(reward)"
        " OR t IS NULL OR isnan(t) OR t < 0 OR t > 1e12 OR t <> floor(t))"
    )
    flagged = f"SELECT *, {bad} AS bad FROM ({raw})"
    if time_source == "position":
        # Consecutive rows of a sample form one epoch: its k-th block of N rollouts is epoch k.
        epoch_expr = (
            f"(row_number() OVER (PARTITION BY sample_id, bad ORDER BY clock, rn) - 1) // {samples_per_prompt}"
        )
    else:
        epoch_expr = "CAST(t AS BIGINT)"
    rows = f"SELECT sample_id, reward, rn, bad, CASE WHEN bad THEN -1 ELSE {epoch_expr} END AS t FROM ({flagged})"
    grouped = f"""
        SELECT sample_id, t, min(rn) AS first_rn,
               count(*) FILTER (WHERE NOT bad) AS n,
               count(*) FILTER (WHERE NOT bad AND reward = 1) AS n_pass,
               sum(reward) FILTER (WHERE NOT bad) AS total,
               count(*) FILTER (WHERE bad) AS n_bad
        FROM ({rows}) GROUP BY ALL
    """
    con = duckdb.connect()
    con.execute(f"SET threads = {max(1, os.cpu_count() or 1)}")
    con.execute(f"SET memory_limit = '{os.environ.get('LIMR_DUCKDB_MEMORY', '2GB')}'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    _execute_with_progress(con, f"CREATE TEMP TABLE grouped AS {grouped}", progress)
    rows_ok, bad_rows = con.execute("SELECT coalesce(sum(n), 0), coalesce(sum(n_bad), 0) FROM grouped").fetchone()
    if files[0].format == "csv":
        bad_rows += con.execute("SELECT count(*) FROM reject_errors").fetchone()[0]
    epoch_of = "t"
    if time_source in ("step", "step-file"):
        if steps_per_epoch:
            epoch_of = f"(t - (SELECT min(t) FROM grouped WHERE n > 0)) // {steps_per_epoch}"
        else:  # a sample's k-th distinct step is its epoch k
            epoch_of = "dense_rank() OVER (PARTITION BY sample_id ORDER BY t) - 1"
    value = "sum(n_pass)::DOUBLE / sum(n)" if aggregate == "pass-rate" else "sum(total) / sum(n)"
    per_epoch = con.execute(
        f"""
        WITH epoched AS (SELECT sample_id, {epoch_of} AS epoch, first_rn, n, n_pass, total FROM grouped WHERE n > 0)
        SELECT sample_id, epoch, min(first_rn) AS first_rn, {value} AS value FROM epoched GROUP BY sample_id, epoch
        """
    ).fetchnumpy()
    con.close()
    return _to_matrix(per_epoch, int(rows_ok), int(bad_rows))


def _execute_with_progress(con, sql: str, progress: Progress | None) -> None:
    """Run ``sql`` in a worker thread, reporting DuckDB's percent done to ``progress``."""
    if progress is None:
        con.execute(sql)
        return
    failure: list[BaseException] = []

    def target() -> None:
        try:
            con.execute(sql)
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    while worker.is_alive():
        worker.join(0.2)
        percent = con.query_progress() if worker.is_alive() else 100.0
        if percent >= 0:
            progress(ProgressEvent(READING, percent, 100.0))
    progress(ProgressEvent(READING, 100.0, 100.0))
    if failure:
        raise failure[0]


def _to_matrix(per_epoch: dict[str, np.ndarray], rows_read: int, bad_rows: int) -> LongAggregation:
    sample_col = np.asarray(per_epoch["sample_id"], dtype=object)
    epoch_col = np.asarray(per_epoch["epoch"], dtype=np.int64)
    first_col = np.asarray(per_epoch["first_rn"], dtype=np.int64)
    value_col = np.asarray(per_epoch["value"], dtype=np.float64)
    if sample_col.size == 0:
        return LongAggregation([], [], np.zeros((0, 0)), rows_read, bad_rows)
    unique_ids, inverse = np.unique(sample_col.astype(str), return_inverse=True)
    first_seen = np.full(unique_ids.size, np.iinfo(np.int64).max)
    np.minimum.at(first_seen, inverse, first_col)
    order = np.argsort(first_seen, kind="stable")
    position = np.empty_like(order)
    position[order] = np.arange(order.size)
    epoch_min, epoch_max = int(epoch_col.min()), int(epoch_col.max())
    matrix = np.full((unique_ids.size, epoch_max - epoch_min + 1), np.nan)
    matrix[position[inverse], epoch_col - epoch_min] = value_col
    epochs = list(range(epoch_min, epoch_max + 1))
    return LongAggregation([str(s) for s in unique_ids[order]], epochs, matrix, rows_read, bad_rows)
