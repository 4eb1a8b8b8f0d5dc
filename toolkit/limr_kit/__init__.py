"""limr-kit: find the RL training samples that matter, train on them, and prove the result."""

__version__ = "0.1.0"

__all__ = ["__version__"]
