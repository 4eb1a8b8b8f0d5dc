"""One math grader for training rewards, benchmark verdicts and ``limr-kit grade``."""

from limr_kit.rewards.grader import (
    DEFAULT_TIMEOUT,
    MODES,
    REWARD_CORRECT,
    REWARD_FORMAT_ERROR,
    REWARD_SCHEMES,
    REWARD_WRONG,
    Grade,
    GradeInput,
    Grader,
)
from limr_kit.rewards.policies import POLICIES


__all__ = [
    "DEFAULT_TIMEOUT",
    "MODES",
    "POLICIES",
    "REWARD_CORRECT",
    "REWARD_FORMAT_ERROR",
    "REWARD_SCHEMES",
    "REWARD_WRONG",
    "Grade",
    "GradeInput",
    "Grader",
]
