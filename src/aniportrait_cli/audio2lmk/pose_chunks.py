"""How audio2pose covers a clip: the original's 5 s pieces (compat) or overlapping, cross-faded chunks (default).

The decoder emits one pose per frame autoregressively from a fixed start token, so the original runs it on 5 s
pieces and concatenates them; each piece restarts from the start token, which makes the head jump at every
boundary. Default mode instead decodes chunks of `CHUNK_FRAMES` that overlap by at least `MIN_OVERLAP` frames and
cross-fades each overlap linearly, so the track is continuous. Why this and not conditioning a chunk on the
previous chunk's tail:
* every chunk is decoded exactly the way the model is used in the original (fresh start token, positions 0..149),
  so nothing asks the model for positions or histories it never saw;
* a new chunk's first frames (still settling from the start token) get the smallest cross-fade weights;
* the chunks are independent, so they are decoded together in one batch: a 10-minute clip costs about as many
  sequential decoder steps as a few chunks, and memory stays bounded by `DECODE_BATCH` chunks.
Clips up to `SINGLE_CHUNK_MAX_FRAMES` (10 s) are decoded as a single sequence in both modes, which is what the
original does for them (its last two pieces are merged), so short clips match the original exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from aniportrait_cli.audio2lmk.features import plan_windows
from aniportrait_cli.audio2lmk.models import Audio2PoseModel

# The original's pieces: 80000 samples = 5 s = 150 frames at 30 fps.
PIECE_SAMPLES = 80000
PIECE_FRAMES = 150

CHUNK_FRAMES = 150
MIN_OVERLAP = 30
SINGLE_CHUNK_MAX_FRAMES = 300
DECODE_BATCH = 32


@dataclass(frozen=True)
class Piece:
    """A span of the clip decoded as one sequence: samples [sample_start, sample_stop), frames [start, stop)."""

    sample_start: int
    sample_stop: int
    start: int
    stop: int

    @property
    def num_frames(self) -> int:
        return self.stop - self.start


def compat_pieces(num_samples: int, num_frames: int) -> list[Piece]:
    """The original script's pieces: 5 s / 150 frames each, the remainder merged into the second-to-last piece.

    Two crashes of the original are fixed without changing any other split: a clip of at most 5 s is one piece
    (the original finds no piece to merge into), and when the frame count is a multiple of 150 the last piece gets
    its 150 frames (the original's `seq_len % 150` gives it 0).
    """
    count = max(1, -(-num_samples // PIECE_SAMPLES))
    pieces = [
        Piece(i * PIECE_SAMPLES, min(num_samples, (i + 1) * PIECE_SAMPLES), i * PIECE_FRAMES, (i + 1) * PIECE_FRAMES)
        for i in range(count)
    ]
    last = pieces[-1]
    pieces[-1] = Piece(last.sample_start, last.sample_stop, last.start, num_frames)
    if count >= 2:
        before = pieces[-2]
        pieces[-2:] = [Piece(before.sample_start, num_samples, before.start, num_frames)]
    return pieces


def continuity_chunks(num_frames: int) -> list[tuple[int, int]]:
    """(start, stop) frame spans of the default mode: one span up to 10 s, else overlapping 150-frame chunks."""
    if num_frames <= SINGLE_CHUNK_MAX_FRAMES:
        return [(0, num_frames)]
    return [(s, s + CHUNK_FRAMES) for s in plan_windows(num_frames, CHUNK_FRAMES, MIN_OVERLAP)]


def decode(
    model: Audio2PoseModel,
    memories: list[torch.Tensor],
    pose_style: int,
    batch_size: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> list[torch.Tensor]:
    """Decode independent sequences (each (L_i, latent) memory) -> list of (L_i, 6) raw poses.

    Sequences are batched up to `batch_size`, shorter ones zero-padded: the causal masks keep padding from
    influencing real frames.
    """
    batch_size = batch_size or DECODE_BATCH
    order = sorted(range(len(memories)), key=lambda i: memories[i].shape[0])
    results: list[torch.Tensor | None] = [None] * len(memories)
    for first in range(0, len(order), batch_size):
        group = order[first : first + batch_size]
        length = max(memories[i].shape[0] for i in group)
        batch = memories[group[0]].new_zeros(len(group), length, memories[group[0]].shape[1])
        for row, i in enumerate(group):
            batch[row, : memories[i].shape[0]] = memories[i]
        lengths = [memories[i].shape[0] for i in group]

        def on_step(step: int, _total: int, lengths=lengths) -> None:
            if progress is not None:
                progress(sum(1 for n in lengths if n >= step))

        styles = torch.full((len(group),), pose_style, dtype=torch.long)
        poses = model.generate(batch, styles, step_callback=on_step)
        for row, i in enumerate(group):
            results[i] = poses[row, : memories[i].shape[0]]
    return results
