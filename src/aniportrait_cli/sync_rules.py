"""check-sync's verdict rule (no imports, so the CLI can state it in its help without loading numpy).

Calibrated with `python -m aniportrait_cli.bench.real_talk` on real talking-head clips in sync, the same clips
with their sound shifted by 0.5 s either way, and with another clip's sound.
"""

MAX_OFFSET_FRAMES = 15  # audio-video offsets searched, and the range of the median
MIN_CONFIDENCE = 0.22  # correlation at the best offset minus its median over all offsets
MAX_OFFSET_MS = 160.0  # the best offset must be this close to 0

VERDICT_RULE = (f"lip-synced when the confidence (correlation at the best offset minus its median over +-{MAX_OFFSET_FRAMES} "
                f"frames) is >= {MIN_CONFIDENCE} and the best offset is within +-{MAX_OFFSET_MS:g} ms")
