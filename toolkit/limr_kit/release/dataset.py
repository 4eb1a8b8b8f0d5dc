"""``limr-kit publish dataset``: a ``limr-kit curate`` output folder as a Hub dataset with its card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from limr_kit._io import dumps, sha256_file
from limr_kit.curate import MANIFEST_FILE, SCORE_COLUMN, CurationManifest
from limr_kit.errors import InputError
from limr_kit.hub.client import check_repo_id
from limr_kit.release.cards import TAGS, render_card, size_category
from limr_kit.release.publish import (
    PlannedFile,
    PublishOptions,
    PublishResult,
    ReleasePlan,
    publish,
    require_folder,
)


DATA_PATH = "data/train-00000-of-00001.parquet"
HISTOGRAM_PATH = "score_hist.png"
MANIFEST_PATH = "curation/manifest.json"
_METHODS = {
    "lim": "LIM (Learning Impact Measurement) scores",
    "variance": "historical-variance scores (One-Shot RLVR)",
    "linear": "linear-progress scores",
    "random": "a seeded random draw",
}
_COLUMN_NOTES = {SCORE_COLUMN: "the sample's selection score (LIM: 1 is a trajectory that follows the mean curve)"}


def plan_dataset(
    folder: str | Path, repo_id: str, *, title: str | None = None, license: str = "mit", language: str = "en"
) -> ReleasePlan:
    """The files and card that publishing this curated folder uploads."""
    import pyarrow.parquet as pq

    check_repo_id(repo_id)
    folder = require_folder(folder, "curated dataset", "Run `limr-kit curate ... --out DIR` first.")
    manifest_file, parquet = folder / MANIFEST_FILE, folder / "train.parquet"
    for needed in (manifest_file, parquet):
        if not needed.is_file():
            raise InputError(
                f"{folder} is not a `limr-kit curate` output: {needed.name} is missing. Run curate again."
            )
    manifest = CurationManifest.load(manifest_file)
    if manifest.key is None or manifest.selection is None or "train.parquet" not in manifest.outputs:
        raise InputError(f"{manifest_file} is not the manifest of a `limr-kit curate` output. Run curate again.")
    key, counts, expected_sha = manifest.key, manifest.counts, manifest.outputs["train.parquet"]["sha256"]
    try:
        table = pq.read_table(parquet)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputError(f"{parquet} is not a readable parquet file ({exc}). Run curate again.") from exc
    schema, rows = table.schema, table.num_rows
    missing = [name for name in (key, SCORE_COLUMN) if name not in schema.names]
    if missing:
        raise InputError(
            f"{parquet} lacks the expected column(s) {', '.join(missing)} (has {', '.join(schema.names)}). "
            "Publish the folder `limr-kit curate` wrote, unchanged."
        )
    if sha256_file(parquet) != expected_sha:
        raise InputError(
            f"{parquet} changed after curation (its sha256 differs from manifest.json). Run curate again."
        )
    if rows == 0:
        raise InputError(f"{parquet} has no rows: nothing to publish. Check the selection rule given to curate.")

    data = PlannedFile.from_path(DATA_PATH, parquet)
    files = [data, PlannedFile.from_bytes(MANIFEST_PATH, (dumps(_portable(manifest), indent=2) + "\n").encode())]
    histogram = folder / "score_hist.png"
    if histogram.is_file():
        files.append(PlannedFile.from_path(HISTOGRAM_PATH, histogram))
    title = title or repo_id.split("/")[1]
    card = render_card(
        "dataset",
        _card_data(table, data.size, license, language, title),
        title=title,
        repo_id=repo_id,
        license=license,
        key=key,
        counts=counts,
        method=_method(manifest),
        is_lim=(manifest.scoring or {}).get("method") == "lim",
        rule=_rule(manifest),
        scores_source=_scores_source(manifest),
        inputs=_portable(manifest)["inputs"],
        data_path=DATA_PATH,
        data_sha256=data.sha256,
        manifest_path=MANIFEST_PATH,
        histogram=HISTOGRAM_PATH if histogram.is_file() else None,
        columns=[{"name": f.name, "type": str(f.type), "note": _COLUMN_NOTES.get(f.name, "")} for f in schema],
    )
    files.insert(0, PlannedFile.from_bytes("README.md", card.encode()))
    return ReleasePlan(repo_id, "dataset", tuple(files), f"Publish {title}: {rows} rows selected by limr-kit")


def publish_dataset(
    folder: str | Path, repo_id: str, options: PublishOptions = PublishOptions(), **card_options: Any
) -> PublishResult:
    """Publish a curated folder (parquet, card, histogram, manifest) to ``repo_id``; see :func:`publish`."""
    return publish(plan_dataset(folder, repo_id, **card_options), options)


def _card_data(table: Any, download_size: int, license: str, language: str, title: str) -> Any:
    """DatasetCardData with the ``configs`` and ``dataset_info`` that ``datasets`` reads."""
    import datasets
    from datasets.info import DatasetInfosDict
    from huggingface_hub import DatasetCardData

    card_data = DatasetCardData(
        license=license,
        language=[language],
        task_categories=["text-generation"],
        size_categories=[size_category(table.num_rows)],
        pretty_name=title,
        tags=[*TAGS, "data-selection"],
        configs=[{"config_name": "default", "data_files": [{"split": "train", "path": "data/train-*"}]}],
    )
    info = datasets.DatasetInfo(
        features=datasets.Features.from_arrow_schema(table.schema),
        splits=datasets.SplitDict(
            {"train": datasets.SplitInfo(name="train", num_bytes=table.nbytes, num_examples=table.num_rows)}
        ),
        download_size=download_size,
        dataset_size=table.nbytes,
    )
    DatasetInfosDict({"default": info}).to_dataset_card_data(card_data)
    return card_data


def _portable(manifest: CurationManifest) -> dict[str, Any]:
    """The manifest with local input paths reduced to file names (they mean nothing elsewhere)."""
    inputs = {
        role: {"name": Path(item["path"]).name, "sha256": item["sha256"]} for role, item in manifest.inputs.items()
    }
    return {**manifest.to_dict(), "inputs": inputs}


def _method(manifest: CurationManifest) -> str:
    if not manifest.scoring:
        return "released scores"
    return _METHODS.get(manifest.scoring["method"], manifest.scoring["method"])


def _rule(manifest: CurationManifest) -> str:
    """The selection rule in words; a rule applied by ``limr-kit score`` is read from its parameters."""
    selection = manifest.selection or {}
    if selection.get("rule") == "selected_flag":
        parameters = (manifest.scoring or {}).get("parameters") or {}
        rule = "top_k" if parameters.get("top_k") else "threshold"
        return f"{_rule_words({'rule': rule, **parameters})}, as selected by `limr-kit score`"
    return _rule_words(selection)


def _rule_words(selection: dict[str, Any]) -> str:
    if selection.get("rule") == "top_k":
        return f"the {selection['top_k']} highest scores"
    if selection.get("threshold") is None:
        return "the samples flagged as selected by `limr-kit score`"
    return f"score {'>' if selection.get('strict') else '>='} {selection['threshold']:g}"


def _scores_source(manifest: CurationManifest) -> str:
    scoring = manifest.scoring
    scores_name = Path(manifest.inputs["scores"]["path"]).name
    if not scoring:
        return f"a released scores file, `{scores_name}`"
    parameters = ", ".join(f"{name}={value}" for name, value in (scoring.get("parameters") or {}).items())
    counts = scoring.get("counts") or {}
    run = f"`limr-kit score --method {scoring['method']}` ({parameters})" if parameters else "`limr-kit score`"
    return (
        f"{run} over {scoring.get('n_epochs')} epochs: {counts.get('scored')} of {counts.get('in')} samples scored, "
        f"{counts.get('selected')} selected"
    )
