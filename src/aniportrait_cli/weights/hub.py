"""Network awareness for the Hugging Face hub client.

Without a network, each hub call made with HF_HUB_OFFLINE unset retries for ~23 s. Nothing in aniportrait needs
the network except `weights download`, so every other command sets offline mode before the hub libraries are
imported, and `weights download` probes the endpoint first (through the hub client, proxies included) and fails within seconds
when it is unreachable.
"""

from __future__ import annotations

import os
import sys

DEFAULT_ENDPOINT = "https://huggingface.co"
HUB_MODULES = ("huggingface_hub", "transformers", "diffusers")


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", DEFAULT_ENDPOINT).rstrip("/")


def force_offline() -> None:
    """Make the hub libraries answer from the local cache only (must run before they are imported)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")


def offline_requested() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "true", "yes", "on"}


def hub_modules_already_imported() -> bool:
    return any(name in sys.modules for name in HUB_MODULES)


def reachable(timeout_s: float = 3.0) -> tuple[bool, str]:
    """Can the hub client reach the endpoint? (reason string when not).

    One request through the hub client's own HTTP session, so HTTPS_PROXY / NO_PROXY, HF_ENDPOINT mirrors and
    the client's certificates apply exactly as for the download itself.
    """
    from huggingface_hub.utils import get_session

    url = endpoint() + "/api/models?limit=1"
    try:
        get_session().head(url, timeout=timeout_s)
    except Exception as exc:  # requests and httpx raise different types; any failure means unreachable
        detail = str(exc).splitlines()[0] if str(exc) else ""
        return False, f"cannot reach {endpoint()} ({exc.__class__.__name__}{': ' + detail[:160] if detail else ''})"
    return True, ""
