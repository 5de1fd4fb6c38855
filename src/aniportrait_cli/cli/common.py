"""Option declarations shared by the commands, and the wrapper that turns failures into one-line errors.

Each option is declared once here (help text, metavar, panel) so the commands in app.py are plain lists of
parameters. Panels appear in --help in the order a user needs them: inputs, motion, output, rendering, neural
engine, batch.
"""

from __future__ import annotations

import functools
import traceback
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

try:  # typer >= 0.20 vendors click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer on real click
    from click.exceptions import ClickException

from aniportrait_cli.errors import AniportraitError, describe_unexpected
from aniportrait_cli.jobs.engines import ENGINE_ENV
from aniportrait_cli.jobs.limits import check_option, range_text
from aniportrait_cli.jobs.options import Device, DType, Engine
from aniportrait_cli.weights.registry import WEIGHTS_DIR_ENV

INPUTS = "Inputs"
MOTION = "Motion"
OUTPUT = "Output"
RENDER = "Rendering"
NEURAL = "Neural engine"
BATCH = "Batch"
RENDER_COMMANDS = ("audio2vid", "vid2vid", "edit-pose")

IMAGES = "IMAGE|DIR|GLOB"
AUDIOS = "AUDIO|DIR|GLOB"
VIDEOS = "VIDEO|DIR|GLOB"


class PoseLoop(str, Enum):
    pingpong = "pingpong"
    wrap = "wrap"


class PoseMode(str, Enum):
    driver = "driver"
    relative = "relative"


# Inputs
RefOpt = Annotated[list[Path] | None, typer.Option("--ref", metavar=IMAGES, help="Required (unless --manifest). The portrait: any size, the face is found and cropped. Repeat it, or give a folder or a glob, for several.", rich_help_panel=INPUTS, show_default=False)]
AudioOpt = Annotated[list[Path] | None, typer.Option("--audio", metavar=AUDIOS, help="Required (unless --manifest). Speech or singing: wav, flac, ogg, mp3, m4a, aac, or a video's audio track. Repeatable, folder or glob.", rich_help_panel=INPUTS, show_default=False)]
VideoOpt = Annotated[list[Path] | None, typer.Option("--video", metavar=VIDEOS, help="Required (unless --manifest). Driving video whose face motion is re-enacted (its audio is kept). Repeatable, folder or glob.", rich_help_panel=INPUTS, show_default=False)]
MaxOutputSizeOpt = Annotated[int, typer.Option("--max-output-size", metavar="PIXELS", help=f"Longest side of the output video, {range_text('max_output_size')}: a bigger non-square portrait (pasted back into the whole photo) is scaled down to it.", rich_help_panel=INPUTS)]

# Motion
MotionFileOpt = Annotated[Path | None, typer.Option("--motion", metavar="FILE.npz", help="Render a saved motion .npz instead of computing it from the audio (--audio still gives the sound).", rich_help_panel=MOTION, show_default=False)]
PoseFromOpt = Annotated[str | None, typer.Option("--pose-from", metavar="NPY|VIDEO|still", help="Head pose from a .npy template, a video, or 'still' (default: from the audio).", rich_help_panel=MOTION, show_default=False)]
PoseStyleOpt = Annotated[int | None, typer.Option("--pose-style", metavar="ID", help=f"Neural head-motion style id, {range_text('pose_style')} (default: seed mod 100).", rich_help_panel=MOTION, show_default=False)]
PoseModeOpt = Annotated[PoseMode, typer.Option("--pose-mode", help="driver: the portrait's head points where the driving head points (the original's). relative: the portrait keeps its own angle and only the driving head's motion is added.", rich_help_panel=MOTION)]
SaveMotionOpt = Annotated[Path | None, typer.Option("--save-motion", metavar="FILE.npz", help="Also save the per-frame mesh + head pose as .npz.", rich_help_panel=MOTION, show_default=False)]

