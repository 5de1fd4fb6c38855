"""The CLI's Reporter, pointed at a web page: messages into the page's log (and the server's stderr), progress
bars into the page's progress display. Jobs cannot tell the difference."""

from __future__ import annotations

import io
import itertools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

from aniportrait_cli.cli.report import ProgressBar, Reporter

# (fraction done or None when unknown, what is happening)
ShowProgress = Callable[[float | None, str], None]


class PageReporter(Reporter):
    def __init__(self, show_progress: ShowProgress):
        super().__init__()
        self._log = io.StringIO()
        self._show_progress = show_progress
        self.console = Console(file=_Tee(self._log, sys.stderr), highlight=False, soft_wrap=True)

    @property
    def text(self) -> str:
        """Everything the job said: notes, the closing `wrote ...` line, or the `error: ...` line."""
        return self._log.getvalue().strip()

    @contextmanager
    def progress(self) -> Iterator[ProgressBar]:
        yield PageProgressBar(self._show_progress)


class PageProgressBar(ProgressBar):
    """Same handle as the CLI's bar (add / advance / update / callback); the latest change is what the page shows."""

    def __init__(self, show: ShowProgress):
        super().__init__(None)
        self._show = show
        self._ids = itertools.count()
        self._state: dict[int, list] = {}  # task -> [description, completed, total]

    def add(self, description: str, total: float | None) -> int:
        task = next(self._ids)
        self._state[task] = [description, 0.0, total]
        sys.stderr.write(f"{description}...\n")  # the server's log shows each stage as it starts
        self._redraw(task)
        return task

    def advance(self, task: int | None, amount: float = 1) -> None:
        if task in self._state:
            self._state[task][1] += amount
            self._redraw(task)

    def update(self, task: int | None, **fields) -> None:
        state = self._state.get(task)
        if state is None:
            return
        for index, name in enumerate(("description", "completed", "total")):
            if name in fields:
                state[index] = fields[name]
        self._redraw(task)

    def remove_all(self) -> None:
        self._state.clear()

    def _redraw(self, task: int) -> None:
        description, done, total = self._state[task]
        self._show(min(1.0, done / total) if total else None, description)


class _Tee(io.TextIOBase):
    def __init__(self, *streams):
        self._streams = streams

    def write(self, text: str) -> int:
        for stream in self._streams:
            stream.write(text)
        return len(text)

    def flush(self) -> None:
        for stream in self._streams:
            stream.flush()
