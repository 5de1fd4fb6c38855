"""The `aniportrait` command: parses options, wires them to the jobs and reports. No work happens here."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from aniportrait_cli import __version__, sync_rules
from aniportrait_cli.cli.common import (
    AUDIOS,
    IMAGES,
    INPUTS,
    MOTION,
    OUTPUT,
    VIDEOS,
    AudioOpt,
    CfgOpt,
    CompatOpt,
    CrossOpt,
    DebugOpt,
    DeviceOpt,
    DTypeOpt,
    EngineOpt,
    FailFastOpt,
    FastOpt,
    FastStrideOpt,
    FpsOpt,
    GridOpt,
    JsonOpt,
    LowVramOpt,
    ManifestOpt,
    MotionFileOpt,
    OutputOpt,
    OverwriteOpt,
    PasteBackOpt,
    PoseFromOpt,
    PoseLoop,
    PoseMode,
    PoseModeOpt,
    PoseStyleOpt,
    QuietOpt,
    RefOpt,
    ReportOpt,
    SaveMotionOpt,
    SeedOpt,
    ShardOpt,
    SizeOpt,
    SkipExistingOpt,
    StepsOpt,
    VideoFpsOpt,
    VideoOpt,
    WeightsDirOpt,
    examples,
    handle_errors,
)
from aniportrait_cli.cli.weights_cmd import weights_app
from aniportrait_cli.errors import InputError
from aniportrait_cli.jobs.model_cache import ModelCache
from aniportrait_cli.jobs.options import Device, DType, Engine, RenderOptions

app = typer.Typer(
    name="aniportrait",
    help="Turn one portrait plus speech or singing into a lip-synced talking video (AniPortrait), re-enact a "
    "face from a driving video, or edit its head motion.",
    epilog=examples(
        "aniportrait audio2vid --ref face.png --audio speech.wav",
        "aniportrait vid2vid --ref face.png --video talk.mp4 -o reenacted.mp4",
        "aniportrait doctor",
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(weights_app, name="weights")


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


@app.command("audio2vid", epilog=examples(
    "aniportrait audio2vid --ref face.png --audio speech.wav",
    "aniportrait audio2vid --ref portraits/ --audio song.wav -o out/ --json",
    "aniportrait audio2vid --manifest jobs.csv -o out/ --skip-existing",
    "aniportrait audio2vid --ref face.png --audio song.wav --engine neural",
))
@handle_errors
def audio2vid(
    ref: RefOpt = None,
    audio: AudioOpt = None,
    motion: MotionFileOpt = None,
    pose_from: PoseFromOpt = None,
    pose_style: PoseStyleOpt = None,
    save_motion: SaveMotionOpt = None,
    output: OutputOpt = None,
    paste_back: PasteBackOpt = None,
    grid: GridOpt = False,
    report: ReportOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    overwrite: OverwriteOpt = False,
    debug: DebugOpt = False,
    engine: EngineOpt = Engine.auto,
    seed: SeedOpt = 42,
    fps: FpsOpt = 30.0,
    size: SizeOpt = 512,
    device: DeviceOpt = Device.auto,
    dtype: DTypeOpt = DType.fp16,
    weights_dir: WeightsDirOpt = None,
    steps: StepsOpt = 25,
    cfg: CfgOpt = 3.5,
    fast: FastOpt = False,
    fast_stride: FastStrideOpt = 3,
    compat: CompatOpt = False,
    low_vram: LowVramOpt = False,
    cross: CrossOpt = False,
    manifest: ManifestOpt = None,
    skip_existing: SkipExistingOpt = False,
    fail_fast: FailFastOpt = False,
    shard: ShardOpt = None,
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
    models = ModelCache()
    code = run_batch(jobs, options, reporter, skip_existing, fail_fast, batch=batch, run_one=lambda item, opts, rep: job.run(
        ref=item.ref, audio=item.source, motion=motion, pose_from=pose_from, output=item.output, options=opts, reporter=rep,
        models=models))
    if code:
        raise typer.Exit(code)


@app.command("vid2vid", epilog=examples(
    "aniportrait vid2vid --ref face.png --video talk.mp4 -o reenacted.mp4",
    "aniportrait vid2vid --ref face.png --video clips/ -o out/ --skip-existing",
))
@handle_errors
def vid2vid(
    ref: RefOpt = None,
    video: VideoOpt = None,
    pose_mode: PoseModeOpt = PoseMode.driver,
    save_motion: SaveMotionOpt = None,
    output: OutputOpt = None,
    paste_back: PasteBackOpt = None,
    grid: GridOpt = False,
    report: ReportOpt = False,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    overwrite: OverwriteOpt = False,
    debug: DebugOpt = False,
    engine: EngineOpt = Engine.auto,
    seed: SeedOpt = 42,
    fps: VideoFpsOpt = None,
    size: SizeOpt = 512,
    device: DeviceOpt = Device.auto,
    dtype: DTypeOpt = DType.fp16,
    weights_dir: WeightsDirOpt = None,
    steps: StepsOpt = 25,
    cfg: CfgOpt = 3.5,
    fast: FastOpt = False,
    fast_stride: FastStrideOpt = 3,
    low_vram: LowVramOpt = False,
    cross: CrossOpt = False,
    manifest: ManifestOpt = None,
    skip_existing: SkipExistingOpt = False,
    fail_fast: FailFastOpt = False,
    shard: ShardOpt = None,
    reporter=None,
) -> None:
    """Facial reenactment: animate the portrait with the face motion of a driving video."""
    from aniportrait_cli.jobs import vid2vid as job
    from aniportrait_cli.jobs.batch import build_jobs, run_batch

    options = _options(engine=engine, device=device, dtype=dtype, weights_dir=weights_dir, seed=seed,
                       fps=fps or 0.0, size=size, steps=steps, cfg=cfg, overwrite=overwrite, paste_back=paste_back,
                       grid=grid, fast=fast, fast_stride=fast_stride, low_vram=low_vram, report=report,
                       save_motion=save_motion, pose_mode=pose_mode.value)
    jobs, batch = build_jobs(ref or [], video or [], output, cross, manifest, shard, kind="video")
    _no_batch_only_options(batch, save_motion=save_motion)
    models = ModelCache()
    code = run_batch(jobs, options, reporter, skip_existing, fail_fast, batch=batch, run_one=lambda item, opts, rep: job.run(
        ref=item.ref, video=item.source, output=item.output, options=opts, reporter=rep, models=models))
    if code:
        raise typer.Exit(code)


@app.command("edit-pose", epilog=examples(
    "aniportrait edit-pose --ref face.png --audio speech.wav --mirror",
    "aniportrait edit-pose --video talk.mp4 --save-pose pose.npy --preview",
    "aniportrait edit-pose --ref face.png --audio speech.wav --pose-from pose.npy",
))
@handle_errors
def edit_pose(
    ref: Annotated[list[Path] | None, typer.Option("--ref", metavar=IMAGES, help="The portrait to render (--preview of a --video uses the video's first frame without it). Repeatable, folder or glob.", rich_help_panel=INPUTS, show_default=False)] = None,
    audio: Annotated[list[Path] | None, typer.Option("--audio", metavar=AUDIOS, help="Expression from speech/singing. Repeatable, folder or glob.", rich_help_panel=INPUTS, show_default=False)] = None,
    video: Annotated[list[Path] | None, typer.Option("--video", metavar=VIDEOS, help="Expression (and pose) from a driving video. Repeatable, folder or glob.", rich_help_panel=INPUTS, show_default=False)] = None,
    motion: Annotated[Path | None, typer.Option("--motion", metavar="FILE.npz", help="Expression and pose from a saved motion .npz.", rich_help_panel=INPUTS, show_default=False)] = None,
    pose_from: Annotated[str | None, typer.Option("--pose-from", metavar="NPY|VIDEO|still", help="Head pose from a .npy template, another video, or 'still' (default: the source's own pose).", rich_help_panel=MOTION, show_default=False)] = None,
    pose_scale: Annotated[float, typer.Option("--pose-scale", help="Multiply head rotation and translation by this.", rich_help_panel=MOTION)] = 1.0,
    pose_offset: Annotated[str | None, typer.Option("--pose-offset", metavar="YAW,PITCH,ROLL", help="Add yaw,pitch,roll in degrees, e.g. 10,0,-5.", rich_help_panel=MOTION, show_default=False)] = None,
    pose_smooth: Annotated[int, typer.Option("--pose-smooth", min=1, help="Extra moving-average width in frames (1 = none).", rich_help_panel=MOTION)] = 1,
    mirror: Annotated[bool, typer.Option("--mirror", help="Mirror the head motion left/right.", rich_help_panel=MOTION)] = False,
    loop: Annotated[PoseLoop, typer.Option("--loop", help="How a shorter pose track fills the length.", rich_help_panel=MOTION)] = PoseLoop.pingpong,
    save_motion: SaveMotionOpt = None,
    output: Annotated[str | None, typer.Option("--output", "-o", metavar="FILE.mp4|DIR/", help="Output file, or a folder (trailing slash; created if missing) for the default name: REF__SOURCE__edit.mp4, or with --preview REF__SOURCE__preview.mp4 (no REF__ without --ref). Default: that name in the current folder.", rich_help_panel=OUTPUT, show_default=False)] = None,
    preview: Annotated[bool, typer.Option("--preview", help="Write a landmark video of the edited motion instead of rendering (needs no weights).", rich_help_panel=OUTPUT)] = False,
    save_pose: Annotated[Path | None, typer.Option("--save-pose", metavar="FILE.npy", help="Save the edited head pose as a .npy template (original format).", rich_help_panel=OUTPUT, show_default=False)] = None,
    paste_back: PasteBackOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    overwrite: OverwriteOpt = False,
    debug: DebugOpt = False,
    engine: EngineOpt = Engine.auto,
    seed: SeedOpt = 42,
    fps: FpsOpt = 30.0,
    size: SizeOpt = 512,
    device: DeviceOpt = Device.auto,
    dtype: DTypeOpt = DType.fp16,
    weights_dir: WeightsDirOpt = None,
    steps: StepsOpt = 25,
    cfg: CfgOpt = 3.5,
    cross: CrossOpt = False,
    skip_existing: SkipExistingOpt = False,
    fail_fast: FailFastOpt = False,
    shard: ShardOpt = None,
    reporter=None,
) -> None:
    """Change the head motion of a talking portrait without touching lips and expression."""
    from aniportrait_cli.jobs import edit_pose as job
    from aniportrait_cli.jobs.batch import Job, build_jobs, run_batch, run_single

    options = _options(engine=engine, device=device, dtype=dtype, weights_dir=weights_dir, seed=seed, fps=fps,
                       size=size, steps=steps, cfg=cfg, overwrite=overwrite, paste_back=paste_back,
                       save_motion=save_motion)
    refs, audios, videos = ref or [], audio or [], video or []
    models = ModelCache()

    def one(item_ref, item_audio, item_video, item_output, opts, rep):
        return job.run(ref=item_ref, audio=item_audio, video=item_video, motion=motion, pose_from=pose_from,
                       pose_scale=pose_scale, pose_offset=pose_offset, pose_smooth=pose_smooth, mirror=mirror,
                       loop=loop.value, save_pose=save_pose, preview=preview, output=item_output, options=opts,
                       reporter=rep, models=models)

    if max(len(refs), len(audios), len(videos)) <= 1 and not any(p.is_dir() or "*" in str(p) for p in refs + audios + videos):
        single = Job(refs[0] if refs else None, (audios or videos or [motion])[0], output)
        run_single(single, options, reporter, skip_existing, lambda item, opts, rep: one(
            item.ref, audios[0] if audios else None, videos[0] if videos else None, item.output, opts, rep))
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


CHECK_SYNC_HELP = (
    "Measure lip sync: does the mouth move with this sound, and at what audio-video offset (ms)? The sound's "
    "expected mouth opening (the classic engine's phone + spectrum model) is correlated with the video's mouth "
    f"opening at every offset within +-{sync_rules.MAX_OFFSET_FRAMES} frames; {sync_rules.VERDICT_RULE}. "
    "The report goes to stdout. Exit codes: 0 lip-synced, 3 not lip-synced, 2 bad input, 1 failed run "
    "(with --against: 0 whenever the comparison ran)."
)


@app.command("check-sync", help=CHECK_SYNC_HELP, epilog=examples(
    "aniportrait check-sync face__speech.mp4",
    "aniportrait check-sync dubbed.mp4 --audio original.wav --json",
    "aniportrait check-sync generated.mp4 --against real_speaker.mp4",
))
@handle_errors
def check_sync(
    video: Annotated[Path, typer.Argument(metavar="VIDEO", help="A talking-face video.", show_default=False)],
    audio: Annotated[Path | None, typer.Option("--audio", metavar="AUDIO", help="Audio to compare with (default: the video's own track).", rich_help_panel=INPUTS, show_default=False)] = None,
    against: Annotated[Path | None, typer.Option("--against", metavar="REAL.mp4", help="A video of the real speaker on the same audio: compare the two mouths instead (correlation at lag 0, best lag within +-5 frames, std ratio).", rich_help_panel=INPUTS, show_default=False)] = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    reporter=None,
) -> None:
    from aniportrait_cli.jobs import check_sync as job

    job.run(video=video, audio=audio, against=against, reporter=reporter)


@app.command("doctor", epilog=examples("aniportrait doctor", "aniportrait doctor --json"))
@handle_errors
def doctor(
    weights_dir: WeightsDirOpt = None,
    json_output: JsonOpt = False,
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
    reporter=None,
) -> None:
    """Versions, devices, weights and the engine `--engine auto` would pick: paste it into a bug report."""
    from aniportrait_cli.cli.doctor import collect

    facts = collect(weights_dir)
    width = max(len(name) for name in facts)
    for name, value in facts.items():
        reporter.result(f"{name:<{width}}  {value}")
    reporter.emit_json({"status": "ok", **facts, "error": None, "exit_code": 0}, kind="doctor")


class Share(str, Enum):
    never = "never"


@app.command("ui", epilog=examples("aniportrait ui", "aniportrait ui --port 8000", "aniportrait ui --host 0.0.0.0  # reachable from your network"))
@handle_errors
def ui(
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Address to listen on. Anything but localhost makes the page reachable from other machines: give it explicitly, e.g. 0.0.0.0.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", min=1, max=65535, help="Port to listen on.")] = 7860,
    share: Annotated[Share, typer.Option(metavar="never", help="Public share links (a tunnel through a third-party server) are never made: your portraits and voices stay on your machine.")] = Share.never,
    weights_dir: WeightsDirOpt = None,
    debug: DebugOpt = False,
    reporter=None,
) -> None:
    """The web page: the same jobs in a browser tab (needs the ui extra: pip install 'aniportrait-cli\\[ui]')."""
    from aniportrait_cli.ui.server import serve

    serve(host, port, weights_dir, reporter)


def _plain_metavars() -> None:
    """typer labels every flag `<bool>` in --help although a flag takes no value, and adds the Python type to an
    argument that already has a metavar (VIDEO <path>): show nothing in those places."""
    from typer.core import TyperArgument, TyperOption

    if not hasattr(TyperOption, "display_type_rich"):  # older typer: flags show no type anyway
        return
    option_type = TyperOption.display_type_rich
    argument_type = TyperArgument.display_type_rich
    TyperOption.display_type_rich = lambda self, ctx: None if self.is_flag else option_type(self, ctx)
    TyperArgument.display_type_rich = lambda self, ctx: None if self.metavar else argument_type(self, ctx)


_plain_metavars()


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
    except NoArgsIsHelpError:
        sys.exit(0)  # typer has printed the help (once) while raising this
    except UsageError as exc:
        # One line, like every other input error (click's default is a multi-line box).
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx else ""
        sys.stderr.write(f"error: {exc.format_message()}{where}\n")
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        sys.stderr.write("error: interrupted; no output was written\n")
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
