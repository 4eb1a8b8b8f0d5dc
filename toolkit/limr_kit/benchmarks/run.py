"""``limr-kit bench``: run a suite on a model, grade, and write results.json and samples.jsonl.

The run is resumable: every finished question is appended to samples.jsonl at once (flushed), and a
restarted run with the same settings generates only the questions that are not there yet.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from limr_kit import faults
from limr_kit._io import JsonlAppender, cut_torn_tail, ensure_writable_dir, iter_jsonl, write_json
from limr_kit.benchmarks import polymath_bench
from limr_kit.benchmarks.config import BenchmarkSpec, SuiteSpec, resolve_suite
from limr_kit.benchmarks.data import BenchmarkData, DataDirs, Question, load_benchmark
from limr_kit.benchmarks.engine_options import EngineCache, EngineOptions, VllmOptions, check_options
from limr_kit.benchmarks.engines import Completion, Engine, GenerationRequest, request_seed
from limr_kit.benchmarks.models import ResolvedModel, context_length, resolve_model
from limr_kit.benchmarks.results import RESULTS_FILE, BenchResults, build_results, summarise
from limr_kit.errors import InputError
from limr_kit.progress import Progress, ProgressCounter
from limr_kit.rewards import GradeInput, Grader
from limr_kit.rewards.policies import BOXED, check_policy


# What a run folder written before a setting existed ran with (resuming it must not refuse).
IDENTITY_DEFAULTS = {"answer_policy": BOXED}


@dataclass(frozen=True, slots=True)
class BenchOptions:
    """Everything about a run except the model."""

    suite: str = "limr-paper"
    limit: int | None = None
    data_dir: DataDirs = None  # one folder or several, searched in order
    seed: int = 0
    grader_timeout: float = 2.0
    answer_policy: str = BOXED  # where the grader reads each completion's answer (rewards.policies)
    engine_options: EngineOptions = field(default_factory=VllmOptions)  # the engine and its settings
    fresh: bool = False
    seeds: int | None = None  # seeds from ``seed`` on (None: the suite's own counts, else 1); see benchmarks.seeds
    benchmarks: tuple[str, ...] | None = None  # only these of the suite's benchmarks (one seed of a seed plan)
    full: bool = False  # polymath benchmarks: the whole set, not the seeded subset
    dedupe_across: bool = False  # polymath suites: a question shared by two benchmarks counts in the first only

    def __post_init__(self) -> None:
        check_options("BenchOptions", self.engine_options)

    @property
    def engine(self) -> str:
        return self.engine_options.engine


class SampleStore:
    """samples.jsonl: one line per finished question, appended and flushed.

    On open, a torn last line (the run was killed while writing it) is cut off; that question is
    simply generated again.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.done: dict[tuple[str, str], dict[str, Any]] = {}
        if path.exists():
            cut_torn_tail(path)
            for _, record in iter_jsonl(path):
                self.done[(record["benchmark"], record["id"])] = record
        self._appender = JsonlAppender(path)

    def add(self, record: dict[str, Any]) -> None:
        self._appender.write(record)
        self.done[(record["benchmark"], record["id"])] = record
        if record["prompt"] is not None:
            faults.reached("sample-saved")

    def close(self) -> None:
        self._appender.close()


def _run_identity(model: ResolvedModel, options: BenchOptions, specs: list[BenchmarkSpec]) -> dict[str, Any]:
    """What must match for an existing output folder to be resumed."""
    return {
        "model_sha": model.sha,
        "suite": options.suite,
        "engine": options.engine,
        "seed": options.seed,
        "decoding": {spec.name: spec.decoding.model_dump() for spec in specs},
        "system_prompts": {spec.name: spec.system_prompt if spec.prompt == "chat" else spec.prompt for spec in specs},
        "limit": options.limit,
        "answer_policy": options.answer_policy,
        "benchmarks": list(options.benchmarks) if options.benchmarks else None,
        **({"full": True} if options.full else {}),
        **({"dedupe_across": True} if options.dedupe_across else {}),
    }


