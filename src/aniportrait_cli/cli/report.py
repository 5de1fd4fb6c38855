"""How the CLI talks to people and scripts: results on stdout, messages and progress on stderr, and one JSON
schema for every `--json` line (see result.schema.json).

Progress on a terminal is a live rich display; anywhere else (a log file, SLURM, CI) it is plain lines, one per
~10% or 30 s, with the stage, done/total and an ETA, so a log shows how far a job got.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

# Bump when a field changes meaning or disappears (adding fields keeps the version).
SCHEMA_VERSION = 1
RENDER_FIELDS = ("ref", "source", "output", "frames", "fps", "duration_s", "engine", "elapsed_s")


class Reporter:
    def __init__(self, quiet: bool = False, json_mode: bool = False, debug: bool = False, command: str = ""):
        self.quiet = quiet
        self.json_mode = json_mode
        self.debug = debug
        self.command = command
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.out = Console(highlight=False, soft_wrap=True)  # results (tables, reports) for pipes and grep
        self.started = time.monotonic()
        self._progress: Progress | PlainProgress | None = None
        self._said: set[str] = set()
        self.details: dict = {}  # what the finished job measured (frames, fps, engine, ...) for its JSON line

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def info(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message, markup=False)

    def result(self, message: str) -> None:
        """A line that is the command's answer (stdout, even with --quiet; not with --json)."""
        if not self.json_mode:
            self.out.print(message, markup=False)

    def note_once(self, message: str) -> None:
        """Say something once per run (e.g. 'several faces, using the largest')."""
        if message not in self._said:
            self._said.add(message)
            self.warn(message)

    def warn(self, message: str) -> None:
        if not self.quiet:
            self.console.print(f"note: {message}", style="yellow", markup=False)

    def error(self, message: str) -> None:
        self.console.print(f"error: {message}", style="bold red", markup=False)

    def emit_json(self, payload: dict, kind: str = "item") -> None:
        """One line of the schema: `schema`, `command` and `kind` first, then the payload."""
        if self.json_mode:
            line = {"schema": SCHEMA_VERSION, "command": self.command, "kind": kind, **payload}
            sys.stdout.write(json.dumps(line, default=str) + "\n")
            sys.stdout.flush()

    def emit_item(self, status: str, error: str | None = None, exit_code: int = 0, **fields) -> None:
        """The JSON line of one render item (a single run or one item of a batch): every field always present."""
        values = {name: None for name in RENDER_FIELDS}
        values.update({k: v for k, v in {**self.details, **fields}.items() if v is not None or k not in values})
        self.emit_json({"status": status, **values, "error": error, "exit_code": exit_code})

    @contextmanager
    def progress(self) -> Iterator[ProgressBar]:
        """A progress display with ETA (rich on a terminal, plain lines otherwise); silent with --quiet.

        Nested uses share the one display (rich allows only one live display): an outer batch shows its overall
        bar while each item's steps come and go below it.
        """
        if self.quiet:
            yield ProgressBar(None)
            return
        if self._progress is not None:
            bar = ProgressBar(self._progress)
            try:
                yield bar
            finally:
                bar.remove_all()
            return
        if self.console.is_terminal:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
            )
        else:
            self._progress = PlainProgress(self.console.file)
        try:
            with self._progress:
                yield ProgressBar(self._progress)
        finally:
            self._progress = None

    def for_item(self) -> Reporter:
        """A reporter for one item of a batch: same consoles and progress display, its own clock and details."""
        item = Reporter(quiet=self.quiet, json_mode=self.json_mode, debug=self.debug, command=self.command)
        item.console = self.console
        item.out = self.out
        item._progress = self._progress
        item._said = self._said
        return item


