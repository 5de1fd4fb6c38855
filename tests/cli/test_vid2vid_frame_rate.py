"""vid2vid's frame-rate rule through the CLI (classic engine, no weights): a 50 fps driving video is rendered at
25 fps from every second frame and the output line says so; --fps overrides."""

import json
import subprocess

import pytest

from aniportrait_cli.media import VideoReader
from aniportrait_cli.media.ffmpeg import ffmpeg_exe
from tests.cli.run import aniportrait
from tests.conftest import KIT_DIR, require_shared


def portrait():
    return require_shared(KIT_DIR / "cases" / "06_reference_prep" / "inputs" / "ref_640x640.png")


@pytest.fixture(scope="module")
def drive50(tmp_path_factory, media_dir):
    root = tmp_path_factory.mktemp("rate")
    path = root / "drive50.mp4"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(media_dir / "pose_ref_video.mp4"), "-t", "1",
                    "-r", "50", "-c:v", "libx264", "-an", str(path)], check=True)
    assert abs(VideoReader(path).fps - 50) < 1e-6
    return root, path


def test_fifty_fps_is_halved(drive50, media_dir):
    root, path = drive50
    result = aniportrait("vid2vid", "--ref", portrait(), "--video", path, "--engine", "classic",
                         "--size", "128", "-o", "half.mp4", "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "every 2nd frame" in result.stderr and "25 fps" in result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["fps"] == 25 and summary["frames"] == 25
    reader = VideoReader(root / "half.mp4")
    assert reader.num_frames == 25 and abs(reader.fps - 25) < 1e-6


def test_fps_overrides(drive50, media_dir):
    root, path = drive50
    result = aniportrait("vid2vid", "--ref", portrait(), "--video", path, "--engine", "classic",
                         "--size", "128", "--fps", "50", "-o", "full.mp4", cwd=root)
    assert result.returncode == 0, result.stderr
    assert "every 2nd frame" not in result.stderr
    assert VideoReader(root / "full.mp4").num_frames == 50
