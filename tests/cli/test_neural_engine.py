"""The neural engine end to end on CPU, with tiny random weights written in the original release layout."""

import json
import math
import subprocess

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from aniportrait_cli.media import VideoReader, load_audio
from aniportrait_cli.media.ffmpeg import ffmpeg_exe
from tests.cli.run import aniportrait

NEURAL = ("--engine", "neural", "--device", "cpu", "--size", "64", "--steps", "2", "--fps", "10")


class CrossFade(torch.nn.Module):
    """Stands in for FILM's TorchScript (same call signature)."""

    def forward(self, x0: torch.Tensor, x1: torch.Tensor, dt: torch.Tensor) -> torch.Tensor:
        return x0 * (1 - dt[:, :, None, None]) + x1 * dt[:, :, None, None]


@pytest.fixture(scope="module")
def setup(tmp_path_factory, media_dir):
    from skimage import data

    from aniportrait_cli.audio2lmk.tiny import write_tiny_checkpoints
    from aniportrait_cli.lmk2video.tiny import write_tiny_release

    root = tmp_path_factory.mktemp("neural")
    weights = root / "pretrained_model"
    write_tiny_release(weights, seed=1)
    write_tiny_checkpoints(weights, seed=1)
    torch.jit.script(CrossFade()).save(str(weights / "film_net_fp16.pt"))
    Image.fromarray(data.astronaut()).save(root / "face.png")
    rate = 16000
    t = np.arange(int(1.25 * rate)) / rate
    soundfile.write(root / "voice.wav", (0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 2 * t) > 0)).astype(np.float32), rate)
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(media_dir / "pose_ref_video.mp4"), "-t", "1",
                    "-c:v", "libx264", "-c:a", "aac", str(root / "drive.mp4")], check=True)
    return root, weights


def frames(path):
    return np.stack(list(VideoReader(path).frames()))


def test_audio2vid_neural_is_deterministic_and_the_right_length(setup, tmp_path):
    root, weights = setup
    outputs = []
    for name in ("a.mp4", "b.mp4"):
        result = aniportrait("audio2vid", "--ref", root / "face.png", "--audio", root / "voice.wav", *NEURAL,
                             "--weights-dir", weights, "--seed", "5", "-o", name, "--json", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "running on the CPU" in result.stderr  # no silent CPU fallback
        summary = json.loads(result.stdout.strip().splitlines()[-1])
        assert summary["engine"] == "neural" and summary["frames"] == math.ceil(1.25 * 10)
        outputs.append(frames(tmp_path / name))
    assert outputs[0].shape == (13, 64, 64, 3)
    assert np.array_equal(outputs[0], outputs[1])
    assert abs(load_audio(tmp_path / "a.mp4").duration_s - 1.25) < 0.1 + 0.03


def test_fast_interpolates_to_the_same_frame_count(setup, tmp_path):
    root, weights = setup
    result = aniportrait("audio2vid", "--ref", root / "face.png", "--audio", root / "voice.wav", *NEURAL,
                         "--weights-dir", weights, "--fast", "--grid", "-o", "fast.mp4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reader = VideoReader(tmp_path / "fast.mp4")
    assert reader.num_frames == 13 and (reader.info.width, reader.info.height) == (192, 64)  # 3-panel grid


def test_vid2vid_and_edit_pose_neural(setup, tmp_path, media_dir):
    root, weights = setup
    result = aniportrait("vid2vid", "--ref", root / "face.png", "--video", root / "drive.mp4", *NEURAL,
                         "--weights-dir", weights, "-o", "v.mp4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reader = VideoReader(tmp_path / "v.mp4")
    assert reader.num_frames == 10 and reader.info.has_audio
    result = aniportrait("edit-pose", "--ref", root / "face.png", "--audio", root / "voice.wav", "--pose-from",
                         media_dir / "pose_temp.npy", "--mirror", *NEURAL, "--weights-dir", weights, "-o", "e.mp4",
                         cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert VideoReader(tmp_path / "e.mp4").num_frames == 13


def test_vid2vid_fast_measures_keyframes_and_keeps_the_length(setup, tmp_path):
    root, weights = setup
    result = aniportrait("vid2vid", "--ref", root / "face.png", "--video", root / "drive.mp4", *NEURAL,
                         "--weights-dir", weights, "--fast", "--pose-mode", "relative", "-o", "f.mp4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert VideoReader(tmp_path / "f.mp4").num_frames == 10


def test_hybrid_warps_exactly_the_motion_the_neural_engine_draws_its_pose_images_from(setup, tmp_path, monkeypatch):
    """Record what each renderer is handed (nothing is rendered): the same motion, and the diffusion model's pose
    images are that motion's frames."""
    from aniportrait_cli.classic.warp_renderer import WarpRenderer
    from aniportrait_cli.cli.report import Reporter
    from aniportrait_cli.jobs import audio2vid
    from aniportrait_cli.jobs.options import Device, Engine, RenderOptions
    from aniportrait_cli.landmarks.motion_tools import pose_image
    from aniportrait_cli.lmk2video.pipeline import Lmk2VideoPipeline
    from aniportrait_cli.lmk2video.renderer import DiffusionRenderer

    root, weights = setup

    class Recorded(Exception):
        pass

    seen = {}
    diffusion_render = DiffusionRenderer.render

    def warp(self, square, face, motion, emit, progress=None):
        seen["hybrid"] = motion
        raise Recorded

    def diffusion(self, square, face, motion, emit, progress=None):
        seen["neural"] = motion
        diffusion_render(self, square, face, motion, emit, progress)

    def pipeline_call(self, ref_image, pose_images, *args, **kwargs):
        seen["pose_images"] = [pose_images[i] for i in range(len(pose_images))]
        raise Recorded

    monkeypatch.setattr(WarpRenderer, "render", warp)
    monkeypatch.setattr(DiffusionRenderer, "render", diffusion)
    monkeypatch.setattr(Lmk2VideoPipeline, "__call__", pipeline_call)
    for engine in (Engine.hybrid, Engine.neural):
        options = RenderOptions(engine=engine, device=Device.cpu, weights_dir=weights, size=64, fps=10, seed=5)
        with pytest.raises(Recorded):
            audio2vid.run(ref=root / "face.png", audio=root / "voice.wav", motion=None, pose_from=None,
                          output=tmp_path / f"{engine.value}.mp4", options=options, reporter=Reporter(quiet=True))
    hybrid, neural = seen["hybrid"], seen["neural"]
    assert hybrid.num_frames == 13 and hybrid.fps == 10
    for name in ("mesh", "pose", "ref_trans_mat", "ref_landmarks"):
        assert np.array_equal(getattr(hybrid, name), getattr(neural, name)), name
    assert len(seen["pose_images"]) == 13
    for index, image in enumerate(seen["pose_images"]):
        assert np.array_equal(image, pose_image(hybrid, index, 64, 64))
    assert not list(tmp_path.glob("*.mp4"))  # nothing half-written
