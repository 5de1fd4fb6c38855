"""The classic mouth model's parts: phone decoding, phone tracks, design matrix, fitting and the shipped model."""

from __future__ import annotations

import numpy as np
import pytest

from aniportrait_cli.classic import mouth_model, phones
from aniportrait_cli.classic.speech import gaussian_kernel, smooth


def test_long_audio_is_decoded_in_chunks_cut_at_quiet_moments():
    rate = phones.SAMPLE_RATE
    rng = np.random.default_rng(0)
    samples = 0.1 * rng.normal(size=75 * rate).astype(np.float32)
    samples[int(29 * rate): int(29.2 * rate)] = 0.0  # a pause near the end of the first chunk
    bounds = phones._chunk_bounds(samples)
    assert bounds[0][0] == 0 and bounds[-1][1] == len(samples)
    assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))  # contiguous, nothing lost
    assert 29 * rate <= bounds[0][1] <= 29.2 * rate
    assert max(end - start for start, end in bounds) <= (phones.CHUNK_S + phones.CUT_SEARCH_S) * rate


def test_phone_tracks_mark_visemes_openness_and_silence():
    decoded = [phones.Phone("SIL", 0.0, 0.1), phones.Phone("M", 0.1, 0.2), phones.Phone("AA", 0.2, 0.4)]
    tracks = phones.phone_tracks(decoded, 50)
    names = list(phones.TRACK_NAMES)
    assert tracks[:10, names.index("silence")].all() and tracks[40:, names.index("silence")].all()
    assert tracks[10:20, names.index("closed")].all() and (tracks[10:20, names.index("openness")] == 0.0).all()
    assert tracks[20:40, names.index("open")].all() and (tracks[20:40, names.index("openness")] == 1.0).all()
    rounding = phones.rounding_track(phones.phone_tracks([phones.Phone("UW", 0.0, 0.1), phones.Phone("IY", 0.1, 0.2)], 20))
    assert rounding[:10].min() > 0.5 and rounding[10:].max() < -0.5


def test_recognises_phones_in_speech(speech):
    """espeak-ng sentences: phones in the sentences, silence in the pauses between them."""
    _assert_phones_of_speech(phones.recognise_phones(speech), speech)


def _assert_phones_of_speech(decoded: list, speech: np.ndarray) -> list:
    """Phones heard in the espeak-ng sentences, inside the audio, none in its leading 0.7 s of silence; returns
    the spoken (non-silence) ones."""
    spoken = [p for p in decoded if p.label != "SIL"]
    assert len(spoken) >= 30
    assert all(0.0 <= p.start_s < p.end_s <= len(speech) / 16000 + 0.02 for p in decoded)
    assert not any(p.start_s < 0.6 for p in spoken)  # the clip starts with 0.7 s of silence
    return spoken


def test_design_matrix_stacks_context_around_each_frame():
    steps = np.arange(200, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)
    design = mouth_model.design_matrix(steps, np.array([1.0]))  # 1 s = step 100
    assert design.shape == (1, 2 * len(mouth_model.TAPS))
    centre = mouth_model.TAPS.index(0)
    assert design[0, 2 * centre] == pytest.approx(100.0, abs=1.0)
    assert design[0, 2 * (centre + 1)] == pytest.approx(100.0 + mouth_model.BLOCK_STEPS, abs=1.0)


def test_fit_recovers_a_linear_relation_and_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    designs = [rng.normal(size=(400, 6)) for _ in range(3)]
    targets = [d @ np.array([1.0, -0.5, 0.0, 0.0, 0.2, 0.0]) + 0.05 * rng.normal(size=400) for d in designs]
    model = mouth_model.fit(designs, targets, alpha=1.0)
    prediction = model.predict(designs[0])
    assert np.corrcoef(prediction, targets[0])[0, 1] > 0.99
    assert np.std(np.concatenate([model.predict(d) for d in designs])) == pytest.approx(1.0, rel=1e-3)
    mouth_model.MouthModel(model.mean, model.scale, model.weights, model.gain).save(tmp_path / "m.npz")
    np.testing.assert_allclose(mouth_model.MouthModel.load(tmp_path / "m.npz").predict(designs[1]), model.predict(designs[1]))


def test_shipped_model_moves_with_speech(speech, monkeypatch):
    steps = mouth_model.speech_steps(speech)
    frames = np.arange(int(len(speech) / 16000 * 30))
    model = mouth_model.default_model()
    z = model.predict_at(steps.features, (frames + 0.5) / 30)
    assert z.shape == frames.shape and np.isfinite(z).all()
    # Block by block (as for long audio) gives the same as one design matrix.
    monkeypatch.setattr(mouth_model, "PREDICT_CHUNK_FRAMES", 50)
    z = model.predict_at(steps.features, (frames + 0.5) / 30)
    whole = model.predict(mouth_model.design_matrix(steps.features, (frames + 0.5) / 30))
    smoothed = smooth(whole, gaussian_kernel(mouth_model.SMOOTH_S * 30))
    np.testing.assert_allclose(z, smoothed, rtol=1e-5, atol=1e-5)
    # It moves with the syllables of the first sentence and stays put in the silence before it (digital
    # silence is floored like a quiet room, so it cannot throw the model off).
    assert np.std(z[30:60]) > 0.3
    assert np.ptp(z[3:15]) < 0.05 and abs(np.median(z[3:15])) < 1.0


