"""``areavasta fetch``: download the official sources into the sources folder, with progress, resume,
SHA-256 and a manifest (``manifest.json``) saying what came from where and when."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

from geo.progress import console
from geo.settings import Settings

MANIFEST = "manifest.json"
CHUNK = 1 << 20


@dataclass(frozen=True)
class Official:
    """One official source: its name, where it is published, and the file name to use when the server gives none."""

    name: str
    url: str | None
    fallback_file: str
    optional: bool = False


@dataclass
class Fetched:
    name: str
    url: str
    file: str
    size: int
    sha256: str
    fetched_at: str
    status: str  # downloaded | resumed | unchanged


class FetchError(RuntimeError):
    """A download that failed, naming the source and the reason."""


def sources(settings: Settings) -> list[Official]:
    """The official sources, with the addresses from the settings."""
    return [
        Official("istat_boundaries", settings.fetch_istat_boundaries_url, "Limiti01012023.zip"),
        Official("agcom_comuni", settings.fetch_agcom_url, "agcom_comuni.csv"),
        Official("mim_state_schools", settings.fetch_mim_state_schools_url, "SCUANAGRAFESTAT.csv"),
        Official("mim_paritarie", settings.fetch_mim_paritarie_url, "SCUANAGRAFEPAR.csv"),
        Official("mim_buildings", settings.fetch_mim_buildings_url, "EDIANAGRAFESTA.csv"),
        Official("infratel_civici", settings.fetch_infratel_url, "infratel_civici.csv"),
        Official("osm_roads", settings.fetch_osm_url, "nord-ovest-latest.osm.pbf", optional=True),
    ]


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


def read_manifest(folder: Path) -> dict[str, dict]:
    path = folder / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def download(client: httpx.Client, item: Official, folder: Path, progress: Progress | None) -> Fetched:
    """Download one source; a ``.part`` file left by an interrupted run is resumed with an HTTP range request."""
    assert item.url is not None
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f".{item.name}.part"
    offset = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with client.stream("GET", item.url, headers=headers) as response:
            if response.status_code == 416:  # the part file is complete or stale: start again
                part.unlink()
                return download(client, item, folder, progress)
            response.raise_for_status()
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
    except httpx.HTTPError as exc:
        raise FetchError(f"{item.name}: download from {item.url} failed: {exc}") from exc
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
    settings: Settings, folder: Path, *, include_optional: bool = False, force: bool = False, show_progress: bool = True
) -> tuple[list[Fetched], list[str]]:
    """Download every source with an address; returns what was fetched and notes on what was not."""
    manifest = read_manifest(folder)
    fetched: list[Fetched] = []
    notes: list[str] = []
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=console,
        disable=not show_progress,
    )
    with httpx.Client(follow_redirects=True, timeout=httpx.Timeout(60.0, connect=15.0)) as client, progress:
        for item in sources(settings):
            if item.url is None:
                notes.append(f"{item.name}: no verified download address; set its AREAVASTA_FETCH_… setting")
                continue
            if item.optional and not include_optional:
                notes.append(f"{item.name}: optional (large); use --all to download it")
                continue
            known = manifest.get(item.name)
            if not force and known and known["url"] == item.url and _intact(folder / known["file"], known["sha256"]):
                fetched.append(Fetched(**{**known, "status": "unchanged"}))
                continue
            result = download(client, item, folder, progress)
            manifest[item.name] = asdict(result)
            (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
            fetched.append(result)
    return fetched, notes
