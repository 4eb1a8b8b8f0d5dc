"""Benchmark suites on any checkpoint (``limr-kit bench``), comparisons of runs (``limr-kit compare``) and offline
pass rates of a training set (``limr-kit estimate``)."""

from limr_kit.benchmarks.config import BenchmarkSpec, SuiteSpec, load_benchmarks, load_suites, resolve_suite
from limr_kit.benchmarks.engine_options import HfOptions, LmEvalOptions, VllmOptions
from limr_kit.benchmarks.estimate import EstimateOptions, EstimateResult, estimate_pass_rates
from limr_kit.benchmarks.results import BenchResults
from limr_kit.benchmarks.run import BenchOptions, run_bench


__all__ = [
    "BenchOptions",
    "BenchResults",
    "BenchmarkSpec",
    "EstimateOptions",
    "EstimateResult",
    "HfOptions",
    "LmEvalOptions",
    "SuiteSpec",
    "VllmOptions",
    "estimate_pass_rates",
    "load_benchmarks",
    "load_suites",
    "resolve_suite",
    "run_bench",
]
