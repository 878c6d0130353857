"""How the maps are checked in a real browser (tests and benchmarks): Debian's Chromium, headless, on a closed
network (background networking off, or Chromium keeps trying to reach Google's hosts)."""

from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
