"""What every benchmark report carries: the date, the machine, the command; and small helpers to run the service."""

from __future__ import annotations

import datetime as dt
import os
import platform
import resource
import shlex
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def machine() -> str:
    """One line about the machine: CPU model and count, memory, OS, Python."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        platform.processor(),
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} × {model}, {memory:.0f} GiB, {platform.platform()}, Python {platform.python_version()}"


def header(title: str) -> str:
    """The heading of a report section: what, when, where and the command that produced it."""
    module = "bench." + Path(sys.argv[0]).stem
    command = " ".join(["python", "-m", module, *(shlex.quote(a) for a in sys.argv[1:])])
    return (
        f"## {title}\n\n- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC\n- machine: {machine()}\n"
        f"- command: `{command}`\n"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def process(argv: Sequence[str], env: dict[str, str], health: str, log: Path | None = None) -> Iterator[None]:
    """A server process, waited for until ``health`` answers 200, stopped afterwards."""
    out = log.open("wb") if log else subprocess.DEVNULL
    proc = subprocess.Popen(list(argv), env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            try:
                if httpx.get(health, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError(f"{argv[0]} did not answer {health}" + (f"; see {log}" if log else ""))
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@dataclass(frozen=True)
class Measured:
    """One step run as a child process: wall time and the child's peak resident memory."""

    seconds: float
    peak_mib: float
    returncode: int


def run_measured(argv: Sequence[str], env: dict[str, str], log: Path) -> Measured:
    """Run ``argv`` to completion, its output to ``log``; peak memory from the child's own rusage (wait4)."""
    start = time.perf_counter()
    with log.open("ab") as out:
        proc = subprocess.Popen(list(argv), env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(time.perf_counter() - start, usage.ru_maxrss / 1024, proc.returncode)


def peak_rss_mib() -> float:
    """This process's peak resident memory so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
