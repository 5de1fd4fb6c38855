"""The `aniportrait` command: parses options, wires them to the jobs and reports. No work happens here."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from aniportrait_cli import __version__
from aniportrait_cli.cli.common import (
    NEURAL,
    OUTPUT,
    RENDER,
    CfgOpt,
    DebugOpt,
    DeviceOpt,
    DTypeOpt,
    EngineOpt,
    FpsOpt,
    JsonOpt,
    OutputOpt,
    OverwriteOpt,
    QuietOpt,
    SeedOpt,
    SizeOpt,
    StepsOpt,
    WeightsDirOpt,
    handle_errors,
)
from aniportrait_cli.cli.weights_cmd import weights_app
from aniportrait_cli.errors import InputError
from aniportrait_cli.jobs.options import Device, DType, Engine, RenderOptions

app = typer.Typer(
    name="aniportrait",
    help="Turn one portrait plus speech or singing into a lip-synced talking video (AniPortrait), re-enact a "
    "face from a driving video, or edit its head motion.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(weights_app, name="weights")

MOTION = "Motion"
PasteBackOpt = Annotated[bool | None, typer.Option("--paste-back/--no-paste-back", help="Paste the animated square crop back into the full reference image (default: on for non-square references).", rich_help_panel=OUTPUT, show_default=False)]
GridOpt = Annotated[bool, typer.Option("--grid", help="Write the original's 3-panel debug grid (reference | pose | result) instead of the clean video.", rich_help_panel=OUTPUT)]
FastOpt = Annotated[bool, typer.Option("--fast", help="Neural: diffuse every k-th frame and interpolate the rest with FILM (needs film_net_fp16.pt).", rich_help_panel=NEURAL)]
FastStrideOpt = Annotated[int, typer.Option("--fast-stride", min=2, max=8, help="k for --fast.", rich_help_panel=NEURAL)]
CompatOpt = Annotated[bool, typer.Option("--compat", help="Reproduce the original AniPortrait numerics exactly, quirks included (5 s pose chunks).", rich_help_panel=NEURAL)]
LowVramOpt = Annotated[bool, typer.Option("--low-vram", help="Neural: offload idle modules to the CPU (fits 4 GB cards, slower).", rich_help_panel=NEURAL)]
ReportOpt = Annotated[bool, typer.Option("--report", help="After rendering, measure lip sync on the output (see check-sync).", rich_help_panel=OUTPUT)]
SaveMotionOpt = Annotated[Path | None, typer.Option("--save-motion", help="Also save the per-frame mesh + head pose as .npz.", rich_help_panel=MOTION, show_default=False)]
BATCH = "Batch"
CrossOpt = Annotated[bool, typer.Option("--cross", help="Every portrait with every audio/video (default: pair them in order).", rich_help_panel=BATCH)]
ManifestOpt = Annotated[Path | None, typer.Option("--manifest", help="CSV or JSONL, one job per row: ref, audio|video, optional output and per-row seed/fps/size/steps/cfg/pose_style/engine/device/dtype.", rich_help_panel=BATCH, show_default=False)]
SkipExistingOpt = Annotated[bool, typer.Option("--skip-existing", help="Skip items whose output is already a finished video (resume an interrupted batch).", rich_help_panel=BATCH)]
FailFastOpt = Annotated[bool, typer.Option("--fail-fast", help="Stop at the first failed item (default: report it and go on).", rich_help_panel=BATCH)]
ShardOpt = Annotated[str | None, typer.Option("--shard", help="K/N: only this deterministic slice of the job list (split a folder over N machines).", rich_help_panel=BATCH, show_default=False)]
PoseStyleOpt = Annotated[int | None, typer.Option("--pose-style", min=0, max=99, help="Neural head-motion style id 0-99 (default: seed mod 100).", rich_help_panel=MOTION, show_default=False)]


def _options(**values) -> RenderOptions:
    return RenderOptions(**values)


def _no_batch_only_options(batch: bool, **values) -> None:
    """Options that name one file cannot apply to several items."""
    from aniportrait_cli.errors import InputError

    used = [name for name, value in values.items() if value is not None]
    if batch and used:
        raise InputError(f"--{used[0].replace('_', '-')} applies to a single item, not to a batch")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"aniportrait-cli {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """aniportrait: portrait animation from the command line."""


@app.command("audio2vid")
@handle_errors
def audio2vid(
    ref: Annotated[list[Path] | None, typer.Option("--ref", help="Reference portrait image (any size; the face is found and cropped). Repeat it, or give a folder or a glob, for several.", show_default=False)] = None,
    audio: Annotated[list[Path] | None, typer.Option("--audio", help="Speech or singing: wav, flac, ogg, mp3, m4a, aac, or a video's audio track. Repeatable, folder or glob.", show_default=False)] = None,
    motion: Annotated[Path | None, typer.Option("--motion", help="Render a saved motion .npz instead of computing it from the audio (--audio still gives the sound).", rich_help_panel=MOTION, show_default=False)] = None,
    pose_from: Annotated[str | None, typer.Option("--pose-from", help="Head pose from a .npy template, a video, or 'still' (default: from the audio).", rich_help_panel=MOTION, show_default=False)] = None,
    pose_style: PoseStyleOpt = None,
    save_motion: SaveMotionOpt = None,
    output: OutputOpt = None,
    cross: CrossOpt = False,
    manifest: ManifestOpt = None,
    skip_existing: SkipExistingOpt = False,
    fail_fast: FailFastOpt = False,
    shard: ShardOpt = None,
    engine: EngineOpt = Engine.auto,
    device: DeviceOpt = Device.auto,
    dtype: DTypeOpt = DType.fp16,
    weights_dir: WeightsDirOpt = None,
    seed: SeedOpt = 42,
    fps: FpsOpt = 30.0,
    size: SizeOpt = 512,
    steps: StepsOpt = 25,
    cfg: CfgOpt = 3.5,
    paste_back: PasteBackOpt = None,
    grid: GridOpt = False,
    fast: FastOpt = False,
    fast_stride: FastStrideOpt = 3,
    compat: CompatOpt = False,
    low_vram: LowVramOpt = False,
    report: ReportOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    overwrite: OverwriteOpt = False,
    debug: DebugOpt = False,
    reporter=None,
) -> None:
    """Portrait + speech/singing -> talking, lip-synced video."""
    from aniportrait_cli.jobs import audio2vid as job
    from aniportrait_cli.jobs.batch import build_jobs, run_batch

    options = _options(engine=engine, device=device, dtype=dtype, weights_dir=weights_dir, seed=seed, fps=fps,
                       size=size, steps=steps, cfg=cfg, overwrite=overwrite, paste_back=paste_back, grid=grid,
                       fast=fast, fast_stride=fast_stride, compat=compat, low_vram=low_vram, report=report,
                       pose_style=pose_style, save_motion=save_motion)
    jobs, batch = build_jobs(ref or [], audio or [], output, cross, manifest, shard, kind="audio")
    _no_batch_only_options(batch, save_motion=save_motion, motion=motion)
    code = run_batch(jobs, options, reporter, skip_existing, fail_fast, batch=batch, run_one=lambda item, opts, rep: job.run(
        ref=item.ref, audio=item.source, motion=motion, pose_from=pose_from, output=item.output, options=opts, reporter=rep))
    if code:
        raise typer.Exit(code)


@app.command("vid2vid")
@handle_errors
def vid2vid(
    ref: Annotated[list[Path] | None, typer.Option("--ref", help="Reference portrait image. Repeatable, folder or glob.", show_default=False)] = None,
    video: Annotated[list[Path] | None, typer.Option("--video", help="Driving video whose face motion is re-enacted (its audio is kept). Repeatable, folder or glob.", show_default=False)] = None,
    save_motion: SaveMotionOpt = None,
    output: OutputOpt = None,
    cross: CrossOpt = False,
    manifest: ManifestOpt = None,
    skip_existing: SkipExistingOpt = False,
    fail_fast: FailFastOpt = False,
    shard: ShardOpt = None,
    engine: EngineOpt = Engine.auto,
    device: DeviceOpt = Device.auto,
    dtype: DTypeOpt = DType.fp16,
    weights_dir: WeightsDirOpt = None,
    seed: SeedOpt = 42,
    fps: Annotated[float | None, typer.Option(min=1, max=120, help="Output frame rate (default: the driving video's).", rich_help_panel=RENDER, show_default=False)] = None,
    size: SizeOpt = 512,
    steps: StepsOpt = 25,
    cfg: CfgOpt = 3.5,
    paste_back: PasteBackOpt = None,
    grid: GridOpt = False,
    fast: FastOpt = False,
    fast_stride: FastStrideOpt = 3,
    low_vram: LowVramOpt = False,
    report: ReportOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    overwrite: OverwriteOpt = False,
    debug: DebugOpt = False,
    reporter=None,
) -> None:
    """Facial reenactment: animate the portrait with the face motion of a driving video."""
    from aniportrait_cli.jobs import vid2vid as job
    from aniportrait_cli.jobs.batch import build_jobs, run_batch

    options = _options(engine=engine, device=device, dtype=dtype, weights_dir=weights_dir, seed=seed,
                       fps=fps or 0.0, size=size, steps=steps, cfg=cfg, overwrite=overwrite, paste_back=paste_back,
                       grid=grid, fast=fast, fast_stride=fast_stride, low_vram=low_vram, report=report,
                       save_motion=save_motion)
    jobs, batch = build_jobs(ref or [], video or [], output, cross, manifest, shard, kind="video")
    _no_batch_only_options(batch, save_motion=save_motion)
    code = run_batch(jobs, options, reporter, skip_existing, fail_fast, batch=batch, run_one=lambda item, opts, rep: job.run(
        ref=item.ref, video=item.source, output=item.output, options=opts, reporter=rep))
    if code:
        raise typer.Exit(code)


@app.command("edit-pose")
@handle_errors
def edit_pose(
    ref: Annotated[list[Path] | None, typer.Option("--ref", help="Reference portrait (needed to render; --preview of a --video uses its first frame without it). Repeatable, folder or glob.", show_default=False)] = None,
    audio: Annotated[list[Path] | None, typer.Option("--audio", help="Expression from speech/singing. Repeatable, folder or glob.", rich_help_panel=MOTION, show_default=False)] = None,
    video: Annotated[list[Path] | None, typer.Option("--video", help="Expression (and pose) from a driving video. Repeatable, folder or glob.", rich_help_panel=MOTION, show_default=False)] = None,
    motion: Annotated[Path | None, typer.Option("--motion", help="Expression and pose from a saved motion .npz.", rich_help_panel=MOTION, show_default=False)] = None,
    pose_from: Annotated[str | None, typer.Option("--pose-from", help="Head pose from a .npy template, another video, or 'still' (default: the source's own pose).", rich_help_panel=MOTION, show_default=False)] = None,
    pose_scale: Annotated[float, typer.Option("--pose-scale", help="Multiply head rotation and translation by this.", rich_help_panel=MOTION)] = 1.0,
    pose_offset: Annotated[str | None, typer.Option("--pose-offset", help="Add yaw,pitch,roll in degrees, e.g. 10,0,-5.", rich_help_panel=MOTION, show_default=False)] = None,
    pose_smooth: Annotated[int, typer.Option("--pose-smooth", min=1, help="Extra moving-average width in frames (1 = none).", rich_help_panel=MOTION)] = 1,
    mirror: Annotated[bool, typer.Option("--mirror", help="Mirror the head motion left/right.", rich_help_panel=MOTION)] = False,
    loop: Annotated[str, typer.Option("--loop", help="How a shorter pose track fills the length: pingpong or wrap.", rich_help_panel=MOTION)] = "pingpong",
    save_pose: Annotated[Path | None, typer.Option("--save-pose", help="Save the edited head pose as a .npy template (original format).", rich_help_panel=OUTPUT, show_default=False)] = None,
    save_motion: SaveMotionOpt = None,
    preview: Annotated[bool, typer.Option("--preview", help="Write a landmark video of the edited motion next to the reference instead of rendering (needs no weights).", rich_help_panel=OUTPUT)] = False,
    output: OutputOpt = None,
    cross: CrossOpt = False,
    skip_existing: SkipExistingOpt = False,
    fail_fast: FailFastOpt = False,
    shard: ShardOpt = None,
    engine: EngineOpt = Engine.auto,
    device: DeviceOpt = Device.auto,
    dtype: DTypeOpt = DType.fp16,
    weights_dir: WeightsDirOpt = None,
    seed: SeedOpt = 42,
    fps: FpsOpt = 30.0,
    size: SizeOpt = 512,
    steps: StepsOpt = 25,
    cfg: CfgOpt = 3.5,
    paste_back: PasteBackOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    overwrite: OverwriteOpt = False,
    debug: DebugOpt = False,
    reporter=None,
) -> None:
    """Change the head motion of a talking portrait without touching lips and expression."""
    from aniportrait_cli.jobs import edit_pose as job
    from aniportrait_cli.jobs.batch import build_jobs, run_batch

    options = _options(engine=engine, device=device, dtype=dtype, weights_dir=weights_dir, seed=seed, fps=fps,
                       size=size, steps=steps, cfg=cfg, overwrite=overwrite, paste_back=paste_back,
                       save_motion=save_motion)
    refs, audios, videos = ref or [], audio or [], video or []

    def one(item_ref, item_audio, item_video, item_output, opts, rep):
        return job.run(ref=item_ref, audio=item_audio, video=item_video, motion=motion, pose_from=pose_from,
                       pose_scale=pose_scale, pose_offset=pose_offset, pose_smooth=pose_smooth, mirror=mirror,
                       loop=loop, save_pose=save_pose, preview=preview, output=item_output, options=opts, reporter=rep)

    if max(len(refs), len(audios), len(videos)) <= 1 and not any(p.is_dir() or "*" in str(p) for p in refs + audios + videos):
        one(refs[0] if refs else None, audios[0] if audios else None, videos[0] if videos else None, output, options, reporter)
        return
    if bool(audios) == bool(videos) or motion is not None:
        raise InputError("several items: give --ref with either --audio or --video (not --motion)")
    _no_batch_only_options(True, save_pose=save_pose, save_motion=save_motion)
    kind = "audio" if audios else "video"
    jobs, batch = build_jobs(refs, audios or videos, output, cross, None, shard, kind=kind,
                             suffix="__preview.mp4" if preview else "__edit.mp4")
    code = run_batch(jobs, options, reporter, skip_existing, fail_fast, batch=batch, run_one=lambda item, opts, rep: one(
        item.ref, item.source if kind == "audio" else None, item.source if kind == "video" else None, item.output, opts, rep))
    if code:
        raise typer.Exit(code)


@app.command("check-sync")
@handle_errors
def check_sync(
    video: Annotated[Path, typer.Argument(help="A talking-face video.", show_default=False)],
    audio: Annotated[Path | None, typer.Option("--audio", help="Audio to compare with (default: the video's own track).", show_default=False)] = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    reporter=None,
) -> None:
    """Measure lip sync: mouth opening vs speech envelope, best lag, mouth movement in silence."""
    from aniportrait_cli.jobs import check_sync as job

    job.run(video=video, audio=audio, reporter=reporter)


class Share(str, Enum):
    never = "never"


@app.command("ui")
@handle_errors
def ui(
    host: Annotated[str, typer.Option(help="Address to listen on. Anything but localhost makes the page reachable from other machines: give it explicitly, e.g. 0.0.0.0.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 7860,
    share: Annotated[Share, typer.Option(help="Public share links (a tunnel through a third-party server) are never made: your portraits and voices stay on your machine.")] = Share.never,
    debug: DebugOpt = False,
    reporter=None,
) -> None:
    """The web page: the same jobs in a browser tab (needs the ui extra: pip install 'aniportrait-cli\\[ui]')."""
    from aniportrait_cli.ui.server import serve

    serve(host, port, reporter)


def main() -> None:
    # Nothing but `weights download` needs the network: go offline before any hub library is imported, so a
    # machine without network never waits on hub retries.
    from aniportrait_cli.weights import hub

    if sys.argv[1:3] != ["weights", "download"]:
        hub.force_offline()
    try:  # typer >= 0.20 vendors click
        from typer._click.exceptions import NoArgsIsHelpError, UsageError
    except ImportError:  # pragma: no cover - older typer on real click
        from click.exceptions import NoArgsIsHelpError, UsageError

    try:
        code = app(standalone_mode=False)
    except NoArgsIsHelpError as exc:
        typer.echo(exc.ctx.get_help())
        sys.exit(2)
    except UsageError as exc:
        # One line, like every other input error (click's default is a multi-line box).
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        sys.stderr.write(f"error: {exc.format_message()}{where}\n")
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("error: interrupted; no output was written\n")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
