"""Audio -> per-frame face mesh offsets and head pose (the "audio2lmk" stage of AniPortrait).

    pipe = Audio2LmkPipeline.from_pretrained("audio2mesh.pt", "audio2pose.pt")
    offsets = pipe.mesh_offsets(samples_16k)               # (T, 468, 3) float32
    pose = pipe.head_pose(samples_16k, pose_style=7)        # (T, 6) float32, damped + smoothed
    both = pipe.predict(samples_16k, pose_style=7)          # one call, shares work between the two models

T = ceil(seconds * fps). The models run at their native 30 fps; other frame rates are linear resamplings of the
30 fps tracks. Works for any clip length (see `features` for the long-audio windows, `pose_chunks` for the pose
chunking and the `compat` mode that reproduces the original script's 5 s pieces).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from aniportrait_cli.audio2lmk import features, pose_chunks
from aniportrait_cli.audio2lmk.configs import (
    MESH_CONFIG,
    POSE_CONFIG,
    infer_mesh_config,
    infer_pose_config,
)
from aniportrait_cli.audio2lmk.features import MODEL_FPS
from aniportrait_cli.audio2lmk.loading import load_strict
from aniportrait_cli.audio2lmk.models import Audio2MeshModel, Audio2PoseModel
from aniportrait_cli.audio2lmk.precision import autocast, check_precision, quantize_linear_layers, to_bfloat16_decoder
from aniportrait_cli.audio2lmk.tiny import randomize_
from aniportrait_cli.errors import InputError
from aniportrait_cli.landmarks.pose_track import (
    damp_rotations,
    moving_average,
    resample_track,
)
from aniportrait_cli.weights.checkpoints import read_state_dict

ProgressCallback = Callable[[int, int], None]
NUM_VERTICES = 468
# wav2vec2's SpecAugment mask vector: used in training only, so it may differ between otherwise shared backbones.
TRAINING_ONLY_TENSORS = ("masked_spec_embed",)


@dataclass
class Audio2LmkOutput:
    mesh_offsets: np.ndarray | None  # (T, 468, 3) float32
    head_pose: np.ndarray | None  # (T, 6) float32: rx, ry, rz degrees, tx, ty, tz (damped + smoothed)
    head_pose_raw: np.ndarray | None  # (T30, 6) float32 decoder output at 30 fps, before post-processing


class Audio2LmkPipeline:
    def __init__(self, mesh_model: Audio2MeshModel, pose_model: Audio2PoseModel, device: str | torch.device = "cpu",
                 precision: str = "fp32"):
        """`precision`: fp32 (reference), bf16 or int8 (opt-in CPU speed-ups, see `precision.py`)."""
        self.device = torch.device(device)
        check_precision(precision, self.device)
        self.precision = precision
        self.mesh_model = mesh_model.to(self.device).eval()
        self.pose_model = pose_model.to(self.device).eval()
        # Audio models fine-tuned with a frozen conv front end (or a frozen backbone) carry identical weights
        # there: compute the shared part once. Checked on the loaded tensors, since the files say nothing about it.
        mesh_backbone, pose_backbone = mesh_model.audio_encoder, pose_model.audio_encoder
        self.shares_conv_features = _same_tensors(mesh_backbone.feature_extractor, pose_backbone.feature_extractor)
        self.shares_backbone = self.shares_conv_features and _same_tensors(
            mesh_backbone, pose_backbone, ignore=TRAINING_ONLY_TENSORS
        )
        if precision == "int8":
            quantize_linear_layers(self.mesh_model)
            quantize_linear_layers(self.pose_model)
        elif precision == "bf16":
            to_bfloat16_decoder(self.pose_model)
        self.last_timings: dict[str, float] = {}

    # -- construction -------------------------------------------------------------------------------------------

    @classmethod
    def from_pretrained(
        cls,
        mesh_path: str | Path,
        pose_path: str | Path,
        device: str | torch.device = "cpu",
        mesh_config: dict | None = None,
        pose_config: dict | None = None,
        precision: str = "fp32",
    ) -> Audio2LmkPipeline:
        """Load the released `audio2mesh.pt` / `audio2pose.pt` (or .safetensors) strictly.

        Sizes are inferred from the tensor shapes unless a config (constructor kwargs) is given.
        """
        mesh = _load_model(Audio2MeshModel, mesh_path, mesh_config, infer_mesh_config)
        pose = _load_model(Audio2PoseModel, pose_path, pose_config, infer_pose_config)
        return cls(mesh, pose, device, precision)

    @classmethod
    def from_config(
        cls,
        mesh_config: dict | None = None,
        pose_config: dict | None = None,
        seed: int = 0,
        device: str | torch.device = "cpu",
        precision: str = "fp32",
    ) -> Audio2LmkPipeline:
        """Seeded random weights (full size by default; pass `configs.TINY_*_CONFIG` for tests)."""
        mesh = randomize_(Audio2MeshModel(**(mesh_config or MESH_CONFIG)), seed * 2)
        pose = randomize_(Audio2PoseModel(**(pose_config or POSE_CONFIG)), seed * 2 + 1)
        return cls(mesh, pose, device, precision)

    # -- public API ---------------------------------------------------------------------------------------------

    @staticmethod
    def frame_count(num_samples: int, fps: float = MODEL_FPS) -> int:
        return features.count_frames(num_samples, fps)

    def mesh_offsets(
        self, samples_16k: np.ndarray, fps: float = MODEL_FPS, progress: ProgressCallback | None = None
    ) -> np.ndarray:
        """(T, 468, 3) float32 per-vertex offsets to add to the reference's canonical mesh."""
        return self.predict(samples_16k, fps=fps, pose_style=None, progress=progress).mesh_offsets

    def head_pose(
        self,
        samples_16k: np.ndarray,
        pose_style: int,
        fps: float = MODEL_FPS,
        compat: bool = False,
        progress: ProgressCallback | None = None,
    ) -> np.ndarray:
        """(T, 6) float32 head pose (rotations x0.5, width-7 moving average), like the original's pose_seq."""
        return self.predict(samples_16k, pose_style, fps, compat, progress, mesh=False).head_pose

    def predict(
        self,
        samples_16k: np.ndarray,
        pose_style: int | None,
        fps: float = MODEL_FPS,
        compat: bool = False,
        progress: ProgressCallback | None = None,
        mesh: bool = True,
    ) -> Audio2LmkOutput:
        """Mesh offsets (if `mesh`) and head pose (if `pose_style` is not None) for one clip.

        compat=True reproduces the original script's pose chunking exactly (5 s pieces, wav2vec2 run per piece,
        a head-pose jump at each piece boundary); the default gives a continuous track (see `pose_chunks`).
        `progress(done, total)` is called as work completes.
        """
        if fps <= 0:
            raise InputError(f"fps must be > 0, got {fps}")
        if pose_style is not None:
            pose_style = self._check_style(pose_style)
        samples = features.check_samples(samples_16k, features.min_samples(self.mesh_model.audio_encoder))
        input_values = torch.from_numpy(features.normalise(samples)).to(self.device)
        num_frames = features.count_frames(samples.shape[0], MODEL_FPS)
        want_pose = pose_style is not None
        stages = ["mesh conv", "mesh encoder"] if mesh else []
        share_conv = mesh and want_pose and self.shares_conv_features and not compat
        share_hidden = share_conv and self.shares_backbone
        if want_pose:
            stages += ["pose conv"] if not share_conv else []
            stages += ["pose encoder"] if not share_hidden else []
            stages += ["pose decoder"]
        tracker = _Tracker(progress, stages, num_frames)
        self.last_timings = {}
        with torch.inference_mode(), autocast(self.precision, self.device):
            mesh_conv = hidden = offsets = raw_pose = None
            if mesh:
                mesh_conv, hidden = self._hidden_states(self.mesh_model, input_values, num_frames, tracker, "mesh")
                offsets = self.mesh_model.head(hidden).reshape(num_frames, NUM_VERTICES, 3).float().cpu().numpy()
                if not share_hidden:
                    hidden = None
                if not share_conv:
                    mesh_conv = None
            if want_pose:
                start = time.perf_counter()
                if compat:
                    raw_pose = self._pose_compat(input_values, num_frames, pose_style, tracker)
                else:
                    raw_pose = self._pose_continuous(input_values, num_frames, pose_style, tracker, mesh_conv, hidden)
                raw_pose = raw_pose.float().cpu().numpy()
                self.last_timings["pose total"] = time.perf_counter() - start
        pose = None
        if raw_pose is not None:
            pose = moving_average(damp_rotations(raw_pose))
        out_frames = features.count_frames(samples.shape[0], fps)
        if out_frames != num_frames or fps != MODEL_FPS:
            if offsets is not None:
                offsets = resample_track(offsets, MODEL_FPS, fps, out_frames)
            if pose is not None:
                pose = resample_track(pose, MODEL_FPS, fps, out_frames)
        return Audio2LmkOutput(mesh_offsets=offsets, head_pose=pose, head_pose_raw=raw_pose)

    def raw_head_pose(self, input_values: torch.Tensor, pose_style: int, compat: bool = False) -> torch.Tensor:
        """(T, 6) decoder output at 30 fps for already normalised samples (N,), before damping and smoothing."""
        pose_style = self._check_style(pose_style)
        input_values = input_values.reshape(-1).to(self.device, torch.float32)
        num_frames = features.count_frames(input_values.shape[0], MODEL_FPS)
        tracker = _Tracker(None, [], num_frames)
        with torch.inference_mode():
            if compat:
                return self._pose_compat(input_values, num_frames, pose_style, tracker)
            return self._pose_continuous(input_values, num_frames, pose_style, tracker, None)

    # -- internals ----------------------------------------------------------------------------------------------

    def _check_style(self, pose_style) -> int:
        count = self.pose_model.config.num_styles
        if isinstance(pose_style, bool) or not isinstance(pose_style, (int, np.integer)) or not 0 <= pose_style < count:
            raise InputError(f"pose style must be an integer in 0..{count - 1}, got {pose_style!r}")
        return int(pose_style)

    def _hidden_states(self, model, input_values, num_frames, tracker, name, conv=None):
        """(conv features, (T, hidden) last hidden state) of `model`'s backbone for the whole clip."""
        backbone = model.audio_encoder
        if conv is None:
            start = time.perf_counter()
            step = tracker.stage(f"{name} conv", _conv_frames(backbone, input_values))
            conv = features.conv_features(backbone, input_values, progress=step)
            self.last_timings[f"{name} conv"] = time.perf_counter() - start
        start = time.perf_counter()
        frames = features.resample_frames(conv, num_frames)
        windows = _encoder_work(num_frames)
        hidden = features.encode(backbone, frames, progress=tracker.stage(f"{name} encoder", windows))
        self.last_timings[f"{name} encoder"] = time.perf_counter() - start
        return conv, hidden

    def _pose_continuous(self, input_values, num_frames, pose_style, tracker, conv, hidden=None):
        model = self.pose_model
        if hidden is None:
            _, hidden = self._hidden_states(model, input_values, num_frames, tracker, "pose", conv=conv)
        memory = model.in_fn(hidden)
        del hidden, conv
        spans = pose_chunks.continuity_chunks(num_frames)
        start = time.perf_counter()
        step = tracker.stage("pose decoder", sum(b - a for a, b in spans))
        poses = pose_chunks.decode(model, [memory[a:b] for a, b in spans], pose_style, progress=step)
        self.last_timings["pose decoder"] = time.perf_counter() - start
        return features.stitch(poses, [a for a, _ in spans], num_frames)

    def _pose_compat(self, input_values, num_frames, pose_style, tracker):
        """The original script: each piece's audio through wav2vec2 on its own, decoded on its own, concatenated."""
        model = self.pose_model
        backbone = model.audio_encoder
        pieces = pose_chunks.compat_pieces(input_values.shape[0], num_frames)
        start = time.perf_counter()
        conv_step = tracker.stage("pose conv", len(pieces))
        encoder_step = tracker.stage("pose encoder", len(pieces))
        memories = []
        for piece in pieces:
            piece_values = input_values[piece.sample_start : piece.sample_stop]
            conv = features.conv_features(backbone, piece_values)
            conv_step(1)
            frames = features.resample_frames(conv, piece.num_frames)
            memories.append(model.in_fn(features.encode(backbone, frames)))
            encoder_step(1)
        self.last_timings["pose backbone"] = time.perf_counter() - start
        start = time.perf_counter()
        step = tracker.stage("pose decoder", num_frames)
        poses = pose_chunks.decode(model, memories, pose_style, progress=step)
        self.last_timings["pose decoder"] = time.perf_counter() - start
        return torch.cat(poses, dim=0)