# Output
OutputOpt = Annotated[str | None, typer.Option("--output", "-o", metavar="FILE.mp4|DIR/", help="Output file, or a folder (trailing slash; created if missing) for the default name <ref>__<audio or video>.mp4. Default: that name in the current folder.", rich_help_panel=OUTPUT, show_default=False)]
PasteBackOpt = Annotated[bool | None, typer.Option("--paste-back/--no-paste-back", help="Paste the animated square crop back into the full reference image (default: on for non-square references).", rich_help_panel=OUTPUT, show_default=False)]
GridOpt = Annotated[bool, typer.Option("--grid", help="Write the original's 3-panel debug grid (reference | pose | result) instead of the clean video.", rich_help_panel=OUTPUT)]
ReportOpt = Annotated[bool, typer.Option("--report", help="After rendering, measure lip sync on the output (see check-sync).", rich_help_panel=OUTPUT)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable result lines on stdout (one per item, a summary after a batch; schema in result.schema.json).", rich_help_panel=OUTPUT)]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes; errors still go to stderr.", rich_help_panel=OUTPUT)]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.", rich_help_panel=OUTPUT)]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks.", rich_help_panel=OUTPUT)]

# Rendering
EngineOpt = Annotated[Engine, typer.Option(envvar=ENGINE_ENV, help=f"neural: learned motion + diffusion (all weights, a GPU); hybrid: learned motion + photo warp (audio2mesh/audio2pose only, any CPU); classic: speech-signal motion + photo warp (no weights). auto: the best possible here, says why (--engine classic or {ENGINE_ENV}=classic skips the check).", rich_help_panel=RENDER)]
SeedOpt = Annotated[int, typer.Option(help="Random seed: same inputs + same seed = same video; negative = random (the seed used is printed).", rich_help_panel=RENDER)]
FpsOpt = Annotated[float, typer.Option(help=f"Output frame rate, {range_text('fps')}; audio and video stay in sync at any rate.", rich_help_panel=RENDER)]
VideoFpsOpt = Annotated[float | None, typer.Option("--fps", help=f"Output frame rate, {range_text('fps')} (default: the driving video's; from 45 fps up every 2nd, 3rd ... frame, about 30 fps).", rich_help_panel=RENDER, show_default=False)]
SizeOpt = Annotated[int, typer.Option(help=f"Side of the generated square portrait in pixels, {range_text('size')} (multiple of 8 for neural).", rich_help_panel=RENDER)]

# Neural engine
DeviceOpt = Annotated[Device, typer.Option(help="Where the neural engine runs.", rich_help_panel=NEURAL)]
DTypeOpt = Annotated[DType, typer.Option(help="Neural engine precision on GPUs (CPU always runs fp32).", rich_help_panel=NEURAL)]
WeightsDirOpt = Annotated[Path | None, typer.Option("--weights-dir", metavar="DIR", envvar=WEIGHTS_DIR_ENV, help="A folder laid out like the original AniPortrait pretrained_model/ (default: the Hugging Face cache).", rich_help_panel=NEURAL, show_default=False)]
StepsOpt = Annotated[int, typer.Option(help=f"Diffusion steps, {range_text('steps')}.", rich_help_panel=NEURAL)]
CfgOpt = Annotated[float, typer.Option(help=f"Classifier-free guidance scale, {range_text('cfg')}.", rich_help_panel=NEURAL)]
FastOpt = Annotated[bool, typer.Option("--fast", help="Faster, slightly less exact. neural: diffuse frames 0, k, 2k, ... and fill the rest with FILM, as the original (needs film_net_fp16.pt); the last frames repeat so the video keeps the audio's length. hybrid: the learned motion in bfloat16 on CPUs that have it (~2x less CPU for the motion; mean error ~1-2% of the motion).", rich_help_panel=NEURAL)]
FastStrideOpt = Annotated[int, typer.Option("--fast-stride", min=2, max=8, help="k for --fast.", rich_help_panel=NEURAL)]
CompatOpt = Annotated[bool, typer.Option("--compat", help="Head pose from audio as the original computes it: 5 s pieces decoded separately, with a jump at each boundary (default: one continuous track; identical up to 10 s). Changes nothing else: over 30 s the audio encoder still runs on overlapping windows.", rich_help_panel=NEURAL)]
LowVramOpt = Annotated[bool, typer.Option("--low-vram", help="Offload idle modules to the CPU (fits 4 GB cards, slower).", rich_help_panel=NEURAL)]

