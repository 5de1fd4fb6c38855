"""Speed and memory of the audio -> mesh offsets + head pose stage (audio2lmk) on CPU.

`python -m aniportrait_cli.bench.audio2lmk [--seconds 30] [--threads 2] [--tiny | --kit DIR] [--compat]
 [--shared-conv | --shared-backbone] [--precision fp32|bf16|int8 [--compare]]`

Builds the full-size models (wav2vec2-base backbones + released heads) with seeded random weights (no
downloads; speed does not depend on the values), runs mesh + pose on synthetic speech-like audio after a short
untimed warm-up, and prints the real-time factor (audio seconds per wall second), per-part timings and the
peak resident memory. `--shared-conv` gives both models the same conv front end, as when both were fine-tuned
with the wav2vec2 feature encoder frozen; the pipeline then computes it once (`--shared-backbone`: the whole
wav2vec2). `--tiny` uses the test-size models; `--kit DIR` the conformance kit's tiny weights (cases 01 and 02) on
case 09's 6.5 s speech clip. `--precision` runs the faster numerics; with `--compare` the same clip also runs in
fp32 and the max / mean absolute error of the mesh offsets and head pose against it are printed.
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
from aniportrait_cli.audio2lmk.models import Audio2MeshModel, Audio2PoseModel
from aniportrait_cli.audio2lmk.pipeline import Audio2LmkPipeline
from aniportrait_cli.audio2lmk.precision import PRECISIONS

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
    parser.add_argument("--shared-backbone", action="store_true", help="both models share the whole wav2vec2")
    parser.add_argument("--kit", type=str, default=None, help="conformance kit folder: its tiny weights and clip")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32")
    parser.add_argument("--compare", action="store_true", help="also run fp32 and print the errors against it")
    parser.add_argument("--write-checkpoints", metavar="DIR", default=None,
                        help="only write full-size random audio2mesh.pt / audio2pose.pt in the release layout to DIR "
                             "(for timing `aniportrait audio2vid --engine hybrid --weights-dir DIR` end to end)")
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


def _pipelines(args: argparse.Namespace, precisions: list[str]) -> dict[str, Audio2LmkPipeline]:
    """One pipeline per precision, all with the same weights."""
    if args.kit:
        mesh_state, pose_state, mesh_config, pose_config = _kit_weights(args.kit)
    else:
        reference = Audio2LmkPipeline.from_config(*((TINY_MESH_CONFIG, TINY_POSE_CONFIG) if args.tiny else
                                                    (MESH_CONFIG, POSE_CONFIG)), seed=0)
        mesh_state, pose_state = reference.mesh_model.state_dict(), reference.pose_model.state_dict()
        mesh_config, pose_config = dict(reference.mesh_model.config), dict(reference.pose_model.config)
    shared = (lambda name: True) if args.shared_backbone else (
        (lambda name: name.startswith("audio_encoder.feature_extractor.")) if args.shared_conv else (lambda name: False))
    pose_state = {k: (mesh_state[k] if shared(k) else v) for k, v in pose_state.items()}
    pipes = {}
    for precision in precisions:
        mesh, pose = Audio2MeshModel(**mesh_config), Audio2PoseModel(**pose_config)
        mesh.load_state_dict(mesh_state)
        pose.load_state_dict(pose_state)
        pipes[precision] = Audio2LmkPipeline(mesh, pose, precision=precision)
    return pipes


def _kit_weights(kit: str):
    """State dicts and configs of the kit's tiny audio2mesh (case 01) and audio2pose (case 02)."""
    from pathlib import Path

    from aniportrait_cli.audio2lmk.loading import to_module_names
    from aniportrait_cli.weights.checkpoints import read_state_dict

    cases = Path(kit) / "cases"
    mesh = json.loads((cases / "01_audio2mesh" / "config.json").read_text())
    pose = json.loads((cases / "02_audio2pose" / "config.json").read_text())
    mesh_config = {"wav2vec2_config": mesh["wav2vec2_config"], "latent_dim": mesh["latent_dim"], "out_dim": mesh["out_dim"]}
    pose_config = {
        "wav2vec2_config": pose["wav2vec2_config"], "latent_dim": pose["latent_dim"], "out_dim": pose["out_dim"],
        "num_decoder_layers": pose["decoder_layers"], "num_decoder_heads": pose["decoder_heads"],
        "decoder_ffn_dim": pose["decoder_ffn"], "num_styles": pose["id_embeddings"],
        "max_positions": pose["positional_encoding_max_len"],
    }
    return (to_module_names(read_state_dict(cases / "01_audio2mesh" / "weights.safetensors")),
            to_module_names(read_state_dict(cases / "02_audio2pose" / "weights.safetensors")), mesh_config, pose_config)


def _kit_clip(kit: str) -> np.ndarray:
    import soundfile

    samples, rate = soundfile.read(f"{kit}/cases/09_audio2vid_glue/audio_6p5s_16k.wav", dtype="float32")
    assert rate == SAMPLE_RATE
    return samples


