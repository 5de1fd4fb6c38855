"""Fit the classic engine's mouth model on real talking heads:
`python -m aniportrait_cli.bench.fit_mouth [--clips DIR] [--write]`.

For every `NAME.mp4` + `NAME.wav` in the folder (default `../shared/media/real_talk`), the real mouth opening is
measured with MediaPipe (`sync_check.video_mouth_track`) and the model's inputs are computed from the sound.
Prints the leave-one-clip-out correlation per clip (the estimate for unseen speakers), then fits on all clips
and, with --write, replaces `classic/mouth_model.npz`.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aniportrait_cli.classic import mouth_model
from aniportrait_cli.sync_check import pearson, sync_report_for_audio, video_mouth_track

SHIFT_S = 0.5
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
    features: np.ndarray

    def training_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(design rows, real mouth opening) for the frames where the face was found."""
        times = (np.arange(len(self.opening)) + 0.5) / self.fps
        keep = self.found & (times < len(self.features) * mouth_model.STEP / mouth_model.SAMPLE_RATE)
        return mouth_model.design_matrix(self.features, times[keep]), self.opening[keep]


def load_clip(folder: Path, name: str) -> Clip:
    from aniportrait_cli.media.audio import load_audio

    opening, found, fps = video_mouth_track(folder / f"{name}.mp4")
    samples = load_audio(folder / f"{name}.wav").samples
    return Clip(opening, found, fps, samples, mouth_model.speech_steps(samples).features)


def fit_on(clips: list[Clip], alpha: float) -> mouth_model.MouthModel:
    rows = [clip.training_rows() for clip in clips]
    return mouth_model.fit([d for d, _ in rows], [t for _, t in rows], alpha)


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
        design, target = clip.training_rows()
        sounds = {"own": clip.samples, **negatives(clip.samples, clips[names[(index + 1) % len(names)]].samples)}
        reports = {kind: sync_report_for_audio(clip.opening, clip.found, clip.fps, sound, model)
                   for kind, sound in sounds.items()}
        results[name] = {"r": pearson(model.predict(design), target), "frames": len(target), "reports": reports}
    return results


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
    print("leave one clip out: r = correlation of the predicted with the real mouth; check-sync confidence/offset "
          "(frames) for the clip's own sound and its negatives")
    kinds = ("own", "delayed", "advanced", "swapped")
    print(f"{'clip':<14}{'frames':>7}{'r':>7}  " + "".join(f"{kind:>16}" for kind in kinds))
    for name, result in results.items():
        cells = "".join(f"{result['reports'][k].confidence:>10.2f} {result['reports'][k].offset_frames:>+4d} " for k in kinds)
        print(f"{name:<14}{result['frames']:>7}{result['r']:>7.3f}  {cells}")
    values = np.array([result["r"] for result in results.values()])
    print(f"mean r {values.mean():.3f} (min {values.min():.3f})")
    if args.write:
        fit_on(list(clips.values()), args.alpha).save(mouth_model.MODEL_PATH)
        print(f"wrote {mouth_model.MODEL_PATH} (fitted on {len(names)} clips)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
