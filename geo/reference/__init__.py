"""Versioned reference tables (CSV files with a source and a status column), read in one place."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).parent


def read_rows(name: str) -> list[dict[str, str]]:
    """The rows of ``geo/reference/<name>.csv``."""
    with (_HERE / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@dataclass(frozen=True)
class SchoolLevels:
    """Rules mapping MIM school types to school levels; the first matching pattern wins."""

    version: str
    rules: tuple[tuple[re.Pattern[str], str], ...]
    fallback: str = "altro"

    def classify(self, tipologia: str | None) -> str:
        text = (tipologia or "").upper().strip()
        return next((level for pattern, level in self.rules if pattern.search(text)), self.fallback)


@lru_cache
def school_levels() -> SchoolLevels:
    rows = read_rows("school_levels")
    versions = {r["version"] for r in rows}
    return SchoolLevels(
        version=max(versions),
        rules=tuple((re.compile(r["pattern"]), r["livello"]) for r in rows),
    )


@dataclass(frozen=True)
class Threshold:
    id: str
    down_mbps: float
    up_mbps: float | None
    status: str


@dataclass(frozen=True)
class Thresholds:
    """The speed-threshold registry (DOMAIN §1.7) at one version."""

    version: str
    by_id: dict[str, Threshold]

    def __getitem__(self, key: str) -> Threshold:
        return self.by_id[key]


@lru_cache
def speed_thresholds() -> Thresholds:
    rows = read_rows("speed_thresholds")
    return Thresholds(
        version=max(r["version"] for r in rows),
        by_id={
            r["id"]: Threshold(
                r["id"], float(r["down_mbps"]), float(r["up_mbps"]) if r["up_mbps"] else None, r["status"]
            )
            for r in rows
        },
    )


@dataclass(frozen=True)
class CoverageRules:
    """Parameters of the gap classification, with the version of the table they come from."""

    version: str
    values: dict[str, float]

    def __getitem__(self, key: str) -> float:
        return self.values[key]


@lru_cache
def coverage_rules() -> CoverageRules:
    rows = read_rows("coverage_rules")
    return CoverageRules(
        version=max(r["version"] for r in rows), values={r["parameter"]: float(r["value"]) for r in rows}
    )