# Batch
CrossOpt = Annotated[bool, typer.Option("--cross", help="Every portrait with every audio/video (default: pair them in order).", rich_help_panel=BATCH)]
ManifestOpt = Annotated[Path | None, typer.Option("--manifest", metavar="CSV|JSONL", help="One job per row: ref, audio or video, and optionally output, seed, fps, size, steps, cfg, pose_style, engine, device, dtype.", rich_help_panel=BATCH, show_default=False)]
SkipExistingOpt = Annotated[bool, typer.Option("--skip-existing", help="Skip items whose output is already a finished video (resume an interrupted batch).", rich_help_panel=BATCH)]
FailFastOpt = Annotated[bool, typer.Option("--fail-fast", help="Stop at the first failed item (default: report it and go on).", rich_help_panel=BATCH)]
ShardOpt = Annotated[str | None, typer.Option("--shard", metavar="K/N", help="Only this deterministic slice of the job list (split a folder over N machines).", rich_help_panel=BATCH, show_default=False)]


def examples(*lines: str) -> str:
    """An 'Examples' epilog for --help (a \\b block keeps its line breaks)."""
    return "\b\n[bold]Examples[/]\n" + "\n".join(f"  {line}" for line in lines)


def command_name() -> str:
    """`audio2vid`, `weights list`, ... for the --json lines."""
    try:  # typer >= 0.20 vendors click
        from typer._click.globals import get_current_context
    except ImportError:  # pragma: no cover - older typer on real click
        from click import get_current_context

    names = []
    context = get_current_context(silent=True)
    while context is not None and context.parent is not None:  # the root's name is the program's, skip it
        names.append(context.info_name)
        context = context.parent
    return " ".join(reversed(names))


def handle_errors(command):
    """Run a command body; every failure becomes one `error: ...` line on stderr (plus the traceback with
    --debug), a JSON error line and an exit code: 2 bad input, 1 failed run or bug, 128+N for signal N
    (option values are range-checked here, by the same rules as manifest rows: jobs.limits)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from aniportrait_cli.cli.report import Reporter

        reporter = Reporter(quiet=kwargs.get("quiet", False), json_mode=kwargs.get("json_output", False),
                            debug=kwargs.get("debug", False), command=command_name())
        kwargs["reporter"] = reporter

        def fail(message: str, code: int, exc: BaseException, show_traceback: bool = True) -> typer.Exit:
            if reporter.debug and show_traceback:
                traceback.print_exc()
            reporter.error(message)
            if not getattr(exc, "json_reported", False):
                _emit_failure(reporter, message, code)
            return typer.Exit(code)

        try:
            for name, value in kwargs.items():
                check_option(name, value)
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, ClickException):  # the parser's own outcomes
            raise
        except AniportraitError as exc:
            raise fail(str(exc), exc.exit_code, exc) from None
        except KeyboardInterrupt as exc:  # Ctrl-C, and SIGTERM/SIGHUP (see cli.signals)
            from aniportrait_cli.cli.signals import describe_interruption

            message, code = describe_interruption(exc)
            raise fail(message, code, exc, show_traceback=False) from None
        except Exception as exc:  # a bug, a full disk, no memory: still one line, never a raw traceback
            raise fail(describe_unexpected(exc), 1, exc) from None

    # Typer must not see the injected `reporter` parameter.
    import inspect

    signature = inspect.signature(command, eval_str=True)
    wrapper.__signature__ = signature.replace(parameters=[p for p in signature.parameters.values() if p.name != "reporter"])
    return wrapper


def _emit_failure(reporter, message: str, exit_code: int) -> None:
    """A failure before any item ran: an item line (all fields null) for the render commands, else an error line."""
    if reporter.command in RENDER_COMMANDS:
        reporter.emit_item("error", error=message, exit_code=exit_code, elapsed_s=round(reporter.elapsed_s, 2))
    else:
        reporter.emit_json({"status": "error", "error": message, "exit_code": exit_code}, kind="error")
