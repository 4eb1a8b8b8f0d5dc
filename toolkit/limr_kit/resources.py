"""Locate the project's data folders (benchmarks, recipes, containers, release).

In a wheel they are package resources under ``limr_kit/_data/<name>`` (hatch ``force-include``), found with
:mod:`importlib.resources`; in a checkout (editable install) they are the top-level folders of the source tree
that holds the package (``<tree>/toolkit/limr_kit``).
"""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path

from limr_kit.errors import LimrError


FOLDERS = ("benchmarks", "containers", "recipes", "release")  # a wheel's limr_kit/_data/<name> (pyproject.toml)


def _package_root() -> Path:
    with as_file(files("limr_kit")) as root:  # a real folder for installed and editable packages alike
        return Path(root)


def data_dir(name: str) -> Path:
    """The folder holding limr-kit's own ``name`` files (e.g. ``benchmarks``)."""
    package = _package_root()
    for candidate in (package / "_data" / name, package.parent.parent / name):
        if candidate.is_dir():
            return candidate
    raise LimrError(f"limr-kit's '{name}' folder is missing from this installation. Reinstall limr-kit.")
