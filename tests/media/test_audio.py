import subprocess

import numpy as np
import pytest
import soundfile

from aniportrait_cli.errors import InputError
from aniportrait_cli.media.audio import load_audio
from tests.media_factory import tone, write_audio


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * rate / len(samples))


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg", ".mp3", ".m4a", ".aac", ".mp4", ".mov", ".webm"])
def test_every_format_loads_as_mono_16k_float32(tmp_path, suffix):
    path = write_audio(tmp_path / f"voice{suffix}", seconds=1.5, freq=440.0)
    audio = load_audio(path)
    assert audio.sample_rate == 16000
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    # Lossy codecs add encoder delay/padding of a few ms; the length must still be right to about 50 ms.
    assert abs(audio.duration_s - 1.5) < 0.05
    assert abs(dominant_frequency(audio.samples, 16000) - 440.0) < 3.0
    assert audio.source == path


@pytest.mark.parametrize("rate", [44100, 22051, 44056])
def test_any_rate_is_resampled_band_limited_and_accurate(tmp_path, rate):
    """soxr through the bundled ffmpeg: coprime rates (22051 Hz) cost what 22050 Hz costs, and nothing aliases."""
    t = np.arange(rate) / rate
    soundfile.write(tmp_path / "tone.wav", (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32), rate)
    out = load_audio(tmp_path / "tone.wav").samples
    assert len(out) == 16000
    ideal = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(16000) / 16000)
    assert np.max(np.abs(out[200:-200] - ideal[200:-200])) < 2e-3
    # A tone above the new Nyquist frequency (9 kHz > 8 kHz) must be filtered out, not aliased.
    soundfile.write(tmp_path / "high.wav", (0.5 * np.sin(2 * np.pi * 9000 * t)).astype(np.float32), rate)
    aliased = load_audio(tmp_path / "high.wav", allow_silent=True).samples
    assert np.max(np.abs(aliased[200:-200])) < 0.01


def test_late_audio_stream_gets_its_offset_as_leading_silence(tmp_path):
    """An mp4 whose audio starts 1 s after the video: the samples (and the mux file) start with 1 s of silence."""
    from aniportrait_cli.media.ffmpeg import ffmpeg_exe

    write_audio(tmp_path / "tone.wav", seconds=1.0, rate=44100)
    late = tmp_path / "late.mp4"
    subprocess.run([ffmpeg_exe(), "-loglevel", "error", "-f", "lavfi", "-i", "color=c=gray:s=64x64:r=10:d=2",
                    "-itsoffset", "1.0", "-i", str(tmp_path / "tone.wav"), "-map", "0:v", "-map", "1:a",
                    "-c:v", "libx264", "-c:a", "aac", str(late)], check=True)
    with load_audio(late, for_mux=True) as audio:
        rms = [float(np.sqrt(np.mean(audio.samples[i * 1600:(i + 1) * 1600] ** 2))) for i in range(20)]
        assert max(rms[:9]) < 1e-3 and min(rms[11:19]) > 0.1, rms  # silence, then the tone from 1.0 s
        assert abs(audio.duration_s - 2.0) < 0.05
        muxed, rate = soundfile.read(audio.mux_path)
        assert rate == 44100 and abs(len(muxed) / rate - audio.duration_s) < 0.01  # the same timeline
        mux_path = audio.mux_path
    assert not mux_path.exists()  # the temporary file goes with the clip


def test_phase_inverted_stereo_uses_the_louder_channel(tmp_path):
    voice = tone(1.0, 16000)[:, 0]
    soundfile.write(tmp_path / "inverted.wav", np.stack([voice, -0.9 * voice], axis=1), 16000)
    notes = []
    audio = load_audio(tmp_path / "inverted.wav", on_warning=notes.append)
    assert np.max(np.abs(audio.samples)) > 0.35  # the louder channel, not the cancelled mix
    assert len(notes) == 1 and "phase-inverted" in notes[0]


def test_num_frames_covers_the_audio_exactly(tmp_path):
    path = tmp_path / "a.wav"
    soundfile.write(path, np.random.default_rng(0).uniform(-0.5, 0.5, 16000 * 2 + 100).astype(np.float32), 16000)
    audio = load_audio(path)
    assert audio.num_frames(30) == 61  # ceil(2.00625 * 30)
    assert audio.num_frames(25) == 51


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b"not audio at all"), "not a readable audio file"),
        (lambda p: soundfile.write(p, np.zeros((0, 1), np.float32), 16000), "empty"),
        (lambda p: soundfile.write(p, np.zeros(16000, np.float32), 16000), "silent"),
    ],
    ids=["garbage", "empty", "silent"],
)
def test_bad_audio_is_a_clear_input_error(tmp_path, make, message):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(InputError, match=message) as info:
        load_audio(path)
    assert str(path) in str(info.value)


def test_container_without_audio_track(tmp_path):
    from tests.media_factory import write_test_video

    path = write_test_video(tmp_path / "mute.mp4", with_audio=False)
    with pytest.raises(InputError, match="no audio track"):
        load_audio(path)
