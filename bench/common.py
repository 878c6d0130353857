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
def process(
    argv: Sequence[str], env: dict[str, str], health: str, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
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
        yield proc
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


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """A process's parent and CPU seconds (user + system, its own and its reaped children's), or None once gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after the command name, which may hold spaces
    return int(fields[1]), sum(int(v) for v in fields[11:15]) / CLOCK_TICKS


def cpu_seconds(*roots: int) -> list[float]:
    """CPU seconds of each process with all its descendants, live and exited (an exited child's time is in its
    parent's counters once reaped): monotone counts for a server with workers, or for PostgreSQL's postmaster and
    backends. One pass over /proc for all of them."""
    stats = {int(p.name): _stat(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit()}
    children: dict[int, list[int]] = {}
    for pid, stat in stats.items():
        if stat is not None:
            children.setdefault(stat[0], []).append(pid)
    totals = []
    for root in roots:
        total, todo = 0.0, [root]
        while todo:
            pid = todo.pop()
            stat = stats.get(pid)
            if stat is not None:
                total += stat[1]
                todo.extend(children.get(pid, []))
        totals.append(total)
    return totals


def parent_pid(pid: int) -> int:
    stat = _stat(pid)
    if stat is None:
        raise RuntimeError(f"no process {pid}")
    return stat[0]
