"""Property-based requests generated from the served OpenAPI description (schemathesis): no request may cause a
server error, every response must match its declared schema, status code and media type, and invalid input must
leave as an OGC exception (400), never as a framework 422. Then a corpus of over 1,000 hostile requests of every
class of issue #18 (CQL2 text and JSON, boxes, CRS, ids, NUL bytes, huge integers, unknown and repeated parameters,
long URLs, wrong methods, odd headers): no server error but a documented 503, each error an exception document
with a code, and no Python internals in any message."""

from collections import Counter

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings

from api.app import create_app


@pytest.fixture(scope="module")
def fuzz_app(results):
    return create_app(results.settings)


def test_no_generated_request_breaks_the_server(fuzz_app):
    # imported here, not when pytest collects every file in every worker (about 1.5 s); its pytest plugin is off
    import schemathesis
    from schemathesis import checks

    schema = schemathesis.openapi.from_asgi("/api", fuzz_app)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # the per-collection paths repeat the generic one with their own property parameters, and every map or
        # file is built anew for each generated query: fewer cases for those
        path = operation.path
        repeated = path.startswith(("/maps/", "/downloads/")) or (
            path.startswith("/collections/") and "{collection_id}" not in path
        )
        examples = 5 if repeated else 20

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            # a generous bound, not a timing: the costliest first map (500 targets) takes about 1 s on a quiet
            # machine and a loaded CI machine may triple it (schemathesis' own default is 10 s)
            response = case.call(timeout=60)
            where = f"{case.method} {case.formatted_path} {case.query}"
            assert response.status_code < 500, f"{where}: {response.text[:300]}"
            assert response.status_code != 422, f"{where}: validation errors must be OGC exceptions (400)"
            media = response.headers.get("content-type") or [""]  # schemathesis keeps every value of a header
            if response.status_code == 400 and media[0].startswith("text/html"):
                assert "Errore" in response.text, where  # f=html: the exception as a page
            elif response.status_code == 400:
                assert set(response.json()) == {"code", "description"}, where
            case.validate_response(
                response,
                checks=[
                    checks.not_a_server_error,
                    checks.status_code_conformance,
                    checks.content_type_conformance,
                    checks.response_schema_conformance,
                ],
            )

        check()
        checked.append(operation.label)
    assert len(checked) >= 8


# --- a corpus of hostile requests, of every class the hostile-requests review used ---------------------------------

INTERNALS = (
    "Traceback",
    'File "',
    "object at 0x",
    "<class",
    "NoneType",
    "psycopg",
    "sqlalchemy",
    "Error:",
    "[SQL:",
    "LINE 1",
    "site-packages",
    "__",
)
HUGE = "9" * 40
NUL = "\x00"


def _mismatches(name: str, kind: str) -> list[str]:
    """CQL2 filters that compare ``name`` (of SQL type ``kind``) with what it cannot be."""
    common = [
        f"{name} IS NULL AND",
        f"{name} = ",
        f"{name} = '{NUL}'",
        f"S_INTERSECTS({name}, POINT(9 45))",
        f"{name} IN ()",
        f"{name} LIKE '\\'",
        f"T_AFTER({name}, DATE('2020-01-01'))",
        f"A_CONTAINS({name}, ('a'))",
        f"{name} + 1 = 2",
    ]
    if kind in ("Integer", "Float", "Identifier64"):
        return [
            *common,
            f"{name} = 'abc'",
            f"{name} < 'a'",
            f"{name} = {HUGE}",
            f"{name} = 1e400",
            f"{name} = TRUE",
            f"{name} BETWEEN 'a' AND 'b'",
            f"{name} IN ('x', 'y')",
            f"{name} = DATE('2020-01-01')",
        ]
    if kind == "Date":
        return [
            *common,
            f"{name} = 'not a date'",
            f"{name} = DATE('2025-02-30')",
            f"{name} > 5",
            f"{name} = TIMESTAMP('x')",
            f"{name} = '99999-01-01'",
            f"{name} = DATE('0000-00-00')",
        ]
    if kind == "Boolean":
        return [*common, f"{name} = 1", f"{name} = 'maybe'", f"{name} > TRUE", f"{name} LIKE 't%'"]
    return [
        *common,
        f"{name} = 16",
        f"{name} > 5",
        f"{name} = DATE('2020-13-45')",
        f"{name} IN (1, 2)",
        f"CASEI({name}) = 1",
        f"{name} = '{'x' * 5000}'",
    ]


