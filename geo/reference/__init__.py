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
