"""Many items per run: input expansion (folders, globs, repeated options), pairing, manifests, sharding,
skip-existing, per-item errors, one progress display and a final table.

A job list is always built the same way from the same inputs (sorted), so `--shard K/N` on N machines splits a
folder with no coordination, and an interrupted batch resumes with `--skip-existing` (outputs are atomic, so an
existing output is a finished one).
"""

from __future__ import annotations

import csv
import glob
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import product
from pathlib import Path

from aniportrait_cli.errors import AniportraitError, InputError
from aniportrait_cli.jobs.options import Device, DType, Engine, RenderOptions
from aniportrait_cli.jobs.outputs import default_output, wants_folder

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".oga", ".mp3", ".m4a", ".aac", ".opus", ".aif", ".aiff", ".wma"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".webm", ".mkv", ".avi", ".m4v"}
SOURCE_SUFFIXES = {"audio": AUDIO_SUFFIXES | VIDEO_SUFFIXES, "video": VIDEO_SUFFIXES}

# Per-row manifest columns that override the command line (anything else is an error, so typos are caught).
ROW_OPTIONS = {
    "seed": int, "fps": float, "size": int, "steps": int, "cfg": float, "pose_style": int,
    "engine": Engine, "device": Device, "dtype": DType,
}


@dataclass(frozen=True)
class Job:
    ref: Path | None  # None: edit-pose of a video without a portrait
    source: Path | None  # the audio (audio2vid) or the driving video (vid2vid, edit-pose --video)
    output: Path | None  # None: the job's default name
    overrides: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return " + ".join(p.name for p in (self.ref, self.source) if p is not None)


def expand(values: list[Path], suffixes: set[str], what: str) -> list[Path]:
    """Files named, folders (their matching files, sorted) and globs (sorted) -> a flat list of files."""
    files: list[Path] = []
    for value in values:
        text = str(value)
        if any(ch in text for ch in "*?["):
            # Filtered by suffix like a folder is: 'dir/*' must not pick up notes.txt.
            matches = sorted(m for m in map(Path, glob.glob(text, recursive=True))
                             if m.is_file() and m.suffix.lower() in suffixes)
            if not matches:
                raise InputError(f"{text}: no {what} files match this pattern ({', '.join(sorted(suffixes))})")
            files += matches
        elif value.is_dir():
            found = sorted(p for p in value.iterdir() if p.is_file() and p.suffix.lower() in suffixes)
            if not found:
                raise InputError(f"{value}: folder has no {what} files ({', '.join(sorted(suffixes))})")
            files += found
        else:
            files.append(value)  # missing files are reported by the item that uses them
    return files


def pair(refs: list[Path], sources: list[Path], cross: bool, source_name: str) -> list[tuple[Path, Path]]:
    """zip by default (a single ref or source goes with every item of the other side); --cross: every pair."""
    if cross:
        return list(product(refs, sources))
    if len(refs) == 1 or len(sources) == 1 or len(refs) == len(sources):
        n = max(len(refs), len(sources))
        return [(refs[0] if len(refs) == 1 else refs[i], sources[0] if len(sources) == 1 else sources[i]) for i in range(n)]
    raise InputError(
        f"{len(refs)} portraits and {len(sources)} {source_name} files cannot be paired one to one; "
        f"give the same number, a single one of either, or --cross for every combination"
    )


