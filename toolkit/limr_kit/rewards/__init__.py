"""One math grader for training rewards, benchmark verdicts and ``limr-kit grade``."""

from limr_kit.rewards.grader import (
    DEFAULT_TIMEOUT,
    MODES,
    REWARD_CORRECT,
    REWARD_FORMAT_ERROR,
    REWARD_WRONG,
    Grade,
    GradeInput,
    Grader,
)


__all__ = [
    "DEFAULT_TIMEOUT",
    "MODES",
    "REWARD_CORRECT",
    "REWARD_FORMAT_ERROR",
    "REWARD_WRONG",
    "Grade",
    "GradeInput",
    "Grader",
]
