"""How the CLI talks to people and scripts: messages and progress on stderr, one JSON line on stdout."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


class Reporter:
    def __init__(self, quiet: bool = False, json_mode: bool = False, debug: bool = False):
        self.quiet = quiet
        self.json_mode = json_mode
        self.debug = debug
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.started = time.monotonic()
        self._progress: Progress | None = None
        self._said: set[str] = set()

    @property
    def elapsed_s(self) -> float:
        return time.monotonic() - self.started

    def info(self, message: str) -> None:
        if not self.quiet:
            self.console.print(message, markup=False)

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

    def emit_json(self, payload: dict) -> None:
        if self.json_mode:
            sys.stdout.write(json.dumps(payload, default=str) + "\n")
            sys.stdout.flush()

    @contextmanager
    def progress(self) -> Iterator[ProgressBar]:
        """A rich progress display with ETA; silent with --quiet.

        Nested uses share the one live display (rich allows only one): an outer batch shows its overall bar
        while each item's steps come and go below it.
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
        try:
            with self._progress:
                yield ProgressBar(self._progress)
        finally:
            self._progress = None

    def for_item(self) -> Reporter:
        """A reporter for one item of a batch: same console and progress display, its own clock and JSON off
        (the batch writes one JSON line per item itself)."""
        item = Reporter(quiet=self.quiet, json_mode=False, debug=self.debug)
        item.console = self.console
        item._progress = self._progress
        item._said = self._said
        return item


class ProgressBar:
    """A thin handle on rich tasks: `task = bar.add("Diffusing", total)` then `bar.advance(task)`."""

    def __init__(self, progress: Progress | None):
        self._progress = progress
        self._tasks: list[int] = []

    def add(self, description: str, total: float | None) -> int | None:
        if self._progress is None:
            return None
        task = self._progress.add_task(description, total=total)
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
        """A `progress(done, total)` callback for library code, creating its task lazily."""
        state: dict = {}

        def report(done: float, total_now: float | None = total) -> None:
            if "task" not in state:
                state["task"] = self.add(description, total_now)
            self.update(state["task"], completed=done, total=total_now)

        return report
