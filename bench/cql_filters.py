"""CQL2 filters: parsing with the ``cql2`` package (the service) beside pygeofilter 0.4 (the previous parser), and
the uncached filtered items request end to end, so the parse can be seen as a share of the request.

Runs against the configured store (``AREAVASTA_*``), with the response cache off.

Usage: python -m bench.cql_filters [--repeat 200]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import cql2
from fastapi.testclient import TestClient
from pygeofilter.parsers.cql2_json import parse as pygeofilter_json
from pygeofilter.parsers.cql2_text import parse as pygeofilter_text
from sqlalchemy.dialects import postgresql

from api.app import create_app
from api.ogc import cql
from api.ogc.collections import COLLECTIONS
from bench.common import header
from geo.crs import crs_info
from geo.settings import Settings

FILTERS = [
    ("coverage", "cql2-text", "cod_uts = '019' AND ftth_share < 0.5 AND ref_date = DATE('2025-06-30')"),
    ("coverage", "cql2-text", "population BETWEEN 1000 AND 5000 AND gap_class IN ('large_gap', 'deep_gap')"),
    ("municipalities", "cql2-text", "comune LIKE 'Cre%' OR CASEI(comune) = CASEI('bergamo')"),
    ("municipalities", "cql2-text", "S_INTERSECTS(geometry, BBOX(9.6, 45.6, 9.8, 45.75))"),
    (
        "coverage",
        "cql2-json",
        json.dumps(
            {
                "op": "and",
                "args": [
                    {"op": "=", "args": [{"property": "cod_uts"}, "017"]},
                    {"op": ">", "args": [{"property": "civici_per_1000"}, 50]},
                ],
            }
        ),
    ),
]


def _median_us(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    args = parser.parse_args()
    settings = Settings(response_cache_mb=0)
    client = TestClient(create_app(settings))
    crs = crs_info(None)
    lines = [
        header("CQL2 filters: cql2 beside pygeofilter, and the uncached request"),
        "| filter | pygeofilter parse µs | cql2 parse µs | cql2 parse + SQL µs | uncached request ms | parse share |",
        "|---|---|---|---|---|---|",
    ]
    for collection_id, language, text in FILTERS:
        collection = COLLECTIONS[collection_id]
        columns = {name: collection.table.c[name] for name in collection.properties}
        geometry = collection.table.c[collection.geometry_column]
        if language == "cql2-text":
            old = _median_us(lambda t=text: pygeofilter_text(t), args.repeat)
            new = _median_us(lambda t=text: cql2.parse_text(t).to_json(), args.repeat)
        else:
            old = _median_us(lambda t=text: pygeofilter_json(json.loads(t)), args.repeat)
            new = _median_us(lambda t=text: cql2.parse_json(t).to_json(), args.repeat)

        def translate(t: str = text, lang: str = language, cols: dict = columns, geom: object = geometry) -> str:
            clause = cql.to_sql(t, lang, cols, geom, crs)
            return str(clause.compile(dialect=postgresql.dialect()))

        full = _median_us(translate, args.repeat)
        params = {"filter": text, "filter-lang": language, "limit": 100}
        response = client.get(f"/collections/{collection_id}/items", params=params)
        response.raise_for_status()
        request_us = _median_us(
            lambda c=collection_id, p=params: client.get(f"/collections/{c}/items", params=p), max(5, args.repeat // 20)
        )
        shown = text if len(text) <= 60 else text[:57] + "…"
        lines.append(
            f"| `{shown}` ({collection_id}) | {old:.0f} | {new:.0f} | {full:.0f} | {request_us / 1000:.1f} "
            f"| {full / request_us:.1%} |"
        )
    lines.append(
        "\nThe service parses with `cql2` and translates the CQL2 JSON tree itself (type checks, bound values); "
        "pygeofilter is measured for comparison only. The uncached request includes the store round trips."
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
