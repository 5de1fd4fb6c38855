"""--engine auto|neural|classic: pick one and say why."""

from __future__ import annotations

from dataclasses import dataclass

from aniportrait_cli.errors import InputError
from aniportrait_cli.jobs.devices import NEURAL_INSTALL_HINT, gpu_available, missing_neural_libraries, resolve_device
from aniportrait_cli.jobs.options import Device, Engine, RenderOptions
from aniportrait_cli.weights import manager
from aniportrait_cli.weights.registry import files_for

ENGINE_ENV = "ANIPORTRAIT_ENGINE"
SILENCE_HINT = f"--engine classic or {ENGINE_ENV}=classic skips this check and note"


@dataclass(frozen=True)
class EngineChoice:
    engine: Engine
    device: str
    reason: str  # one line for the user, empty when the user asked for this engine explicitly


def choose_engine(options: RenderOptions) -> EngineChoice:
    if options.engine is Engine.classic:
        return EngineChoice(Engine.classic, "cpu", "")
    missing_libraries = missing_neural_libraries()
    if options.engine is Engine.neural:
        if missing_libraries:
            raise InputError(f"--engine neural needs {', '.join(missing_libraries)}, which this install lacks; "
                             f"add them with: {NEURAL_INSTALL_HINT}")
        device = resolve_device(options.device)
        manager.require("neural", options.weights_dir)
        reason = ""
        if device == "cpu":
            reason = ("the neural engine is running on the CPU: expect minutes per second of video "
                      "(a CUDA or Apple GPU is ~100x faster)")
        return EngineChoice(Engine.neural, device, reason)

    if missing_libraries:
        return EngineChoice(
            Engine.classic, "cpu",
            f"using the classic engine: the neural engine needs {', '.join(missing_libraries)} "
            f"({NEURAL_INSTALL_HINT}); {SILENCE_HINT}",
        )
    states = manager.status(files_for("neural"), options.weights_dir)
    missing = [s for s in states if not s.usable]
    if missing:
        size_gb = sum(s.entry.size for s in missing) / 1e9
        return EngineChoice(
            Engine.classic, "cpu",
            f"using the classic engine: the neural engine's weights are not here ({len(missing)} files, "
            f"{size_gb:.1f} GB to download: `{manager.download_command('neural', options.weights_dir)}`); "
            f"{SILENCE_HINT}",
        )
    device = resolve_device(options.device) if options.device is not Device.auto else (gpu_available() or "cpu")
    if device == "cpu":
        return EngineChoice(
            Engine.classic, "cpu",
            "using the classic engine: no GPU found, and the neural engine on a CPU takes minutes per second "
            f"of video (force it with --engine neural); {SILENCE_HINT}",
        )
    return EngineChoice(Engine.neural, device, f"using the neural engine on {device}")
