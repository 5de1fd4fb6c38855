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


def json_lines(result: subprocess.CompletedProcess) -> list[dict]:
    """The --json lines on stdout, each one validated against the published schema (result.schema.json)."""
    import json
    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("aniportrait_cli.cli").joinpath("result.schema.json").read_text())
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    for row in rows:
        jsonschema.validate(row, schema)
    return rows


def items(result: subprocess.CompletedProcess) -> list[dict]:
    """The item lines (one per rendered item), without a batch's summary line."""
    return [row for row in json_lines(result) if row["kind"] == "item"]
