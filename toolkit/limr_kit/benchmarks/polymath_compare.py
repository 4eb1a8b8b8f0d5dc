"""``compare --reference polymath``: measured runs beside the paper's Table 3 (by domain) or Table 12 rows."""

from __future__ import annotations

from pathlib import Path

from limr_kit.benchmarks.compare import Comparison, Row, run_row
from limr_kit.benchmarks.polymath import default_domain_map, domain_scores, paper_rows, paper_tables, subject_scores
from limr_kit.benchmarks.results import BenchResults
from limr_kit.errors import InputError


# our benchmark names -> the paper's Table 12 columns
TABLE12_NAMES = {"aime24": "aime2024", "aime25": "aime2025", "minerva_math": "minerva"}
TABLE12_TITLES = {
    "math500": "MATH500",
    "aime2024": "AIME24",
    "aime2025": "AIME25",
    "minerva": "Minerva",
    "gpqa_diamond": "GPQA-D",
    "supergpqa": "SuperGPQA",
    "mmlu_pro": "MMLU-Pro",
    "scibench": "SciBench",
}
# the reported rows drawn beside measured runs in the domain radar (all 24 are in the table)
HEADLINE_ROWS = (
    "comprehensive natural MATH (8k)",
    "comprehensive natural LIMR (1k)",
    "polymath_1shot natural Prealgebra",
    "polymath_1shot synthetic Prime",
)
SOURCE = "One Sample to Rule Them All (arXiv 2601.03111v2), Table {table} (reported, not measured)"


def _subject_records(results: BenchResults) -> list[tuple[str, float]]:
    """(subject, score in %) per question of a run: its recorded subjects, else the benchmark's own."""
    mapping = default_domain_map()
    records = []
    for name, item in results.benchmarks.items():
        subjects = item.subjects or {}  # question id -> subject, written by polymath benchmarks
        for question, score in item.per_question.items():
            subject = subjects.get(question) or mapping.subject_of(name, "*")
            records.append((subject, 100 * score))
    return records


def _paper_name(row: dict) -> str:
    kind = "" if row["sample_type"] == "-" else f" {row['sample_type']}"
    return f"{row['setting']}{kind} {row['sample']}"


def polymath_comparison(folders: list[str | Path], by: str) -> Comparison:
    """Rows for each run and every row the paper reports, by domain or by benchmark."""
    if not folders:
        raise InputError("Give at least one run folder (the --out of limr-kit bench).")
    reported = paper_rows(by)
    loaded = [BenchResults.of_run(folder) for folder in folders]
    runs = [run_row(results, Path(folder).name) for results, folder in zip(loaded, folders, strict=True)]
    if by == "domain":
        columns = [key for key in paper_tables()["table3_by_domain"]["columns"] if key != "avg"]
        titles = {key: key.replace("_", " ").title() for key in columns}
        measured = [
            Row(
                run.name,
                True,
                domain_scores(subject_scores(_subject_records(results))),
                suite=run.suite,
                questions=run.questions,
                unfinished=run.unfinished,
            )
            for run, results in zip(runs, loaded, strict=True)
        ]
        table = 3
    else:
        columns = list(TABLE12_TITLES)
        titles = dict(TABLE12_TITLES)
        measured = [
            Row(
                run.name,
                True,
                {TABLE12_NAMES.get(k, k): v for k, v in run.accuracy.items()},
                {TABLE12_NAMES.get(k, k): v for k, v in run.ci95.items()},
                suite=run.suite,
                questions={TABLE12_NAMES.get(k, k): v for k, v in run.questions.items()},
                unfinished=run.unfinished,
            )
            for run in runs
        ]
        table = 12
    paper = [Row(_paper_name(r), False, {c: r[c] for c in columns}) for r in reported]
    notes = [
        f"Rows marked (reported): {SOURCE.format(table=table)}.",
        "AVG is the mean of all columns; '–' where a run did not measure one.",
    ]
    view = "domains" if by == "domain" else "benchmarks"
    return Comparison(measured + paper, columns, titles, None, {}, notes, view)


def plot_domains(comparison: Comparison, path: str | Path) -> None:
    """A radar over the 8 domains: each measured run (solid) and the paper's headline rows (dashed, reported)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = [row for row in comparison.rows if row.measured or row.name in HEADLINE_ROWS]
    domains = comparison.benchmarks
    angles = np.linspace(0, 2 * np.pi, len(domains), endpoint=False)
    closed = np.append(angles, angles[0])
    fig, ax = plt.subplots(figsize=(7.5, 7.5), dpi=120, subplot_kw={"projection": "polar"})
    colours = plt.get_cmap("tab10")
    for index, row in enumerate(rows):
        values = np.array([row.accuracy.get(domain, np.nan) for domain in domains], dtype=float)
        ax.plot(
            closed,
            np.append(values, values[0]),
            marker="o",
            linestyle="-" if row.measured else "--",
            color=colours(index % 10),
            label=row.label,
        )
        if row.measured:
            ax.fill(closed, np.nan_to_num(np.append(values, values[0])), color=colours(index % 10), alpha=0.1)
    ax.set_xticks(angles, [comparison.titles[domain] for domain in domains])
    ax.set_ylim(0, max(10.0, 10 * np.ceil(max((max(r.accuracy.values(), default=0) for r in rows), default=0) / 10)))
    ax.set_title("Accuracy by domain (%): measured runs solid, the paper's reported rows dashed", fontsize=10, pad=24)
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.06), ncol=2)
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
