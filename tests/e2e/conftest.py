"""Real-browser fixtures: Debian's Chromium, driven by Playwright (no browser download)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("LEDGERBOARD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser_page():
    """A page in a fresh headless Chromium. Missing Chromium fails the test, in words."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is needed at {CHROMIUM} for the browser tests; `python3 dev.py test` "
            "installs Debian's chromium package (or set LEDGERBOARD_CHROMIUM)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        page = browser.new_page()
        yield page
        browser.close()
