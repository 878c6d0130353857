"""The use cases, one function each: the command line and the service's jobs both call them, with settings and an
engine (never an HTTP request). Heavy libraries are imported inside, so that importing this module stays light."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the command line imports this module for --help, which loads no heavy library
    from sqlalchemy import Engine

    from geo.analysis.costs import Scenario
    from geo.analysis.exports import Loaded
    from geo.analysis.partitioned import Partitioned
    from geo.analysis.runs import Run
    from geo.ingest.catalog import LayerOutcome
    from geo.settings import Settings


class UnknownScenario(ValueError):
    """A scenario name that ``geo/reference/scenarios.json`` does not define."""


def ingest_everything(
    engine: Engine,
    settings: Settings,
    *,
    sources: Path | None = None,
    show_progress: bool = False,
    synthesise_roads: bool = False,
    replace_territory: bool = False,
) -> list[LayerOutcome]:
    """Load every layer the sources folder (``sources``, else the settings') provides (``ingest all``), each in its
    own transaction."""
    from geo.ingest.catalog import ingest_all

    return ingest_all(
        engine,
        settings,
        sources or settings.sources_dir,
        show_progress=show_progress,
        synthesise_roads=synthesise_roads,
        replace_territory=replace_territory,
    )


def outcome_record(outcome: LayerOutcome) -> dict[str, Any]:
    """One layer's outcome as a job's result reports it."""
    return {
        "layer": outcome.layer,
        "source": outcome.source,
        "status": outcome.status,
        "rows_loaded": outcome.result.rows_loaded if outcome.result else None,
        "error": outcome.error,
        "note": outcome.note,
    }


def analyse_coverage(engine: Engine, partitioned: Partitioned | None = None) -> Run:
    """A coverage analysis run on what the store holds now (on a dask.distributed cluster with ``partitioned``)."""
    from geo.analysis import coverage

    return coverage.analyze(engine, partitioned=partitioned)


def scenario(name: str, budget_eur: float | None = None) -> Scenario:
    """The named scenario, with its budget replaced when ``budget_eur`` is given."""
    from geo.analysis.costs import scenarios

    known = scenarios()
    if name not in known:
        raise UnknownScenario(f"unknown scenario {name!r}; known: {', '.join(known)}")
    return known[name] if budget_eur is None else known[name].model_copy(update={"budget_eur": budget_eur})


@dataclass(frozen=True)
class Ranking:
    """A stored priorities run and its scenario, read back as its exports show it."""

    scenario: Scenario
    run: Run
    loaded: Loaded


def rank(engine: Engine, chosen: Scenario, export_to: Path | None = None) -> Ranking:
    """Rank the targets of ``chosen`` by persons served per euro within its budget, store the run, and write its
    files (every export format) into ``export_to`` when given."""
    from geo.analysis import exports, priorities

    run = priorities.analyze(engine, chosen)
    loaded = exports.load(engine, run.id)
    if export_to is not None:
        export_to.mkdir(parents=True, exist_ok=True)
        for fmt in exports.FORMATS:
            (export_to / f"{loaded.file_stem}.{fmt}").write_bytes(exports.export(engine, fmt, run.id)[1])
    return Ranking(chosen, run, loaded)
