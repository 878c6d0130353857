"""Versioned reference tables (CSV files with a source and a status column), read in one place."""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).parent


def read_rows(name: str) -> list[dict[str, str]]:
    """The rows of ``geo/reference/<name>.csv``."""
    with (_HERE / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache
def province_names() -> dict[str, str]:
    """ISTAT province codes (unità territoriali sovracomunali) and their names."""
    return {row["cod_uts"]: row["den_uts"] for row in read_rows("provinces")}


@dataclass(frozen=True)
class SchoolLevels:
    """Rules mapping MIM school types to school levels; the first matching pattern wins."""

    version: str
    rules: tuple[tuple[re.Pattern[str], str], ...]
    teaching: frozenset[str]  # levels whose rows are schools with pupils of their own (not an institute's seat)
    fallback: str = "altro"

    def classify(self, tipologia: str | None) -> str:
        """The school level of a MIM type, or the fallback when no rule matches."""
        text = (tipologia or "").upper().strip()
        return next((level for pattern, level in self.rules if pattern.search(text)), self.fallback)


@lru_cache
def school_levels() -> SchoolLevels:
    """The bundled school-level rules (read once)."""
    rows = read_rows("school_levels")
    versions = {r["version"] for r in rows}
    return SchoolLevels(
        version=max(versions),
        rules=tuple((re.compile(r["pattern"]), r["livello"]) for r in rows),
        teaching=frozenset({r["livello"] for r in rows if r["teaching"] == "true"} | {SchoolLevels.fallback}),
    )


@dataclass(frozen=True)
class Threshold:
    """One speed threshold: download and upload in Mbit/s (upload None when not set) and its status."""

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
    """The bundled speed thresholds (read once)."""
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
    """The bundled parameters of the gap classification (read once)."""
    rows = read_rows("coverage_rules")
    return CoverageRules(
        version=max(r["version"] for r in rows), values={r["parameter"]: float(r["value"]) for r in rows}
    )


class ReferenceTableError(ValueError):
    """A reference table that cannot be used as it is; the message names the table and the row."""


@dataclass(frozen=True)
class GapClass:
    """One coverage-gap class: the FTTH share it needs at least and the listed civic numbers per 1000 it allows at
    most."""

    name: str
    label: str
    ftth_share_min: float
    civici_per_1000_max: float  # inf: no upper bound


@dataclass(frozen=True)
class GapClasses:
    """The coverage-gap classes, best first: a municipality takes the first class whose FTTH share floor and
    listed-civic ceiling it both meets. Each class is looser than the one before in both inputs, so the class is
    monotone: more FTTH never worsens it, more listed civic numbers never improve it."""

    version: str
    classes: tuple[GapClass, ...]

    @property
    def names(self) -> list[str]:
        """The class names, best first."""
        return [c.name for c in self.classes]


def validate_gap_classes(rows: list[dict[str, str]], table: str = "gap_classes") -> GapClasses:
    """Gap classes from table rows, refused (naming the row, counted from 1 after the header) unless every class is
    strictly looser than the one before, the last is a catch-all, and the thresholds are in range."""
    classes: list[GapClass] = []
    for number, row in enumerate(rows, start=1):
        where = f"{table}.csv row {number} ({row.get('class')!r})"
        try:
            floor = float(row["ftth_share_min"])
            ceiling = float(row["civici_per_1000_max"]) if row["civici_per_1000_max"].strip() else math.inf
        except (KeyError, ValueError) as exc:
            raise ReferenceTableError(f"{where}: thresholds must be numbers ({exc})") from exc
        if not 0 <= floor <= 1 or ceiling < 0:
            raise ReferenceTableError(f"{where}: ftth_share_min must be in [0, 1] and civici_per_1000_max ≥ 0")
        if classes:
            before = classes[-1]
            if floor > before.ftth_share_min or ceiling < before.civici_per_1000_max:
                raise ReferenceTableError(f"{where}: thresholds are not monotone (stricter than the class before)")
            if floor == before.ftth_share_min and ceiling == before.civici_per_1000_max:
                raise ReferenceTableError(f"{where}: overlaps the class before (same thresholds)")
        if row["class"] in {c.name for c in classes} or row["class"] == "unknown":
            raise ReferenceTableError(f"{where}: class name repeated or reserved")
        classes.append(GapClass(row["class"], row["label_it"], floor, ceiling))
    if not classes or classes[-1].ftth_share_min != 0 or not math.isinf(classes[-1].civici_per_1000_max):
        raise ReferenceTableError(f"{table}.csv: the last class must take every municipality (floor 0, no ceiling)")
    return GapClasses(version=max(r["version"] for r in rows), classes=tuple(classes))


@lru_cache
def gap_classes() -> GapClasses:
    """The bundled gap classes, validated (read once)."""
    return validate_gap_classes(read_rows("gap_classes"))
