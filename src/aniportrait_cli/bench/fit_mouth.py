"""Fit the classic engine's mouth model on real talking heads:
`python -m aniportrait_cli.bench.fit_mouth [--clips DIR] [--write]`.

For every `NAME.mp4` + `NAME.wav` in the folder (default `../shared/media/real_talk`), the real mouth opening is
measured with MediaPipe (`sync_check.video_mouth_track`) and the model's inputs are computed from the sound.

Real clips are rarely perfectly in sync: their audio-video offsets (a frame or three, either way) differ from
clip to clip, and a model fitted across them learns a blurred timing. So each clip's offset is measured first,
with a model fitted on the *other* clips (its best lag within +-5 frames; repeated until the offsets settle),
and every clip is fitted at its offset. The prediction then has the timing of the typical clip.

Prints the leave-one-clip-out correlation per clip (the estimate for unseen speakers: the held-out clip is
neither fitted nor used to measure the other clips' offsets), then fits on all clips and, with --write, replaces
`classic/mouth_model.npz`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from aniportrait_cli.classic import mouth_model
from aniportrait_cli.sync_check import offset_correlations, pearson, sync_report_for_audio, video_mouth_track

SHIFT_S = 0.5
MAX_CLIP_OFFSET_FRAMES = 5
PIECE_S, PIECE_HOP_S = 4.0, 2.0
DEFAULT_ALPHA = 1000.0
DEFAULT_CLIPS = Path("../shared/media/real_talk")


def clip_names(folder: Path) -> list[str]:
    """Clips that have both their video and their sound."""
    return sorted(p.stem for p in folder.glob("*.mp4") if p.with_suffix(".wav").exists())


@dataclass
class Clip:
    """A real clip: its measured mouth, its sound and the model inputs of that sound."""

    opening: np.ndarray
    found: np.ndarray
    fps: float
    samples: np.ndarray
    steps: mouth_model.SpeechSteps

    @property
    def features(self) -> np.ndarray:
        return self.steps.features

    def sound_times(self, offset_frames: int = 0) -> np.ndarray:
        """Per video frame, the moment of the sound its mouth goes with (offset > 0: the mouth is late)."""
        return (np.arange(len(self.opening)) + 0.5 - offset_frames) / self.fps

    def rows_kept(self, offset_frames: int = 0) -> np.ndarray:
        times = self.sound_times(offset_frames)
        return self.found & (times >= 0.0) & (times < len(self.features) * mouth_model.STEP_S)

    def training_rows(self, offset_frames: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """(design rows, real mouth opening) for the frames where the face was found."""
        keep = self.rows_kept(offset_frames)
        return mouth_model.design_matrix(self.features, self.sound_times(offset_frames)[keep]), self.opening[keep]

    def predict(self, model: mouth_model.MouthModel, offset_frames: int = 0) -> np.ndarray:
        """The model's (smoothed) mouth for every video frame."""
        return model.predict_at(self.features, self.sound_times(offset_frames))

    def engine_mouth(self, model: mouth_model.MouthModel) -> np.ndarray:
        """The classic engine's lip gap for every video frame (the model plus its rules: closures, rests)."""
        from aniportrait_cli.classic.audio_motion import mouth_track
        from aniportrait_cli.classic.speech import speech_features

        return mouth_track(speech_features(self.samples, self.fps, len(self.opening)), self.steps, model=model)[0]

    def offset(self, model: mouth_model.MouthModel) -> int:
        """The audio-video offset (frames, > 0: mouth late) at which the model's mouth matches the real one best."""
        correlations = offset_correlations(self.opening, self.found, self.predict(model), MAX_CLIP_OFFSET_FRAMES)
        return int(np.argmax(correlations)) - MAX_CLIP_OFFSET_FRAMES


def load_clip(folder: Path, name: str) -> Clip:
    from aniportrait_cli.media.audio import load_audio

    opening, found, fps = video_mouth_track(folder / f"{name}.mp4")
    samples = load_audio(folder / f"{name}.wav").samples
    return Clip(opening, found, fps, samples, mouth_model.speech_steps(samples))


def fit_at(clips: list[Clip], offsets: list[int], alpha: float) -> mouth_model.MouthModel:
    """Ridge fit with each clip at its offset; the gain makes the smoothed prediction's std 1 on these clips."""
    rows = [clip.training_rows(offset) for clip, offset in zip(clips, offsets)]
    model = mouth_model.fit([d for d, _ in rows], [t for _, t in rows], alpha)
    smoothed = np.concatenate([clip.predict(model, offset)[clip.rows_kept(offset)] for clip, offset in zip(clips, offsets)])
    return replace(model, gain=model.gain / max(float(smoothed.std()), 1e-9))


def clip_offsets(clips: list[Clip], alpha: float, rounds: int = 5) -> list[int]:
    """Each clip's audio-video offset (0 for a lone clip).

    One clip at a time, its offset is measured with a model fitted on the other clips at their current offsets
    (Gauss-Seidel: later clips see the earlier ones' new offsets), until nothing changes. Only offsets between
    clips can be measured so; they are centred on their mean, which gives the model the timing of the
    typical clip (that of the sound itself, if the clips are off at random)."""
    offsets = [0] * len(clips)
    if len(clips) < 2:
        return offsets
    for _ in range(rounds):
        before = list(offsets)
        for index, clip in enumerate(clips):
            others = [other for position, other in enumerate(clips) if position != index]
            their_offsets = [offset for position, offset in enumerate(offsets) if position != index]
            offsets[index] = clip.offset(fit_at(others, their_offsets, alpha))
        if offsets == before:
            break
    centre = int(np.round(np.mean(offsets)))
    return [offset - centre for offset in offsets]


