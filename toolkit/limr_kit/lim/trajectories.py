"""Load reward trajectories from any supported layout into one (samples x epochs) matrix."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from limr_kit.errors import InputError
from limr_kit.lim.engine import Aggregate, TimeSource, aggregate_long, time_source_for
from limr_kit.lim.inputs import collect_inputs
from limr_kit.lim.rows import first_bad_long_row, read_wide, sample_keys, torn_tail_count
from limr_kit.progress import Progress


Layout = Literal["long", "wide"]
OnBadRow = Literal["error", "skip"]


@dataclass(frozen=True, slots=True)
class ReadOptions:
    """How to read a trajectory source."""

    id_field: str = "sample_id"
    aggregate: Aggregate = "pass-rate"
    samples_per_prompt: int | None = None
    steps_per_epoch: int | None = None
    on_bad_row: OnBadRow = "error"


@dataclass(frozen=True, slots=True)
class InputReport:
    """What was read, for summaries and provenance."""

    paths: tuple[str, ...]
    file_format: str
    layout: Layout
    time_source: str
    rows_read: int
    rows_skipped: int
    torn_lines: int
    empty_shards: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class TrajectorySet:
    """One trajectory per sample, in input order.

    ``matrix[i, k]`` is sample i's value at epoch k (a pass rate in [0, 1] for LIMR logs), NaN where it
    has none: a missing epoch of a long log, or past the end of a shorter wide trajectory.
    """

    sample_ids: tuple[str, ...]
    matrix: np.ndarray
    epochs: tuple[int, ...]
    report: InputReport

    @property
    def observed(self) -> np.ndarray:
        """Number of epochs with a value, per sample."""
        return np.sum(~np.isnan(self.matrix), axis=1)


def load_trajectories(
    source: str | Path,
    options: ReadOptions | None = None,
    progress: Progress | None = None,
) -> TrajectorySet:
    """Read trajectories from a file, a folder of shards or a glob.

    Long rows (``sample_id``, ``reward``, ``epoch`` or ``step``) are aggregated per (sample, epoch);
    wide input (``{"<id>": [r_1, ...]}`` or rows with ``trajectory``) is taken as per-epoch values.
    """
    options = options or ReadOptions()
    files, empty = collect_inputs(source)
    keys = sample_keys(files[0])
    skip_bad = options.on_bad_row == "skip"
    if keys == {"<wide>"} or "trajectory" in keys:
        ids, trajectories, skipped = read_wide(files, options.id_field, skip_bad)
        if not ids:
            raise InputError(f"No usable trajectories in {source}.")
        width = max(len(values) for values in trajectories)
        matrix = np.full((len(ids), width), np.nan)
        for row, values in enumerate(trajectories):
            matrix[row, : len(values)] = values
        report = InputReport(
            paths=tuple(str(item.path) for item in files),
            file_format=files[0].format,
            layout="wide",
            time_source="position",
            rows_read=len(ids) + skipped,
            rows_skipped=skipped,
            torn_lines=torn_tail_count(files),
            empty_shards=tuple(str(path) for path in empty),
        )
        return TrajectorySet(tuple(ids), matrix, tuple(range(1, width + 1)), report)

    _check_long_keys(source, keys, options)
    time_source: TimeSource
    time_source, time_field = time_source_for(files, keys)
    if time_source == "position" and not options.samples_per_prompt:
        raise InputError(
            f"Rows in {source} have no 'epoch' or 'step'. Pass --samples-per-prompt N so that each block of N "
            "consecutive rows of a sample counts as one epoch."
        )
    aggregation = aggregate_long(
        files,
        id_field=options.id_field,
        time_source=time_source,
        aggregate=options.aggregate,
        samples_per_prompt=options.samples_per_prompt,
        steps_per_epoch=options.steps_per_epoch,
        ordered_by_clock="time" in keys,
        progress=progress,
    )
    torn = torn_tail_count(files)
    unexpected_bad = aggregation.bad_rows - torn
    if unexpected_bad > 0 and not skip_bad:
        problem = first_bad_long_row(files, options.id_field, time_field)
        if problem is not None:
            raise problem
        raise InputError(f"{unexpected_bad} rows of {source} are unusable. Pass --on-bad-row skip to skip them.")
    if not aggregation.sample_ids:
        raise InputError(f"No usable reward rows in {source}.")
    report = InputReport(
        paths=tuple(str(item.path) for item in files),
        file_format=files[0].format,
        layout="long",
        time_source=time_source if time_source != "position" else "samples-per-prompt",
        rows_read=aggregation.rows_read + aggregation.bad_rows,
        rows_skipped=max(unexpected_bad, 0),
        torn_lines=torn,
        empty_shards=tuple(str(path) for path in empty),
    )
    return TrajectorySet(tuple(aggregation.sample_ids), aggregation.matrix, tuple(aggregation.epochs), report)


def _check_long_keys(source: str | Path, keys: set[str], options: ReadOptions) -> None:
    missing = [name for name in (options.id_field, "reward") if name not in keys]
    if missing:
        found = ", ".join(sorted(keys)) or "none"
        hint = " Use --id-field to name the sample identity column." if options.id_field in missing else ""
        raise InputError(f"{source}: rows lack {', '.join(repr(m) for m in missing)} (fields found: {found}).{hint}")
