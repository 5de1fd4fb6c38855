"""The hybrid engine (AniPortrait's learned motion + photo warp) end to end, with tiny audio checkpoints written
in the release layout and nothing else (no diffusion weights)."""

import json
import math

import numpy as np
import pytest
import soundfile
from PIL import Image

from aniportrait_cli.media import VideoReader, load_audio
from aniportrait_cli.motion import Motion
from tests.cli.run import aniportrait, assert_clean_error

SMALL = ("--size", "64", "--fps", "10")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from skimage import data

    from aniportrait_cli.audio2lmk.tiny import write_tiny_checkpoints

    root = tmp_path_factory.mktemp("hybrid")
    weights = root / "pretrained_model"
    write_tiny_checkpoints(weights, seed=1)  # audio2mesh.pt + audio2pose.pt only
    Image.fromarray(data.astronaut()).save(root / "face.png")
    rate = 16000
    for name, seconds in (("voice.wav", 1.25), ("other.wav", 0.9)):
        t = np.arange(int(seconds * rate)) / rate
        voice = 0.3 * np.sin(2 * np.pi * 180 * t) * (np.sin(2 * np.pi * 2 * t) > 0)
        soundfile.write(root / name, voice.astype(np.float32), rate)
    return root, weights


def frames(path):
    return np.stack(list(VideoReader(path).frames()))


def test_hybrid_video_has_the_audio_length_and_its_motion_renders_the_same_through_classic(setup, tmp_path):
    root, weights = setup
    result = aniportrait("audio2vid", "--ref", root / "face.png", "--audio", root / "voice.wav", "--engine", "hybrid",
                         *SMALL, "--weights-dir", weights, "--save-motion", "m.npz", "-o", "h.mp4", "--json",
                         cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["engine"], summary["motion"], summary["renderer"]) == ("hybrid", "learned", "warp")
    assert summary["frames"] == math.ceil(1.25 * 10)
    hybrid = frames(tmp_path / "h.mp4")
    assert hybrid.shape == (13, 64, 64, 3)
    assert abs(load_audio(tmp_path / "h.mp4").duration_s - 1.25) < 0.1 + 0.03
    assert Motion.load(tmp_path / "m.npz").num_frames == 13

    again = aniportrait("audio2vid", "--ref", root / "face.png", "--audio", root / "voice.wav", "--motion", "m.npz",
                        "--engine", "classic", *SMALL, "-o", "c.mp4", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert np.array_equal(frames(tmp_path / "c.mp4"), hybrid)


def test_auto_picks_hybrid_when_only_the_audio_checkpoints_are_here(setup, tmp_path):
    root, weights = setup
    result = aniportrait("audio2vid", "--ref", root / "face.png", "--audio", root / "voice.wav", *SMALL,
                         "--weights-dir", weights, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "using the hybrid engine" in line]
    assert len(notes) == 1 and "weights are not all here" in notes[0], result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["engine"] == "hybrid"


def test_hybrid_without_its_weights_names_the_download(setup, tmp_path):
    root, _ = setup
    result = aniportrait("audio2vid", "--ref", root / "face.png", "--audio", root / "voice.wav", "--engine", "hybrid",
                         "--weights-dir", tmp_path / "empty", cwd=tmp_path)
    assert_clean_error(result, 2, "audio2mesh.pt", "audio2pose.pt", "weights download --engine hybrid")
    assert not list(tmp_path.glob("*.mp4"))


def test_hybrid_batch_with_report_and_edit_pose(setup, tmp_path, media_dir):
    root, weights = setup
    result = aniportrait("audio2vid", "--ref", root / "face.png", "--audio", root / "voice.wav", "--audio",
                         root / "other.wav", "--engine", "hybrid", *SMALL, "--weights-dir", weights, "--report",
                         "--json", "-o", tmp_path / "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    items = [row for row in map(json.loads, result.stdout.splitlines()) if row["kind"] == "item"]
    assert [(r["status"], r["engine"], r["renderer"]) for r in items] == [("ok", "hybrid", "warp")] * 2
    assert all("sync" in r for r in items)  # --report measured each output
    assert VideoReader(tmp_path / "out" / "face__other.mp4").num_frames == math.ceil(0.9 * 10)

    result = aniportrait("edit-pose", "--ref", root / "face.png", "--audio", root / "voice.wav", "--pose-from",
                         media_dir / "pose_temp.npy", "--mirror", "--engine", "hybrid", *SMALL, "--weights-dir",
                         weights, "-o", "e.mp4", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["renderer"] == "warp"
    assert VideoReader(tmp_path / "e.mp4").num_frames == 13


def test_vid2vid_hybrid_means_the_warp(setup, tmp_path, media_dir):
    root, _ = setup
    result = aniportrait("vid2vid", "--ref", root / "face.png", "--video", media_dir / "pose_ref_video.mp4",
                         "--engine", "hybrid", "--size", "64", "--fps", "5", "-o", "v.mp4", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hybrid renders it with the photo warp" in result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["engine"], summary["motion"], summary["renderer"]) == ("hybrid", "video", "warp")


def test_weights_list_says_which_engines_are_ready(setup, tmp_path):
    _, weights = setup
    result = aniportrait("weights", "list", "--weights-dir", weights, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "classic: ready" in result.stderr and "hybrid: ready" in result.stderr
    assert "neural: 8 files missing" in result.stderr
    rows = [json.loads(line) for line in aniportrait("weights", "list", "--engine", "hybrid", "--json",
                                                     "--weights-dir", weights, cwd=tmp_path).stdout.splitlines()]
    assert {r["id"] for r in rows if r["required"]} == {"audio2mesh", "audio2pose", "face_landmarker"}
    assert all(r["state"] in {"ok", "packaged"} for r in rows if r["required"])


def test_fast_runs_the_learned_motion_in_bfloat16_where_the_cpu_has_it(setup, tmp_path):
    from aniportrait_cli.audio2lmk.precision import fast_cpu_precision

    root, weights = setup
    saved = {}
    for name, extra in (("exact", ()), ("fast", ("--fast",))):
        result = aniportrait("audio2vid", "--ref", root / "face.png", "--audio", root / "voice.wav", "--engine",
                             "hybrid", *SMALL, "--weights-dir", weights, "--save-motion", f"{name}.npz", *extra,
                             "-o", f"{name}.mp4", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        saved[name] = Motion.load(tmp_path / f"{name}.npz")
    exact, fast = saved["exact"], saved["fast"]
    assert fast.num_frames == exact.num_frames == math.ceil(1.25 * 10)
    if fast_cpu_precision() == "bf16":
        assert not np.array_equal(fast.mesh, exact.mesh)
        assert np.abs(fast.mesh - exact.mesh).mean() < 0.05 * np.abs(exact.mesh - exact.mesh.mean(0)).mean() + 1e-3
    else:
        assert np.array_equal(fast.mesh, exact.mesh) and "no native bfloat16" in result.stderr