# the collections every class of the corpus is sent to: text, 64-bit and composite ids, plain and per-run tables;
# the others get the per-type filter mistakes
EVERY_CLASS = ("municipalities", "roads", "coverage", "priorities")


def _collection_cases(collection) -> list[tuple[str, str, dict[str, str]]]:
    base = f"/collections/{collection.id}"
    items = f"{base}/items"
    cases: list[tuple[str, dict[str, str]]] = []
    by_kind: dict[str, list[str]] = {}
    for name in collection.properties:
        by_kind.setdefault(type(collection.table.c[name].type).__name__, []).append(name)
    for kind, names in by_kind.items():  # one property of each type: the translation is per type
        cases += [(items, {"filter": where, "limit": "1"}) for where in _mismatches(names[0], kind)]
        cases += [(items, {names[0]: f"a{NUL}b"}), (items, {names[-1]: HUGE, "limit": "1"})]
    if collection.id not in EVERY_CLASS:
        return [("GET", path, params) for path, params in cases]
    first = collection.properties[0]
    bad_filters = [
        "unknown = 1",
        "nosuchfunction(1) = 1",
        "(((((((((((((((((((((((((((((((((((((((((((((((((((1 = 1",
        "(" * 400 + "TRUE" + ")" * 400,
        f"{first} = 'unclosed",
        "S_INTERSECTS(geometry, POINT(1e400 1))",
        "S_INTERSECTS(geometry, POINT(9 45)",
        "S_INTERSECTS(geometry, POLYGON((9 45, 10 45, 10 46)))",
        "S_INTERSECTS(geometry, POLYGON((0 0, 1 1, 0 1, 1 0, 0 0)))",
        "S_INTERSECTS(geometry, POINT(500 500))",
        "S_INTERSECTS(geometry, BBOX(1, 2, 3))",
        "S_INTERSECTS(geometry, GEOMETRYCOLLECTION EMPTY)",
        "S_DWITHIN(geometry, POINT(9 45), -1, meters)",
        "'; DROP TABLE ref.comune; --",
        f"{first} = 'a' OR 1=1; SELECT pg_sleep(10)",
        "TRUE AND",
        "",
        " ",
        NUL,
        "🙂 = 1",
        "a" * 10_000,
    ]
    cases += [(items, {"filter": where, "limit": "1"}) for where in bad_filters]
    json_filters = ["[]", "1", "{}", '{"op": "="}', '{"op": "=", "args": [{"property": "nope"}, 1]}', "{", "null",
                    '{"op": "s_intersects", "args": [{"property": "geometry"}, {"type": "Point"}]}',
                    '{"op": "and", "args": ' + "[" * 300 + "]" * 300 + "}"]  # fmt: skip
    cases += [(items, {"filter": f, "filter-lang": "cql2-json"}) for f in json_filters]
    cases += [(items, {"filter": "TRUE", "filter-lang": lang}) for lang in ("cql2-xml", "", "CQL2-TEXT", NUL)]
    boxes = ["1,2,3", "1,2,3,4,5", "nan,1,2,3", "inf,0,1,1", "1e400,0,1,1", "a,b,c,d", ",,,", "", "1,2,3,4,5,6,7",
             "-1e4,-1e4,1e4,1e4", "10,46,9,45", f"1,2,3,{HUGE}", "1" + ",1" * 1000, f"1,2{NUL},3,4"]  # fmt: skip
    cases += [(items, {"bbox": box, "limit": "1"}) for box in boxes]
    crss = ["EPSG:0", "EPSG:-1", f"http://www.opengis.net/def/crs/EPSG/0/{HUGE}", "http://evil.example/crs",
            "../../etc/passwd", "EPSG:4326" + NUL, "x" * 3000, "urn:ogc:def:crs:EPSG::999999"]  # fmt: skip
    for value in crss:
        cases += [(items, {"crs": value}), (items, {"bbox-crs": value, "bbox": "9,45,10,46"})]
        cases += [(items, {"filter-crs": value, "filter": "S_INTERSECTS(geometry, POINT(9 45))"})]
        cases += [(f"{items}/1", {"crs": value})]
    ids = [HUGE, "-1", "0", "..%2F..%2Fetc%2Fpasswd", "%00", "x" * 10_000, "1%20OR%201%3D1", "%F0%9F%99%82", "1e10"]
    cases += [(f"{items}/{i}", {}) for i in ids]
    for name, value in (("limit", "0"), ("limit", "-1"), ("limit", HUGE + "x"), ("limit", "abc"), ("offset", "-5"),
                        ("offset", HUGE), ("offset", "1.5"), ("run", "0"), ("run", HUGE), ("run", "x"),
                        ("sortby", "nope"), ("sortby", "-"), ("sortby", ",,,"), ("f", "xml"), ("f", "csv" + NUL),
                        ("datetime", "not a time"), ("unknown-parameter", "1"), ("x" * 5000, "1")):  # fmt: skip
        cases.append((items, {name: value}))
    cases += [(items, {"f": fmt, "filter": "nope = 1"}) for fmt in ("csv", "xlsx", "gpkg")]
    cases += [(items, {"f": fmt, "bbox": "1,2,3"}) for fmt in ("csv", "xlsx", "gpkg")]
    tiles = f"{base}/tiles/WebMercatorQuad"
    cases += [(f"{tiles}/{z}/{x}/{y}", {}) for z, x, y in (("99", "0", "0"), ("-1", "0", "0"), ("3", "99", "0"),
              (HUGE, "0", "0"), ("a", "b", "c"), ("6", "33", "22.5"))]  # fmt: skip
    cases += [(f"{tiles}/6/33/22", {"filter": "nope = 1"}), (f"{base}/tiles/NoSuchGrid", {})]
    cases += [(f"{base}/queryables", {"f": "xml"}), (f"{base}/schema", {"f": NUL})]
    return [("GET", path, params) for path, params in cases]


