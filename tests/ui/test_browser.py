"""The page in a real browser: headless Chromium (Debian's package) loads it, runs its scripts, shows the tabs."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

pytest.importorskip("gradio", reason="the ui extra is not installed: pip install -e '.[ui]'")
from aniportrait_cli.ui.page import TABS  # after the skip: importing the page needs gradio

BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def headless(browser: str, profile, *args: str) -> subprocess.CompletedProcess:
    # Nothing but the page itself: no first-run, sync, update or background traffic.
    return subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={profile}", "--window-size=1400,1000", "--virtual-time-budget=20000", *args],
        capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def browser() -> str:
    found = next((shutil.which(name) for name in BROWSERS if shutil.which(name)), None)
    if found is None:
        pytest.skip("no Chromium here (Debian: apt-get install chromium); the real-browser check needs one")
    return found


def test_the_page_loads_in_a_browser_and_shows_the_tabs(server, browser, tmp_path):
    result = headless(browser, tmp_path / "profile", "--dump-dom", server.url)
    assert result.returncode == 0, result.stderr[-2000:]
    # Tab buttons exist only once Gradio's scripts have run and built the page (the served HTML holds just its
    # config, where the names appear too: so look for the rendered buttons).
    tabs = re.findall(r'<button[^>]*role="tab"[^>]*>([^<]*)</button>', result.stdout)
    assert [t.strip() for t in tabs] == list(TABS), result.stdout[-3000:]
    assert re.search(r"<button[^>]*>(<!---->|\s)*Generate video(<!---->)*</button>", result.stdout)

def test_screenshot_of_the_page(server, browser, tmp_path):
    shot = tmp_path / "page.png"
    result = headless(browser, tmp_path / "profile", f"--screenshot={shot}", server.url)
    assert result.returncode == 0 and shot.stat().st_size > 20_000, result.stderr[-2000:]
