"""Phones of a speech signal, and the mouth shapes (visemes) they call for.

PocketSphinx's English acoustic model hears the audio twice:

* phone loop (`recognise_phones`): phones with the phone language model only (no words, no dictionary), in
  about 1/30 of real time on one core. On other languages, and on singing, it still finds the right *kind* of
  sound most of the time (open vowel, rounded vowel, lip closure, hiss);
* words (`recognise_word_phones`): English words with the general language model, then the phones of those
  words aligned to the audio, in about 1/4 of real time on one core (`recognise_all` shares its pieces among
  worker processes when there are spare cores). Words constrain the phones, so where the speech is
  English the phones are more often right; elsewhere the words are wrong but their phones still follow the
  sound's openness and closures. Measured on real speakers (`bench.fit_mouth`, leave one clip out), the two
  together predict the mouth better than either alone, a non-English clip included.

The signal features of `mouth_model.py` carry the rest.

Per 10 ms step this module gives one-hot viseme groups, a hand-set openness per phone and a silence flag;
`mouth_model.py` turns them (with the spectrum) into mouth motion.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
STEP_S = 0.01  # PocketSphinx's frame step
# Long audio is decoded in chunks of about this length, cut at the quietest moment near the end of each chunk
# (a phone is never split across two chunks in practice), so memory stays flat.
CHUNK_S = 30.0
CUT_SEARCH_S = 4.0
# The word pass cuts the audio into shorter pieces (at quiet moments, where the audio alone decides), each
# decoded on its own, so that worker processes can share them with results that do not depend on how many.
WORD_PIECE_S = 6.0
WORD_CUT_SEARCH_S = 2.0
MIN_PIECE_SAMPLES = int(0.1 * SAMPLE_RATE)  # shorter pieces (the tail of a cut) are not decoded

# Mouth-shape groups of the CMU (ARPAbet) phone set.
VISEME_GROUPS: dict[str, tuple[str, ...]] = {
    "closed": ("B", "P", "M"),  # lips pressed together
    "lip_teeth": ("F", "V"),  # lower lip under the upper teeth
    "rounded": ("UW", "OW", "UH", "W", "OY", "AO"),
    "open": ("AA", "AE", "AH", "AW", "AY"),
    "mid": ("EH", "EY", "ER"),
    "spread": ("IY", "IH", "Y"),
    "tongue_tip": ("T", "D", "N", "L", "TH", "DH"),
    "back": ("K", "G", "NG", "HH"),
    "hiss": ("S", "Z", "SH", "ZH", "CH", "JH", "R"),
}
# Jaw opening per phone, 0 (closed) .. 1 (/a/), as phoneticians describe it.
OPENNESS: dict[str, float] = {
    "AA": 1.0, "AE": 0.9, "AH": 0.75, "AO": 0.85, "AW": 0.85, "AY": 0.9, "EH": 0.7, "ER": 0.45, "EY": 0.6,
    "IH": 0.5, "IY": 0.35, "OW": 0.6, "OY": 0.7, "UH": 0.45, "UW": 0.35,
    "B": 0.0, "P": 0.0, "M": 0.0, "F": 0.1, "V": 0.1, "W": 0.2, "R": 0.35, "L": 0.45, "Y": 0.35,
    "TH": 0.25, "DH": 0.25, "S": 0.15, "Z": 0.15, "SH": 0.2, "ZH": 0.2, "CH": 0.2, "JH": 0.2,
    "T": 0.25, "D": 0.3, "N": 0.3, "K": 0.35, "G": 0.35, "NG": 0.35, "HH": 0.5,
}
# Lip rounding (+) or spreading (-) per viseme group.
ROUNDING: dict[str, float] = {"rounded": 1.0, "hiss": 0.3, "spread": -0.8, "mid": -0.3, "open": -0.1}
# Track columns: one per viseme group, then openness, then silence.
TRACK_NAMES = (*VISEME_GROUPS, "openness", "silence")


@dataclass(frozen=True)
class Phone:
    label: str  # ARPAbet phone, "SIL" for silence (noise and fillers count as silence)
    start_s: float
    end_s: float


def _model_paths() -> tuple[str, str]:
    import pocketsphinx

    root = os.path.join(pocketsphinx.get_model_path(), "en-us")
    return os.path.join(root, "en-us"), os.path.join(root, "en-us-phone.lm.bin")


def _word_model_paths() -> tuple[str, str, str]:
    import pocketsphinx

    root = os.path.join(pocketsphinx.get_model_path(), "en-us")
    return os.path.join(root, "en-us"), os.path.join(root, "en-us.lm.bin"), os.path.join(root, "cmudict-en-us.dict")


def _pcm(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def _run(decoder, pcm: bytes) -> None:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()


def _decode(decoder, samples: np.ndarray, offset_s: float) -> list[Phone]:
    _run(decoder, _pcm(samples))
    phones = []
    for segment in decoder.seg():
        label = segment.word.upper()
        if label not in OPENNESS:
            label = "SIL"
        phones.append(Phone(label, offset_s + segment.start_frame * STEP_S, offset_s + (segment.end_frame + 1) * STEP_S))
    return phones


def _chunk_bounds(samples: np.ndarray, chunk_s: float = CHUNK_S, search_s: float = CUT_SEARCH_S) -> list[tuple[int, int]]:
    """Sample ranges of at most ~chunk_s seconds, cut at the quietest 10 ms in the last search_s of each."""
    step = int(STEP_S * SAMPLE_RATE)
    chunk, search = int(chunk_s * SAMPLE_RATE), int(search_s * SAMPLE_RATE)
    bounds, start = [], 0
    while len(samples) - start > chunk + search:
        window = samples[start + chunk - search: start + chunk]
        energy = (window[: len(window) // step * step].reshape(-1, step) ** 2).sum(axis=1)
        cut = start + chunk - search + int(np.argmin(energy)) * step
        bounds.append((start, cut))
        start = cut
    bounds.append((start, len(samples)))
    return bounds


def _decode_words(decoder, samples: np.ndarray, offset_s: float) -> list[Phone]:
    """Words first, then a second pass that aligns the phones of those words (English dictionary) to the audio."""
    pcm = _pcm(samples)
    _run(decoder, pcm)
    phones: list[Phone] = []
    if decoder.hyp() is not None and decoder.hyp().hypstr.strip():
        try:
            decoder.set_alignment()
            _run(decoder, pcm)
            alignment = decoder.get_alignment()
        except RuntimeError:  # nothing alignable (only fillers): the piece counts as silence
            alignment = None
        for word in alignment or ():
            for phone in word:
                label = phone.name.upper()
                phones.append(Phone(label if label in OPENNESS else "SIL", offset_s + phone.start * STEP_S,
                                    offset_s + (phone.start + phone.duration) * STEP_S))
    return phones


def _decode_chunks(decoder, decode, samples_16k: np.ndarray) -> list[Phone]:
    samples = np.asarray(samples_16k, dtype=np.float32).reshape(-1)
    phones: list[Phone] = []
    for start, end in _chunk_bounds(samples):
        if end - start >= MIN_PIECE_SAMPLES:
            phones.extend(decode(decoder, samples[start:end], start / SAMPLE_RATE))
    return phones


def recognise_phones(samples_16k: np.ndarray) -> list[Phone]:
    """Phones of 16 kHz mono float samples, in time order (phone loop, any language)."""
    from pocketsphinx import Decoder

    hmm, phone_lm = _model_paths()
    # Beams: wider ones (1e-20) cost 5x the time for no better mouth motion on real speech. A low language
    # weight lets the sound, not English phonotactics, decide (better on the non-English development clip).
    decoder = Decoder(hmm=hmm, allphone=phone_lm, lw=1.0, beam=1e-10, pbeam=1e-10, loglevel="FATAL")
    return _decode_chunks(decoder, _decode, samples_16k)


def _word_decoder():
    from pocketsphinx import Decoder

    hmm, lm, dictionary = _word_model_paths()
    # Default beams: narrower ones (1e-30) are 3x faster but lose most of what the words add to the mouth.
    # The flat-lexicon and best-path passes cost 15% and change little. Cepstral means per piece ("batch").
    return Decoder(hmm=hmm, lm=lm, dict=dictionary, fwdflat=False, bestpath=False, cmn="batch", loglevel="FATAL")


def word_pieces(samples: np.ndarray) -> list[tuple[int, int]]:
    """Sample ranges the word pass decodes one at a time."""
    return _chunk_bounds(samples, WORD_PIECE_S, WORD_CUT_SEARCH_S)


def decode_word_piece(samples: np.ndarray, offset_s: float) -> list[Phone]:
    """Word phones of one piece (nothing for a piece under 0.1 s). A fresh decoder for each (0.2 s to load):
    a decoder carries state from one piece to the next, and a piece must decode the same in any process."""
    return _decode_words(_word_decoder(), samples, offset_s) if len(samples) >= MIN_PIECE_SAMPLES else []


def recognise_word_phones(samples_16k: np.ndarray) -> list[Phone]:
    """Phones of the English words heard in 16 kHz mono float samples, aligned to the audio, in time order."""
    samples = np.asarray(samples_16k, dtype=np.float32).reshape(-1)
    return [phone for a, b in word_pieces(samples) for phone in decode_word_piece(samples[a:b], a / SAMPLE_RATE)]


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def recognise_all(samples_16k: np.ndarray) -> tuple[list[Phone], list[Phone]]:
    """(`recognise_phones`, `recognise_word_phones`) of the samples, the same phones, sooner: with spare cores the
    word pass (~4x the phone loop's time) runs in worker processes (`word_worker.py`, ~0.2 s to start) while
    this process runs the phone loop. Any worker that fails has its pieces decoded here instead."""
    import subprocess
    import sys

    samples = np.asarray(samples_16k, dtype=np.float32).reshape(-1)
    pieces = word_pieces(samples)
    workers = min(_usable_cores(), len(pieces))
    if workers < 2:
        return recognise_phones(samples), recognise_word_phones(samples)
    from aniportrait_cli.classic import word_worker

    shares = [pieces[k::workers] for k in range(workers)]
    procs: list[subprocess.Popen | None] = []
    try:
        for _ in shares:
            try:
                procs.append(subprocess.Popen([sys.executable, "-m", word_worker.__name__], stdin=subprocess.PIPE,
                                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                              env=word_worker.environment()))
            except OSError:  # no processes here (a sandbox): this process decodes that share
                procs.append(None)
        for proc, share in zip(procs, shares):
            if proc is not None:
                try:
                    proc.stdin.write(word_worker.encode_pieces(samples, share))
                    proc.stdin.close()
                except OSError:  # the worker died at start
                    pass
        loop = recognise_phones(samples)  # meanwhile, here
        decoded: dict[tuple[int, int], list[Phone]] = {}
        for proc, share in zip(procs, shares):
            results = word_worker.read_results(proc, len(share)) if proc is not None else None
            if results is None:
                results = [decode_word_piece(samples[a:b], a / SAMPLE_RATE) for a, b in share]
            decoded.update(zip(share, results))
        return loop, [phone for piece in pieces for phone in decoded[piece]]
    finally:
        for proc in procs:  # at once, also when interrupted
            if proc is not None and proc.poll() is None:
                proc.kill()
            if proc is not None:
                proc.wait()


def phone_tracks(phones: list[Phone], num_steps: int) -> np.ndarray:
    """(num_steps, len(TRACK_NAMES)) per 10 ms step: viseme-group one-hots, openness, silence."""
    groups = {label: index for index, members in enumerate(VISEME_GROUPS.values()) for label in members}
    tracks = np.zeros((num_steps, len(TRACK_NAMES)), dtype=np.float32)
    tracks[:, -1] = 1.0  # silence until a phone says otherwise
    for phone in phones:
        a, b = int(round(phone.start_s / STEP_S)), int(round(phone.end_s / STEP_S))
        a, b = max(a, 0), min(b, num_steps)
        if b <= a or phone.label == "SIL":
            continue
        tracks[a:b] = 0.0
        tracks[a:b, groups[phone.label]] = 1.0
        tracks[a:b, -2] = OPENNESS[phone.label]
    return tracks


def rounding_track(tracks: np.ndarray) -> np.ndarray:
    """Lip rounding -1..1 per step from the viseme groups."""
    names = list(TRACK_NAMES)
    weights = np.zeros(len(names), dtype=np.float32)
    for group, value in ROUNDING.items():
        weights[names.index(group)] = value
    return tracks @ weights