def read_manifest(path: Path, source_key: str) -> list[Job]:
    """CSV (with a header) or JSON Lines: ref, <source_key>, optional output and per-row options."""
    if not path.is_file():
        raise InputError(f"{path}: manifest not found")
    base = path.parent
    try:
        if path.suffix.lower() in {".jsonl", ".ndjson"}:
            # utf-8-sig: spreadsheet programs ("CSV UTF-8") start the file with a byte-order mark.
            rows = [json.loads(line) for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
        elif path.suffix.lower() == ".csv":
            with open(path, newline="", encoding="utf-8-sig") as handle:
                rows = list(csv.DictReader(handle))
        else:
            raise InputError(f"{path}: manifest must be .csv or .jsonl")
    except (ValueError, csv.Error) as exc:
        raise InputError(f"{path}: not a readable manifest ({exc})") from None
    jobs = []
    for number, row in enumerate(rows, start=2 if path.suffix.lower() == ".csv" else 1):
        where = f"{path}:{number}"
        if not isinstance(row, dict) or not row.get("ref") or not row.get(source_key):
            raise InputError(f"{where}: each row needs 'ref' and '{source_key}'")
        overrides = {}
        for key, value in row.items():
            if key in ("ref", source_key, "output") or value in (None, ""):
                continue
            if key not in ROW_OPTIONS:
                raise InputError(f"{where}: unknown column {key!r}; allowed: ref, {source_key}, output, {', '.join(ROW_OPTIONS)}")
            try:
                overrides[key] = ROW_OPTIONS[key](value)
            except ValueError:
                raise InputError(f"{where}: {key}={value!r} is not valid") from None
        ref, source = base / str(row["ref"]), base / str(row[source_key])
        output = base / str(row["output"]) if row.get("output") else None
        jobs.append(Job(ref, source, output or Path(), overrides))
    if not jobs:
        raise InputError(f"{path}: manifest has no rows")
    return jobs


def parse_shard(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        k, n = (int(x) for x in text.split("/"))
        if not 1 <= k <= n:
            raise ValueError
    except ValueError:
        raise InputError(f"--shard {text!r}: expected K/N with 1 <= K <= N, e.g. 2/8") from None
    return k, n


def build_jobs(refs: list[Path], sources: list[Path], output: str | Path | None, cross: bool, manifest: Path | None,
               shard: str | None, kind: str, suffix: str = ".mp4") -> tuple[list[Job], bool]:
    """The (sharded) job list and whether this is a batch (several jobs, -o is a folder).

    `output` keeps the user's text: a trailing slash names a folder even when it does not exist yet."""
    source_key = "video" if kind == "video" else "audio"
    if manifest is not None:
        if refs or sources:
            raise InputError("give either --manifest or --ref/--" + source_key + ", not both")
        jobs = read_manifest(manifest, source_key)
    else:
        if not refs:
            raise InputError("--ref is required: the portrait image (or a folder of them)")
        if not sources:
            raise InputError(f"--{source_key} is required")
        pairs = pair(expand(refs, IMAGE_SUFFIXES, "image"), expand(sources, SOURCE_SUFFIXES[kind], source_key),
                     cross, source_key)
        jobs = [Job(r, s, Path()) for r, s in pairs]
    batch = len(jobs) > 1 or manifest is not None
    folder_wanted = output is not None and (batch or wants_folder(output))
    output = Path(output) if output is not None else None
    folder = output if folder_wanted else None
    if batch and output is not None and output.suffix.lower() == ".mp4":
        raise InputError(f"-o {output}: several items need an output folder, not a file name")
    resolved = []
    for job in jobs:
        if job.output != Path():
            target = job.output
        elif folder is not None:
            target = default_output(job.ref, job.source, suffix=suffix, cwd=folder)
        else:
            target = output or default_output(job.ref, job.source, suffix=suffix)
        resolved.append(replace(job, output=target.expanduser().absolute()))
    seen: dict[Path, Job] = {}
    for job in resolved:
        if job.output in seen:
            raise InputError(f"{job.output}: both {seen[job.output].name} and {job.name} would write it; "
                             "rename the inputs or use a manifest with explicit outputs")
        seen[job.output] = job
    parsed = parse_shard(shard)
    if parsed:
        k, n = parsed
        resolved = [job for i, job in enumerate(sorted(resolved, key=lambda j: str(j.output))) if i % n == k - 1]
    return resolved, batch


def is_done(path: Path) -> bool:
    """A finished output: it exists and ffmpeg sees a video stream with a duration."""
    from aniportrait_cli.media.ffmpeg import probe

    if not path.is_file():
        return False
    try:
        info = probe(path)
    except AniportraitError:
        return False
    return info.has_video and (info.duration_s or 0) > 0


@dataclass
class ItemResult:
    job: Job
    status: str  # ok | skipped | error (the words of the --json schema)
    seconds: float = 0.0
    error: str = ""
    exit_code: int = 0
    exception: AniportraitError | None = None


def run_item(job: Job, options: RenderOptions, reporter, skip_existing: bool,
             run_one: Callable[[Job, RenderOptions, object], Path]) -> ItemResult:
    """Run one job (or skip it) and write its --json line; a failure is returned, not raised.

    `reporter` is the item's own (its `details` get the frames, fps and engine the job measured)."""
    started = time.monotonic()
    if skip_existing and job.output is not None and is_done(job.output):
        reporter.info(f"skipped {job.output}: already done")
        result = ItemResult(job, "skipped")
    else:
        try:
            written = run_one(job, _with_overrides(options, job, skip_existing), reporter)
            if written is not None:
                job = replace(job, output=written)
            result = ItemResult(job, "ok", time.monotonic() - started)
        except AniportraitError as exc:
            result = ItemResult(job, "error", time.monotonic() - started, str(exc), exc.exit_code, exc)
    reporter.emit_item(result.status, ref=job.ref, source=job.source, output=job.output,
                       elapsed_s=round(result.seconds, 2), error=result.error or None, exit_code=result.exit_code)
    return result


def run_single(job: Job, options: RenderOptions, reporter, skip_existing: bool,
               run_one: Callable[[Job, RenderOptions, object], Path]) -> None:
    """One item: its JSON line like a batch item's, and a failure raised for the CLI to print and exit with."""
    result = run_item(job, options, reporter, skip_existing, run_one)
    if result.exception is not None:
        result.exception.json_reported = True  # the item line above already carries it
        raise result.exception


def run_batch(jobs: list[Job], options: RenderOptions, reporter, skip_existing: bool, fail_fast: bool,
              run_one: Callable[[Job, RenderOptions, object], Path], batch: bool) -> int:
    """Run every job; returns the exit code (0 all done or skipped, else the worst item's code)."""
    if not jobs:
        reporter.info("nothing to do in this shard")
        return 0
    if not batch:
        run_single(jobs[0], options, reporter, skip_existing, run_one)
        return 0
    for job in jobs:
        job.output.parent.mkdir(parents=True, exist_ok=True)
    results: list[ItemResult] = []
    with reporter.progress() as bar:
        overall = bar.add(f"{len(jobs)} items", len(jobs))
        for job in jobs:
            item = reporter.for_item()
            try:
                result = run_item(job, options, item, skip_existing, run_one)
            except KeyboardInterrupt:
                raise
            except Exception as exc:  # a bug in one item must not lose the whole batch
                if reporter.debug:
                    raise
                result = ItemResult(job, "error", item.elapsed_s, f"internal error: {exc!r} (rerun it alone with --debug)", 1)
                item.emit_item("error", ref=job.ref, source=job.source, output=job.output,
                               elapsed_s=round(result.seconds, 2), error=result.error, exit_code=1)
            if result.status == "error":
                reporter.error(f"{job.name}: {result.error}")
            results.append(result)
            bar.advance(overall)
            if fail_fast and result.status == "error":
                break
    code = max((r.exit_code for r in results), default=0)
    _summary(results, len(jobs), reporter, code)
    return code


def _with_overrides(options: RenderOptions, job: Job, skip_existing: bool) -> RenderOptions:
    values = {**job.overrides}
    if skip_existing:
        values["overwrite"] = True  # an existing output that is not a finished video is redone
    return replace(options, **values) if values else options


def _summary(results: list[ItemResult], total: int, reporter, exit_code: int) -> None:
    from rich.table import Table

    counts = {s: sum(r.status == s for r in results) for s in ("ok", "skipped", "error")}
    not_run = total - len(results)
    if not reporter.quiet:
        table = Table(title="batch", show_lines=False)
        for column in ("item", "status", "seconds", "output / error"):
            table.add_column(column, overflow="fold")
        colours = {"ok": "green", "skipped": "cyan", "error": "red"}
        for r in results:
            table.add_row(r.job.name, f"[{colours[r.status]}]{r.status}[/]", f"{r.seconds:.1f}",
                          r.error if r.error else str(r.job.output))
        reporter.console.print(table)
    reporter.info(f"{counts['ok']} done, {counts['skipped']} skipped, {counts['error']} failed"
                  + (f", {not_run} not run (--fail-fast)" if not_run else "") + f" in {reporter.elapsed_s:.1f} s")
    reporter.emit_json({"status": "error" if exit_code else "ok", "items": total, "ok": counts["ok"],
                        "skipped": counts["skipped"], "failed": counts["error"], "not_run": not_run,
                        "elapsed_s": round(reporter.elapsed_s, 2),
                        "error": f"{counts['error']} of {total} items failed" if exit_code else None,
                        "exit_code": exit_code}, kind="summary")
