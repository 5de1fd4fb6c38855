"""check-sync: measure the lip sync of any talking-face video, or compare a generated mouth with a real speaker's
(see aniportrait_cli.sync_check). The report is the command's result: it goes to stdout (or the --json line)."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import typer

# Exit code for a measurement that says "not lip-synced" (1 is a failed run, 2 bad input).
NOT_LIP_SYNCED_EXIT = 3


def measure(video: Path, audio: Path | None, reporter):
    from aniportrait_cli.sync_check import check_sync

    with reporter.progress() as bar:
        return check_sync(video, audio, progress=bar.callback("Measuring the mouth"))


def report_fields(report) -> dict:
    """The report as JSON-safe numbers (nan -> None), with derived fields such as `passed` and `offset_ms`."""
    fields = dataclasses.asdict(report)
    for name in ("passed", "offset_ms"):
        if hasattr(type(report), name):
            fields[name] = getattr(report, name)
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in fields.items()}


def run(video: Path, audio: Path | None, against: Path | None, reporter) -> None:
    if against is not None:
        return run_against(video, against, audio, reporter)
    report = measure(video, audio, reporter)
    for line in report.describe():
        reporter.result(line)
    code = 0 if report.passed else NOT_LIP_SYNCED_EXIT
    reporter.emit_json({"status": "ok", "source": str(video), "audio": str(audio) if audio else None,
                        **report_fields(report), "error": None, "exit_code": code}, kind="sync")
    if code:
        # A measurement, not an error: its own exit code lets scripts gate on it.
        raise typer.Exit(code)


def run_against(video: Path, real: Path, audio: Path | None, reporter) -> None:
    from aniportrait_cli.errors import InputError
    from aniportrait_cli.sync_check import compare_with_real, video_mouth_track

    if audio is not None:
        raise InputError("--audio and --against do not go together: --against compares two videos' mouths")
    with reporter.progress() as bar:
        generated = video_mouth_track(video, bar.callback(f"Measuring the mouth in {video.name}"))
        reference = video_mouth_track(real, bar.callback(f"Measuring the mouth in {real.name}"))
    comparison = compare_with_real(*generated, *reference)
    for line in comparison.describe():
        reporter.result(line)
    reporter.emit_json({"status": "ok", "source": str(video), "against": str(real), **report_fields(comparison),
                        "error": None, "exit_code": 0}, kind="sync")
