"""Benchmark suites on any checkpoint (``limr-kit bench``) and comparisons of runs (``limr-kit compare``)."""

from limr_kit.benchmarks.config import BenchmarkSpec, SuiteSpec, load_benchmarks, load_suites, resolve_suite
from limr_kit.benchmarks.run import BenchOptions, run_bench


__all__ = [
    "BenchOptions",
    "BenchmarkSpec",
    "SuiteSpec",
    "load_benchmarks",
    "load_suites",
    "resolve_suite",
    "run_bench",
]