def _errors(out, ref) -> dict:
    mesh = np.abs(out.mesh_offsets - ref.mesh_offsets)
    pose = np.abs(out.head_pose - ref.head_pose)
    return {
        "mesh_max": float(mesh.max()), "mesh_mean": float(mesh.mean()),
        "mesh_scale_mean": float(np.abs(ref.mesh_offsets).mean()),
        "pose_max": float(pose.max()), "pose_mean": float(pose.mean()),
        "pose_scale_mean": float(np.abs(ref.head_pose).mean()),
    }


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.write_checkpoints:
        from aniportrait_cli.audio2lmk.tiny import write_tiny_checkpoints

        paths = write_tiny_checkpoints(args.write_checkpoints, seed=0, full_size=True)
        print("wrote " + ", ".join(map(str, paths)))
        return {"checkpoints": [str(p) for p in paths]}
    torch.set_num_threads(args.threads)
    precisions = [args.precision] + (["fp32"] if args.compare and args.precision != "fp32" else [])
    start = time.perf_counter()
    pipes = _pipelines(args, precisions)
    pipe = pipes[args.precision]
    build_s = time.perf_counter() - start
    weights_gib = (
        sum(t.numel() * t.element_size() for m in (pipe.mesh_model, pipe.pose_model) for t in m.state_dict().values()
            if isinstance(t, torch.Tensor))
        / 2**30
    )
    pose_style = 42 if args.kit else args.pose_style
    samples = _kit_clip(args.kit) if args.kit else speech_like(args.seconds)
    seconds = samples.shape[0] / SAMPLE_RATE

    if not args.no_warmup:
        for warm in pipes.values():
            warm.predict(speech_like(min(WARMUP_SECONDS, seconds), seed=1), pose_style, compat=args.compat)
    peak_reset = _reset_peak_rss()
    rss_before = _rss_gib("VmRSS")
    load_before = os.getloadavg()[0]
    start, cpu_start = time.perf_counter(), time.process_time()
    out = pipe.predict(samples, pose_style, compat=args.compat)
    wall_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    peak = _rss_gib("VmHWM") if peak_reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20

    results = {
        "seconds_audio": round(seconds, 3),
        "frames": int(out.head_pose.shape[0]),
        "models": "kit tiny" if args.kit else "tiny" if args.tiny else "full-size",
        "threads": args.threads,
        "precision": args.precision,
        "compat": args.compat,
        "shared_conv": pipe.shares_conv_features,
        "shared_backbone": pipe.shares_backbone,
        "wall_s": round(wall_s, 3),
        "cpu_s": round(cpu_s, 3),
        "realtime_factor": round(seconds / wall_s, 2),
        "parts_s": {k: round(v, 3) for k, v in pipe.last_timings.items()},
        "peak_rss_gib": round(peak, 3) if peak is not None else None,
        "rss_before_run_gib": round(rss_before, 3) if rss_before is not None else None,
        "weights_gib": round(weights_gib, 3),
        "build_s": round(build_s, 2),
        "load_average_1min": round(load_before, 2),
    }
    shared = ", shared backbone" if pipe.shares_backbone else ", shared conv" if pipe.shares_conv_features else ""
    print(
        f"audio2lmk: {seconds:g} s of audio ({results['frames']} frames), {results['models']} "
        f"{'' if args.kit else 'random '}weights, {args.threads} threads, {args.precision}"
        f"{', compat' if args.compat else ''}{shared}"
    )
    print(f"  wall {wall_s:.2f} s -> {results['realtime_factor']:.2f}x real time (CPU time of all threads {cpu_s:.2f} s; "
          f"wall is inflated when other processes share the cores)")
    print("  parts: " + ", ".join(f"{k} {v:.2f} s" for k, v in results["parts_s"].items()))
    print(
        f"  peak RSS {results['peak_rss_gib']} GiB (weights {results['weights_gib']} GiB, "
        f"RSS before the run {results['rss_before_run_gib']} GiB); 1-min load average {results['load_average_1min']}"
    )
    if "fp32" in pipes and args.precision != "fp32":
        start, cpu_start = time.perf_counter(), time.process_time()
        reference = pipes["fp32"].predict(samples, pose_style, compat=args.compat)
        fp32_s, fp32_cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
        errors = _errors(out, reference)
        results["fp32_wall_s"] = round(fp32_s, 3)
        results["fp32_cpu_s"] = round(fp32_cpu_s, 3)
        results["speedup_vs_fp32"] = round(fp32_s / wall_s, 2)
        results["cpu_speedup_vs_fp32"] = round(fp32_cpu_s / cpu_s, 2)
        results["errors_vs_fp32"] = {k: float(f"{v:.4g}") for k, v in errors.items()}
        print(f"  fp32 on the same clip: wall {fp32_s:.2f} s ({seconds / fp32_s:.2f}x real time), CPU {fp32_cpu_s:.2f} s; "
              f"{args.precision} is {fp32_s / wall_s:.2f}x faster in wall time, {fp32_cpu_s / cpu_s:.2f}x in CPU time")
        print(f"  error vs fp32: mesh offsets max {errors['mesh_max']:.3g} mean {errors['mesh_mean']:.3g} "
              f"(mean |offset| {errors['mesh_scale_mean']:.3g}); head pose max {errors['pose_max']:.3g} "
              f"mean {errors['pose_mean']:.3g} (mean |pose| {errors['pose_scale_mean']:.3g})")
    if args.json:
        print(json.dumps(results))
    return results


if __name__ == "__main__":
    main()
