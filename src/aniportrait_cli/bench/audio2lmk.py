"""Speed and memory of the audio -> mesh offsets + head pose stage (audio2lmk) on CPU.

`python -m aniportrait_cli.bench.audio2lmk [--seconds 30] [--threads 2] [--tiny] [--compat] [--shared-conv]`

Builds the full-size models (wav2vec2-base backbones + released heads) with seeded random weights (no
downloads; speed does not depend on the values), runs mesh + pose on synthetic speech-like audio after a short
untimed warm-up, and prints the real-time factor (audio seconds per wall second), per-part timings and the
peak resident memory. `--shared-conv` gives both models the same conv front end, as when both were fine-tuned
with the wav2vec2 feature encoder frozen; the pipeline then computes it once. `--tiny` uses the test-size models.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np
import torch

from aniportrait_cli.audio2lmk.configs import MESH_CONFIG, POSE_CONFIG, TINY_MESH_CONFIG, TINY_POSE_CONFIG
from aniportrait_cli.audio2lmk.features import SAMPLE_RATE
from aniportrait_cli.audio2lmk.pipeline import Audio2LmkPipeline

WARMUP_SECONDS = 3.0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m aniportrait_cli.bench.audio2lmk", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the synthetic clip")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads for torch")
    parser.add_argument("--tiny", action="store_true", help="test-size models (a smoke test in seconds)")
    parser.add_argument("--compat", action="store_true", help="the original's 5 s pose pieces")
    parser.add_argument("--shared-conv", action="store_true", help="both models share one conv front end")
    parser.add_argument("--pose-style", type=int, default=0)
    parser.add_argument("--no-warmup", action="store_true")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    return parser.parse_args(argv)


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Harmonic voice-like tone with a syllable-rate envelope and some noise, at 16 kHz."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = 140 + 30 * np.sin(2 * np.pi * 0.5 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    voice = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = np.clip(np.sin(2 * np.pi * 3.5 * t), 0, None)
    return (0.2 * envelope * voice + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def _rss_gib(field: str) -> float | None:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 2**20
    except OSError:
        return None
    return None


def _reset_peak_rss() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    mesh_config, pose_config = (TINY_MESH_CONFIG, TINY_POSE_CONFIG) if args.tiny else (MESH_CONFIG, POSE_CONFIG)
    start = time.perf_counter()
    pipe = Audio2LmkPipeline.from_config(mesh_config, pose_config, seed=0)
    if args.shared_conv:
        conv = pipe.mesh_model.audio_encoder.feature_extractor.state_dict()
        pipe.pose_model.audio_encoder.feature_extractor.load_state_dict(conv)
        pipe = Audio2LmkPipeline(pipe.mesh_model, pipe.pose_model)
    build_s = time.perf_counter() - start
    weights_gib = (
        sum(t.numel() * t.element_size() for m in (pipe.mesh_model, pipe.pose_model) for t in m.state_dict().values())
        / 2**30
    )

    if not args.no_warmup:
        pipe.predict(speech_like(min(WARMUP_SECONDS, args.seconds), seed=1), args.pose_style, compat=args.compat)
    samples = speech_like(args.seconds)
    peak_reset = _reset_peak_rss()
    rss_before = _rss_gib("VmRSS")
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    out = pipe.predict(samples, args.pose_style, compat=args.compat)
    wall_s = time.perf_counter() - start
    peak = _rss_gib("VmHWM") if peak_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    results = {
        "seconds_audio": args.seconds,
        "frames": int(out.head_pose.shape[0]),
        "models": "tiny" if args.tiny else "full-size",
        "threads": args.threads,
        "compat": args.compat,
        "shared_conv": pipe.shares_conv_features,
        "wall_s": round(wall_s, 3),
        "realtime_factor": round(args.seconds / wall_s, 2),
        "parts_s": {k: round(v, 3) for k, v in pipe.last_timings.items()},
        "peak_rss_gib": round(peak, 3) if peak is not None else None,
        "rss_before_run_gib": round(rss_before, 3) if rss_before is not None else None,
        "weights_gib": round(weights_gib, 3),
        "build_s": round(build_s, 2),
        "load_average_1min": round(load_before, 2),
    }
    print(
        f"audio2lmk: {args.seconds:g} s of audio ({results['frames']} frames), {results['models']} random weights, "
        f"{args.threads} threads{', compat' if args.compat else ''}{', shared conv' if pipe.shares_conv_features else ''}"
    )
    print(f"  wall {wall_s:.2f} s -> {results['realtime_factor']:.2f}x real time")
    print("  parts: " + ", ".join(f"{k} {v:.2f} s" for k, v in results["parts_s"].items()))
    print(
        f"  peak RSS {results['peak_rss_gib']} GiB (weights {results['weights_gib']} GiB, "
        f"RSS before the run {results['rss_before_run_gib']} GiB); 1-min load average {results['load_average_1min']}"
    )
    if args.json:
        print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
