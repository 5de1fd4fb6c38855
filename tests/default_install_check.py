"""CI: the default install (`pip install .`, no torch) renders a classic audio2vid end to end.

Run with that install's Python (it has no pytest, scikit-image or torch): the speech is synthesised here and the
portrait is a real one from the project's shared media (../shared, as for the test suite).
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import soundfile

SHARED = Path(os.environ.get("ANIPORTRAIT_SHARED_DIR", Path(__file__).resolve().parents[2] / "shared"))


def main() -> int:
    face = SHARED / "media" / "real_talk" / "girl_ref.png"
    if not face.is_file():
        print(f"error: {face} is missing: clone the project next to its shared/ folder", file=sys.stderr)
        return 1
    folder = Path(tempfile.mkdtemp(prefix="aniportrait-default-install-"))
    rate = 16000
    t = np.arange(int(1.5 * rate)) / rate
    voice = 0.3 * (np.sin(2 * np.pi * 2 * t) > 0.2) * np.sign(np.sin(2 * np.pi * 140 * t))
    soundfile.write(folder / "voice.wav", voice.astype(np.float32), rate)
    result = subprocess.run([sys.executable, "-m", "aniportrait_cli", "audio2vid", "--ref", str(face), "--audio",
                             "voice.wav", "--size", "128", "--json"], cwd=folder, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return 1
    line = json.loads(result.stdout.splitlines()[-1])
    if line["status"] != "ok" or line["engine"] != "classic" or not Path(line["output"]).stat().st_size:
        print(f"error: unexpected result {line}", file=sys.stderr)
        return 1
    print(f"default install: classic audio2vid wrote {line['output']} ({line['frames']} frames, no torch)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
