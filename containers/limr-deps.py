"""Print limr-kit's runtime requirements (and those of the extras named) from a pyproject.toml.

Used by the GPU Dockerfiles to install limr-kit's dependencies in a layer of their own, before its source:
    python limr-deps.py pyproject.toml bench > requirements.txt
"""

import sys
import tomllib


def main(pyproject: str, *extras: str) -> None:
    with open(pyproject, "rb") as handle:
        project = tomllib.load(handle)["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements.extend(project["optional-dependencies"][extra])
    sys.stdout.write("".join(f"{line}\n" for line in requirements))


if __name__ == "__main__":
    main(*sys.argv[1:])