def _load_model(cls, path, config, infer):
    state_dict = read_state_dict(path)
    if config is None:
        try:
            config = infer(state_dict)
        except KeyError as exc:
            raise InputError(f"{path}: not a {cls.__name__} checkpoint (no key {exc.args[0]!r})") from None
    with torch.device("meta"):
        model = cls(**config)
    load_strict(model, state_dict, str(path))
    return model.eval()


def _same_tensors(a: torch.nn.Module, b: torch.nn.Module, ignore: tuple[str, ...] = ()) -> bool:
    sa = {k: v for k, v in a.state_dict().items() if k not in ignore}
    sb = {k: v for k, v in b.state_dict().items() if k not in ignore}
    return sa.keys() == sb.keys() and all(
        sa[k].shape == sb[k].shape and sa[k].dtype == sb[k].dtype and torch.equal(sa[k], sb[k]) for k in sa
    )


def _conv_frames(backbone, input_values) -> int:
    field, hop = features.receptive_field(backbone)
    return (input_values.shape[0] - field) // hop + 1


def _encoder_work(num_frames: int) -> int:
    starts, length = features.encoder_windows(num_frames)
    return len(starts) * length


class _Tracker:
    """Maps each stage's own units onto one bar of `len(stages) * num_frames` steps."""

    def __init__(self, callback: ProgressCallback | None, stages: list[str], num_frames: int):
        self.callback = callback
        self.stages = stages
        self.span = num_frames
        self.total = max(1, len(stages) * num_frames)
        self.done = 0
        if callback is not None and stages:
            callback(0, self.total)  # the bar shows from the start, not after the first unit of work

    def stage(self, name: str, units: int) -> Callable[[int], None]:
        if self.callback is None:
            return lambda amount: None
        base = self.stages.index(name) * self.span
        state = {"units": 0}

        def advance(amount: int) -> None:
            state["units"] += amount
            done = base + min(self.span, round(self.span * state["units"] / max(1, units)))
            if done > self.done:
                self.done = done
                self.callback(done, self.total)

        return advance
