"""Throughput of the classic engine: `python -m aniportrait_cli.bench.classic [--seconds 10] [--size 512]`.

Prints frames per second for each stage on this machine: audio -> motion, motion -> frames (rendering),
frames -> H.264 + AAC mp4 (encoding, libx264 veryfast), and the whole streaming path (render + encode); then
the same for a non-square portrait (--portrait, default 810x1080), whose square crop is rendered and pasted back
into the full photo, as `audio2vid` does for the usual phone or camera portrait.
The reference defaults to scikit-image's astronaut portrait (when installed) and the audio to espeak-ng
speech (when installed), else a synthetic voice-like signal; pass --image / --audio to use your own.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from aniportrait_cli.classic.audio_motion import motion_from_audio
from aniportrait_cli.classic.renderer import ClassicRenderer
from aniportrait_cli.errors import InputError
from aniportrait_cli.landmarks.extractor import detect_reference_face
from aniportrait_cli.landmarks.reference import prepare_reference
from aniportrait_cli.media.audio import load_audio
from aniportrait_cli.media.image import load_image
from aniportrait_cli.media.video import VideoWriter

SAMPLE_RATE = 16000
BENCH_TEXT = (
    "This is a benchmark of the classic engine. It animates the photo itself, on the processor, "
    "without any learned weights. The mouth follows the speech, the eyes blink, and the head moves a little. "
    "Then it pauses. And it speaks again, for a while, until the clip is long enough."
)


def synthetic_voice(seconds: float, seed: int = 0) -> np.ndarray:
    """A voice-like test signal at 16 kHz: a gliding harmonic source shaped by syllable-rate bursts and pauses."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f0 = 140.0 + 25.0 * np.sin(2 * np.pi * 0.4 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    source = sum(np.sin(k * phase) / k for k in range(1, 25))
    syllables = np.clip(np.sin(2 * np.pi * 4.5 * t + rng.uniform(0, 6)), 0.0, None) ** 2
    phrases = (np.sin(2 * np.pi * 0.25 * t) > -0.6).astype(float)
    return (0.1 * source * syllables * phrases).astype(np.float32)


def bench_audio(seconds: float, workdir: Path, audio: str | None) -> Path:
    """The audio file to use: given, espeak-ng speech, or the synthetic voice; cut to `seconds`."""
    raw = workdir / "speech_raw.wav"
    if audio is not None:
        source = Path(audio)
    elif shutil.which("espeak-ng"):
        subprocess.run(["espeak-ng", "-w", str(raw), " ".join([BENCH_TEXT] * 4)], check=True, capture_output=True)
        source = raw
    else:
        import soundfile

        soundfile.write(raw, synthetic_voice(seconds), SAMPLE_RATE)
        source = raw
    samples = load_audio(source).samples[: int(seconds * SAMPLE_RATE)]
    import soundfile

    out = workdir / "speech.wav"
    soundfile.write(out, samples, SAMPLE_RATE)
    return out


def bench_image(size: int, image: str | None, portrait: tuple[int, int] | None = None) -> np.ndarray:
    """The square test portrait (size x size), or with `portrait` (width, height) a non-square one: the source's
    centre cut to that aspect ratio and resized to it."""
    if image is not None:
        picture = load_image(image)
    else:
        try:
            from skimage.data import astronaut
        except ImportError:
            raise InputError("scikit-image is not installed for the default portrait; pass --image PATH") from None
        picture = astronaut()
    if portrait is None:
        return cv2.resize(picture, (size, size), interpolation=cv2.INTER_AREA)
    width, height = portrait
    source_h, source_w = picture.shape[:2]
    cut_w = min(source_w, round(source_h * width / height))
    left = (source_w - cut_w) // 2
    return cv2.resize(np.ascontiguousarray(picture[:, left: left + cut_w]), (width, height), interpolation=cv2.INTER_CUBIC)


def bench_paste_back(samples: np.ndarray, audio_path: Path, workdir: Path, size: int, portrait: tuple[int, int],
                     image: str | None, seed: int) -> dict[str, float]:
    """A non-square portrait: render the square crop, paste it back into the full photo, encode at full size."""
    photo = bench_image(size, image, portrait)
    prepared = prepare_reference(photo, "benchmark portrait")
    square = cv2.resize(prepared.image, (size, size), interpolation=cv2.INTER_AREA)
    face = detect_reference_face(square, "benchmark portrait")
    renderer = ClassicRenderer(square, face.mesh3d, face.transform)
    motion = motion_from_audio(samples, face.mesh3d, face.transform, face.landmarks, seed=seed)
    n = motion.num_frames
    frames = [renderer.render(motion.mesh[i], motion.pose[i]) for i in range(n)]
    start = time.perf_counter()
    for frame in frames:
        prepared.paste_back(frame)
    paste_s = time.perf_counter() - start
    del frames
    height, width = photo.shape[:2]
    start = time.perf_counter()
    with VideoWriter(workdir / "portrait.mp4", motion.fps, width, height, audio_path, n, preset="veryfast") as writer:
        for frame in renderer.frames(motion):
            writer.write(prepared.paste_back(frame))
    stream_s = time.perf_counter() - start
    return {"paste_back_ms": 1000 * paste_s / n, "portrait_stream_fps": n / stream_s}


