"""--engine auto|neural|hybrid|classic: which motion source and which renderer a run uses, and why.

Every engine is a pair of halves that meet at the `Motion` (mesh + head pose per frame):

| engine    | motion from audio                         | renderer                              |
|-----------|-------------------------------------------|---------------------------------------|
| `neural`  | learned: audio2mesh + audio2pose          | diffusion: Lmk2Video (GPU)            |
| `hybrid`  | learned: audio2mesh + audio2pose          | warp: the photo itself, on the CPU    |
| `classic` | signal: speech analysis, no weights       | warp: the photo itself, on the CPU    |

Where the motion does not come from audio (vid2vid's driving video, a saved --motion file) only the renderer
differs: `hybrid` and `classic` both warp the photo. `auto` picks the best that is possible here: neural (all
weights and a GPU), else hybrid (the two audio checkpoints and the neural libraries), else classic.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from aniportrait_cli.errors import InputError
from aniportrait_cli.jobs.devices import NEURAL_INSTALL_HINT, gpu_available, missing_neural_libraries, resolve_device
from aniportrait_cli.jobs.options import Device, Engine, RenderOptions
from aniportrait_cli.weights import manager
from aniportrait_cli.weights.registry import files_for

ENGINE_ENV = "ANIPORTRAIT_ENGINE"
SILENCE_HINT = f"--engine classic or {ENGINE_ENV}=classic skips this check and note"


class MotionSource(str, Enum):
    learned = "learned"  # AniPortrait's audio2mesh + audio2pose (audio2lmk/)
    signal = "signal"  # speech signal analysis (classic/)
    video = "video"  # the driving video's face track (vid2vid, edit-pose --video)
    file = "file"  # a saved motion (--motion)


class Renderer(str, Enum):
    diffusion = "diffusion"  # Lmk2Video (lmk2video/)
    warp = "warp"  # piecewise-affine warp of the photo (classic/)


PRESETS: dict[Engine, tuple[MotionSource, Renderer]] = {
    Engine.neural: (MotionSource.learned, Renderer.diffusion),
    Engine.hybrid: (MotionSource.learned, Renderer.warp),
    Engine.classic: (MotionSource.signal, Renderer.warp),
}


@dataclass(frozen=True)
class EngineChoice:
    engine: Engine  # never auto
    device: str  # where the learned models run ("cpu" for classic)
    reason: str  # one line for the user; empty when the user named the engine and there is nothing to add
    given_motion: MotionSource | None = None  # a video or a file gives the motion: only the renderer matters

    @property
    def motion(self) -> MotionSource:
        return self.given_motion or PRESETS[self.engine][0]

    @property
    def renderer(self) -> Renderer:
        return PRESETS[self.engine][1]

    def summary(self) -> dict:
        """The --json fields that say what ran."""
        return {"engine": self.engine.value, "motion": self.motion.value, "renderer": self.renderer.value}


def pick_engine(options: RenderOptions, reporter, given_motion: MotionSource | None = None) -> EngineChoice:
    """`choose_engine`, saying why once per run when there is something to say."""
    choice = choose_engine(options, given_motion)
    if choice.reason:
        reporter.note_once(choice.reason)
    return choice


def choose_engine(options: RenderOptions, given_motion: MotionSource | None = None) -> EngineChoice:
    """The engine for this run. Explicit choices fail fast (missing libraries or weights); auto never fails.

    `given_motion`: where the motion comes from when not from audio (vid2vid's video, a --motion file); then only
    the renderer matters, and hybrid means the photo warp."""
    engine = options.engine
    if engine is Engine.classic:
        return EngineChoice(Engine.classic, "cpu", "", given_motion)
    if engine is Engine.neural:
        _require_libraries(engine)
        device = resolve_device(options.device)
        manager.require("neural", options.weights_dir)
        reason = ""
        if device == "cpu":
            reason = ("the neural engine is running on the CPU: expect minutes per second of video "
                      "(a CUDA or Apple GPU is ~100x faster)")
        return EngineChoice(Engine.neural, device, reason, given_motion)
    if engine is Engine.hybrid:
        if given_motion is not None:
            return EngineChoice(Engine.hybrid, "cpu", f"the motion comes from the {given_motion.value}, not from "
                                "audio: hybrid renders it with the photo warp, like classic", given_motion)
        _require_libraries(engine)
        manager.require("hybrid", options.weights_dir)
        return EngineChoice(Engine.hybrid, resolve_device(options.device), "")
    return _auto(options, given_motion)


def _auto(options: RenderOptions, given_motion: MotionSource | None) -> EngineChoice:
    missing_libraries = missing_neural_libraries()
    if missing_libraries:
        return EngineChoice(
            Engine.classic, "cpu",
            f"using the classic engine: the neural and hybrid engines need {', '.join(missing_libraries)} "
            f"({NEURAL_INSTALL_HINT}); {SILENCE_HINT}",
            given_motion,
        )
    missing_neural = [s for s in manager.status(files_for("neural"), options.weights_dir) if not s.usable]
    device = _auto_device(options.device) if not missing_neural else None
    if not missing_neural and device != "cpu":
        return EngineChoice(Engine.neural, device, f"using the neural engine on {device}", given_motion)
    if missing_neural:
        size_gb = sum(s.entry.size for s in missing_neural) / 1e9
        why_not_neural = (f"the neural engine's weights are not all here ({len(missing_neural)} files, {size_gb:.1f} GB "
                          f"to download: `{manager.download_command('neural', options.weights_dir)}`)")
    else:
        why_not_neural = ("no GPU found, and the neural engine on a CPU takes minutes per second of video (force it "
                          "with --engine neural)")
    if given_motion is not None:
        return EngineChoice(Engine.classic, "cpu", f"using the photo warp (classic engine): {why_not_neural}; "
                            f"{SILENCE_HINT}", given_motion)
    if not [s for s in manager.status(files_for("hybrid"), options.weights_dir) if not s.usable]:
        return EngineChoice(Engine.hybrid, device or _auto_device(options.device),
                            f"using the hybrid engine (AniPortrait's learned motion, photo warp): {why_not_neural}")
    return EngineChoice(
        Engine.classic, "cpu",
        f"using the classic engine: {why_not_neural}; the hybrid engine needs only audio2mesh.pt and audio2pose.pt "
        f"(0.9 GB: `{manager.download_command('hybrid', options.weights_dir)}`); {SILENCE_HINT}",
    )


def _require_libraries(engine: Engine) -> None:
    missing_libraries = missing_neural_libraries()
    if missing_libraries:
        raise InputError(f"--engine {engine.value} needs {', '.join(missing_libraries)}, which this install lacks; "
                         f"add them with: {NEURAL_INSTALL_HINT}")


def _auto_device(device: Device) -> str:
    return resolve_device(device) if device is not Device.auto else (gpu_available() or "cpu")
