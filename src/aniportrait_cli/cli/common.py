"""Option declarations shared by the commands, and the wrapper that turns failures into one-line errors."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer

from aniportrait_cli.errors import AniportraitError
from aniportrait_cli.jobs.options import Device, DType, Engine
from aniportrait_cli.weights.registry import WEIGHTS_DIR_ENV

RENDER = "Rendering"
OUTPUT = "Output"
NEURAL = "Neural engine"

EngineOpt = Annotated[Engine, typer.Option(help="neural: learned motion + diffusion (all weights, a GPU); hybrid: learned motion + photo warp (audio2mesh/audio2pose, any CPU); classic: speech-signal motion + photo warp (no weights). auto: the best possible here, says why.", rich_help_panel=RENDER)]
DeviceOpt = Annotated[Device, typer.Option(help="Where the neural engine runs.", rich_help_panel=NEURAL)]
DTypeOpt = Annotated[DType, typer.Option(help="Neural engine precision on GPUs (CPU always runs fp32).", rich_help_panel=NEURAL)]
WeightsDirOpt = Annotated[Path | None, typer.Option("--weights-dir", envvar=WEIGHTS_DIR_ENV, help="A folder laid out like the original AniPortrait pretrained_model/ (default: the Hugging Face cache).", rich_help_panel=NEURAL, show_default=False)]
SeedOpt = Annotated[int, typer.Option(help="Random seed: same inputs + same seed = same video.", rich_help_panel=RENDER)]
FpsOpt = Annotated[float, typer.Option(min=1, max=120, help="Output frame rate; audio and video stay in sync at any rate.", rich_help_panel=RENDER)]
SizeOpt = Annotated[int, typer.Option(min=64, max=2048, help="Side of the generated square portrait in pixels (multiple of 8 for neural).", rich_help_panel=RENDER)]
StepsOpt = Annotated[int, typer.Option(min=1, max=200, help="Diffusion steps.", rich_help_panel=NEURAL)]
CfgOpt = Annotated[float, typer.Option(min=0, help="Classifier-free guidance scale.", rich_help_panel=NEURAL)]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Output .mp4 (default: <ref>__<audio or video>.mp4 in the current folder).", rich_help_panel=OUTPUT, show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one machine-readable summary line on stdout.", rich_help_panel=OUTPUT)]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes; errors still go to stderr.", rich_help_panel=OUTPUT)]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.", rich_help_panel=OUTPUT)]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks.", rich_help_panel=OUTPUT, hidden=False)]


def handle_errors(command):
    """Run a command body; known failures become `error: ...` on stderr, a JSON error line and an exit code."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from aniportrait_cli.cli.report import Reporter

        reporter = Reporter(quiet=kwargs.get("quiet", False), json_mode=kwargs.get("json_output", False),
                            debug=kwargs.get("debug", False))
        kwargs["reporter"] = reporter
        try:
            return command(*args, **kwargs)
        except AniportraitError as exc:
            if reporter.debug:
                raise
            reporter.error(str(exc))
            reporter.emit_json({"status": "error", "error": str(exc), "exit_code": exc.exit_code})
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            reporter.error("interrupted; no output was written")
            reporter.emit_json({"status": "interrupted", "exit_code": 130})
            raise typer.Exit(130) from None

    # Typer must not see the injected `reporter` parameter.
    import inspect

    signature = inspect.signature(command, eval_str=True)
    wrapper.__signature__ = signature.replace(parameters=[p for p in signature.parameters.values() if p.name != "reporter"])
    return wrapper