def _limit_change(out: Path, previous: dict[str, Any], identity: dict[str, Any]) -> None:
    """Accept a larger ``--limit`` (or none) into the same run, which resuming extends; refuse a smaller one."""
    old, new = previous.get("limit"), identity["limit"]
    if old == new or (old is not None and (new is None or new > old)):
        return
    held = f"the first {old} questions of each benchmark" if old else "every question"
    raise InputError(
        f"{out} holds a run over {held}; --limit {new} would report fewer questions than it holds. Give the same "
        "or a larger --limit (a larger one extends the run), another --out, or --fresh."
    )


def prepare_output(
    out: Path, identity: dict[str, Any], fresh: bool, outputs: tuple[str, ...] = (RESULTS_FILE,)
) -> None:
    """Record the run's settings in run.json; refuse a folder holding a run with other settings.

    ``--fresh`` removes run.json, samples.jsonl and ``outputs`` first.
    """
    ensure_writable_dir(out)
    run_file = out / "run.json"
    if fresh:
        for name in ("run.json", "samples.jsonl", *outputs):
            (out / name).unlink(missing_ok=True)
    if not run_file.exists():
        write_json(run_file, identity)
        return
    previous = {**IDENTITY_DEFAULTS, **json.loads(run_file.read_text(encoding="utf-8"))}
    wanted = {**IDENTITY_DEFAULTS, **identity}  # a setting older runs did not record counts as its default
    changed = sorted(key for key in wanted | previous if key != "limit" and previous.get(key) != wanted.get(key))
    if changed:
        raise InputError(
            f"{out} holds a run with other settings ({', '.join(changed)}). Use another --out, or --fresh to start over."
        )
    _limit_change(out, previous, identity)
    if previous != identity:
        write_json(run_file, identity)


def _chat_prompt(tokenizer: Any, messages: tuple[tuple[str, str], ...]) -> str:
    chat = [{"role": role, "content": content} for role, content in messages]
    return tokenizer.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)


@dataclass
class _Requests:
    requests: list[GenerationRequest]
    max_new_tokens: dict[str, int]
    too_long: list[Question]


def _build_requests(
    tokenizer: Any, spec: BenchmarkSpec, questions: list[Question], context: int, seed: int
) -> _Requests:
    """One request per question; new tokens clamped so prompt + new tokens fit the context (never the prompt)."""
    built = _Requests([], {}, [])
    decoding = spec.decoding
    for question in questions:
        if spec.prompt == "polymath":
            prompt = polymath_bench.polymath_prompt(spec.name, question)
            messages: tuple[tuple[str, str], ...] = (("user", prompt),)
        else:
            messages = (("system", spec.system_prompt), ("user", question.question))
            prompt = _chat_prompt(tokenizer, messages)
        room = context - len(tokenizer(prompt, add_special_tokens=False)["input_ids"])
        if room <= 0:
            built.too_long.append(question)
            continue
        budget = min(decoding.max_new_tokens, room)
        built.max_new_tokens[question.id] = budget
        built.requests.append(
            GenerationRequest(
                question.id,
                prompt,
                messages,
                decoding.n,
                decoding.temperature,
                decoding.top_p,
                budget,
                request_seed(seed, spec.name, question.id) if decoding.temperature > 0 else None,
                question.answer,
                chat=spec.prompt == "chat",
            )
        )
    return built


def _grade_record(
    grader: Grader,
    spec: BenchmarkSpec,
    question: Question,
    prompt: str | None,
    completions: list[Completion],
    max_new_tokens: int | None,
) -> dict[str, Any]:
    inputs = [GradeInput(c.text, question.answer, c.finish_reason) for c in completions]
    if question.item is not None and question.item.answer_type != "math":
        grades = polymath_bench.grade_polymath(question.item, inputs)
    else:
        grades = grader.grade_many(inputs)
    return {
        "benchmark": spec.name,
        "id": question.id,
        "prompt": prompt,
        "gold": question.answer,
        "max_new_tokens": max_new_tokens,
        "clamped": max_new_tokens is not None and max_new_tokens < spec.decoding.max_new_tokens,
        "completions": [
            {
                "text": completion.text,
                "finish_reason": completion.finish_reason,
                "tokens": completion.tokens,
                "extracted": grade.extracted,
                "via": grade.via,
                "correct": grade.correct,
                "reason": grade.reason,
            }
            for completion, grade in zip(completions, grades, strict=True)
        ],
    }


