"""The CLI's Reporter, pointed at a web page: messages into the page's log (and the server's stderr), progress
into the page's progress display (and the CLI's plain progress lines in the server's log). Jobs cannot tell the
difference."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

from aniportrait_cli.cli.report import PlainProgress, ProgressBar, Reporter

# (fraction done or None when unknown, what is happening)
ShowProgress = Callable[[float | None, str], None]


class PageReporter(Reporter):
    def __init__(self, show_progress: ShowProgress):
        super().__init__()
        self._log = io.StringIO()
        self._show_progress = show_progress
        self.console = Console(file=_Tee(self._log, sys.stderr), highlight=False, soft_wrap=True)
        self.out = self.console  # a job's results belong in the page too, not on the server's stdout

    @property
    def text(self) -> str:
        """Everything the job said: notes, results, the closing `wrote ...` line, or the `error: ...` line."""
        return self._log.getvalue().strip()

    @contextmanager
    def progress(self) -> Iterator[ProgressBar]:
        yield ProgressBar(PageProgress(self._show_progress))


class PageProgress(PlainProgress):
    """The CLI's plain progress lines for the server's log; every change also goes to the page's bar."""

    def __init__(self, show: ShowProgress):
        super().__init__(sys.stderr)
        self._show = show

    def add_task(self, description: str, total: float | None = None, **fields) -> int:
        task_id = super().add_task(description, total, **fields)
        self._redraw(task_id)
        return task_id

    def update(self, task_id: int, completed: float | None = None, total: float | None = None, **fields) -> None:
        super().update(task_id, completed=completed, total=total, **fields)
        self._redraw(task_id)

    def _redraw(self, task_id: int) -> None:
        task = self._tasks.get(task_id)
        if task is not None:
            total = task["total"]
            self._show(min(1.0, task["completed"] / total) if total else None, task["description"])


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