def _other_cases() -> list[tuple[str, str, dict[str, str]]]:
    cases = [
        ("GET", "/collections/nope/items", {}),
        ("GET", "/collections/NOPE", {}),
        ("GET", "/collections/" + "x" * 10_000, {}),
        ("GET", "/tileMatrixSets/nope", {}),
        ("GET", "/downloads/priorities.exe", {}),
        ("GET", "/downloads/priorities.csv", {"run": HUGE}),
        ("GET", "/downloads/priorities.csv", {"run": "999999"}),
        ("GET", "/downloads/priorities.xlsx", {"scenario": "../../x"}),
        ("GET", "/downloads/priorities.geojson", {"scenario": "nope"}),
        ("GET", "/jobs/" + "x" * 5000, {}),
        ("GET", "/jobs/%00", {}),
        ("GET", "/maps/coverage", {"date": "2025-02-30"}),
        ("GET", "/maps/coverage", {"province": "999"}),
        ("GET", "/maps/coverage", {"province": "1,2,3"}),
        ("GET", "/maps/coverage", {"junk": "1"}),
        ("GET", "/maps/schools", {"level": "<script>"}),
        ("GET", "/maps/priorities", {"top": HUGE}),
        ("GET", "/maps/priorities", {"run": "999999"}),
        ("GET", "/maps/municipality/99999", {}),
        ("GET", "/maps/municipality/abcdef", {}),
        ("GET", "/", {"f": "xml"}),
        ("GET", "/conformance", {"f": NUL}),
        ("GET", "/nope", {}),
        ("GET", "/" + "a/" * 2000, {}),
    ]
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"):
        for path in ("/", "/collections", "/collections/provinces/items", "/collections/provinces/items/016",
                     "/catalog", "/api", "/health", "/maps/coverage", "/tileMatrixSets"):  # fmt: skip
            cases.append((method, path, {}))
    for method in ("POST", "PUT"):
        cases += [(method, "/jobs/ingest", {}), (method, "/jobs/%00", {}), (method, "/jobs/priorities", {})]
    return cases


