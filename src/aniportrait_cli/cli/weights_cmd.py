"""`aniportrait weights list|download|verify|path`."""

from __future__ import annotations

from typing import Annotated

import typer

from aniportrait_cli.cli.common import DebugOpt, JsonOpt, QuietOpt, WeightsDirOpt, handle_errors
from aniportrait_cli.errors import InputError

weights_app = typer.Typer(help="List, download, verify and locate the model weights.", no_args_is_help=True)

EngineFilter = Annotated[str, typer.Option("--engine", help="The files one engine needs (neural, hybrid, classic), or all.")]
OptionalOpt = Annotated[bool, typer.Option("--include-optional", help="Also the optional files (FILM for --fast, provenance configs).")]


def _entries(engine: str, include_optional: bool = True):
    from aniportrait_cli.weights.registry import ENGINES, all_files, files_for

    if engine == "all":
        return [f for f in all_files() if f.required or include_optional]
    if engine not in ENGINES:
        raise InputError(f"--engine {engine}: choose {', '.join(ENGINES)} or all")
    return files_for(engine, include_optional)


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


@weights_app.command("list")
@handle_errors
def list_weights(
    engine: EngineFilter = "all",
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
            reporter.emit_json({"id": s.entry.id, "engine": s.entry.engine, "needed_by": _needed_by(s.entry),
                                "required": s.entry.required, "size": s.entry.size, "size_exact": s.entry.size_exact,
                                "state": s.state, "path": s.path, "problem": s.problem, "source": s.entry.source})
        return
    table = Table(title=f"weights in {folder or registry_cache_root()}", show_lines=False)
    table.add_column("id", no_wrap=True)
    table.add_column("engine", no_wrap=True)
    table.add_column("size", no_wrap=True, justify="right")
    table.add_column("state", no_wrap=True)
    table.add_column("where", overflow="fold")
    for s in states:
        size = _human(s.entry.size) + ("" if s.entry.size_exact or not s.entry.size else " ~")
        engine_label = s.entry.engine + ("" if s.entry.required else "*")
        colour = {"ok": "green", "packaged": "green", "missing": "yellow", "damaged": "red"}[s.state]
        where = str(s.path) if s.path else f"missing: {s.entry.local_path}"
        if s.problem:
            where += f" ({s.problem})"
        table.add_row(s.entry.id, engine_label, size, f"[{colour}]{s.state}[/]", where)
    reporter.console.print(table)
    reporter.info("engine: the lightest engine that loads the file (hybrid also needs classic's, neural all); "
                  "* optional; ~ approximate size (exact size and sha256 come from the hub at download time)")
    for name, missing in _engine_readiness(manager.status(_entries("all"), folder)).items():
        if missing:
            reporter.info(f"{name}: {len(missing)} files missing; get them with "
                          f"`{manager.download_command(name, folder)}`")
        else:
            reporter.info(f"{name}: ready" + (" (the neural engine also wants a GPU)" if name == "neural" else ""))


@weights_app.command("download")
@handle_errors
def download(
    engine: EngineFilter = "neural",
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
        reporter.emit_json({"status": "ok", "downloaded": 0})
        return
    with reporter.progress() as bar:
        task = {}

        def on_start(total_bytes: int) -> None:
            task["id"] = bar.add(f"Downloading {len(todo)} files", total_bytes)

        def on_file(entry, size: int) -> None:
            bar.advance(task.get("id"), size)

        paths = manager.download(todo, folder, on_start=on_start, on_file=on_file)
    reporter.info(f"downloaded {len(paths)} files in {reporter.elapsed_s:.0f} s")
    reporter.emit_json({"status": "ok", "downloaded": len(paths), "paths": [str(p) for p in paths]})


@weights_app.command("verify")
@handle_errors
def verify(
    engine: EngineFilter = "all",
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
        task = bar.add("Hashing", total)
        results = manager.verify(entries, folder, progress=lambda n: bar.advance(task, n))
    for r in results:
        reporter.emit_json({"id": r.entry.id, "verdict": r.verdict, "path": r.path, "detail": r.detail})
        colour = {"ok": "green", "unverified": "cyan", "missing": "yellow", "corrupt": "red"}[r.verdict]
        if not json_output:
            reporter.console.print(f"[{colour}]{r.verdict:10}[/] {r.entry.id:22} {r.path or r.entry.local_path} {r.detail}")
    corrupt = [r for r in results if r.verdict == "corrupt"]
    if corrupt:
        reporter.error(f"{len(corrupt)} corrupt files: " + ", ".join(str(r.path) for r in corrupt)
                       + "; delete them and run `aniportrait weights download`")
        raise typer.Exit(1)


@weights_app.command("path")
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
        typer.echo(str(folder or registry.cache_root()))
        return
    try:
        entry = registry.get(file_id)
    except KeyError:
        ids = ", ".join(e.id for e in registry.all_files())
        raise InputError(f"unknown weight id {file_id!r}; choose one of: {ids}") from None
    found = registry.locate(entry, folder)
    if found is None:
        reporter.error(f"{entry.id} is missing (expected {entry.local_path}); run `aniportrait weights download`")
        raise typer.Exit(1)
    typer.echo(str(found))
