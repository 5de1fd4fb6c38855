"""Speed and memory of the lmk2video diffusion renderer.

`python -m aniportrait_cli.bench.lmk2video [--frames 48] [--size 512] [--steps 25] [--dtype fp16] [--device cuda]
[--tiny]`

Builds full-size networks with seeded random weights (no downloads; `--tiny` uses the test-size networks), runs
the real pipeline on a random reference image and random pose drawings, and prints seconds per frame, frames per
second, peak accelerator memory (torch.cuda.max_memory_allocated, measured after the weights are in place) and a
per-component breakdown. Components are timed with a device synchronisation around each call, like the
reference measurement of the original in the conformance kit (README, D): 24.4 s = 0.51 s/frame, 7.95 GiB peak
for 48 frames at 512x512, 25 steps, fp16, H100. Speed does not depend on the weights' values.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from aniportrait_cli.lmk2video.configs import ModelConfigs, tiny_configs
from aniportrait_cli.lmk2video.context import context_windows
from aniportrait_cli.lmk2video.pipeline import DTYPES, Lmk2VideoPipeline, resolve_device
from aniportrait_cli.lmk2video.profiling import ComponentTimer, synchronize

COMPONENTS = ("denoising_unet", "pose_guider", "vae_decode", "reference_unet", "clip", "vae_encode", "scheduler")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m aniportrait_cli.bench.lmk2video", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--size", type=int, default=512, help="width = height in pixels (multiple of 8)")
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--cfg", type=float, default=3.5)
    parser.add_argument(
        "--dtype", choices=sorted(DTYPES), default=None, help="default: fp16 on accelerators, fp32 on CPU"
    )
    parser.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    parser.add_argument("--context-frames", type=int, default=16)
    parser.add_argument("--context-overlap", type=int, default=4)
    parser.add_argument("--tiny", action="store_true", help="test-size networks (runs on a CPU in seconds)")
    parser.add_argument("--low-vram", action="store_true", help="sequential CPU offload (CUDA only)")
    parser.add_argument("--compile", action="store_true", help="torch.compile the denoising UNet")
    parser.add_argument("--decode-chunk", type=int, default=None, help="frames per VAE decode call")
    parser.add_argument("--no-warmup", action="store_true", help="skip the short untimed warm-up run")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    configs: ModelConfigs = tiny_configs() if args.tiny else ModelConfigs()
    size = args.size
    print(f"building {'tiny' if args.tiny else 'full-size'} random-weight networks on {device} ...", flush=True)
    built = time.perf_counter()
    pipe = Lmk2VideoPipeline.from_config(
        configs,
        device=device,
        dtype=args.dtype,
        seed=0,
        low_vram=args.low_vram,
        compile_unet=args.compile,
        decode_chunk_size=args.decode_chunk,
    )
    build_seconds = time.perf_counter() - built

    rng = np.random.default_rng(0)
    ref_image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    poses = rng.integers(0, 256, (args.frames, size, size, 3), dtype=np.uint8)
    call = dict(
        width=size, height=size, cfg=args.cfg, context_frames=args.context_frames, context_overlap=args.context_overlap
    )

    if not args.no_warmup and device.type != "cpu":  # CUDA context, kernels, cuDNN autotuning, compilation
        warm_frames = min(args.frames, args.context_frames)
        pipe(ref_image, poses[:warm_frames], steps=1, on_frames=lambda *_: None, **call)

    is_cuda = device.type == "cuda"
    if is_cuda:
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        weights_bytes = torch.cuda.memory_allocated(device)
    pipe.timer = ComponentTimer(device)
    synchronize(device)
    start = time.perf_counter()
    pipe(ref_image, poses, steps=args.steps, seed=42, on_frames=lambda *_: None, **call)
    synchronize(device)
    total = time.perf_counter() - start
    timer, pipe.timer = pipe.timer, None

    windows = len(context_windows(args.frames, args.context_frames, args.context_overlap))
    result = {
        "device": str(torch.cuda.get_device_name(device) if is_cuda else device),
        "dtype": str(pipe.dtype).removeprefix("torch."),
        "size": "tiny" if args.tiny else "full",
        "frames": args.frames,
        "resolution": f"{size}x{size}",
        "steps": args.steps,
        "windows": windows,
        "unet_calls": windows * args.steps,
        "build_s": round(build_seconds, 2),
        "total_s": round(total, 3),
        "s_per_frame": round(total / args.frames, 4),
        "frames_per_s": round(args.frames / total, 3),
        "components_s": {name: round(timer.seconds.get(name, 0.0), 3) for name in COMPONENTS},
        "component_calls": {name: timer.calls.get(name, 0) for name in COMPONENTS},
    }
    if is_cuda:
        result["peak_gpu_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 3)
        result["peak_gpu_reserved_gib"] = round(torch.cuda.max_memory_reserved(device) / 2**30, 3)
        result["resident_weights_gib"] = round(weights_bytes / 2**30, 3)

    print(
        f"{result['frames']} frames {result['resolution']}, {args.steps} steps, {windows} windows "
        f"({result['unet_calls']} UNet calls), {result['dtype']} on {result['device']}"
    )
    print(f"total {total:.2f} s = {result['s_per_frame']:.4f} s/frame = {result['frames_per_s']:.3f} frames/s")
    if is_cuda:
        print(
            f"peak GPU memory {result['peak_gpu_gib']:.2f} GiB allocated ({result['peak_gpu_reserved_gib']:.2f} GiB "
            f"reserved; {result['resident_weights_gib']:.2f} GiB resident weights before the run)"
        )
    else:
        print("peak GPU memory: n/a (not a CUDA device)")
    for name in COMPONENTS:
        seconds, calls = result["components_s"][name], result["component_calls"][name]
        print(f"  {name:<15} {seconds:9.3f} s  {calls:5d} calls")
    if args.json:
        print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