def _load_suite(
    suite: SuiteSpec, specs: list[BenchmarkSpec], options: BenchOptions
) -> tuple[dict[str, BenchmarkData], dict[str, Any] | None]:
    """Every benchmark's questions, and for a polymath suite what its aggregation records (overlap, dedupe)."""
    if suite.aggregation == "polymath":
        return polymath_bench.load_polymath_suite(
            specs, options.data_dir, options.limit, options.full, options.dedupe_across
        )
    if options.dedupe_across:
        raise InputError(f"--dedupe-across is for polymath suites (such as polymath-8), not {options.suite}.")
    loaded = {spec.name: load_benchmark(spec, options.data_dir, options.limit, options.full) for spec in specs}
    return loaded, None


class _Recorder:
    """Grades and saves finished questions on a background thread, so generation never waits for grading."""

    def __init__(self, grader: Grader, store: SampleStore) -> None:
        self.grader = grader
        self.store = store
        self._queue: queue.Queue = queue.Queue()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="limr-kit-recorder", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            spec, question, prompt, completions, budget, answered = item
            try:
                if self._failure is None:
                    self.store.add(_grade_record(self.grader, spec, question, prompt, completions, budget))
                    if answered:
                        answered.advance()
            except BaseException as exc:  # re-raised in the caller by wait()
                self._failure = exc
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def record(
        self,
        spec: BenchmarkSpec,
        question: Question,
        prompt: str | None,
        completions: list[Completion],
        budget: int | None,
        answered: ProgressCounter | None,
    ) -> None:
        """Hand over a finished question (returns at once); ``answered`` counts it once saved."""
        self._queue.put((spec, question, prompt, completions, budget, answered))

    def wait(self) -> None:
        """Block until everything handed over is saved; raise what went wrong on the way."""
        self._queue.join()
        if self._failure is not None:
            raise self._failure

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()


def _complete_benchmark(
    spec: BenchmarkSpec,
    data: BenchmarkData,
    recorder: _Recorder,
    tokenizer: Any,
    context: int,
    seed: int,
    get_engine: Callable[[], Engine],
    progress: Progress | None,
) -> None:
    """Generate the questions of ``spec`` not yet saved; each is graded and saved as soon as it finishes."""
    todo = [question for question in data.questions if (spec.name, question.id) not in recorder.store.done]
    built = _build_requests(tokenizer, spec, todo, context, seed)
    for question in built.too_long:  # recorded as answered by nothing: wrong, and counted
        recorder.record(spec, question, None, [], None, None)
    answered = ProgressCounter(
        progress, spec.name, len(data.questions), done=len(data.questions) - len(built.requests)
    )
    if built.requests:
        by_id = {question.id: question for question in todo}
        prompts = {request.key: request.prompt for request in built.requests}

        def finished(key: str, completions: list[Completion]) -> None:
            recorder.record(spec, by_id[key], prompts[key], completions, built.max_new_tokens[key], answered)

        get_engine().generate(built.requests, finished)
    recorder.wait()


def load_chat_model(model_name: str) -> tuple[ResolvedModel, Any, int]:
    """The model (folder or Hub id), its tokenizer, which must have a chat template, and its context length."""
    model = resolve_model(model_name)
    from transformers import AutoTokenizer  # after the caller's input checks, which then fail fast

    tokenizer = AutoTokenizer.from_pretrained(model.path)
    if not tokenizer.chat_template:
        raise InputError(
            f"{model.id} has no chat template. limr-kit prompts through the model's own template (system: "
            "'Please reason step by step...'); add a chat_template to its tokenizer_config.json."
        )
    return model, tokenizer, context_length(model.path)


