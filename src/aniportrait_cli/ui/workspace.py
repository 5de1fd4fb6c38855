"""Where the page keeps files: one temporary root per server, one folder per browser session inside it.

The server points Gradio's own file cache (GRADIO_TEMP_DIR) at the root, so uploads land there (each in a folder
named by its content hash) and results written inside it are served as they are, not copied. Each job writes into
a folder of its session. A session's folder and its uploads are deleted when the session ends (the browser tab
closes), and the whole root when the server stops: nothing outlives the server unless a user downloads it.
"""

from __future__ import annotations

import itertools
import re
import shutil
import tempfile
import threading
from pathlib import Path


class Workspace:
    def __init__(self, root: Path | None = None):
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="aniportrait-ui-"))
        self.sessions = self.root / "sessions"
        self.sessions.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._jobs = itertools.count(1)
        self._uploads: dict[str, set[Path]] = {}

    def session_folder(self, session: str) -> Path:
        folder = self.sessions / _folder_name(session)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def job_folder(self, session: str) -> Path:
        """A fresh folder for one job's outputs, so default output names never collide within a session."""
        with self._lock:
            number = next(self._jobs)
        folder = self.session_folder(session) / f"job-{number:04d}"
        folder.mkdir()
        return folder

    def remember_uploads(self, session: str, *paths: str | Path | None) -> None:
        """Note the uploaded files a session used, to delete them when it ends."""
        with self._lock:
            kept = self._uploads.setdefault(session, set())
            kept.update(Path(p).resolve() for p in paths if p and _upload_folder(Path(p), self.root) is not None)

    def end_session(self, session: str) -> None:
        with self._lock:
            mine = self._uploads.pop(session, set())
            # The same file uploaded in two tabs is one cache entry: keep it while another session uses it.
            in_use = set().union(*self._uploads.values())
        for path in mine - in_use:
            folder = _upload_folder(path, self.root)
            if folder is not None:
                shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(self.sessions / _folder_name(session), ignore_errors=True)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _folder_name(session: str) -> str:
    # Gradio's session hashes are short random strings; keep only safe characters all the same.
    return re.sub(r"[^A-Za-z0-9_-]", "_", session or "anonymous")


def _upload_folder(path: Path, root: Path) -> Path | None:
    """The cache folder holding an uploaded file (root/<hash>/name), or None for anything else."""
    folder = path.resolve().parent
    root = root.resolve()
    return folder if folder.parent == root and folder.name != "sessions" else None
