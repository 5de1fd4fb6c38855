"""End-to-end time of the hybrid engine, stage by stage:
`python -m aniportrait_cli.bench.hybrid --weights-dir DIR [--audio speech.wav] [--image face.png] [--threads 2] [--fast]`

DIR holds `audio2mesh.pt` / `audio2pose.pt` (the released files, or full-size random ones written by
`python -m aniportrait_cli.bench.audio2lmk --write-checkpoints DIR`: speed does not depend on the values).
Runs the same job code as `aniportrait audio2vid --engine hybrid` and prints wall and CPU time of: loading the
checkpoints, the reference face, audio -> learned motion, and motion -> warped frames -> H.264 + AAC, with the
1-minute load average (other processes on the machine inflate wall time).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import torch

from aniportrait_cli.bench.classic import bench_audio, bench_image
from aniportrait_cli.cli.report import Reporter
from aniportrait_cli.jobs.common import fit_motion, load_reference
from aniportrait_cli.jobs.engines import EngineChoice
from aniportrait_cli.jobs.model_cache import ModelCache
from aniportrait_cli.jobs.options import Engine, RenderOptions
from aniportrait_cli.jobs.rendering import audio_motion_source, render_motion
from aniportrait_cli.media import load_audio
from aniportrait_cli.media.image import save_image


class Stopwatch:
    def __init__(self) -> None:
        self.parts: dict[str, dict[str, float]] = {}

    def measure(self, name: str, work):
        wall, cpu = time.perf_counter(), time.process_time()
        result = work()
        self.parts[name] = {"wall_s": round(time.perf_counter() - wall, 2), "cpu_s": round(time.process_time() - cpu, 2)}
        return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m aniportrait_cli.bench.hybrid", description=__doc__.split("\n")[0])
    parser.add_argument("--weights-dir", required=True, type=Path)
    parser.add_argument("--seconds", type=float, default=30.0, help="audio length when --audio is not given")
    parser.add_argument("--audio", help="speech file (default: espeak-ng speech, else a synthetic voice)")
    parser.add_argument("--image", help="reference portrait (default: scikit-image's astronaut)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fast", action="store_true", help="bfloat16 learned motion (where the CPU has it)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    reporter = Reporter(quiet=True)
    options = RenderOptions(engine=Engine.hybrid, weights_dir=args.weights_dir, size=args.size, fast=args.fast)
    choice = EngineChoice(Engine.hybrid, "cpu", "")
    models, watch = ModelCache(), Stopwatch()
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        audio_path = bench_audio(args.seconds, workdir, args.audio)
        image_path = workdir / "face.png"
        save_image(image_path, bench_image(args.size, args.image))
        clip = load_audio(audio_path)
        total = time.perf_counter()
        source = watch.measure("load checkpoints", lambda: audio_motion_source(choice, options, models, reporter))
        reference = watch.measure("reference face", lambda: load_reference(image_path, args.size, reporter))
        motion = watch.measure("audio -> motion", lambda: source.from_audio(reference.face, clip))
        motion = fit_motion(motion, options.fps, clip.num_frames(options.fps))
        watch.measure("warp + encode", lambda: render_motion(reference, motion, workdir / "out.mp4", clip.source, choice,
                                                             options, models, reporter))
        total_s = time.perf_counter() - total
    seconds = clip.duration_s
    compute_s = sum(watch.parts[k]["wall_s"] for k in ("reference face", "audio -> motion", "warp + encode"))
    results = {
        "seconds_audio": round(seconds, 2), "size": args.size, "threads": args.threads, "fast": args.fast,
        "parts": watch.parts, "total_wall_s": round(total_s, 2),
        "realtime_factor": round(seconds / total_s, 2),
        "realtime_factor_without_loading": round(seconds / compute_s, 2),
        "load_average_1min": round(load_before, 2),
    }
    print(f"hybrid: {seconds:.1f} s of audio at {args.size}x{args.size}, {args.threads} threads"
          f"{', --fast' if args.fast else ''}; 1-min load average {load_before:.2f}")
    for name, part in watch.parts.items():
        print(f"  {name:18} wall {part['wall_s']:6.2f} s  CPU {part['cpu_s']:6.2f} s")
    print(f"  total {total_s:.2f} s -> {results['realtime_factor']:.2f}x real time "
          f"({results['realtime_factor_without_loading']:.2f}x once the checkpoints are loaded)")
    if args.json:
        print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
