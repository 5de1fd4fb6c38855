"""--engine auto|neural|hybrid|classic: which motion source and which renderer a run uses, and why.

Every engine is a pair of halves that meet at the `Motion` (mesh + head pose per frame):

| engine    | motion from audio                         | renderer                              |
|-----------|-------------------------------------------|---------------------------------------|
| `neural`  | learned: audio2mesh + audio2pose          | diffusion: Lmk2Video (GPU)            |
| `hybrid`  | learned: audio2mesh + audio2pose          | warp: the photo itself, on the CPU    |
| `classic` | signal: speech analysis, no weights       | warp: the photo itself, on the CPU    |

Where the motion does not come from audio (vid2vid's driving video, a saved --motion file) only the renderer
differs: `hybrid` and `classic` both warp the photo. `auto` picks the best that is possible here: neural (all weights and a GPU), else hybrid
(the two audio checkpoints and torch), else classic.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from enum import Enum

from aniportrait_cli.jobs.devices import gpu_available, resolve_device
from aniportrait_cli.jobs.options import Device, Engine, RenderOptions
from aniportrait_cli.weights import manager
from aniportrait_cli.weights.registry import files_for


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


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def pick_engine(options: RenderOptions, reporter, given_motion: MotionSource | None = None) -> EngineChoice:
    """`choose_engine`, saying why once per run when there is something to say."""
    choice = choose_engine(options, given_motion)
    if choice.reason:
        reporter.note_once(choice.reason)
    return choice


def choose_engine(options: RenderOptions, given_motion: MotionSource | None = None) -> EngineChoice:
    """The engine for this run. Explicit choices fail fast (missing weights, no torch); auto never fails.

    `given_motion`: where the motion comes from when not from audio (vid2vid's video, a --motion file); then only
    the renderer matters, and hybrid means the photo warp."""
    engine = options.engine
    if engine is Engine.classic:
        return EngineChoice(Engine.classic, "cpu", "", given_motion)
    if engine is Engine.neural:
        _require_torch(engine)
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
        _require_torch(engine)
        manager.require("hybrid", options.weights_dir)
        return EngineChoice(Engine.hybrid, resolve_device(options.device), "")
    return _auto(options, given_motion)


def _auto(options: RenderOptions, given_motion: MotionSource | None) -> EngineChoice:
    if not torch_available():
        return EngineChoice(Engine.classic, "cpu", "using the classic engine: torch is not installed "
                            "(pip install 'aniportrait-cli[neural]' for the learned engines)", given_motion)
    missing_neural = _missing("neural", options)
    device = _auto_device(options.device) if not missing_neural else None
    if not missing_neural and device != "cpu":
        return EngineChoice(Engine.neural, device, f"using the neural engine on {device}", given_motion)
    why_not_neural = (
        f"the neural engine's weights are not all here ({len(missing_neural)} files missing)" if missing_neural
        else "no GPU found, and the neural engine on a CPU takes minutes per second of video (force it with "
             "--engine neural)"
    )
    if given_motion is not None:
        return EngineChoice(Engine.classic, "cpu", f"using the photo warp (classic engine): {why_not_neural}",
                            given_motion)
    missing_hybrid = _missing("hybrid", options)
    if not missing_hybrid:
        device = device or _auto_device(options.device)
        return EngineChoice(Engine.hybrid, device, f"using the hybrid engine (AniPortrait's learned motion, photo "
                            f"warp): {why_not_neural}")
    return EngineChoice(
        Engine.classic, "cpu",
        f"using the classic engine: {why_not_neural}, and the hybrid engine's audio2mesh.pt/audio2pose.pt are "
        f"not here either; get them (0.9 GB) with `{manager.download_command('hybrid', options.weights_dir)}`",
    )


def _missing(engine: str, options: RenderOptions) -> list[str]:
    return [s.entry.local_path for s in manager.status(files_for(engine), options.weights_dir) if not s.usable]


def _require_torch(engine: Engine) -> None:
    if not torch_available():
        from aniportrait_cli.errors import InputError

        raise InputError(f"--engine {engine.value} needs torch, which is not installed; "
                         "run `pip install 'aniportrait-cli[neural]'` or use --engine classic")


def _auto_device(device: Device) -> str:
    return resolve_device(device) if device is not Device.auto else (gpu_available() or "cpu")
