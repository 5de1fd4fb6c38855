import numpy as np
import pytest
import soundfile

from aniportrait_cli.errors import InputError
from aniportrait_cli.media.audio import load_audio, resample
from tests.media_factory import write_audio


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


def test_resampler_is_band_limited_and_accurate():
    rate_in, rate_out = 44100, 16000
    t_in = np.arange(rate_in) / rate_in
    out = resample(np.sin(2 * np.pi * 1000 * t_in).astype(np.float32), rate_in, rate_out)
    assert len(out) == rate_out
    t_out = np.arange(rate_out) / rate_out
    ideal = np.sin(2 * np.pi * 1000 * t_out)
    assert np.max(np.abs(out[200:-200] - ideal[200:-200])) < 2e-3
    # A tone above the new Nyquist frequency (9 kHz > 8 kHz) must be filtered out, not aliased.
    aliased = resample(np.sin(2 * np.pi * 9000 * t_in).astype(np.float32), rate_in, rate_out)
    assert np.max(np.abs(aliased[200:-200])) < 0.02


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
