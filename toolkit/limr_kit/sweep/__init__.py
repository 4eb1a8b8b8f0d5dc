"""Benchmark sweeps: models x suites x seeds as bench jobs, locally or on a Ray cluster (``limr-kit sweep``)."""

from limr_kit.sweep.run import SweepJobsFailed, SweepResult, run_sweep
from limr_kit.sweep.spec import Job, Sweep, SweepSpec, load_sweep


__all__ = ["Job", "Sweep", "SweepJobsFailed", "SweepResult", "SweepSpec", "load_sweep", "run_sweep"]
