"""Jobs run through the page's API with gradio_client, as the browser runs them: upload, run, download."""

from __future__ import annotations

import math

import pytest

from aniportrait_cli.media import VideoReader, load_audio
from tests.cli.run import aniportrait
from tests.ui.conftest import NO_WEIGHTS, VOICE_S

FPS = 25
# The audio tab's inputs after the two files: head pose, pose file, then the Settings accordion.
CLASSIC_SMALL = {"engine": "classic", "seed": 42, "fps": FPS, "size": 128, "steps": 25, "cfg": 3.5, "fast": False}


@pytest.fixture(scope="module")
def client(server, tmp_path_factory):
    gradio_client = pytest.importorskip("gradio_client")
    downloads = tmp_path_factory.mktemp("downloads")
    connected = gradio_client.Client(server.url, verbose=False, download_files=str(downloads), analytics_enabled=False)
    yield connected
    connected.close()


def upload(path):
    from gradio_client import handle_file

    return handle_file(str(path))


def test_audio_to_video_upload_to_finished_mp4_of_the_audio_length(server, client, inputs):
    video, downloads, log = client.predict(upload(inputs / "face.png"), upload(inputs / "voice.wav"), "own motion",
                                           None, *CLASSIC_SMALL.values(), api_name="/audio2vid")
    assert log.startswith("wrote ") and "classic engine" in log, log
    # The job wrote into its session's folder inside the server's temporary folder, nowhere else.
    assert str(server.root / "sessions") in log
    reader = VideoReader(video)
    assert reader.num_frames == math.ceil(VOICE_S * FPS)
    assert (reader.info.width, reader.info.height) == (128, 128)
    assert abs(load_audio(video).duration_s - VOICE_S) < 1 / FPS + 0.03
    names = sorted(p.rsplit("/", 1)[-1] for p in downloads)
    assert names == ["face__voice.mp4", "motion.npz"]
    # The page showed the progress; the server's log has the CLI's plain progress lines.
    frames = math.ceil(VOICE_S * FPS)
    assert f"Rendering: {frames}/{frames} (100%)" in "".join(server.stderr_lines), server.stderr_lines


def test_bad_input_shows_the_cli_error_line(client, inputs, tmp_path):
    """A portrait given as the audio: the page says what the CLI says, and renders nothing."""
    video, downloads, log = client.predict(upload(inputs / "face.png"), upload(inputs / "face.png"), "own motion",
                                           None, *CLASSIC_SMALL.values(), api_name="/audio2vid")
    assert video is None and downloads is None
    cli = aniportrait("audio2vid", "--ref", inputs / "face.png", "--audio", inputs / "face.png", "--engine", "classic",
                      cwd=tmp_path)
    cli_line = next(line for line in cli.stderr.splitlines() if line.startswith("error:"))
    assert log.count("\n") == 0 and log.startswith("error: ")
    # Same message; only the folder of the file differs (the page names its uploaded copy).
    assert log.split("face.png", 1)[1] == cli_line.split("face.png", 1)[1]


def test_missing_input_is_one_line_too(client, inputs):
    _, _, log = client.predict(None, upload(inputs / "voice.wav"), "own motion", None, *CLASSIC_SMALL.values(),
                               api_name="/audio2vid")
    assert log == "error: a portrait image is required: add it above"


def test_edit_pose_preview_with_a_pose_template(client, inputs, media_dir):
    """The landmark preview of the speech's motion with the head pose of a template, plus the template download."""
    video, downloads, log = client.predict(
        upload(inputs / "face.png"), upload(inputs / "voice.wav"), "from a file", upload(media_dir / "pose_temp.npy"),
        1.5, 1, 10, 0, 0, False, "pingpong", *CLASSIC_SMALL.values(), api_name="/edit_pose_preview")
    assert log.splitlines()[-1].startswith("wrote "), log
    reader = VideoReader(video)
    assert reader.num_frames == math.ceil(VOICE_S * FPS)
    assert (reader.info.width, reader.info.height) == (2 * 128, 128)  # landmarks | reference
    names = sorted(p.rsplit("/", 1)[-1] for p in downloads)
    assert names == ["face__voice__preview.mp4", "head_pose.npy", "motion.npz"]


def test_check_sync_reports_in_the_page(client, inputs):
    video, _, _ = client.predict(upload(inputs / "face.png"), upload(inputs / "voice.wav"), "own motion", None,
                                 *CLASSIC_SMALL.values(), api_name="/audio2vid")
    report = client.predict(upload(video), None, None, api_name="/check_sync")
    assert "verdict" in report, report
    # --against: the same video as its own "real" speaker moves exactly like it.
    same = client.predict(upload(video), None, upload(video), api_name="/check_sync")
    assert same.splitlines()[0].split()[-1] == "+1.00", same  # correlation at lag 0


def test_video_to_video_at_the_driving_rate(client, inputs, media_dir, tmp_path):
    """FPS 0 in the page is the CLI's default: the driving video's own rate; its sound is kept."""
    import subprocess

    from aniportrait_cli.media.ffmpeg import ffmpeg_exe

    drive = tmp_path / "drive.mp4"  # the first second of the shared clip (25 fps)
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-y", "-i", str(media_dir / "pose_ref_video.mp4"), "-t", "1",
                    "-c:v", "libx264", "-c:a", "aac", str(drive)], check=True)
    settings = {**CLASSIC_SMALL, "fps": 0}
    video, downloads, log = client.predict(upload(inputs / "face.png"), upload(drive), *settings.values(),
                                           api_name="/vid2vid")
    assert log.splitlines()[-1].startswith("wrote "), log
    reader = VideoReader(video)
    assert reader.fps == 25 and reader.num_frames == 25 and reader.info.has_audio
    assert sorted(p.rsplit("/", 1)[-1] for p in downloads) == ["face__drive.mp4", "motion.npz"]


def test_neural_without_weights_says_how_to_get_them(client, inputs):
    """The server's --weights-dir (here from ANIPORTRAIT_WEIGHTS_DIR, as for the CLI) has no weights."""
    settings = {**CLASSIC_SMALL, "engine": "neural"}
    video, _, log = client.predict(upload(inputs / "face.png"), upload(inputs / "voice.wav"), "own motion", None,
                                   *settings.values(), api_name="/audio2vid")
    assert video is None and log.startswith("error: ") and "aniportrait weights download" in log, log
    assert NO_WEIGHTS in log


def test_negative_seed_is_random_and_named_as_in_the_cli(client, inputs):
    settings = {**CLASSIC_SMALL, "seed": -1}
    video, _, log = client.predict(upload(inputs / "face.png"), upload(inputs / "voice.wav"), "own motion", None,
                                   *settings.values(), api_name="/audio2vid")
    chosen = next(line for line in log.splitlines() if line.startswith("seed "))
    assert "(random; pass --seed" in chosen and int(chosen.split()[1]) >= 0, log
    assert video is not None and log.splitlines()[-1].startswith("wrote "), log


def test_a_seed_beyond_the_cli_range_is_refused_as_the_cli_does(client, inputs):
    """The sliders have their ranges checked by Gradio; the seed box has none, so the job checks it."""
    settings = {**CLASSIC_SMALL, "seed": 2**40}
    video, downloads, log = client.predict(upload(inputs / "face.png"), upload(inputs / "voice.wav"), "own motion",
                                           None, *settings.values(), api_name="/audio2vid")
    assert video is None and downloads is None, log
    assert log == f"error: --seed {2**40}: must be at most {2**32 - 1} (or negative for a random seed)", log