def run(seconds: float = 10.0, size: int = 512, image: str | None = None, audio: str | None = None, seed: int = 0,
        portrait: tuple[int, int] = (810, 1080)) -> dict[str, float]:
    """Measure each stage; returns frames per second per stage (and the frame count)."""
    with tempfile.TemporaryDirectory(prefix="aniportrait-bench-") as tmp:
        workdir = Path(tmp)
        audio_path = bench_audio(seconds, workdir, audio)
        samples = load_audio(audio_path).samples
        picture = bench_image(size, image)

        start = time.perf_counter()
        face = detect_reference_face(picture, "benchmark portrait")
        renderer = ClassicRenderer(picture, face.mesh3d, face.transform)
        setup_s = time.perf_counter() - start

        start = time.perf_counter()
        motion = motion_from_audio(samples, face.mesh3d, face.transform, face.landmarks, seed=seed)
        motion_s = time.perf_counter() - start
        n = motion.num_frames

        start = time.perf_counter()
        frames = [renderer.render(motion.mesh[i], motion.pose[i]) for i in range(n)]
        render_s = time.perf_counter() - start

        start = time.perf_counter()
        with VideoWriter(workdir / "encode.mp4", motion.fps, size, size, audio_path, n, preset="veryfast") as writer:
            for frame in frames:
                writer.write(frame)
        encode_s = time.perf_counter() - start
        del frames

        start = time.perf_counter()
        with VideoWriter(workdir / "stream.mp4", motion.fps, size, size, audio_path, n, preset="veryfast") as writer:
            for frame in renderer.frames(motion):
                writer.write(frame)
        stream_s = time.perf_counter() - start

        full_s = motion_s + stream_s
        pasted = bench_paste_back(samples, audio_path, workdir, size, portrait, image, seed)
    return {
        **pasted,
        "frames": n,
        "setup_s": setup_s,
        "motion_fps": n / motion_s,
        "render_fps": n / render_s,
        "encode_fps": n / encode_s,
        "render_encode_fps": n / stream_s,
        "end_to_end_fps": n / full_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m aniportrait_cli.bench.classic", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="audio length (default 10)")
    parser.add_argument("--size", type=int, default=512, help="square output size in pixels (default 512)")
    parser.add_argument("--image", help="reference portrait (default: scikit-image's astronaut)")
    parser.add_argument("--audio", help="speech file (default: espeak-ng speech, else a synthetic voice)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--portrait", default="810x1080", help="WxH of the non-square portrait (default 810x1080)")
    args = parser.parse_args(argv)
    try:
        portrait = tuple(int(v) for v in args.portrait.lower().split("x"))
        if len(portrait) != 2 or min(portrait) < 64:
            raise ValueError
    except ValueError:
        print(f"error: --portrait {args.portrait!r}: expected WxH, e.g. 810x1080", file=sys.stderr)
        return 2
    try:
        result = run(args.seconds, args.size, args.image, args.audio, args.seed, portrait)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    n = result["frames"]
    print(f"classic engine, {n} frames at {args.size}x{args.size} ({n / 30.0:.1f} s at 30 fps)")
    print(f"  reference setup          {result['setup_s'] * 1000:8.0f} ms (face landmarks + renderer, once)")
    print(f"  motion (audio -> mesh)   {result['motion_fps']:8.0f} frames/s")
    print(f"  rendering                {result['render_fps']:8.1f} frames/s")
    print(f"  encoding (x264 veryfast) {result['encode_fps']:8.1f} frames/s")
    print(f"  render + encode stream   {result['render_encode_fps']:8.1f} frames/s")
    print(f"  end to end               {result['end_to_end_fps']:8.1f} frames/s")
    print(f"non-square {portrait[0]}x{portrait[1]} portrait, square crop rendered at {args.size} and pasted back")
    print(f"  paste-back               {result['paste_back_ms']:8.2f} ms/frame")
    print(f"  render + paste + encode  {result['portrait_stream_fps']:8.1f} frames/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
