"""audio2vid and vid2vid through the real entry point with the classic engine (no weights needed)."""

import json
import math

import numpy as np
import pytest
import soundfile
from PIL import Image

from aniportrait_cli.media import VideoReader, load_audio
from tests.cli.run import aniportrait, assert_clean_error
from tests.media_factory import write_syllables


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from skimage import data

    folder = tmp_path_factory.mktemp("inputs")
    Image.fromarray(data.astronaut()).save(folder / "face.png")
    portrait = data.astronaut()[:, 64:448]  # 384x512, a 3:4 portrait
    Image.fromarray(np.ascontiguousarray(portrait)).save(folder / "tall.png")
    write_syllables(folder / "voice.wav", 1.7)
    return folder


def test_audio2vid_classic_writes_exactly_the_audio_length(inputs, tmp_path):
    result = aniportrait("audio2vid", "--ref", inputs / "face.png", "--audio", inputs / "voice.wav", "--size", "256",
                         "--fps", "25", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    out = tmp_path / "face__voice.mp4"  # default name derived from the inputs
    assert summary["output"] == str(out) and summary["engine"] == "classic"
    assert "using the classic engine" in result.stderr and "weights download" in result.stderr
    reader = VideoReader(out)
    assert reader.num_frames == math.ceil(1.7 * 25) == summary["frames"]
    assert (reader.info.width, reader.info.height) == (256, 256)
    assert abs(load_audio(out).duration_s - 1.7) < 1 / 25 + 0.03
    # Never silently replaced.
    again = aniportrait("audio2vid", "--ref", inputs / "face.png", "--audio", inputs / "voice.wav", cwd=tmp_path)
    assert_clean_error(again, 2, "already exists", "--overwrite")


def test_non_square_reference_is_pasted_back(inputs, tmp_path):
    result = aniportrait("audio2vid", "--ref", inputs / "tall.png", "--audio", inputs / "voice.wav", "--size", "256",
                         "-o", "tall.mp4", "--engine", "classic", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reader = VideoReader(tmp_path / "tall.mp4")
    assert (reader.info.width, reader.info.height) == (384, 512)
    first = next(reader.frames()).astype(int)
    original = np.asarray(Image.open(inputs / "tall.png")).astype(int)
    # Far from the face (bottom rows: the suit) the pasted-back frame is the original photo.
    assert np.abs(first[-40:] - original[-40:]).mean() < 6


def test_save_motion_then_render_from_it(inputs, tmp_path):
    result = aniportrait("audio2vid", "--ref", inputs / "face.png", "--audio", inputs / "voice.wav", "--size", "256",
                         "--save-motion", "m.npz", "--quiet", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    from aniportrait_cli.motion import Motion

    motion = Motion.load(tmp_path / "m.npz")
    assert motion.num_frames == math.ceil(1.7 * 30) and motion.mesh.shape[1:] == (468, 3)
    result = aniportrait("audio2vid", "--ref", inputs / "face.png", "--audio", inputs / "voice.wav", "--size", "256",
                         "--motion", "m.npz", "--pose-from", "still", "-o", "again.mp4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_same_seed_same_video(inputs, tmp_path):
    for name in ("a.mp4", "b.mp4"):
        result = aniportrait("audio2vid", "--ref", inputs / "face.png", "--audio", inputs / "voice.wav", "--size", "128",
                             "--seed", "7", "-o", name, "-q", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
    a = np.stack(list(VideoReader(tmp_path / "a.mp4").frames()))
    b = np.stack(list(VideoReader(tmp_path / "b.mp4").frames()))
    assert np.array_equal(a, b)


def test_vid2vid_classic_keeps_the_driving_audio(inputs, tmp_path, media_dir):
    result = aniportrait("vid2vid", "--ref", inputs / "face.png", "--video", media_dir / "pose_ref_video.mp4",
                         "--size", "256", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reader = VideoReader(tmp_path / "face__pose_ref_video.mp4")
    assert reader.fps == 25 and reader.num_frames == 125 and reader.info.has_audio
    frames = list(reader.frames())
    assert np.abs(frames[60].astype(int) - frames[0].astype(int)).mean() > 0.5  # the face moves


@pytest.mark.parametrize(
    "make_args, code, fragment",
    [
        (lambda d: ["audio2vid", "--ref", d / "missing.png", "--audio", d / "voice.wav"], 2, "missing.png"),
        (lambda d: ["audio2vid", "--ref", d / "voice.wav", "--audio", d / "voice.wav"], 2, "not a readable image"),
        (lambda d: ["audio2vid", "--ref", d / "face.png", "--audio", d / "face.png"], 2, "face.png"),
        (lambda d: ["audio2vid", "--ref", d / "face.png", "--audio", d / "silence.wav"], 2, "silent"),
        (lambda d: ["audio2vid", "--ref", d / "face.png", "--audio", d / "empty.wav"], 2, "empty"),
        (lambda d: ["audio2vid", "--ref", d / "noface.png", "--audio", d / "voice.wav"], 2, "no face"),
        (lambda d: ["audio2vid", "--ref", d / "face.png", "--audio", d / "voice.wav", "-o", d / "voice.wav" / "x.mp4"], 2,
         "cannot create the output folder"),
        (lambda d: ["audio2vid", "--ref", d / "face.png", "--audio", d / "voice.wav", "-o", d / "x.avi"], 2, ".mp4"),
        (lambda d: ["audio2vid", "--ref", d / "face.png", "--audio", d / "voice.wav", "--device", "tpu"], 2, "--device"),
        (lambda d: ["audio2vid", "--ref", d / "face.png", "--audio", d / "voice.wav", "--engine", "neural",
                    "--weights-dir", d], 2, "weights download"),
        (lambda d: ["vid2vid", "--ref", d / "face.png", "--video", d / "broken.mp4"], 2, "broken.mp4"),
        (lambda d: ["vid2vid", "--ref", d / "face.png", "--video", d / "voice.wav"], 2, "no video stream"),
    ],
    ids=["missing-ref", "ref-not-image", "audio-not-audio", "silent", "empty", "no-face", "no-folder", "not-mp4",
         "bad-device", "no-weights", "corrupt-video", "audio-as-video"],
)
def test_bad_input_gives_one_clear_line(inputs, tmp_path, make_args, code, fragment):
    soundfile.write(inputs / "silence.wav", np.zeros(16000, np.float32), 16000)
    soundfile.write(inputs / "empty.wav", np.zeros((0, 1), np.float32), 16000)
    Image.fromarray(np.full((256, 256, 3), 127, np.uint8)).save(inputs / "noface.png")
    (inputs / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(100))
    result = aniportrait(*make_args(inputs), cwd=tmp_path)
    assert_clean_error(result, code, fragment)
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_cuda_without_a_gpu_is_an_input_error(inputs, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    result = aniportrait("audio2vid", "--ref", inputs / "face.png", "--audio", inputs / "voice.wav", "--engine", "neural",
                         "--device", "cuda", cwd=tmp_path)
    assert_clean_error(result, 2, "--device cuda", "torch sees no CUDA GPU")
