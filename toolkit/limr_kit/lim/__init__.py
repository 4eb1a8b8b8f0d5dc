"""Learning Impact Measurement and baseline selectors: read trajectories, score, select."""

from limr_kit.lim.report import summarise, write_score_outputs
from limr_kit.lim.scoring import DEFAULT_THRESHOLDS, METHODS, ScoreResult, score_trajectories
from limr_kit.lim.selectors import SelectorOptions
from limr_kit.lim.trajectories import InputReport, ReadOptions, TrajectorySet, load_trajectories


__all__ = [
    "DEFAULT_THRESHOLDS",
    "METHODS",
    "InputReport",
    "ReadOptions",
    "ScoreResult",
    "SelectorOptions",
    "TrajectorySet",
    "load_trajectories",
    "score_trajectories",
    "summarise",
    "write_score_outputs",
]
