"""`aniportrait weights list|download|verify|path`."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import typer

from aniportrait_cli.cli.common import DebugOpt, JsonOpt, QuietOpt, WeightsDirOpt, examples, handle_errors
from aniportrait_cli.errors import InputError

weights_app = typer.Typer(help="List, download, verify and locate the model weights.", no_args_is_help=True,
                          epilog=examples("aniportrait weights list | grep missing",
                                          "aniportrait weights download --engine neural",
                                          "aniportrait weights download --weights-dir pretrained_model"))


class EngineName(str, Enum):
    neural = "neural"
    hybrid = "hybrid"
    classic = "classic"
    all = "all"


EngineFilter = Annotated[EngineName, typer.Option("--engine", help="The files one engine needs (hybrid: audio2mesh.pt and audio2pose.pt only), or all.")]
OptionalOpt = Annotated[bool, typer.Option("--include-optional", help="Also the optional files (FILM for --fast, provenance configs).")]


def _entries(engine: EngineName, include_optional: bool = True):
    from aniportrait_cli.weights.registry import all_files, files_for

    if engine is EngineName.all:
        return [f for f in all_files() if f.required or include_optional]
    return files_for(engine.value, include_optional)


def _needed_by(entry) -> list[str]:
    from aniportrait_cli.weights.registry import ENGINES, needed_by

    return [engine for engine in ENGINES if needed_by(entry, engine)]


def _engine_readiness(states) -> dict[str, list[str]]:
    """engine -> the required files it still lacks (empty: its weights are all here)."""
    from aniportrait_cli.weights.registry import ENGINES, needed_by

    return {engine: [s.entry.local_path for s in states if s.entry.required and needed_by(s.entry, engine) and not s.usable]
            for engine in ENGINES}


def _human(size: int) -> str:
    if not size:
        return "-"
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return str(size)


@weights_app.command("list", epilog=examples("aniportrait weights list | grep missing",
                                                   "aniportrait weights list --engine neural --json"))
@handle_errors
def list_weights(
    engine: EngineFilter = EngineName.all,
    weights_dir: WeightsDirOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    reporter=None,
) -> None:
    """Every weight file: size, which engine needs it, and where it is on this machine (or that it is missing)."""
    from rich.table import Table

    from aniportrait_cli.weights import manager
    from aniportrait_cli.weights.registry import cache_root as registry_cache_root, weights_dir_from_env

    folder = weights_dir_from_env(weights_dir)
    states = manager.status(_entries(engine), folder)
    if json_output:
        for s in states:
            reporter.emit_json({"status": "error" if s.problem else "ok", "id": s.entry.id, "engine": s.entry.engine,
                                "needed_by": _needed_by(s.entry), "required": s.entry.required, "size": s.entry.size, "size_exact": s.entry.size_exact,
                                "state": s.state, "path": s.path, "problem": s.problem, "source": s.entry.source,
                                "error": s.problem, "exit_code": 0}, kind="file")
        return
    rows = []
    for s in states:
        size = _human(s.entry.size) + ("" if s.entry.size_exact or not s.entry.size else " ~")
        where = str(s.path) if s.path else f"missing: {s.entry.local_path}"
        rows.append((s.entry.id, s.entry.engine + ("" if s.entry.required else "*"), size, s.state,
                     where + (f" ({s.problem})" if s.problem else "")))
    reporter.info(f"weights in {folder or registry_cache_root()}")
    if not reporter.out.is_terminal:  # a pipe or a file: one plain line per file, for grep and awk
        for row in rows:
            reporter.result("  ".join(f"{cell:<{width}}" for cell, width in zip(row, (20, 8, 10, 8, 0))).rstrip())
    else:
        table = Table(show_lines=False)
        for column in ("id", "engine", "size", "state"):
            table.add_column(column, no_wrap=True, justify="right" if column == "size" else "left")
        table.add_column("where", overflow="fold")
        colours = {"ok": "green", "packaged": "green", "missing": "yellow", "damaged": "red"}
        for row in rows:
            table.add_row(*row[:3], f"[{colours[row[3]]}]{row[3]}[/]", row[4])
        reporter.out.print(table)
    reporter.info("engine: the lightest engine that loads the file (hybrid also needs classic's, neural all); "
                  "* optional; ~ approximate size (exact size and sha256 come from the hub at download time)")
    for name, missing in _engine_readiness(manager.status(_entries(EngineName.all), folder)).items():
        if missing:
            reporter.info(f"{name}: {len(missing)} files missing; get them with "
                          f"`{manager.download_command(name, folder)}`")
        else:
            reporter.info(f"{name}: ready" + (" (the neural engine also wants a GPU)" if name == "neural" else ""))


@weights_app.command("download", epilog=examples(
    "aniportrait weights download --engine neural",
    "aniportrait weights download --include-optional --weights-dir models/"))
@handle_errors
def download(
    engine: EngineFilter = EngineName.neural,
    include_optional: OptionalOpt = False,
    weights_dir: WeightsDirOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    reporter=None,
) -> None:
    """Fetch the weights (resumable) into the Hugging Face cache or --weights-dir, checking size and sha256."""
    from aniportrait_cli.weights import manager
    from aniportrait_cli.weights.registry import weights_dir_from_env

    folder = weights_dir_from_env(weights_dir)
    entries = [e for e in _entries(engine, include_optional) if not e.packaged]
    present = {s.entry.id for s in manager.status(entries, folder) if s.usable}
    todo = [e for e in entries if e.id not in present]
    if not todo:
        reporter.info("all weights are already here")
        reporter.emit_json({"status": "ok", "downloaded": 0, "paths": [], "error": None, "exit_code": 0}, kind="download")
        return
    with reporter.progress() as bar:
        task = {}

        def on_start(total_bytes: int) -> None:
            task["id"] = bar.add(f"Downloading {len(todo)} files", total_bytes, unit="bytes")

        def on_bytes(done: int) -> None:
            bar.update(task.get("id"), completed=done)

        paths = manager.download(todo, folder, engine=engine.value, on_start=on_start, on_bytes=on_bytes)
    reporter.info(f"downloaded {len(paths)} files in {reporter.elapsed_s:.0f} s")
    for path in paths:
        reporter.result(str(path))
    reporter.emit_json({"status": "ok", "downloaded": len(paths), "paths": [str(p) for p in paths], "error": None,
                        "exit_code": 0}, kind="download")


@weights_app.command("verify", epilog=examples("aniportrait weights verify --engine neural",
                                                     "aniportrait weights verify --weights-dir models/"))
@handle_errors
def verify(
    engine: EngineFilter = EngineName.all,
    weights_dir: WeightsDirOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    reporter=None,
) -> None:
    """Re-hash every present file; report missing, truncated or corrupt ones (exit 1 if any is corrupt)."""
    from aniportrait_cli.weights import manager
    from aniportrait_cli.weights.registry import locate, weights_dir_from_env

    folder = weights_dir_from_env(weights_dir)
    entries = _entries(engine)
    total = sum(p.stat().st_size for e in entries if (p := locate(e, folder)) is not None)
    with reporter.progress() as bar:
        task = bar.add("Hashing", total, unit="bytes")
        results = manager.verify(entries, folder, progress=lambda n: bar.advance(task, n))
    for r in results:
        corrupt = r.verdict == "corrupt"
        reporter.emit_json({"status": {"missing": "skipped", "corrupt": "error"}.get(r.verdict, "ok"), "id": r.entry.id,
                            "verdict": r.verdict, "path": r.path, "detail": r.detail,
                            "error": r.detail if corrupt else None, "exit_code": 1 if corrupt else 0}, kind="file")
        colour = {"ok": "green", "unverified": "cyan", "missing": "yellow", "corrupt": "red"}[r.verdict]
        if not json_output:
            reporter.out.print(f"[{colour}]{r.verdict:10}[/] {r.entry.id:22} {r.path or r.entry.local_path} {r.detail}")
    corrupt = [r for r in results if r.verdict == "corrupt"]
    if corrupt:
        reporter.error(f"{len(corrupt)} corrupt files: " + ", ".join(str(r.path) for r in corrupt)
                       + "; delete them and run `aniportrait weights download`")
        raise typer.Exit(1)


@weights_app.command("path", epilog=examples("aniportrait weights path", "aniportrait weights path denoising_unet"))
@handle_errors
def path(
    file_id: Annotated[str | None, typer.Argument(help="A file id from `weights list` (default: the folder).", show_default=False)] = None,
    weights_dir: WeightsDirOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    reporter=None,
) -> None:
    """Print where the weights live (or one file's path); exit 1 if that file is missing."""
    from aniportrait_cli.weights import registry

    folder = registry.weights_dir_from_env(weights_dir)
    if file_id is None:
        where = folder or registry.cache_root()
        reporter.result(str(where))
        reporter.emit_json({"status": "ok", "id": None, "path": str(where), "error": None, "exit_code": 0}, kind="path")
        return
    try:
        entry = registry.get(file_id)
    except KeyError:
        ids = ", ".join(e.id for e in registry.all_files())
        raise InputError(f"unknown weight id {file_id!r}; choose one of: {ids}") from None
    found = registry.locate(entry, folder)
    if found is None:
        message = f"{entry.id} is missing (expected {entry.local_path}); run `aniportrait weights download`"
        reporter.error(message)
        reporter.emit_json({"status": "error", "id": entry.id, "path": None, "error": message, "exit_code": 1}, kind="path")
        raise typer.Exit(1)
    reporter.result(str(found))
    reporter.emit_json({"status": "ok", "id": entry.id, "path": str(found), "error": None, "exit_code": 0}, kind="path")