Finished = Callable[[BenchmarkSpec, list[dict[str, Any]], dict[str, Any]], None]


def generate_and_grade(
    model: ResolvedModel,
    tokenizer: Any,
    context: int,
    work: list[tuple[BenchmarkSpec, BenchmarkData]],
    out: Path,
    options: BenchOptions,
    engine_settings: dict[str, Any],
    finished: Finished,
    progress: Progress | None = None,
    engines: EngineCache | None = None,
) -> None:
    """Generate and grade every question of ``work`` not yet in ``out/samples.jsonl``, appending each as it ends.

    ``finished(spec, records, engine_settings)`` is called after each benchmark with all its records, in
    question order; ``engine_settings`` are those of the previous run until an engine is started. ``engines``:
    the engines to take (and leave open) instead of starting and closing one.
    """
    store = SampleStore(out / "samples.jsonl")
    engine: Engine | None = None

    def get_engine() -> Engine:
        nonlocal engine, engine_settings
        if engine is None:
            engine = (
                engines.get(options, model, context)
                if engines
                else options.engine_options.start(model, context, options.seed)
            )
            engine_settings = engine.settings
        return engine

    try:
        with Grader(policy=options.answer_policy, timeout=options.grader_timeout).start() as grader:
            recorder = _Recorder(grader, store)
            try:
                for spec, data in work:
                    _complete_benchmark(spec, data, recorder, tokenizer, context, options.seed, get_engine, progress)
                    finished(spec, [store.done[(spec.name, q.id)] for q in data.questions], engine_settings)
            finally:
                recorder.close()
    finally:
        store.close()
        if engine is not None and engines is None:
            engine.close()


def run_bench(
    model_name: str,
    out: str | Path,
    options: BenchOptions | None = None,
    progress: Progress | None = None,
    engines: EngineCache | None = None,
) -> BenchResults:
    """Benchmark ``model_name`` (folder or Hub id) on ``options.suite``; returns what it wrote to results.json.

    ``progress`` hears of each question answered (task: the benchmark's name). With several
    seeds, each runs in ``out/seed-<s>/`` and ``out/results.json`` is over the seeds (see benchmarks.seeds).
    ``engines``: the engines to take (and leave open) instead of starting and closing one.
    """
    options = options or BenchOptions()
    check_policy(options.answer_policy)
    suite, specs = resolve_suite(options.suite)
    if options.benchmarks is None:
        from limr_kit.benchmarks.seeds import run_seeds, seed_plan

        plan = seed_plan(suite, options.seeds, options.seed)
        if len(plan) > 1:
            return run_seeds(model_name, out, options, plan, progress, engines)
    else:
        unknown = [name for name in options.benchmarks if name not in suite.benchmarks]
        if unknown:
            raise InputError(f"Suite {suite.name} has no benchmark '{unknown[0]}'.")
        specs = [spec for spec in specs if spec.name in options.benchmarks]
    loaded, polymath = _load_suite(suite, specs, options)
    model, tokenizer, context = load_chat_model(model_name)
    out = Path(out)
    prepare_output(out, _run_identity(model, options, specs), options.fresh)
    previous = out / RESULTS_FILE
    engine_settings = BenchResults.load(previous).provenance["engine_settings"] if previous.exists() else {}
    benchmarks: dict[str, Any] = {}
    results: BenchResults | None = None

    def finished(spec: BenchmarkSpec, records: list[dict[str, Any]], settings: dict[str, Any]) -> None:
        nonlocal results
        benchmarks[spec.name] = summarise(spec, loaded[spec.name], records, options.seed, polymath is not None)
        done = len(benchmarks) == len(specs)
        results = build_results(model, options, benchmarks, settings, done, polymath)
        results.save(out / RESULTS_FILE)

    work = [(spec, loaded[spec.name]) for spec in specs]
    generate_and_grade(model, tokenizer, context, work, out, options, engine_settings, finished, progress, engines)
    assert results is not None  # every benchmark of ``work`` ends in finished()
    return results
