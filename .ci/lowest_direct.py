"""Print pip constraints that pin every direct dependency of pyproject.toml (and the given extras) to its floor.

CI installs with them to prove the declared floors work (what `uv pip install --resolution lowest-direct`
does; plain pip has no such mode). torch is left out: CI keeps the on-disk CPU wheel, since a lowest-version
torch from the registry is a multi-GB CUDA build.

    python .ci/lowest_direct.py neural test > lowest.txt && pip install torch==2.13.0 -e ".[neural,test]" -c lowest.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

SKIP = {"torch"}


def floors(pyproject: Path, extras: list[str]) -> list[str]:
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    pins = []
    for requirement in requirements:
        if requirement.startswith("aniportrait-cli"):
            continue  # an extra that includes another extra
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*>=\s*([^,;\s]+)\s*(;.*)?", requirement)
        if match is None:
            raise SystemExit(f"{requirement!r}: every direct dependency needs a plain '>=' floor")
        name, _, version, marker = match.groups()
        if name.lower() not in SKIP:
            pins.append(f"{name}=={version}{marker or ''}")
    return pins


if __name__ == "__main__":
    print("\n".join(floors(Path(__file__).resolve().parents[1] / "pyproject.toml", sys.argv[1:])))
