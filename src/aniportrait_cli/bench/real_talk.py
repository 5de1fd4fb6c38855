"""Lip motion against real speakers: `python -m aniportrait_cli.bench.real_talk [--clips DIR] [--keep DIR]`.

For every clip in the folder (default `../shared/media/real_talk`: `NAME.mp4` a real person speaking, `NAME.wav`
its sound, `NAME_ref.png` a frame of that person from outside the clip) the classic engine renders `NAME.wav`
onto `NAME_ref.png` (`aniportrait audio2vid --engine classic`, as a user would), and the table gives:

* r0, lag, std: the generated mouth against the real speaker's (`check-sync GEN --against NAME.mp4`): correlation
  at lag 0, best lag within +-5 frames, std ratio generated / real;
* sil.motion, sil.open: the generated mouth in silences of 0.3 s or more (`sync_check.silent_frames`): std of its
  opening there / its 5-95 % range in speech, and its median opening there on the same scale (0 = as closed as
  it ever gets);
* check-sync verdicts ("sync" or "NOT", with the offset in ms) on the real clip with its own sound, with the
  sound delayed and advanced by 0.5 s, with the next clip's sound; and on the generated video.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from aniportrait_cli.bench.fit_mouth import DEFAULT_ALPHA, DEFAULT_CLIPS, clip_names, fit_on, load_clip, negatives
from aniportrait_cli.classic import mouth_model
from aniportrait_cli.sync_check import (
    compare_with_real,
    silence_figures,
    silent_frames,
    sync_report_for_audio,
    video_mouth_track,
)



def render(ref: Path, audio: Path, output: Path, model_path: Path | None = None) -> None:
    """The classic engine's video, through the command line (default options), with another mouth model if given."""
    command = [sys.executable, "-m", "aniportrait_cli", "audio2vid", "--ref", str(ref), "--audio", str(audio),
               "--engine", "classic", "-o", str(output), "--overwrite", "--quiet"]
    env = dict(os.environ)
    if model_path is not None:
        env[mouth_model.MODEL_ENV] = str(model_path)
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise RuntimeError(f"rendering {audio.name} failed: {result.stderr.strip()}")


def verdict(opening, found, fps, samples, model=None) -> str:
    report = sync_report_for_audio(opening, found, fps, samples, model)
    return f"{'sync' if report.passed else 'NOT'} {report.offset_ms:+.0f}ms c{report.confidence:.2f}"


def held_out_models(folder: Path, names: list[str], out_dir: Path) -> dict[str, Path]:
    """Per clip, a mouth model fitted on the other clips (saved in `out_dir`)."""
    clips = {name: load_clip(folder, name) for name in names}
    paths = {}
    for name in names:
        paths[name] = out_dir / f"mouth_model_without_{name}.npz"
        fit_on([clips[other] for other in names if other != name], DEFAULT_ALPHA).save(paths[name])
    return paths


def run(folder: Path, keep: Path | None, leave_one_out: bool = False) -> list[dict]:
    from aniportrait_cli.media.audio import load_audio

    names = clip_names(folder)
    sounds = {name: load_audio(folder / f"{name}.wav").samples for name in names}
    rows = []
    with tempfile.TemporaryDirectory(prefix="aniportrait-real-talk-") as tmp:
        out_dir = keep or Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        model_paths = held_out_models(folder, names, out_dir) if leave_one_out else {}
        for index, name in enumerate(names):
            model_path = model_paths.get(name)
            model = mouth_model.MouthModel.load(model_path) if model_path else None
            generated_path = out_dir / f"{name}__classic.mp4"
            start = time.perf_counter()
            render(folder / f"{name}_ref.png", folder / f"{name}.wav", generated_path, model_path)
            render_s = time.perf_counter() - start
            real = video_mouth_track(folder / f"{name}.mp4")
            generated = video_mouth_track(generated_path)
            comparison = compare_with_real(*generated, *real)
            samples = sounds[name]
            negative = negatives(samples, sounds[names[(index + 1) % len(names)]])
            gen_opening, gen_found, gen_fps = generated
            silence = silent_frames(samples, gen_fps, len(gen_opening))
            motion, still_opening, _ = silence_figures(gen_opening, gen_found, silence)
            rows.append({
                "clip": name, "r0": comparison.correlation_lag0, "lag": comparison.best_lag_frames,
                "std": comparison.std_ratio, "sil_motion": motion, "sil_open": still_opening,
                "sil_frames": int(silence.sum()), "render_s": render_s,
                "real": verdict(*real, samples, model=model),
                **{kind: verdict(*real, sound, model=model) for kind, sound in negative.items()},
                "generated": verdict(*generated, samples, model=model),
            })
            print_row(rows[-1])
    return rows


HEADER = (f"{'clip':<13}{'r0':>6}{'lag':>5}{'std':>6}{'sil.motion':>11}{'sil.open':>9}  "
          f"{'real clip':<22}{'delayed 0.5s':<22}{'advanced 0.5s':<22}{'swapped audio':<22}{'generated':<22}")


def print_row(row: dict) -> None:
    print(f"{row['clip']:<13}{row['r0']:>6.2f}{row['lag']:>+5d}{row['std']:>6.2f}{row['sil_motion']:>11.3f}"
          f"{row['sil_open']:>9.3f}  {row['real']:<22}{row['delayed']:<22}{row['advanced']:<22}{row['swapped']:<22}"
          f"{row['generated']:<22}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aniportrait_cli.bench.real_talk", description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=Path, default=DEFAULT_CLIPS, help="folder of NAME.mp4, NAME.wav, NAME_ref.png")
    parser.add_argument("--keep", type=Path, help="keep the generated videos in this folder")
    parser.add_argument("--leave-one-out", action="store_true",
                        help="render and check each clip with a mouth model fitted on the other clips only (the "
                             "estimate for unseen speakers; the shipped model has seen these clips)")
    args = parser.parse_args(argv)
    if not clip_names(args.clips):
        print(f"error: {args.clips}: no NAME.mp4 + NAME.wav clips there; pass --clips DIR", file=sys.stderr)
        return 2
    print(HEADER)
    rows = run(args.clips, args.keep, args.leave_one_out)
    r0 = np.array([row["r0"] for row in rows])
    real_ok = sum(row["real"].startswith("sync") for row in rows)
    flagged_cells = [row[key] for row in rows for key in ("delayed", "advanced", "swapped")]
    print(f"mean r0 {r0.mean():.2f} (min {r0.min():.2f}); check-sync: {real_ok}/{len(rows)} real clips lip-synced, "
          f"{sum(v.startswith('NOT') for v in flagged_cells)}/{len(flagged_cells)} shifted/swapped flagged")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
