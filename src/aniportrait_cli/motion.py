"""The motion representation: the one contract between the motion producers and the renderers.

A `Motion` holds, per frame, the face mesh in MediaPipe's canonical (metric, pose-free) space and the head
pose, plus what a renderer needs to place them on the reference image. Producers: audio (both engines), a
driving video, pose templates. Consumers: the neural and classic renderers and the landmark preview.

On disk it is an `.npz` (`--save-motion` / `--motion`) with these arrays:

    format            str   "aniportrait-motion"
    version           int   FORMAT_VERSION
    mesh              (T, 468, 3) float32   canonical mesh per frame (reference mesh + expression offsets)
    pose              (T, 6) float32        rx, ry, rz in degrees (extrinsic x, y, z), tx, ty, tz
    fps               float                 frame rate of the arrays above
    ref_trans_mat     (4, 4) float64        the reference face's facial transformation matrix
    ref_landmarks     (478, 3) float32      the reference face's normalised image landmarks
    extra_<name>      (T, ...) float32      optional per-frame channels (e.g. extra_blink in [0, 1])

In memory, `mesh` is either an array or `ChunkedMeshes`: meshes made from small per-frame parameters a chunk at a
time when they are read, so a long clip never holds all its meshes (5.6 KB a frame) at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from aniportrait_cli.errors import InputError
from aniportrait_cli.media.atomic import atomic_output

FORMAT_NAME = "aniportrait-motion"
CHUNK_FRAMES = 256  # frames of meshes made at a time by ChunkedMeshes
FORMAT_VERSION = 1
NUM_MESH_VERTICES = 468


class ChunkedMeshes:
    """(T, 468, 3) float32 meshes computed on demand, `CHUNK_FRAMES` at a time: `make(start, stop)` returns the
    meshes of frames start..stop-1. Reading frames in order (as every renderer does) computes each chunk once;
    memory stays one chunk whatever the length. `np.asarray` materialises all of them (e.g. to save a file)."""

    dtype = np.dtype(np.float32)
    ndim = 3

    def __init__(self, num_frames: int, make: Callable[[int, int], np.ndarray], chunk: int = CHUNK_FRAMES):
        self.shape = (int(num_frames), NUM_MESH_VERTICES, 3)
        self._make = make
        self._chunk = chunk
        self._cached: tuple[int, np.ndarray] | None = None

    def __len__(self) -> int:
        return self.shape[0]

    def _block(self, start: int) -> np.ndarray:
        if self._cached is None or self._cached[0] != start:
            stop = min(start + self._chunk, self.shape[0])
            self._cached = (start, np.asarray(self._make(start, stop), dtype=np.float32))
        return self._cached[1]

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            i = int(index) + (self.shape[0] if index < 0 else 0)
            if not 0 <= i < self.shape[0]:
                raise IndexError(f"frame {index} of {self.shape[0]}")
            start = i - i % self._chunk
            return self._block(start)[i - start]
        if isinstance(index, slice):
            return np.stack([self[i] for i in range(*index.indices(self.shape[0]))]) if self.shape[0] else self.__array__()
        return np.asarray(self)[index]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = np.empty(self.shape, dtype=np.float32)
        for start in range(0, self.shape[0], self._chunk):
            out[start:start + self._chunk] = self._block(start)
        return out if dtype is None else out.astype(dtype, copy=False)


@dataclass
class Motion:
    mesh: np.ndarray
    pose: np.ndarray
    fps: float
    ref_trans_mat: np.ndarray
    ref_landmarks: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.mesh, ChunkedMeshes):
            self.mesh = np.asarray(self.mesh, dtype=np.float32)
        self.pose = np.asarray(self.pose, dtype=np.float32)
        self.ref_trans_mat = np.asarray(self.ref_trans_mat, dtype=np.float64)
        self.ref_landmarks = np.asarray(self.ref_landmarks, dtype=np.float32)
        self.fps = float(self.fps)
        self.extra = {k: np.asarray(v, dtype=np.float32) for k, v in self.extra.items()}
        self.validate()

    @property
    def num_frames(self) -> int:
        return int(self.mesh.shape[0])

    @property
    def duration_s(self) -> float:
        return self.num_frames / self.fps

    def validate(self) -> None:
        t = self.mesh.shape[0]
        problems = []
        if self.mesh.ndim != 3 or self.mesh.shape[1:] != (NUM_MESH_VERTICES, 3):
            problems.append(f"mesh has shape {self.mesh.shape}, expected (T, {NUM_MESH_VERTICES}, 3)")
        if self.pose.shape != (t, 6):
            problems.append(f"pose has shape {self.pose.shape}, expected ({t}, 6)")
        if self.ref_trans_mat.shape != (4, 4):
            problems.append(f"ref_trans_mat has shape {self.ref_trans_mat.shape}, expected (4, 4)")
        if self.ref_landmarks.ndim != 2 or self.ref_landmarks.shape[1] != 3:
            problems.append(f"ref_landmarks has shape {self.ref_landmarks.shape}, expected (N, 3)")
        if not self.fps > 0:
            problems.append(f"fps is {self.fps}, expected > 0")
        for name, values in self.extra.items():
            if values.shape[:1] != (t,):
                problems.append(f"extra_{name} has {values.shape[:1]} frames, expected {t}")
        if t == 0:
            problems.append("it has no frames")
        if problems:
            raise ValueError("invalid motion: " + "; ".join(problems))

    def resampled(self, fps: float, num_frames: int | None = None) -> Motion:
        """The same motion at another frame rate (linear interpolation in time, never frame dropping).

        `num_frames` defaults to ceil(duration * fps) so audio and video stay in sync at any rate.
        """
        if num_frames is None:
            num_frames = max(1, int(np.ceil(self.duration_s * fps - 1e-9)))
        src_t = np.arange(self.num_frames) / self.fps
        dst_t = np.arange(num_frames) / fps

        if isinstance(self.mesh, ChunkedMeshes):
            mesh = _resampled_chunks(self.mesh, src_t, dst_t)
        else:
            mesh = _interp_rows(self.mesh, src_t, dst_t)
        return Motion(
            mesh=mesh,
            pose=_interp_rows(self.pose, src_t, dst_t),
            fps=fps,
            ref_trans_mat=self.ref_trans_mat,
            ref_landmarks=self.ref_landmarks,
            extra={k: _interp_rows(v, src_t, dst_t) for k, v in self.extra.items()},
        )

    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically (temporary file in the same folder, then rename)."""
        path = Path(path)
        arrays = {
            "format": np.array(FORMAT_NAME),
            "version": np.array(FORMAT_VERSION),
            "mesh": np.asarray(self.mesh),
            "pose": self.pose,
            "fps": np.array(self.fps),
            "ref_trans_mat": self.ref_trans_mat,
            "ref_landmarks": self.ref_landmarks,
        }
        arrays.update({f"extra_{k}": v for k, v in self.extra.items()})
        with atomic_output(path) as tmp, open(tmp, "wb") as handle:
            np.savez_compressed(handle, **arrays)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Motion:
        path = Path(path)
        if not path.is_file():
            raise InputError(f"{path}: motion file not found; write one with --save-motion")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {k: data[k] for k in data.files}
        except Exception as exc:  # zip/npz errors come in many types
            raise InputError(f"{path}: not a readable .npz motion file ({exc})") from None
        if str(arrays.get("format", "")) != FORMAT_NAME:
            raise InputError(f"{path}: not an aniportrait motion file (write one with --save-motion)")
        version = int(arrays["version"])
        if version > FORMAT_VERSION:
            raise InputError(
                f"{path}: motion format version {version} is newer than this aniportrait supports "
                f"({FORMAT_VERSION}); upgrade aniportrait-cli"
            )
        try:
            return cls(
                mesh=arrays["mesh"],
                pose=arrays["pose"],
                fps=float(arrays["fps"]),
                ref_trans_mat=arrays["ref_trans_mat"],
                ref_landmarks=arrays["ref_landmarks"],
                extra={k[len("extra_"):]: v for k, v in arrays.items() if k.startswith("extra_")},
            )
        except (KeyError, ValueError) as exc:
            raise InputError(f"{path}: damaged motion file ({exc})") from None


