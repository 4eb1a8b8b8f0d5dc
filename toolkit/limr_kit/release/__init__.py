"""Publish curated datasets and checkpoints to a Hub with their cards, and pull released ones."""

from limr_kit.release.dataset import plan_dataset, publish_dataset
from limr_kit.release.model import plan_model, publish_model
from limr_kit.release.publish import PublishOptions, PublishResult, ReleasePlan, publish
from limr_kit.release.pull import PullResult, pull


__all__ = [
    "PublishOptions",
    "PublishResult",
    "PullResult",
    "ReleasePlan",
    "plan_dataset",
    "plan_model",
    "publish",
    "publish_dataset",
    "publish_model",
    "pull",
]
