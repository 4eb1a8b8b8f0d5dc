"""Compare benchmark runs: a table with confidence intervals, the paper's reported rows, paired significance."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from limr_kit.benchmarks.metrics import PairedComparison, paired_bootstrap
from limr_kit.benchmarks.results import BenchResults
from limr_kit.errors import InputError


PAPER_BENCHMARKS = ("aime24", "math500", "amc23")
# LIMR (arXiv 2502.11886) Table 2 (RL on Qwen2.5-Math-7B) and Table 3 (SFT baselines): reported, not measured.
PAPER_ROWS: dict[str, tuple[float, float, float]] = {
    "Qwen-Math-7B": (16.7, 52.4, 52.5),
    "FULL": (32.5, 76.6, 61.9),
    "RAND": (25.8, 66.0, 56.3),
    "LINEAR": (28.3, 74.6, 61.9),
    "LIMR": (32.5, 78.0, 63.8),
    "s1": (15.8, 55.8, 42.5),
    "LIMO": (15.8, 65.0, 56.3),
}
PAPER_SOURCE = "LIMR paper, Tables 2-3 (reported, not measured)"
SOBER_BENCHMARKS = ("aime24", "aime25", "amc23", "math500", "minerva_math", "olympiadbench")
# Hochlehnert et al. 2025 (arXiv 2504.07086), Table 3: Pass@1 mean ± std over seeds, re-evaluated by them.
SOBER_ROWS: dict[str, tuple[tuple[float, float], ...]] = {
    "Qwen2.5-Math-7B": ((20.7, 3.8), (8.7, 3.9), (56.2, 5.7), (64.3, 0.5), (17.3, 1.9), (29.0, 0.5)),
    "LIMR": ((30.7, 3.2), (7.8, 3.3), (62.2, 3.4), (76.5, 0.4), (34.9, 1.3), (39.3, 0.9)),
}
SOBER_SOURCE = "Hochlehnert et al. 2025 (arXiv 2504.07086), Table 3, mean ± std over seeds (reported, not measured)"


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the comparison: a measured run or a reported reference."""

    name: str
    measured: bool
    accuracy: dict[str, float]
    ci95: dict[str, tuple[float, float]] = field(default_factory=dict)
    per_question: dict[str, dict[str, float]] = field(default_factory=dict)
    suite: str | None = None
    questions: dict[str, tuple[int, int]] = field(default_factory=dict)  # benchmark -> (answered, in the benchmark)
    unfinished: bool = False  # the bench run stopped before its last benchmark
    std: dict[str, float] = field(default_factory=dict)  # benchmark -> std over seeds (runs with several seeds)
    n_seeds: dict[str, int] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        """A ``--limit`` run, or one that did not finish: its numbers rest on fewer questions than the benchmark."""
        return self.unfinished or any(answered < total for answered, total in self.questions.values())

    @property
    def label(self) -> str:
        if not self.measured:
            return f"{self.name} (reported)"
        return f"{self.name} (partial)" if self.partial else self.name

    def count_label(self, benchmark: str) -> str:
        """``n=30``, or ``n=5/500`` where the run answered only part of the benchmark."""
        answered, total = self.questions[benchmark]
        return f"n={answered}" if answered == total else f"n={answered}/{total}"

    def average(self, benchmarks: list[str]) -> float | None:
        values = [self.accuracy[name] for name in benchmarks if name in self.accuracy]
        return sum(values) / len(values) if len(values) == len(benchmarks) and values else None


@dataclass(frozen=True, slots=True)
class Comparison:
    rows: list[Row]
    benchmarks: list[str]
    titles: dict[str, str]
    baseline: str | None
    paired: dict[str, dict[str, PairedComparison]]  # run -> benchmark -> run minus baseline
    notes: list[str]
    view: str = "benchmarks"  # "domains": the polymath paper's 8 domains (plotted as a radar)


def run_row(results: BenchResults, name: str) -> Row:
    """The measured row of a run's results."""
    benchmarks = results.benchmarks
    seeded = {key: item.seeds for key, item in benchmarks.items() if item.seeds is not None}
    return Row(
        name=name,
        measured=True,
        accuracy={key: item.accuracy for key, item in benchmarks.items() if item.accuracy is not None},
        ci95={key: item.ci95 for key, item in benchmarks.items()},
        per_question={key: item.per_question for key, item in benchmarks.items()},
        suite=results.suite,
        questions={key: (item.n_questions, item.n_available) for key, item in benchmarks.items()},
        unfinished=not results.complete,
        std={key: item.std for key, item in seeded.items() if item.std is not None},
        n_seeds={key: item.n for key, item in seeded.items()},
    )


def paper_rows() -> list[Row]:
    return [Row(name, False, dict(zip(PAPER_BENCHMARKS, values, strict=True))) for name, values in PAPER_ROWS.items()]


def sober_rows() -> list[Row]:
    """Hochlehnert et al.'s re-evaluation of LIMR and its base model, mean ± std over seeds."""
    return [
        Row(
            name,
            False,
            {bench: mean for bench, (mean, _) in zip(SOBER_BENCHMARKS, values, strict=True)},
            std={bench: std for bench, (_, std) in zip(SOBER_BENCHMARKS, values, strict=True)},
        )
        for name, values in SOBER_ROWS.items()
    ]


