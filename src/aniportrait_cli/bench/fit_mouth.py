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
from pathlib import Path

import numpy as np

from aniportrait_cli.classic import mouth_model
from aniportrait_cli.sync_check import pearson, video_mouth_track

DEFAULT_CLIPS = Path("../shared/media/real_talk")


def clip_names(folder: Path) -> list[str]:
    """Clips that have both their video and their sound."""
    return sorted(p.stem for p in folder.glob("*.mp4") if p.with_suffix(".wav").exists())


def training_data(folder: Path, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(design rows, real mouth opening) for the frames of one clip where the face was found."""
    from aniportrait_cli.media.audio import load_audio

    opening, found, fps = video_mouth_track(folder / f"{name}.mp4")
    steps = mouth_model.speech_steps(load_audio(folder / f"{name}.wav").samples)
    times = (np.arange(len(opening)) + 0.5) / fps
    inside = times < len(steps.features) * mouth_model.STEP / mouth_model.SAMPLE_RATE
    keep = found & inside
    return mouth_model.design_matrix(steps.features, times[keep]), opening[keep]


def leave_one_out(data: dict[str, tuple[np.ndarray, np.ndarray]], alpha: float) -> dict[str, float]:
    scores = {}
    for name in data:
        others = [data[other] for other in data if other != name]
        model = mouth_model.fit([d for d, _ in others], [t for _, t in others], alpha)
        scores[name] = pearson(model.predict(data[name][0]), data[name][1])
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aniportrait_cli.bench.fit_mouth", description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=DEFAULT_CLIPS, help="folder of NAME.mp4 + NAME.wav real clips")
    parser.add_argument("--alpha", type=float, default=1000.0, help="ridge strength (default 1000)")
    parser.add_argument("--write", action="store_true", help=f"save the model fitted on all clips to {mouth_model.MODEL_PATH}")
    args = parser.parse_args(argv)
    names = clip_names(args.clips)
    if len(names) < 2:
        print(f"error: {args.clips}: needs at least two NAME.mp4 + NAME.wav clips", file=sys.stderr)
        return 2
    data = {name: training_data(args.clips, name) for name in names}
    scores = leave_one_out(data, args.alpha)
    print(f"{'clip':<16}{'frames':>8}{'r (left out)':>14}")
    for name, score in scores.items():
        print(f"{name:<16}{len(data[name][1]):>8}{score:>14.3f}")
    values = np.array(list(scores.values()))
    print(f"{'mean':<16}{'':>8}{values.mean():>14.3f}   (min {values.min():.3f})")
    if args.write:
        model = mouth_model.fit([d for d, _ in data.values()], [t for _, t in data.values()], args.alpha)
        model.save(mouth_model.MODEL_PATH)
        print(f"wrote {mouth_model.MODEL_PATH} (fitted on {len(names)} clips)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
