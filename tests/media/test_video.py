import math
import subprocess

import numpy as np
import pytest

from aniportrait_cli.errors import InputError
from aniportrait_cli.media import VideoReader, VideoWriter, load_audio
from aniportrait_cli.media.ffmpeg import ffmpeg_exe, probe
from tests.media_factory import write_audio, write_test_video


def frames_of(color_count: int, height: int, width: int):
    for i in range(color_count):
        frame = np.zeros((height, width, 3), np.uint8)
        frame[..., 0] = (i * 37) % 256
        frame[..., 1] = 128
        frame[: height // 2, :, 2] = 255
        yield frame


@pytest.mark.parametrize("fps", [30.0, 24.0, 12.5])
def test_mp4_roundtrip_has_exactly_the_audio_length(tmp_path, fps):
    audio = load_audio(write_audio(tmp_path / "speech.m4a", seconds=2.3))
    n = audio.num_frames(fps)
    assert n == math.ceil(audio.duration_s * fps - 1e-9)
    out = tmp_path / "out.mp4"
    with VideoWriter(out, fps, 128, 96, audio_path=audio.source, num_frames=n) as writer:
        for frame in frames_of(n, 96, 128):
            writer.write(frame)
    info = probe(out)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    assert (info.width, info.height) == (128, 96)
    reader = VideoReader(out)
    assert reader.fps == pytest.approx(fps, rel=1e-3)
    decoded = list(reader.frames())
    assert len(decoded) == n == reader.num_frames
    # Colours survive H.264 within a few levels.
    expected = next(frames_of(1, 96, 128))
    assert np.abs(decoded[0].astype(int) - expected.astype(int)).mean() < 6
    muxed = load_audio(out)
    assert abs(muxed.duration_s - n / fps) < 1.0 / fps
    assert abs(muxed.duration_s - audio.duration_s) < 1.0 / fps + 0.03
    assert "yuv420p" in subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(out)], capture_output=True, text=True).stderr


def test_interrupted_write_leaves_no_file(tmp_path):
    out = tmp_path / "out.mp4"
    with pytest.raises(KeyboardInterrupt):
        with VideoWriter(out, 25, 64, 64) as writer:
            for frame in frames_of(5, 64, 64):
                writer.write(frame)
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_existing_file_survives_a_failed_rewrite(tmp_path):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"previous result")
    with pytest.raises(RuntimeError):
        with VideoWriter(out, 25, 64, 64) as writer:
            writer.write(next(frames_of(1, 64, 64)))
            raise RuntimeError("renderer crashed")
    assert out.read_bytes() == b"previous result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mp4"]


def test_odd_sizes_are_padded_to_even(tmp_path):
    out = tmp_path / "odd.mp4"
    with VideoWriter(out, 10, 101, 75) as writer:
        for frame in frames_of(3, 75, 101):
            writer.write(frame)
    info = probe(out)
    assert (info.width, info.height) == (102, 76)


def test_reader_streams_and_counts(tmp_path, media_dir):
    reader = VideoReader(media_dir / "pose_ref_video.mp4")
    assert (reader.info.width, reader.info.height, reader.fps, reader.info.has_audio) == (512, 512, 25.0, True)
    frames = reader.frames()
    first = next(frames)
    assert first.shape == (512, 512, 3) and first.dtype == np.uint8
    frames.close()  # stopping early kills the decoder
    assert reader.num_frames == 125


def test_portrait_rotation_is_applied(tmp_path):
    source = write_test_video(tmp_path / "landscape.mp4", size="96x64", with_audio=False)
    rotated = tmp_path / "phone.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error", "-display_rotation", "90", "-i", str(source),
                    "-c", "copy", str(rotated)], check=True)
    reader = VideoReader(rotated)
    assert (reader.info.width, reader.info.height) == (64, 96)
    assert next(reader.frames()).shape == (96, 64, 3)


def test_variable_frame_rate_becomes_constant(tmp_path):
    vfr = tmp_path / "vfr.mp4"
    subprocess.run([ffmpeg_exe(), "-y", "-loglevel", "error",
                    "-f", "lavfi", "-i", "testsrc=s=64x64:r=10:d=1", "-f", "lavfi", "-i", "testsrc=s=64x64:r=30:d=1",
                    "-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-fps_mode", "vfr",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(vfr)], check=True)
    reader = VideoReader(vfr, fps=20)
    frames = list(reader.frames())
    # 2 s at a constant 20 fps, whatever the source's per-segment rates were.
    assert abs(len(frames) - 40) <= 1


def test_corrupt_video_is_an_input_error(tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(200))
    with pytest.raises(InputError, match="broken.mp4"):
        list(VideoReader(bad).frames())
