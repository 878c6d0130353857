"""The service in a subprocess (pyogrio holds the GIL while reading, so a thread would stall the tests) and a
headless Chromium to look at it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from maps.browser import CHROMIUM

START_S = 60  # a bound on waiting for a service to start
# a bound on a page, not a timing: a fresh service's first map loads the map builders, and a loaded machine may
# take more than httpx's default 5 s for it
PAGE_S = 60


def require_chromium() -> None:
    """Skip without Debian's chromium; under CI=true its absence is a failure."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (scripts/system-packages.txt)")
        pytest.skip("chromium is not installed: apt-get install chromium")


def healthy_within(base: str, seconds: float) -> bool:
    """Whether the service at ``base`` answers ``/health`` within ``seconds`` (asked every 0.2 s)."""
    deadline = time.monotonic() + seconds
    with httpx.Client(timeout=1) as client:  # one client: each new one loads the CA store (~50 ms of CPU)
        while time.monotonic() < deadline:
            try:
                if client.get(f"{base}/health").status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
    return False


@contextmanager
def serving(database_url: str, access_log: Path | None = None, **settings: str) -> Iterator[str]:
    """``areavasta serve`` on a free loopback port over ``database_url``; yields its base URL once healthy.

    With ``access_log``, the server's log (one line per request, with its query string) is written there;
    ``settings`` are further ``AREAVASTA_*`` variables by their setting name (``basemap_url=…``)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AREAVASTA_")}
    env["AREAVASTA_DATABASE_URL"] = database_url
    env.update({f"AREAVASTA_{name.upper()}": value for name, value in settings.items()})
    with open(access_log, "w+b") if access_log else tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("areavasta")), "serve", "--port", str(port)],
            env=env,
            stdout=log if access_log else subprocess.DEVNULL,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            if not healthy_within(base, START_S):
                log.seek(0)
                pytest.fail(f"the service did not start: {log.read().decode(errors='replace')[-2000:]}")
            yield base
        finally:
            process.terminate()
            process.wait(timeout=20)