def test_recognises_word_phones_in_speech(speech):
    """The English word pass: phones of recognised words, aligned to the audio, none in the leading silence."""
    spoken = _assert_phones_of_speech(phones.recognise_word_phones(speech), speech)
    assert {p.label for p in spoken} & set(phones.VISEME_GROUPS["closed"])  # "Peter picked a peck ... peppers"


def _synthetic_clip(rng, shift_frames: int, fps: float = 25.0, seconds: float = 30.0):
    """A clip whose mouth follows its (random, smooth) features `shift_frames` video frames late."""
    from aniportrait_cli.bench.fit_mouth import Clip

    steps = int(seconds / mouth_model.STEP_S) + 1
    kernel = np.hanning(41)
    features = np.stack([np.convolve(rng.normal(size=steps), kernel / kernel.sum(), mode="same")
                         for _ in range(mouth_model.NUM_FEATURES)], axis=1).astype(np.float32)
    frames = int(seconds * fps)
    times = (np.arange(frames) + 0.5 - shift_frames) / fps
    drive = features[np.clip(np.round(times / mouth_model.STEP_S).astype(int), 0, steps - 1), :3].sum(axis=1)
    opening = (0.2 + 0.05 * drive) ** 2
    tracks = np.zeros((steps, len(phones.TRACK_NAMES)), np.float32)
    return Clip(opening, np.ones(frames, bool), fps, np.zeros(int(seconds * 16000), np.float32),
                mouth_model.SpeechSteps(features, tracks, np.zeros(steps, np.float32)))


def test_fit_measures_each_clips_offset_and_fits_it_there():
    """fit_mouth: a clip whose picture lags its sound by 3 frames is found 3 frames late by a model fitted on
    in-sync clips, whatever the order of the clips, and fitting every clip at its own offset keeps the model's
    timing sharp."""
    from aniportrait_cli.bench import fit_mouth

    rng = np.random.default_rng(0)
    in_sync = [_synthetic_clip(rng, 0) for _ in range(2)]
    late = _synthetic_clip(rng, 3)
    model = fit_mouth.fit_at(in_sync, [0, 0], alpha=10.0)
    assert late.offset(model) == 3 and in_sync[0].offset(model) == 0
    aligned = fit_mouth.fit_on([*in_sync, late], alpha=10.0)
    blurred = fit_mouth.fit_at([*in_sync, late], [0, 0, 0], alpha=10.0)
    fresh = _synthetic_clip(rng, 0)

    def r(m):  # at the model's own timing (that of the average clip): how sharp the prediction is
        return np.corrcoef(fresh.predict(m, fresh.offset(m)), fresh.opening)[0, 1]

    # Only offsets between clips can be measured (centred on their mean): the late clip is 3 frames behind.
    for clips, late_index in (([*in_sync, late], 2), ([late, *in_sync], 0)):
        offsets = fit_mouth.clip_offsets(clips, alpha=10.0)
        in_sync_offsets = [offset for index, offset in enumerate(offsets) if index != late_index]
        assert in_sync_offsets[0] == in_sync_offsets[1] and offsets[late_index] - in_sync_offsets[0] == 3
        assert abs(sum(offsets)) <= 1
    assert r(aligned) > 0.95 and r(aligned) > r(blurred) + 0.03
    # The gain makes the smoothed prediction's std 1 on the fitted clips.
    assert np.std(np.concatenate([c.predict(aligned, o) for c, o in zip([*in_sync, late], [0, 0, 3])])) == pytest.approx(1.0, rel=0.05)


@pytest.fixture(scope="module")
def long_speech(speech):
    """Speech long enough for the word pass to cut it into several pieces."""
    samples = np.concatenate([speech, speech])
    assert len(phones.word_pieces(samples)) >= 2
    return samples


def test_word_pass_in_worker_processes_gives_the_same_phones(long_speech, monkeypatch):
    """With spare cores the word pass runs in `word_worker` subprocesses; its phones are exactly the in-process
    ones, however many workers share the pieces."""
    sequential = (phones.recognise_phones(long_speech), phones.recognise_word_phones(long_speech))
    assert any(p.label != "SIL" for p in sequential[1])
    for cores in (2, 3):
        monkeypatch.setattr(phones, "_usable_cores", lambda cores=cores: cores)
        assert phones.recognise_all(long_speech) == sequential


def test_word_pass_falls_back_to_this_process_when_workers_fail(long_speech, monkeypatch):
    """A worker that cannot start (or dies) has its pieces decoded in the calling process instead."""
    import sys

    monkeypatch.setattr(phones, "_usable_cores", lambda: 2)
    expected = phones.recognise_word_phones(long_speech)
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")  # Popen raises
    assert phones.recognise_all(long_speech)[1] == expected
    monkeypatch.setattr(sys, "executable", "false")  # starts, exits 1 at once
    assert phones.recognise_all(long_speech)[1] == expected
