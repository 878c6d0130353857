"""Which libraries a fresh interpreter has loaded after running a piece of the product (start-up costs)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def loaded_by(script: str, names: Sequence[str], args: Sequence[str] = (), **env: str) -> set[str]:
    """The modules of ``names`` loaded once ``script`` has run in a new interpreter, with ``args`` as its arguments
    and only the ``AREAVASTA_*`` variables of ``env``."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AREAVASTA_")} | env
    report = f"\nimport sys\nprint('LOADED', ' '.join(sorted(m for m in {tuple(names)!r} if m in sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script + report, *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    line = next((line for line in done.stdout.splitlines() if line.startswith("LOADED")), None)
    assert line is not None, f"the script did not finish: {done.stderr[-2000:]}"
    return set(line.split()[1:])
