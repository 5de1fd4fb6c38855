"""Run the real `aniportrait` entry point in a subprocess, as a user or a shell loop would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def aniportrait(*args: str, cwd: Path | None = None, env: dict | None = None, unset: tuple[str, ...] = (),
                timeout: float = 600) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    for name in unset:
        full_env.pop(name, None)
    return subprocess.run([sys.executable, "-m", "aniportrait_cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=full_env, timeout=timeout)


def assert_clean_error(result: subprocess.CompletedProcess, code: int, *fragments: str) -> None:
    """One `error:` line naming the problem, the right exit code, no traceback."""
    assert result.returncode == code, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
