"""The neural engine at full size on the CPU, through the CLI, with random weights in the release's layout.

`python -m aniportrait_cli.bench.fullsize_cpu [--kit ../shared/conformance] [--work DIR] [--keep]`

Writes random weights with exactly the released files' keys, shapes and formats (the conformance kit's manifests:
`torch.save`d fp32 state dicts with the original key names, int64 BatchNorm counters; the base models as their
public folders: `sd-vae-ft-mse/` safetensors with the older attention key names that diffusers converts on load,
`image_encoder/pytorch_model.bin`) into an original-layout `pretrained_model/` folder, then runs

    aniportrait audio2vid --engine neural --device cpu --weights-dir DIR --steps 1 --size 256   (1 s of speech)
    aniportrait vid2vid   --engine neural --device cpu --weights-dir DIR --steps 1 --size 256   (8 driving frames)

and prints each command's wall time and peak resident memory. Needs about 12 GB of disk and 14 GB of RAM; not a
test. The weights are deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

MANIFEST_FILES = ("denoising_unet.pth", "motion_module.pth", "reference_unet.pth", "pose_guider.pth",
                  "audio2mesh.pt", "audio2pose.pt")
VAE_CONFIG = "sd-vae-ft-mse"
CLIP_CONFIG = "sd-image-variations image_encoder (CLIPVisionModelWithProjection, ViT-L/14)"
# diffusers >= 0.21 attention names -> the names in the public sd-vae-ft-mse file.
OLD_VAE_ATTENTION = {"to_q.": "query.", "to_k.": "key.", "to_v.": "value.", "to_out.0.": "proj_attn."}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    default_kit = Path(__file__).resolve().parents[3].parent / "shared" / "conformance"  # a source checkout
    parser = argparse.ArgumentParser(prog="python -m aniportrait_cli.bench.fullsize_cpu",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--kit", type=Path, default=default_kit, help="the conformance kit (its manifests/)")
    parser.add_argument("--media", type=Path, default=None, help="shared/media (default: next to the kit)")
    parser.add_argument("--work", type=Path, default=Path("fullsize_cpu_work"), help="folder for weights and outputs")
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--keep", action="store_true", help="keep the written weights")
    return parser.parse_args(argv)


def random_tensor(key: str, shape: list[int], generator: torch.Generator) -> torch.Tensor:
    """Values in the kit's recipe (matrices ~N(0, 1/fan_in), norm weights 1, other vectors 0.1 N, variances 1)."""
    if key.endswith("num_batches_tracked"):
        return torch.zeros(shape, dtype=torch.int64)
    if key.endswith("running_var"):
        return torch.ones(shape)
    if len(shape) >= 2:
        fan_in = int(np.prod(shape[1:])) or 1
        return torch.randn(shape, generator=generator) / fan_in**0.5
    if "norm" in key and key.endswith("weight"):
        return torch.ones(shape)
    return 0.1 * torch.randn(shape, generator=generator)


def write_manifest_file(manifests: Path, name: str, folder: Path, seed: int) -> int:
    """`name` as the release stores it: a torch.save'd dict in the manifest's key order. Returns its size."""
    shapes = json.loads((manifests / f"{name}.json").read_text())
    generator = torch.Generator().manual_seed(seed)
    state = {key: random_tensor(key, shape, generator) for key, shape in shapes.items()}
    path = folder / name
    torch.save(state, path)
    del state
    return path.stat().st_size


def write_vae(configs: dict, folder: Path) -> None:
    from diffusers import AutoencoderKL
    from safetensors.torch import save_file

    config = {k: v for k, v in configs[VAE_CONFIG].items() if not k.startswith("_")}
    torch.manual_seed(1)
    vae = AutoencoderKL(**config)
    target = folder / "sd-vae-ft-mse"
    vae.save_config(target)
    state = {}
    for key, value in vae.state_dict().items():
        for new, old in OLD_VAE_ATTENTION.items():
            if ".attentions." in key:
                key = key.replace(new, old)
        state[key] = value.contiguous()
    save_file(state, target / "diffusion_pytorch_model.safetensors")


def write_image_encoder(configs: dict, folder: Path) -> None:
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(2)
    model = CLIPVisionModelWithProjection(CLIPVisionConfig(**configs[CLIP_CONFIG]))
    target = folder / "image_encoder"
    model.config.save_pretrained(target)
    torch.save(model.state_dict(), target / "pytorch_model.bin")


def write_release(kit: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    manifests = kit / "manifests"
    for seed, name in enumerate(MANIFEST_FILES):
        start = time.perf_counter()
        size = write_manifest_file(manifests, name, folder, seed)
        print(f"wrote {name}: {size / 1e9:.2f} GB in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    configs = json.loads((manifests / "base_model_configs.json").read_text())
    write_vae(configs, folder)
    write_image_encoder(configs, folder)
    print("wrote sd-vae-ft-mse/ and image_encoder/", file=sys.stderr)


def write_inputs(kit: Path, media: Path, work: Path) -> tuple[Path, Path, Path]:
    """The kit's 640x640 portrait, 1 s of its espeak speech, the first 8 frames of the driving video."""
    import soundfile

    from aniportrait_cli.media.ffmpeg import ffmpeg_exe

    portrait = kit / "cases" / "06_reference_prep" / "inputs" / "ref_640x640.png"
    samples, rate = soundfile.read(kit / "cases" / "09_audio2vid_glue" / "audio_6p5s_16k.wav", dtype="float32")
    audio = work / "speech_1s.wav"
    soundfile.write(audio, samples[:rate], rate)
    drive = work / "drive_8_frames.mp4"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(media / "pose_ref_video.mp4"),
                    "-frames:v", "8", "-c:v", "libx264", "-c:a", "aac", str(drive)], check=True)
    return portrait, audio, drive


def run_measured(args: list[str]) -> tuple[float, float, int]:
    """Run a command; (wall seconds, peak RSS in GiB of that process, exit code)."""
    start = time.perf_counter()
    process = subprocess.Popen(args)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    return wall, usage.ru_maxrss / 2**20, os.waitstatus_to_exitcode(status)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    media = args.media or args.kit.parent / "media"
    work = args.work.resolve()
    weights = work / "pretrained_model"
    work.mkdir(parents=True, exist_ok=True)
    try:
        start = time.perf_counter()
        write_release(args.kit, weights)
        print(f"weights written in {time.perf_counter() - start:.0f} s "
              f"({sum(p.stat().st_size for p in weights.rglob('*') if p.is_file()) / 1e9:.2f} GB)", file=sys.stderr)
        portrait, audio, drive = write_inputs(args.kit, media, work)
        common = ["--engine", "neural", "--device", "cpu", "--weights-dir", str(weights), "--steps", "1",
                  "--size", str(args.size), "--overwrite", "--json"]
        cli = [sys.executable, "-m", "aniportrait_cli"]
        runs = {
            "audio2vid (1 s audio)": cli + ["audio2vid", "--ref", str(portrait), "--audio", str(audio), *common,
                                            "-o", str(work / "audio2vid.mp4")],
            "vid2vid (8 driving frames)": cli + ["vid2vid", "--ref", str(portrait), "--video", str(drive), *common,
                                                 "-o", str(work / "vid2vid.mp4")],
        }
        failed = 0
        for label, command in runs.items():
            wall, rss, code = run_measured(command)
            failed += code != 0
            print(f"{label}: exit {code}, wall {wall:.1f} s, peak RSS {rss:.2f} GiB")
        return 1 if failed else 0
    finally:
        if not args.keep:
            shutil.rmtree(weights, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
