"""The grading work done inside pool workers (each imports this module, and math-verify, once)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from limr_kit.rewards.equivalence import answers_equal, limr_compat_equal
from limr_kit.rewards.extract import cut_at_eos, limr_last_boxed
from limr_kit.rewards.formatting import LIMR_REPETITION, MAX_BOXES, box_count, has_repetition, is_garbled
from limr_kit.rewards.normalize import normalize_answer
from limr_kit.rewards.policies import BOXED, extract_answer, missing_reason


COMPAT = "limr-compat"


@dataclass(frozen=True, slots=True)
class GradeJob:
    """Grade one response: check its format, extract its answer (by ``policy``), compare it with the gold."""

    mode: str
    response: str
    gold: str
    finish_reason: str | None
    policy: str = BOXED


@dataclass(frozen=True, slots=True)
class Analysis:
    format_error: str | None  # the first failed format check, in the released reward's order
    extracted: str | None  # the final answer as written
    answer_key: str | None  # the answer as compared (normalised in default mode)
    gold_key: str
    via: str | None = None  # where the answer was found: boxed | final_statement | math_verify


_VERDICTS: OrderedDict[tuple[str, str, str], bool] = OrderedDict()  # this worker's memo
_MEMO_SIZE = 100_000


def analyse(job: GradeJob) -> Analysis:
    """Format checks in the released order (EOS, an answer, too many boxes, garbled text, repetition) and the
    final answer; every policy runs the same checks, only "no answer" differs (``no_box`` or ``no_answer``)."""
    compat = job.mode == COMPAT
    response = cut_at_eos(job.response)
    if compat:
        extracted, via = limr_last_boxed(response), BOXED
        boxes = box_count(response)
        found = boxes > 0
    else:
        extraction = extract_answer(response, job.policy)
        extracted, via, boxes = extraction.answer, extraction.via, extraction.boxes
        found = extracted is not None
    if job.finish_reason == "length":
        format_error = "no_eos"
    elif not found:
        format_error = missing_reason(job.policy)
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
        return Analysis(format_error, extracted, extracted, job.gold, via if extracted is not None else None)
    answer_key = None if extracted is None else normalize_answer(extracted)
    return Analysis(format_error, extracted, answer_key, normalize_answer(job.gold), via)


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