HEADER_CASES = [
    {"Accept": "application/xml"},
    {"Accept": "*/*;q=abc"},
    {"Accept": "x" * 8000},
    {"Accept-Encoding": "gzip;q=x, br;q=-1"},
    {"Accept-Language": "'; DROP TABLE x; --"},
    {"If-None-Match": '"' * 1000},
    {"If-None-Match": "*"},
    {"Range": "bytes=0-0"},
    {"X-API-Key": "x" * 5000},
    {"Content-Type": "application/json"},
    {"Origin": "null"},
    {"Origin": "https://evil.example", "Access-Control-Request-Method": "DELETE"},
]


def hostile_corpus() -> list[tuple[str, str, dict[str, str], dict[str, str]]]:
    """Every request of the corpus: method, path, query parameters, headers."""
    from api.ogc.collections import COLLECTIONS

    corpus = [(m, p, q, {}) for c in COLLECTIONS.values() for m, p, q in _collection_cases(c)]
    corpus += [(m, p, q, {}) for m, p, q in _other_cases()]
    paths = ["/collections/provinces/items", "/collections/provinces/items/016", "/collections", "/api",
             "/collections/provinces/items?filter=nope%3D1", "/downloads/priorities.csv?run=999999"]  # fmt: skip
    corpus += [("GET", path, {}, headers) for headers in HEADER_CASES for path in paths]
    return corpus


@pytest.fixture(scope="module")
def hostile_client(results):
    # a statement bound as in production, so that no request of the corpus can hold the store for long
    settings = results.settings.model_copy(update={"statement_timeout_ms": 10_000})
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def test_a_corpus_of_hostile_requests_gets_documents_and_no_server_error(hostile_client):
    corpus = hostile_corpus()
    assert len(corpus) >= 1000
    statuses: Counter[int] = Counter()
    for method, path, params, headers in corpus:
        response = hostile_client.request(method, path, params=params or None, headers=headers)
        where = f"{method} {path[:200]} {str(params)[:300]} {str(headers)[:100]}"
        status = response.status_code
        statuses[status] += 1
        if status == 503:  # documented: the statement bound, a busy pool or export slots
            assert response.headers.get("retry-after") and response.json()["code"] == "ServiceUnavailable", where
            continue
        assert status < 500, f"{where}: {status} {response.text[:300]}"
        if status < 400:
            continue
        media = response.headers.get("content-type", "")
        if media.startswith("text/html"):  # a map's 'not available' page, for a browser
            assert path.startswith("/maps/") and status == 404, where
            continue
        document = response.json()
        assert isinstance(document.get("code"), str) and document["code"], where
        assert isinstance(document.get("description"), str) and document["description"], where
        leaked = [word for word in INTERNALS if word in document["description"]]
        assert not leaked, f"{where}: {leaked} in {document['description'][:300]}"
        if status == 405:
            assert response.headers.get("allow"), where
    print(f"{len(corpus)} hostile requests: {dict(sorted(statuses.items()))}")
    assert sum(n for s, n in statuses.items() if 400 <= s < 500) >= 900
