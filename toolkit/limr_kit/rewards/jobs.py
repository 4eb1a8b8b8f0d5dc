"""The grading work done inside pool workers (each imports this module, and math-verify, once)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from limr_kit.rewards.equivalence import answers_equal, limr_compat_equal
from limr_kit.rewards.extract import boxed_answers, cut_at_eos, limr_last_boxed
from limr_kit.rewards.formatting import LIMR_REPETITION, MAX_BOXES, box_count, has_repetition, is_garbled
from limr_kit.rewards.normalize import normalize_answer


COMPAT = "limr-compat"


@dataclass(frozen=True, slots=True)
class GradeJob:
    """Grade one response: check its format, extract its answer, compare it with the gold."""

    mode: str
    response: str
    gold: str
    finish_reason: str | None


@dataclass(frozen=True, slots=True)
class Analysis:
    format_error: str | None  # the first failed format check, in the released reward's order
    extracted: str | None  # the final answer as written
    answer_key: str | None  # the answer as compared (normalised in default mode)
    gold_key: str


_VERDICTS: OrderedDict[tuple[str, str, str], bool] = OrderedDict()  # this worker's memo
_MEMO_SIZE = 100_000


def analyse(job: GradeJob) -> Analysis:
    """Format checks in the released order (EOS, boxes, garbled text, repetition) and the final answer."""
    compat = job.mode == COMPAT
    response = cut_at_eos(job.response)
    if compat:
        extracted = limr_last_boxed(response)
        boxes = box_count(response)
    else:
        answers = boxed_answers(response)
        extracted = answers[-1] if answers else None
        boxes = len(answers)
    if job.finish_reason == "length":
        format_error = "no_eos"
    elif boxes == 0:
        format_error = "no_box"
    elif boxes >= MAX_BOXES:
        format_error = "too_many_boxes"
    elif is_garbled(response):
        format_error = "garbled"
    elif LIMR_REPETITION.search(response) if compat else has_repetition(response):
        format_error = "repetition"
    elif extracted is None:  # released reward: "\\boxed" present but its pattern finds no complete box
        format_error = "no_box"
    else:
        format_error = None
    if compat:
        return Analysis(format_error, extracted, extracted, job.gold)
    answer_key = None if extracted is None else normalize_answer(extracted)
    return Analysis(format_error, extracted, answer_key, normalize_answer(job.gold))


def same_answer(mode: str, answer_key: str, gold_key: str) -> bool:
    """The mode's verdict on (answer, gold), memoised: rollouts of a prompt often agree."""
    key = (mode, answer_key, gold_key)
    if key in _VERDICTS:
        _VERDICTS.move_to_end(key)
        return _VERDICTS[key]
    verdict = limr_compat_equal(answer_key, gold_key) if mode == COMPAT else answers_equal(answer_key, gold_key)
    _VERDICTS[key] = verdict
    if len(_VERDICTS) > _MEMO_SIZE:
        _VERDICTS.popitem(last=False)
    return verdict


def run_job(job: GradeJob) -> Iterator[tuple[Analysis | bool, bool, bool]]:
    """Yield ``(result, is_final, slow_work_follows)``: the analysis, then (if there is an answer) the verdict.

    ``slow_work_follows`` marks an analysis followed by a comparison not in the memo, which may take the whole
    time bound: the worker sends what it has before starting it.
    """
    analysis = analyse(job)
    if analysis.answer_key is None:
        yield analysis, True, False
        return
    known = (job.mode, analysis.answer_key, analysis.gold_key) in _VERDICTS
    yield analysis, False, not known
    yield same_answer(job.mode, analysis.answer_key, analysis.gold_key), True, False