REFERENCES = {
    "paper": (paper_rows, PAPER_BENCHMARKS, PAPER_SOURCE),
    "sober": (sober_rows, SOBER_BENCHMARKS, SOBER_SOURCE),
}


def compare_runs(
    folders: list[str | Path],
    reference: str | None = None,
    baseline: str | Path | None = None,
    by: str | None = None,
    names: list[str] | None = None,
) -> Comparison:
    """Rows for each run (and the paper's, with ``reference="paper"``); paired bootstrap against ``baseline``.

    ``reference="sober"`` adds Hochlehnert et al.'s rows; ``reference="polymath"`` sets the runs beside the
    polymath paper's rows, ``by`` domain or benchmark. ``names``: the rows' names (default: the folders').
    A run with several seeds pairs its seed-averaged per-question scores.
    """
    if reference == "polymath":
        from limr_kit.benchmarks.polymath_compare import polymath_comparison

        if baseline is not None:
            raise InputError("--baseline cannot be combined with --reference polymath.")
        return polymath_comparison(folders, by or "benchmark")
    if by is not None:
        raise InputError("--by applies only with --reference polymath.")
    if not folders:
        raise InputError("Give at least one run folder (the --out of limr-kit bench).")
    if reference not in (None, *REFERENCES):
        raise InputError(f"Unknown reference '{reference}'. Choices: paper, polymath, sober.")
    names = names or [Path(folder).name for folder in folders]
    loaded = {Path(folder): BenchResults.of_run(folder) for folder in folders}
    runs = [run_row(loaded[Path(folder)], name) for folder, name in zip(folders, names, strict=True)]
    titles: dict[str, str] = {}
    benchmarks: list[str] = []
    for results in loaded.values():
        for name, item in results.benchmarks.items():
            titles.setdefault(name, item.title)
            if name not in benchmarks:
                benchmarks.append(name)
    notes = []
    if len({run.suite for run in runs}) > 1:
        notes.append("Runs come from different suites; compare only the benchmarks they share.")
    rows = list(runs)
    if reference in REFERENCES:
        make_rows, reference_benchmarks, source = REFERENCES[reference]
        reported = make_rows()
        rows += reported
        notes.append(f"Rows {', '.join(row.name for row in reported)}: {source}.")
        for name in reference_benchmarks:
            titles.setdefault(name, name)
    paired: dict[str, dict[str, PairedComparison]] = {}
    baseline_name = None
    if baseline is not None:
        given = [name for folder, name in zip(folders, names, strict=True) if Path(folder) == Path(baseline)]
        base_results = loaded.get(Path(baseline)) or BenchResults.of_run(baseline)
        base = run_row(base_results, given[0] if given else Path(baseline).name)
        baseline_name = base.name
        if base.name not in [run.name for run in runs]:
            rows.insert(0, base)
        for run in runs:
            if run.name == base.name:
                continue
            paired[run.name] = {}
            for bench in benchmarks:
                common = sorted(set(run.per_question.get(bench, {})) & set(base.per_question.get(bench, {})))
                if common:
                    paired[run.name][bench] = paired_bootstrap(
                        [run.per_question[bench][q] for q in common], [base.per_question[bench][q] for q in common]
                    )
        notes.append(
            f"Δ is run minus {base.name} in points, paired bootstrap over the questions both answered"
            + (" (scores averaged over seeds first)." if any(run.n_seeds for run in [base, *runs]) else ".")
        )
    return Comparison(rows, benchmarks, titles, baseline_name, paired, notes)


def table_rows(comparison: Comparison) -> list[list[str]]:
    """Header plus one line per row: accuracy with its 95% CI, and the average."""
    header = ["run", *(comparison.titles[name] for name in comparison.benchmarks), "AVG"]
    lines = [header]
    for row in comparison.rows:
        cells = [row.label]
        for name in comparison.benchmarks:
            if name not in row.accuracy:
                cells.append("–")
            else:
                cells.append(_cell(row, name))
        average = row.average(comparison.benchmarks)
        cells.append("–" if average is None else f"{average:.1f}")
        lines.append(cells)
    return lines


def _cell(row: Row, name: str) -> str:
    """``30.7 ± 3.2 [25.1, 36.0] n=30 x10`` (std and seeds where several), ``52.4`` for a reported number."""
    text = f"{row.accuracy[name]:.1f}"
    if name in row.std:
        text += f" ± {row.std[name]:.1f}"
    if name in row.ci95:
        low, high = row.ci95[name]
        text += f" [{low:.1f}, {high:.1f}] {row.count_label(name)}"
    if row.n_seeds.get(name, 1) > 1:
        text += f" x{row.n_seeds[name]}"
    return text


