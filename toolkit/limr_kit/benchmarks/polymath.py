"""The polymath-learning paper's aggregation (arXiv 2601.03111, Tables 3, 12, 13).

Subject accuracy -> domain = unweighted mean of its subjects -> Avg = mean of the 8 domains; and
AVG-OE / AVG-MCQ / AVG-All over the benchmarks. The subject -> domain mapping is data
(``benchmarks/polymath/domains.yaml``); the paper's reported rows are ``paper_tables.json`` beside it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from statistics import fmean

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from limr_kit.errors import ConfigError, InputError, validation_problems
from limr_kit.resources import data_dir


WILDCARD = "*"


class DomainMap(BaseModel):
    """``domains.yaml``: the 8 domains, subject -> domain, each benchmark's labels -> subject."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domains: tuple[str, ...]
    subjects: dict[str, str]
    sources: dict[str, dict[str, str]]
    open_ended: tuple[str, ...]
    multiple_choice: tuple[str, ...]

    @model_validator(mode="after")
    def _known_domains(self) -> DomainMap:
        unknown = sorted({d for d in self.subjects.values() if d not in self.domains})
        if unknown:
            raise ValueError(f"subjects map to unknown domains: {', '.join(unknown)}")
        return self

    def subject_of(self, benchmark: str, label: str) -> str:
        """Our subject for a benchmark's own label (a SciBench book, an MMLU-Pro category...)."""
        labels = self.sources.get(benchmark)
        if labels is None:
            raise InputError(f"Benchmark '{benchmark}' has no subject mapping in domains.yaml.")
        subject = labels.get(label, labels.get(WILDCARD))
        if subject is None:
            raise InputError(f"{benchmark}: subject label '{label}' is not in domains.yaml.")
        return subject


def load_domain_map(path: str | Path | None = None) -> DomainMap:
    """Read and validate a domain mapping (the shipped one by default)."""
    path = Path(path) if path else data_dir("benchmarks") / "polymath" / "domains.yaml"
    try:
        return DomainMap.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as error:
        raise ConfigError(path, validation_problems(error)) from None


@cache
def default_domain_map() -> DomainMap:
    """The shipped mapping, read once."""
    return load_domain_map()


def _key(domain: str) -> str:
    return domain.lower().replace(" ", "_")


def subject_scores(records: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Accuracy per subject, pooled over every benchmark's (subject, score) records."""
    pooled: dict[str, list[float]] = defaultdict(list)
    for subject, score in records:
        pooled[subject].append(score)
    return {subject: fmean(scores) for subject, scores in sorted(pooled.items())}


def domain_scores(subjects: Mapping[str, float], mapping: DomainMap | None = None) -> dict[str, float]:
    """Each domain's unweighted mean over its subjects present (keys as in the paper's tables)."""
    mapping = mapping or default_domain_map()
    members: dict[str, list[float]] = defaultdict(list)
    for subject, score in subjects.items():
        if subject in mapping.subjects:
            members[mapping.subjects[subject]].append(score)
    return {_key(domain): fmean(members[domain]) for domain in mapping.domains if members[domain]}


def domain_average(domains: Mapping[str, float], mapping: DomainMap | None = None) -> float | None:
    """Table 3's Avg: the mean of the 8 domains (None unless all 8 were measured)."""
    mapping = mapping or default_domain_map()
    keys = [_key(domain) for domain in mapping.domains]
    if any(key not in domains for key in keys):
        return None
    return fmean(domains[key] for key in keys)


def benchmark_averages(benchmarks: Mapping[str, float], mapping: DomainMap | None = None) -> dict[str, float]:
    """Table 12's AVG-OE, AVG-MCQ and AVG-All, each only when all of its benchmarks were measured."""
    mapping = mapping or default_domain_map()
    groups = {
        "avg_oe": mapping.open_ended,
        "avg_mcq": mapping.multiple_choice,
        "avg_all": mapping.open_ended + mapping.multiple_choice,
    }
    return {
        name: fmean(benchmarks[b] for b in members)
        for name, members in groups.items()
        if all(b in benchmarks for b in members)
    }


@cache
def paper_tables() -> dict:
    """The paper's reported Table 3 (by domain) and Table 12 (by benchmark), in percent."""
    path = data_dir("benchmarks") / "polymath" / "paper_tables.json"
    return json.loads(path.read_text(encoding="utf-8"))


def paper_rows(by: str) -> list[dict]:
    """Reported rows: ``by="domain"`` (Table 3) or ``by="benchmark"`` (Table 12)."""
    tables = {"domain": "table3_by_domain", "benchmark": "table12_by_dataset"}
    if by not in tables:
        raise InputError(f"Unknown --by '{by}'. Choices: domain, benchmark.")
    return paper_tables()[tables[by]]["rows"]