def _interp_rows(values: np.ndarray, src_t: np.ndarray, dst_t: np.ndarray) -> np.ndarray:
    """Linear interpolation along axis 0 for arrays with many columns (vectorised, unlike np.interp)."""
    if len(src_t) == 1:
        return np.repeat(values[:1], len(dst_t), axis=0).astype(np.float32)
    position = np.clip(np.searchsorted(src_t, dst_t, side="right") - 1, 0, len(src_t) - 2)
    weight = np.clip((dst_t - src_t[position]) / (src_t[position + 1] - src_t[position]), 0.0, 1.0)
    weight = weight.reshape((-1,) + (1,) * (values.ndim - 1))
    out = values[position] * (1.0 - weight) + values[position + 1] * weight
    return out.astype(np.float32)


def _resampled_chunks(meshes: ChunkedMeshes, src_t: np.ndarray, dst_t: np.ndarray) -> ChunkedMeshes:
    """`_interp_rows` of chunked meshes, itself chunked: each output chunk reads only the source frames it needs."""

    def make(start: int, stop: int) -> np.ndarray:
        if len(src_t) == 1:
            return np.repeat(meshes[0][None], stop - start, axis=0)
        position = np.clip(np.searchsorted(src_t, dst_t[start:stop], side="right") - 1, 0, len(src_t) - 2)
        first, last = int(position.min()), int(position.max()) + 2
        rows = np.stack([meshes[i] for i in range(first, last)])
        return _interp_rows(rows, src_t[first:last], dst_t[start:stop])

    return ChunkedMeshes(len(dst_t), make)