class PlainProgress:
    """The subset of rich's Progress that ProgressBar uses, printing plain lines for logs:

        Rendering: 45/150 (30%), 12 s elapsed, eta 28 s

    A line when a task starts, every `step` of its total or `interval_s` seconds, and when it completes.
    """

    def __init__(self, stream, step: float = 0.1, interval_s: float = 30.0):
        self.stream = stream
        self.step = step
        self.interval_s = interval_s
        self._tasks: dict[int, dict] = {}
        self._next_id = 0

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def add_task(self, description: str, total: float | None = None, unit: str = "") -> int:
        task_id = self._next_id
        self._next_id += 1
        now = time.monotonic()
        self._tasks[task_id] = {"description": description, "total": total, "completed": 0.0, "started": now,
                                "printed_at": now, "printed_fraction": 0.0, "finished": False, "unit": unit}
        self._print(self._tasks[task_id])
        return task_id

    def remove_task(self, task_id: int) -> None:
        self._tasks.pop(task_id, None)

    def advance(self, task_id: int, amount: float = 1) -> None:
        task = self._tasks.get(task_id)
        if task is not None:
            self.update(task_id, completed=task["completed"] + amount)

    def update(self, task_id: int, completed: float | None = None, total: float | None = None, **_) -> None:
        task = self._tasks.get(task_id)
        if task is None:
            return
        if total is not None:
            task["total"] = total
        if completed is not None:
            task["completed"] = completed
        total_now = task["total"]
        fraction = task["completed"] / total_now if total_now else 0.0
        now = time.monotonic()
        finished = bool(total_now) and task["completed"] >= total_now
        if finished and task["finished"]:
            return
        if finished or fraction - task["printed_fraction"] >= self.step or now - task["printed_at"] >= self.interval_s:
            task["finished"] = finished
            task["printed_at"], task["printed_fraction"] = now, fraction
            self._print(task)

    def _print(self, task: dict) -> None:
        elapsed = time.monotonic() - task["started"]
        done, total, unit = task["completed"], task["total"], task["unit"]
        line = f"{task['description']}: {_count(done, unit)}"
        if total:
            fraction = min(1.0, done / total)
            line += f"/{_count(total, unit)} ({fraction:.0%}), {_duration(elapsed)} elapsed"
            if 0 < fraction < 1:
                line += f", eta {_duration(elapsed * (1 - fraction) / fraction)}"
        else:
            line += f", {_duration(elapsed)} elapsed"
        self.stream.write(line + "\n")
        self.stream.flush()


def _count(value: float, unit: str = "") -> str:
    if unit == "bytes":
        return f"{value / 1e9:.2f} GB" if value >= 1e8 else f"{value / 1e6:.1f} MB"
    return f"{value:.0f}"


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{seconds:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


class ProgressBar:
    """A thin handle on progress tasks: `task = bar.add("Diffusing", total)` then `bar.advance(task)`."""

    def __init__(self, progress: Progress | PlainProgress | None):
        self._progress = progress
        self._tasks: list[int] = []

    def add(self, description: str, total: float | None, unit: str = "") -> int | None:
        """A task; unit "bytes" shows sizes in MB/GB in log lines."""
        if self._progress is None:
            return None
        task = self._progress.add_task(description, total=total, unit=unit)
        self._tasks.append(task)
        return task

    def remove_all(self) -> None:
        """Drop this bar's tasks from a shared display (an item's steps, once the item is done)."""
        if self._progress is not None:
            for task in self._tasks:
                self._progress.remove_task(task)
        self._tasks.clear()

    def advance(self, task: int | None, amount: float = 1) -> None:
        if self._progress is not None and task is not None:
            self._progress.advance(task, amount)

    def update(self, task: int | None, **fields) -> None:
        if self._progress is not None and task is not None:
            self._progress.update(task, **fields)

    def callback(self, description: str, total: float | None = None):
        """A `progress(done, total)` callback for library code. With `total` known the task shows at once (at 0),
        otherwise at the first call."""
        state: dict = {}
        if total is not None:
            state["task"] = self.add(description, total)

        def report(done: float, total_now: float | None = total) -> None:
            if "task" not in state:
                state["task"] = self.add(description, total_now)
            self.update(state["task"], completed=done, total=total_now)

        return report
