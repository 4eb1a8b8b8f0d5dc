"""Container images: ``limr-kit build`` and running limr-kit jobs inside an image (``--image``).

The Dockerfiles live in the top-level ``containers/`` folder; this package makes their build context,
gathers and serves wheels for offline builds, drives the Docker engine through the Docker SDK and runs
commands in containers. ``docker`` is imported inside functions only.
"""

from limr_kit.containers.build import BuildEvent, BuildResult, build_image, build_images
from limr_kit.containers.context import context_files, make_context, source_root
from limr_kit.containers.engine import docker_client
from limr_kit.containers.run import (
    Mount,
    forwarded_env,
    rerun_limr_kit_in_image,
    run_in_image,
    run_limr_kit_in_image,
    strip_options,
)
from limr_kit.containers.targets import TARGETS, Target, resolve_targets
from limr_kit.containers.wheelhouse import Wheelhouse, prepare_wheelhouse, serve_build_files


__all__ = [
    "TARGETS",
    "BuildEvent",
    "BuildResult",
    "Mount",
    "Target",
    "Wheelhouse",
    "build_image",
    "build_images",
    "context_files",
    "docker_client",
    "forwarded_env",
    "make_context",
    "prepare_wheelhouse",
    "rerun_limr_kit_in_image",
    "resolve_targets",
    "run_in_image",
    "run_limr_kit_in_image",
    "serve_build_files",
    "source_root",
    "strip_options",
]