def fit_on(clips: list[Clip], alpha: float) -> mouth_model.MouthModel:
    """The mouth model for these clips, each fitted at its own measured offset."""
    return fit_at(clips, clip_offsets(clips, alpha), alpha)


def negatives(samples: np.ndarray, other: np.ndarray) -> dict[str, np.ndarray]:
    """The sound delayed and advanced by SHIFT_S, and another clip's sound at the same length."""
    return {"delayed": shifted(samples, SHIFT_S), "advanced": shifted(samples, -SHIFT_S),
            "swapped": np.resize(other, len(samples)).astype(np.float32)}


def shifted(samples: np.ndarray, seconds: float) -> np.ndarray:
    """The sound delayed (> 0) or advanced (< 0) by `seconds`, same length, silence where nothing is left."""
    shift = int(round(abs(seconds) * mouth_model.SAMPLE_RATE))
    pad = np.zeros(shift, np.float32)
    moved = np.concatenate([pad, samples])[: len(samples)] if seconds > 0 else np.concatenate([samples[shift:], pad])
    return moved.astype(np.float32)


def leave_one_out(clips: dict[str, Clip], alpha: float) -> dict[str, dict]:
    """Per clip, with a model fitted on the other clips: r with the real mouth, and the check-sync reports for
    the clip's own sound and its negatives."""
    names = list(clips)
    results = {}
    for index, name in enumerate(names):
        clip = clips[name]
        model = fit_on([clips[other] for other in names if other != name], alpha)
        other = clips[names[(index + 1) % len(names)]].samples
        sounds = {"own": clip.samples, **negatives(clip.samples, other)}
        reports = {kind: sync_report_for_audio(clip.opening, clip.found, clip.fps, sound, model)
                   for kind, sound in sounds.items()}
        keep = clip.rows_kept()
        results[name] = {"r": pearson(clip.predict(model)[keep], clip.opening[keep]), "frames": int(keep.sum()),
                         "engine_r": pearson(clip.engine_mouth(model)[keep], clip.opening[keep]), "reports": reports,
                         "pieces": piece_reports(clip, other, model)}
    return results


def piece_reports(clip: Clip, other: np.ndarray, model: mouth_model.MouthModel) -> list[dict[str, object]]:
    """check-sync reports on PIECE_S pieces of the clip (every PIECE_HOP_S), with their own sound and negatives:
    more real in-sync cases than there are clips, each as short as a typical shot."""
    rate = mouth_model.SAMPLE_RATE
    pieces = []
    start = 0.0
    while start + PIECE_S <= len(clip.opening) / clip.fps + 1e-9:
        first, count = int(round(start * clip.fps)), int(round(PIECE_S * clip.fps))
        sound = clip.samples[int(start * rate): int((start + PIECE_S) * rate)]
        other_piece = np.resize(np.roll(other, -int(start * rate)), len(sound))
        video = clip.opening[first: first + count], clip.found[first: first + count], clip.fps
        pieces.append({kind: sync_report_for_audio(*video, audio, model)
                       for kind, audio in {"own": sound, **negatives(sound, other_piece)}.items()})
        start += PIECE_HOP_S
    return pieces


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aniportrait_cli.bench.fit_mouth", description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=DEFAULT_CLIPS, help="folder of NAME.mp4 + NAME.wav real clips")
    parser.add_argument("--alpha", type=float, default=DEFAULT_ALPHA, help="ridge strength (default 1000)")
    parser.add_argument("--write", action="store_true", help=f"save the model fitted on all clips to {mouth_model.MODEL_PATH}")
    args = parser.parse_args(argv)
    names = clip_names(args.clips)
    if len(names) < 2:
        print(f"error: {args.clips}: needs at least two NAME.mp4 + NAME.wav clips", file=sys.stderr)
        return 2
    clips = {name: load_clip(args.clips, name) for name in names}
    results = leave_one_out(clips, args.alpha)
    print("leave one clip out: r = correlation of the model's prediction with the real mouth, engine r = of the "
          "classic engine's lip gap (model + rules); check-sync confidence/offset (frames) for the clip's own sound "
          "and its negatives")
    kinds = ("own", "delayed", "advanced", "swapped")
    print(f"{'clip':<14}{'frames':>7}{'r':>7}{'engine r':>9}  " + "".join(f"{kind:>16}" for kind in kinds))
    for name, result in results.items():
        cells = "".join(f"{result['reports'][k].confidence:>10.2f} {result['reports'][k].offset_frames:>+4d} " for k in kinds)
        print(f"{name:<14}{result['frames']:>7}{result['r']:>7.3f}{result['engine_r']:>9.3f}  {cells}")
    values = np.array([result["r"] for result in results.values()])
    engine = np.array([result["engine_r"] for result in results.values()])
    print(f"mean r {values.mean():.3f} (min {values.min():.3f}); engine mean r {engine.mean():.3f} (min {engine.min():.3f})")
    pieces = [piece for result in results.values() for piece in result["pieces"]]
    synced = sum(piece["own"].passed for piece in pieces)
    flagged = sum(not piece[kind].passed for piece in pieces for kind in kinds[1:])
    print(f"check-sync on {PIECE_S:g} s pieces (every {PIECE_HOP_S:g} s, model without the piece's clip): "
          f"{synced}/{len(pieces)} real pieces lip-synced, {flagged}/{3 * len(pieces)} shifted/swapped flagged")
    if args.write:
        offsets = clip_offsets(list(clips.values()), args.alpha)
        fit_at(list(clips.values()), offsets, args.alpha).save(mouth_model.MODEL_PATH)
        print(f"wrote {mouth_model.MODEL_PATH} (fitted on {len(names)} clips at offsets "
              + ", ".join(f"{name} {offset:+d}" for name, offset in zip(names, offsets)) + " frames)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
