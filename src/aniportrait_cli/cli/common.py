"""Option declarations shared by the commands, and the wrapper that turns failures into one-line errors."""

from __future__ import annotations

import functools
import traceback
from pathlib import Path
from typing import Annotated

import typer

try:  # typer >= 0.20 vendors click
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover - older typer on real click
    from click.exceptions import ClickException

from aniportrait_cli.errors import AniportraitError, describe_unexpected
from aniportrait_cli.jobs.limits import check_option, range_text
from aniportrait_cli.jobs.options import Device, DType, Engine
from aniportrait_cli.weights.registry import WEIGHTS_DIR_ENV

RENDER = "Rendering"
OUTPUT = "Output"
NEURAL = "Neural engine"

EngineOpt = Annotated[Engine, typer.Option(help="auto: neural when its weights and a GPU are present, else classic (says why).", rich_help_panel=RENDER)]
DeviceOpt = Annotated[Device, typer.Option(help="Where the neural engine runs.", rich_help_panel=NEURAL)]
DTypeOpt = Annotated[DType, typer.Option(help="Neural engine precision on GPUs (CPU always runs fp32).", rich_help_panel=NEURAL)]
WeightsDirOpt = Annotated[Path | None, typer.Option("--weights-dir", envvar=WEIGHTS_DIR_ENV, help="A folder laid out like the original AniPortrait pretrained_model/ (default: the Hugging Face cache).", rich_help_panel=NEURAL, show_default=False)]
SeedOpt = Annotated[int, typer.Option(help="Random seed: same inputs + same seed = same video; negative = random (the seed used is printed).", rich_help_panel=RENDER)]
FpsOpt = Annotated[float, typer.Option(help=f"Output frame rate, {range_text('fps')}; audio and video stay in sync at any rate.", rich_help_panel=RENDER)]
SizeOpt = Annotated[int, typer.Option(help=f"Side of the generated square portrait in pixels, {range_text('size')} (multiple of 8 for neural).", rich_help_panel=RENDER)]
StepsOpt = Annotated[int, typer.Option(help=f"Diffusion steps, {range_text('steps')}.", rich_help_panel=NEURAL)]
CfgOpt = Annotated[float, typer.Option(help=f"Classifier-free guidance scale, {range_text('cfg')}.", rich_help_panel=NEURAL)]
OutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Output .mp4 (default: <ref>__<audio or video>.mp4 in the current folder).", rich_help_panel=OUTPUT, show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one machine-readable summary line on stdout.", rich_help_panel=OUTPUT)]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress or notes; errors still go to stderr.", rich_help_panel=OUTPUT)]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.", rich_help_panel=OUTPUT)]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show tracebacks.", rich_help_panel=OUTPUT, hidden=False)]
MaxOutputSizeOpt = Annotated[int, typer.Option("--max-output-size", help=f"Longest side of the output video in pixels ({range_text('max_output_size')}): bigger portraits are scaled down to it.", rich_help_panel=OUTPUT)]


def handle_errors(command):
    """Run a command body; every failure becomes one `error: ...` line on stderr (plus the traceback with
    --debug), a JSON error line and an exit code: 2 bad input, 1 failed run or bug, 128+N for signal N."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        from aniportrait_cli.cli.report import Reporter

        reporter = Reporter(quiet=kwargs.get("quiet", False), json_mode=kwargs.get("json_output", False),
                            debug=kwargs.get("debug", False))
        kwargs["reporter"] = reporter

        def fail(message: str, code: int, status: str = "error") -> typer.Exit:
            if reporter.debug and status == "error":
                traceback.print_exc()
            reporter.error(message)
            reporter.emit_json({"status": status, "error": message, "exit_code": code})
            return typer.Exit(code)

        try:
            for name, value in kwargs.items():
                check_option(name, value)
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, ClickException):  # the parser's own outcomes
            raise
        except AniportraitError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except KeyboardInterrupt as exc:  # Ctrl-C, and SIGTERM/SIGHUP (see cli.signals)
            from aniportrait_cli.cli.signals import describe_interruption

            message, code = describe_interruption(exc)
            raise fail(message, code, status="interrupted") from None
        except Exception as exc:  # a bug, a full disk, no memory: still one line, never a raw traceback
            raise fail(describe_unexpected(exc), 1) from None

    # Typer must not see the injected `reporter` parameter.
    import inspect

    signature = inspect.signature(command, eval_str=True)
    wrapper.__signature__ = signature.replace(parameters=[p for p in signature.parameters.values() if p.name != "reporter"])
    return wrapper

