"""One progress protocol: library loops report ProgressEvent values, the CLI renders one bar per task."""

from __future__ import annotations

import threading

from rich.console import Console
from rich.progress import Progress as RichProgress

from limr_kit._io import write_jsonl
from limr_kit.console import ProgressBars
from limr_kit.lim import load_trajectories
from limr_kit.progress import ProgressCounter, ProgressEvent
from limr_kit.rewards.batch import grade_file
from limr_kit.tinymodel import write_tiny_model


def test_a_counter_reports_its_start_and_every_count_from_many_threads():
    events: list[ProgressEvent] = []
    counter = ProgressCounter(events.append, "questions", 400, done=100)
    threads = [threading.Thread(target=lambda: [counter.advance() for _ in range(75)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert events[0] == ProgressEvent("questions", 100, 400)
    assert [event.done for event in events] == list(range(100, 401))  # one report per unit, none lost or repeated
    ProgressCounter(None, "nobody watching", None).advance()  # no callback: nothing to report, no error


def test_bars_follow_events_one_task_each_with_metrics_in_the_description():
    bars = RichProgress(console=Console(file=open("/dev/null", "w")))  # noqa: SIM115
    show = ProgressBars(bars)
    show(ProgressEvent("GRPO", 0, 10))
    show(ProgressEvent("bench", 3, None))
    show(ProgressEvent("GRPO", 4, 10, {"reward": 0.25}))
    grpo, bench = bars.tasks
    assert (grpo.completed, grpo.total, grpo.description) == (4, 10, "GRPO reward 0.25")
    assert (bench.completed, bench.total) == (3, None)


def test_library_loops_report_through_the_protocol(tmp_path):
    rows = [{"id": str(i), "prediction": f"\\boxed{{{i}}}", "gold": str(i % 2)} for i in range(6)]
    write_jsonl(tmp_path / "preds.jsonl", rows)
    events: list[ProgressEvent] = []
    grade_file(tmp_path / "preds.jsonl", progress=events.append, compare=True)
    tasks = sorted({event.task for event in events})
    assert len(tasks) == 2 and all(task.startswith("grading (") for task in tasks)
    for task in tasks:
        mine = [event for event in events if event.task == task]
        assert (mine[0].done, mine[-1].done, mine[-1].total) == (0, 6, 6)

    events.clear()
    write_tiny_model(tmp_path / "tiny", warm_start_steps=3, progress=events.append)
    assert [(e.task, e.done, e.total) for e in events] == [("warm start", n, 3) for n in range(4)]

    events.clear()
    log = [{"sample_id": f"s{i % 3}", "reward": float(i % 2), "epoch": i // 3} for i in range(12)]
    write_jsonl(tmp_path / "log.jsonl", log)
    load_trajectories(tmp_path / "log.jsonl", progress=events.append)
    assert events and events[-1] == ProgressEvent("reading trajectories", 100.0, 100.0)