def paired_rows(comparison: Comparison) -> list[list[str]]:
    header = ["run", *(comparison.titles[name] for name in comparison.benchmarks)]
    lines = [header]
    for run, by_bench in comparison.paired.items():
        cells = [f"{run} vs {comparison.baseline}"]
        for name in comparison.benchmarks:
            item = by_bench.get(name)
            cells.append(
                "–" if item is None else f"{100 * item.difference:+.1f} (p={item.p_value:.2f}, n={item.n_questions})"
            )
        lines.append(cells)
    return lines


def _markdown(lines: list[list[str]]) -> str:
    out = ["| " + " | ".join(lines[0]) + " |", "|" + "|".join("---" for _ in lines[0]) + "|"]
    out += ["| " + " | ".join(line) + " |" for line in lines[1:]]
    return "\n".join(out)


def _latex(lines: list[list[str]]) -> str:
    def escape(text: str) -> str:
        return text.replace("%", "\\%").replace("_", "\\_").replace("&", "\\&")

    body = [" & ".join(escape(cell) for cell in line) + " \\\\" for line in lines]
    spec = "l" + "r" * (len(lines[0]) - 1)
    return "\n".join(
        [
            f"\\begin{{tabular}}{{{spec}}}",
            "\\toprule",
            body[0],
            "\\midrule",
            *body[1:],
            "\\bottomrule",
            "\\end{tabular}",
        ]
    )


def render(comparison: Comparison, fmt: str) -> str:
    """The comparison as markdown, csv, latex or json text."""
    tables = [table_rows(comparison)] + ([paired_rows(comparison)] if comparison.paired else [])
    if fmt == "json":
        return json.dumps(as_dict(comparison), indent=2)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        for table in tables:
            writer.writerows(table)
        return buffer.getvalue()
    if fmt == "latex":
        return "\n\n".join(_latex(table) for table in tables) + "".join(f"\n% {note}" for note in comparison.notes)
    return "\n\n".join(_markdown(table) for table in tables) + "".join(f"\n\n{note}" for note in comparison.notes)


def as_dict(comparison: Comparison) -> dict[str, Any]:
    return {
        "benchmarks": comparison.benchmarks,
        "rows": [
            {
                "name": row.name,
                "source": "measured" if row.measured else "reported",
                "accuracy": row.accuracy,
                "ci95": {name: list(ci) for name, ci in row.ci95.items()},
                "std": row.std,
                "n_seeds": row.n_seeds,
                "average": row.average(comparison.benchmarks),
                "n_questions": {name: list(counts) for name, counts in row.questions.items()},
                "partial": row.partial,
            }
            for row in comparison.rows
        ],
        "baseline": comparison.baseline,
        "paired": {
            run: {
                name: {
                    "difference": 100 * item.difference,
                    "ci95": [100 * v for v in item.ci95],
                    "p_value": item.p_value,
                    "n_questions": item.n_questions,
                }
                for name, item in by_bench.items()
            }
            for run, by_bench in comparison.paired.items()
        },
        "notes": comparison.notes,
    }


def plot_comparison(comparison: Comparison, path: str | Path) -> None:
    """Grouped bars per benchmark (and AVG) for each row, 95% CI whiskers on measured runs (as LIMR's Figure 4).

    A domain comparison (``compare --reference polymath --by domain``) is drawn as a radar instead.
    """
    if comparison.view == "domains":
        from limr_kit.benchmarks.polymath_compare import plot_domains

        plot_domains(comparison, path)
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    columns = [*comparison.benchmarks, "AVG"]
    width = 0.8 / max(1, len(comparison.rows))
    fig, ax = plt.subplots(figsize=(min(13.0, 3.0 + 2.0 * len(columns)), 5.0), dpi=120)
    colours = plt.get_cmap("tab10")
    for index, row in enumerate(comparison.rows):
        values, lows, highs = [], [], []
        for name in columns:
            value = row.average(comparison.benchmarks) if name == "AVG" else row.accuracy.get(name)
            values.append(np.nan if value is None else value)
            low, high = row.ci95.get(name, (value, value)) if value is not None else (np.nan, np.nan)
            lows.append(0.0 if value is None else value - low)
            highs.append(0.0 if value is None else high - value)
        positions = np.arange(len(columns)) + (index - (len(comparison.rows) - 1) / 2) * width
        ax.bar(
            positions,
            values,
            width,
            label=row.label + (f" [{', '.join(row.count_label(n) for n in row.questions)}]" if row.partial else ""),
            color=colours(index % 10),
            hatch="" if row.measured else "//",
            edgecolor="white" if row.measured else "black",
            yerr=[lows, highs] if row.measured else None,
            capsize=3,
        )
    ax.set_xticks(np.arange(len(columns)), [comparison.titles.get(name, name) for name in columns])
    ax.set_ylabel("accuracy (%)")
    partial = any(row.partial for row in comparison.rows)
    ax.set_title(
        "Benchmark accuracy (95% bootstrap CI over questions, and seeds where several)"
        + ("\npartial runs answered only n of the questions shown in the legend" if partial else "")
    )
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(
        frameon=False, fontsize=8, ncol=min(4, len(comparison.rows)), loc="upper center", bbox_to_anchor=(0.5, -0.08)
    )
    fig.tight_layout()
    fig.savefig(path, format="png")
    plt.close(fig)
