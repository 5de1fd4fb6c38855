"""check-sync: measure the lip sync of any talking-face video (see aniportrait_cli.sync_check)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import typer


def measure(video: Path, audio: Path | None, reporter):
    from aniportrait_cli.sync_check import check_sync

    with reporter.progress() as bar:
        return check_sync(video, audio, progress=bar.callback("Measuring the mouth"))


def report_fields(report) -> dict:
    """The report as JSON-safe numbers (nan -> None)."""
    fields = dataclasses.asdict(report)
    fields = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in fields.items()}
    fields["passed"] = report.passed
    return fields


def run(video: Path, audio: Path | None, reporter) -> None:
    report = measure(video, audio, reporter)
    for line in report.describe():
        reporter.info(line)
    reporter.emit_json({"status": "ok", "source": str(video), **report_fields(report), "error": None,
                        "exit_code": 0 if report.passed else 1}, kind="sync")
    if not report.passed:
        # A measurement, not an error: the exit code lets scripts gate on it.
        raise typer.Exit(1)
