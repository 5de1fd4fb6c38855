"""Option declarations shared by the commands, and the wrapper that turns failures into one-line errors.

Each option is declared once here (help text, metavar, panel) so the commands in app.py are plain lists of
parameters. Panels appear in --help in the order a user needs them: inputs, motion, output, rendering, neural
engine, batch.
"""

from __future__ import annotations

import functools
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from aniportrait_cli.errors import AniportraitError
from aniportrait_cli.jobs.engines import ENGINE_ENV
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


# Inputs
RefOpt = Annotated[list[Path] | None, typer.Option("--ref", metavar=IMAGES, help="Required (unless --manifest). The portrait: any size, the face is found and cropped. Repeat it, or give a folder or a glob, for several.", rich_help_panel=INPUTS, show_default=False)]
AudioOpt = Annotated[list[Path] | None, typer.Option("--audio", metavar=AUDIOS, help="Required (unless --manifest). Speech or singing: wav, flac, ogg, mp3, m4a, aac, or a video's audio track. Repeatable, folder or glob.", rich_help_panel=INPUTS, show_default=False)]
VideoOpt = Annotated[list[Path] | None, typer.Option("--video", metavar=VIDEOS, help="Required (unless --manifest). Driving video whose face motion is re-enacted (its audio is kept). Repeatable, folder or glob.", rich_help_panel=INPUTS, show_default=False)]

# Motion
MotionFileOpt = Annotated[Path | None, typer.Option("--motion", metavar="FILE.npz", help="Render a saved motion .npz instead of computing it from the audio (--audio still gives the sound).", rich_help_panel=MOTION, show_default=False)]
PoseFromOpt = Annotated[str | None, typer.Option("--pose-from", metavar="NPY|VIDEO|still", help="Head pose from a .npy template, a video, or 'still' (default: from the audio).", rich_help_panel=MOTION, show_default=False)]
PoseStyleOpt = Annotated[int | None, typer.Option("--pose-style", min=0, max=99, metavar="ID", help="Neural head-motion style id (default: seed mod 100).", rich_help_panel=MOTION, show_default=False)]
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
SeedOpt = Annotated[int, typer.Option(help="Random seed: same inputs + same seed = same video.", rich_help_panel=RENDER)]
FpsOpt = Annotated[float, typer.Option(min=1, max=120, help="Output frame rate; audio and video stay in sync at any rate.", rich_help_panel=RENDER)]
VideoFpsOpt = Annotated[float | None, typer.Option("--fps", min=1, max=120, help="Output frame rate (default: the driving video's).", rich_help_panel=RENDER, show_default=False)]
SizeOpt = Annotated[int, typer.Option(min=64, max=2048, help="Side of the generated square portrait in pixels (multiple of 8 for neural).", rich_help_panel=RENDER)]

# Neural engine
DeviceOpt = Annotated[Device, typer.Option(help="Where the neural engine runs.", rich_help_panel=NEURAL)]
DTypeOpt = Annotated[DType, typer.Option(help="Neural engine precision on GPUs (CPU always runs fp32).", rich_help_panel=NEURAL)]
WeightsDirOpt = Annotated[Path | None, typer.Option("--weights-dir", metavar="DIR", envvar=WEIGHTS_DIR_ENV, help="A folder laid out like the original AniPortrait pretrained_model/ (default: the Hugging Face cache).", rich_help_panel=NEURAL, show_default=False)]
StepsOpt = Annotated[int, typer.Option(min=1, max=200, help="Diffusion steps.", rich_help_panel=NEURAL)]
CfgOpt = Annotated[float, typer.Option(min=0, help="Classifier-free guidance scale.", rich_help_panel=NEURAL)]
FastOpt = Annotated[bool, typer.Option("--fast", help="Faster, slightly less exact. neural: diffuse every k-th frame and interpolate the rest with FILM (needs film_net_fp16.pt). hybrid: the learned motion in bfloat16 on CPUs that have it (~2x less CPU for the motion; mean error ~1-2% of the motion).", rich_help_panel=NEURAL)]
FastStrideOpt = Annotated[int, typer.Option("--fast-stride", min=2, max=8, help="k for --fast.", rich_help_panel=NEURAL)]
CompatOpt = Annotated[bool, typer.Option("--compat", help="Reproduce the original AniPortrait numerics exactly, quirks included (5 s pose chunks).", rich_help_panel=NEURAL)]
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
    """Run a command body; known failures become `error: ...` on stderr, a JSON error line and an exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from aniportrait_cli.cli.report import Reporter

        reporter = Reporter(quiet=kwargs.get("quiet", False), json_mode=kwargs.get("json_output", False),
                            debug=kwargs.get("debug", False), command=command_name())
        kwargs["reporter"] = reporter
        try:
            return command(*args, **kwargs)
        except AniportraitError as exc:
            if reporter.debug:
                raise
            reporter.error(str(exc))
            if not getattr(exc, "json_reported", False):
                _emit_failure(reporter, str(exc), exc.exit_code)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            reporter.error("interrupted; no output was written")
            _emit_failure(reporter, "interrupted; no output was written", 130)
            raise typer.Exit(130) from None

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
