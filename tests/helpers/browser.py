"""Debian's Chromium for the browser tests (playwright cannot download browsers here)."""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
# The machine's network is closed: no background requests, no QUIC, no first-run tasks.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
