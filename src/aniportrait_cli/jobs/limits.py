"""The allowed range of every numeric rendering option: one table for the command line and manifest rows, so a
row of a manifest is checked by the same rules, with the same messages, as the same option typed on the
command line (exit code 2 for both)."""

from __future__ import annotations

import math
import secrets

from aniportrait_cli.errors import InputError

# name: (type, lowest, highest); None = unbounded on that side.
LIMITS: dict[str, tuple[type, float | None, float | None]] = {
    "fps": (float, 1, 120),
    "size": (int, 64, 2048),
    "steps": (int, 1, 200),
    "cfg": (float, 0, None),
    "pose_style": (int, 0, 99),
    "max_output_size": (int, 64, 16384),
}
MAX_SEED = 2**32 - 1  # what torch and numpy generators take everywhere; negative = pick one at random


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_finite(name: str, value: float) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{flag(name)} {value}: not a finite number")


def check_option(name: str, value) -> None:
    """InputError naming the option when `value` is outside its range (or nan/inf)."""
    check_finite(name, value)
    if name == "seed":
        if value > MAX_SEED:
            raise InputError(f"{flag(name)} {value}: must be at most {MAX_SEED} (or negative for a random seed)")
        return
    if name not in LIMITS or value is None:
        return
    _, low, high = LIMITS[name]
    if (low is not None and value < low) or (high is not None and value > high):
        raise InputError(f"{flag(name)} {value:g}: must be {range_text(name)}")


def range_text(name: str) -> str:
    """'between 1 and 120' (the wording of both the error messages and the --help text)."""
    _, low, high = LIMITS[name]
    return f"between {low:g} and {high:g}" if high is not None else f"at least {low:g}"


def parse_option(name: str, text) -> object:
    """A manifest cell -> the option's value, checked like the command line's."""
    kind = int if name == "seed" else LIMITS[name][0]
    try:
        value = kind(str(text).strip())  # str(): a JSON number and a CSV cell parse alike
    except ValueError:
        raise InputError(f"{flag(name)} {text!r}: not a valid {'integer' if kind is int else 'number'}") from None
    check_option(name, value)
    return value


def resolve_seed(seed: int, reporter) -> int:
    """A negative seed means "random": pick one and say which, so the run can be repeated."""
    if seed >= 0:
        return seed
    chosen = secrets.randbelow(MAX_SEED + 1)
    reporter.info(f"seed {chosen} (random; pass --seed {chosen} to repeat this run)")
    return chosen
