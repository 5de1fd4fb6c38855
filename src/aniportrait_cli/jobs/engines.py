"""--engine auto|neural|classic: pick one and say why."""

from __future__ import annotations

from dataclasses import dataclass

from aniportrait_cli.jobs.devices import gpu_available, resolve_device
from aniportrait_cli.jobs.options import Device, Engine, RenderOptions
from aniportrait_cli.weights import manager
from aniportrait_cli.weights.registry import files_for


@dataclass(frozen=True)
class EngineChoice:
    engine: Engine
    device: str
    reason: str  # one line for the user, empty when the user asked for this engine explicitly


def choose_engine(options: RenderOptions) -> EngineChoice:
    if options.engine is Engine.classic:
        return EngineChoice(Engine.classic, "cpu", "")
    if options.engine is Engine.neural:
        device = resolve_device(options.device)
        manager.require("neural", options.weights_dir)
        reason = ""
        if device == "cpu":
            reason = ("the neural engine is running on the CPU: expect minutes per second of video "
                      "(a CUDA or Apple GPU is ~100x faster)")
        return EngineChoice(Engine.neural, device, reason)

    missing = [s.entry.local_path for s in manager.status(files_for("neural"), options.weights_dir) if not s.usable]
    if missing:
        return EngineChoice(
            Engine.classic, "cpu",
            f"using the classic engine: the neural engine's weights are not here ({len(missing)} files missing); "
            f"get them with `{manager.download_command('neural', options.weights_dir)}`",
        )
    device = resolve_device(options.device) if options.device is not Device.auto else (gpu_available() or "cpu")
    if device == "cpu":
        return EngineChoice(
            Engine.classic, "cpu",
            "using the classic engine: no GPU found, and the neural engine on a CPU takes minutes per second "
            "of video (force it with --engine neural)",
        )
    return EngineChoice(Engine.neural, device, f"using the neural engine on {device}")
