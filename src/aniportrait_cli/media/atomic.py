"""Write-then-rename: an interrupted run (error, Ctrl-C, SIGTERM, SIGHUP) never leaves a half-written output.

Every output (videos, images, motion .npz, pose .npy) is written to a hidden temporary sibling
`.NAME.HOST-PID.part.EXT` and renamed into place when complete. SIGKILL (and a power cut) cannot be caught,
so such a run can leave its temporary file behind: `remove_stale_parts` deletes the ones whose process is gone
before the next run writes into that folder.
"""

from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Host and PID in the name: a folder shared by several machines (a cluster's job array) only ever has its
# stale files cleaned by the machine that can tell their process is gone.
_PART = re.compile(r"^\..+\.(?P<host>[^./]+)-(?P<pid>\d+)\.part(\.[^./]+)?$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname().split(".")[0]) or "host"


def temporary_sibling(path: Path) -> Path:
    """A hidden temporary name in the target's own folder (same filesystem, so the final rename is atomic)."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{_host()}-{os.getpid()}.part{path.suffix}")


def is_partial(path: Path) -> bool:
    """Whether `path` is one of our temporary files (never a finished output)."""
    return _PART.match(Path(path).name) is not None


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def remove_stale_parts(folder: Path) -> list[Path]:
    """Delete temporary files left in `folder` by killed runs on this machine; returns what was removed."""
    removed = []
    host = _host()
    try:
        entries = list(Path(folder).iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _PART.match(entry.name)
        if match and match["host"] == host and int(match["pid"]) != os.getpid() and _process_gone(int(match["pid"])):
            try:
                entry.unlink()
                removed.append(entry)
            except OSError:
                pass
    return removed


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces `path`, on any exception it is deleted."""
    path = Path(path)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
