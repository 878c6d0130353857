"""Vector tiles and small requests: areavasta beside TiPg on the same PostGIS tables, and beside nginx serving the
very bytes areavasta returned from files on this machine (the physical limit of an HTTP server here).

All servers run in this one run, one worker each (uvicorn for areavasta and TiPg, ``worker_processes 1`` for nginx),
and are loaded in turn by wrk (one thread) cycling over a fixed list of URLs. Tiles: municipalities (ref.comune) and
roads (net.edge) on WebMercatorQuad zooms 6-12 over the four provinces, a few dozen tiles per zoom chosen with
morecantile; a tile goes into the lists only when both servers return it non-empty. areavasta runs twice: as deployed
(responses cached per data version) and with the response cache off, which builds every tile from the store like TiPg
does; the first request of every tile to the deployed server, one at a time, is its uncached first pass. TiPg gets
the same properties, the same tile buffer and no feature cap per tile. Small requests: one feature and a 10-feature
bbox page, and the pages of the API benchmark (a 100-feature bbox page, a CQL2 filter, every municipality in one
page), with and without ``Accept-Encoding: gzip``. Each wrk cell also counts the CPU time the server (with its
workers) and PostgreSQL (the postmaster and all its backends) spent during the cell, per request answered.

Usage: python -m bench.tiles_load [--seconds 10]
Needs wrk and nginx (Debian) and TiPg in bench/.venv-tipg (``make bench-deps``); the store must hold the four
provinces (016, 017, 019, 020) or more.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import morecantile
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from bench.common import BIN, REPO, cpu_seconds, free_port, header, parent_pid, process
from geo.db.engine import database_url
from geo.settings import Settings

TIPG = REPO / "bench" / ".venv-tipg" / "bin" / "uvicorn"
REPORT_SCRIPT = REPO / "bench" / "wrk_report.lua"
BOUNDS = (9.0, 44.9, 11.5, 46.6)  # lon/lat around the four provinces
ZOOM_BANDS = ((6, 7, 8), (9, 10), (11, 12))  # one wrk cell per band: the run stays within minutes
TILES_PER_ZOOM = 32
TILE_CONNECTIONS = (1, 8, 32)
SMALL_CONNECTIONS = (1, 8)
NGINX_CONNECTIONS = (1, 8)
TILE_BUFFER = 64  # areavasta's api.ogc.tiles.BUFFER, given to TiPg too
GZIP = {"Accept-Encoding": "gzip"}
# no compression, as wrk asks for none: httpx asks for gzip by default, and nginx would serve those bytes as plain
PLAIN = {"Accept-Encoding": "identity"}
HEADER_SLACK = 512  # bytes a response's headers may differ by between areavasta and nginx


@dataclass(frozen=True)
class Layer:
    name: str
    ours: str  # areavasta collection id
    tipg: str  # TiPg collection id (schema.table)
    properties: tuple[str, ...]  # areavasta's tile properties, asked of TiPg too

    def ours_path(self, tile: morecantile.Tile) -> str:
        return f"/collections/{self.ours}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"

    def tipg_path(self, tile: morecantile.Tile) -> str:
        return (
            f"/collections/{self.tipg}/tiles/WebMercatorQuad/{tile.z}/{tile.x}/{tile.y}"
            f"?properties={','.join(self.properties)}"
        )


LAYERS = (
    Layer(
        "municipalities", "municipalities", "ref.comune", ("pro_com_t", "comune", "cod_uts", "cod_catastale", "vintage")
    ),
    Layer("roads", "roads", "net.edge", ("id", "source", "target", "highway", "name", "length_m", "synthetic")),
)


@dataclass(frozen=True)
class Small:
    name: str
    ours: str
    tipg: str


CQL = "filter=cod_uts%20%3D%20%27019%27"
SMALL = (
    Small("one feature", "/collections/municipalities/items/016024", "/collections/ref.comune/items/016024"),
    Small(
        "page: limit=10, bbox",
        "/collections/municipalities/items?limit=10&bbox=9.6,45.6,9.8,45.75",
        "/collections/ref.comune/items?limit=10&bbox=9.6,45.6,9.8,45.75",
    ),
    Small(
        "page: bbox (Bergamo area), 100 per page",
        "/collections/municipalities/items?bbox=9.5,45.5,10.0,46.0&limit=100",
        "/collections/ref.comune/items?bbox=9.5,45.5,10.0,46.0&limit=100",
    ),
    Small(
        "page: CQL2 cod_uts = '019', 200 per page",
        f"/collections/municipalities/items?{CQL}&limit=200",
        f"/collections/ref.comune/items?{CQL}&filter-lang=cql2-text&limit=200",
    ),
    Small(
        "full page: every municipality",
        "/collections/municipalities/items?limit=1000",
        "/collections/ref.comune/items?limit=1000",
    ),
)


@dataclass(frozen=True)
class Server:
    url: str
    pid: int  # the process whose tree's CPU time is counted


@dataclass
class Servers:
    ours: Server  # deployed: response cache on
    cold: Server  # response cache off
    tipg: Server
    nginx: Server | None = None


@dataclass(frozen=True)
class Load:
    """How long each wrk cell runs, and the store the servers read (its postmaster: PostgreSQL's CPU time)."""

    seconds: int
    engine: Engine
    postmaster: int

    def quiet(self) -> None:
        """Wait until the store runs no query: a server keeps building the answers wrk left in flight (seconds for
        a slow tile at 32 connections), which would otherwise load the next cell's server."""
        query = text("SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND pid <> pg_backend_pid()")
        with self.engine.connect() as conn:
            for _ in range(600):
                if conn.execute(query).scalar_one() == 0:
                    break
                conn.rollback()  # a fresh snapshot of pg_stat_activity
                time.sleep(0.1)
        time.sleep(0.3)  # the server's own encoding of the last answers


@dataclass
class TileList:
    """The tiles of one layer and zoom band that both servers return non-empty, with what the single requests cost."""

    layer: Layer
    zooms: tuple[int, ...]
    tiles: list[morecantile.Tile] = field(default_factory=list)
    listed: int = 0
    empty_both: int = 0
    empty_one: list[str] = field(default_factory=list)


@dataclass
class ZoomPass:
    """One request per tile of a zoom, one at a time: bytes and milliseconds per server."""

    tiles: int = 0
    listed: int = 0
    ours_bytes: list[int] = field(default_factory=list)
    tipg_bytes: list[int] = field(default_factory=list)
    first_ms: list[float] = field(default_factory=list)
    cached_ms: list[float] = field(default_factory=list)
    tipg_ms: list[float] = field(default_factory=list)


def tiles_of(zoom: int) -> list[morecantile.Tile]:
    """A fixed list of at most TILES_PER_ZOOM tiles over the four provinces, evenly spread over the grid's order."""
    tiles = list(morecantile.tms.get("WebMercatorQuad").tiles(*BOUNDS, [zoom]))
    if len(tiles) <= TILES_PER_ZOOM:
        return tiles
    return [tiles[i * len(tiles) // TILES_PER_ZOOM] for i in range(TILES_PER_ZOOM)]


def wrk(load: Load, server: Server, paths: list[str], connections: int, headers: dict[str, str] | None = None) -> dict:
    """wrk -t1 cycling over ``paths`` once the store is quiet; rps, percentiles and failures (bench/wrk_report.lua),
    and the server's and PostgreSQL's CPU milliseconds per request over the cell."""
    load.quiet()
    script = "\n".join(
        [
            "local paths = {" + ", ".join(json.dumps(p) for p in paths) + "}",
            "local i = 0",
            "request = function()",
            "  i = i % #paths + 1",
            "  return wrk.format(nil, paths[i])",
            "end",
            REPORT_SCRIPT.read_text(),
        ]
    )
    flags = [a for k, v in (headers or {}).items() for a in ("-H", f"{k}: {v}")]
    with tempfile.NamedTemporaryFile("w", suffix=".lua") as lua:
        lua.write(script)
        lua.flush()
        before = cpu_seconds(server.pid, load.postmaster)
        argv = ["wrk", "-t1", f"-c{connections}", f"-d{load.seconds}s", "--timeout", "30s", "-s", lua.name]
        result = subprocess.run(
            [*argv, *flags, server.url],
            capture_output=True,
            text=True,
            check=True,
        )
        after = cpu_seconds(server.pid, load.postmaster)
    cell = json.loads(result.stdout.strip().splitlines()[-1])
    if cell["failed"]:
        raise SystemExit(f"{cell['failed']} failed requests on {server.url} ({paths[0]} …)")
    answered = max(cell["requests"], 1)
    cell["server_ms"], cell["pg_ms"] = ((b - a) * 1000 / answered for a, b in zip(before, after, strict=True))
    return cell


@dataclass(frozen=True)
class Fetched:
    """A response as sent: status, body bytes (a gzip body stays gzipped, as nginx will serve it), milliseconds."""

    status: int
    body: bytes
    ms: float


def fetch(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> Fetched:
    start = time.perf_counter()
    with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        body = b"".join(response.iter_raw())
    return Fetched(response.status_code, body, (time.perf_counter() - start) * 1000)


def write(root: Path, path: str, body: bytes) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)


def check_tiles(servers: Servers, www: Path) -> tuple[list[TileList], dict[tuple[str, int], ZoomPass]]:
    """Every listed tile from each server, one at a time: the store is warmed by the cache-off areavasta, then the
    deployed areavasta's first (uncached) and second (cached) request and TiPg's are timed; tiles non-empty on both
    sides are kept and areavasta's bytes written under ``www`` for nginx."""
    lists: list[TileList] = []
    passes: dict[tuple[str, int], ZoomPass] = {}
    with httpx.Client(timeout=120, headers=PLAIN) as client:
        for layer in LAYERS:
            for band in ZOOM_BANDS:
                kept = TileList(layer, band)
                for zoom in band:
                    zoom_pass = passes.setdefault((layer.name, zoom), ZoomPass())
                    for tile in tiles_of(zoom):
                        kept.listed += 1
                        zoom_pass.listed += 1
                        client.get(servers.cold.url + layer.ours_path(tile)).raise_for_status()
                        tipg = fetch(client, servers.tipg.url + layer.tipg_path(tile))
                        first = fetch(client, servers.ours.url + layer.ours_path(tile))
                        cached = fetch(client, servers.ours.url + layer.ours_path(tile))
                        ours_full, tipg_full = first.status == 200 and bool(first.body), bool(tipg.body)
                        if cached.body != first.body:
                            raise SystemExit(f"areavasta's cached tile differs from its first: {layer.ours_path(tile)}")
                        if not ours_full and not tipg_full:
                            kept.empty_both += 1
                            continue
                        if not (ours_full and tipg_full):
                            side = "TiPg" if ours_full else "areavasta"
                            kept.empty_one.append(f"{tile.z}/{tile.x}/{tile.y} empty on {side}")
                            continue
                        kept.tiles.append(tile)
                        write(www, "/t" + layer.ours_path(tile), first.body)
                        zoom_pass.tiles += 1
                        zoom_pass.ours_bytes.append(len(first.body))
                        zoom_pass.tipg_bytes.append(len(tipg.body))
                        zoom_pass.first_ms.append(first.ms)
                        zoom_pass.cached_ms.append(cached.ms)
                        zoom_pass.tipg_ms.append(tipg.ms)
                print(
                    f"- {layer.name} z{band[0]}-{band[-1]}: {len(kept.tiles)} of {kept.listed} tiles non-empty on both"
                    + (f"; {', '.join(kept.empty_one)}" if kept.empty_one else ""),
                    flush=True,
                )
                lists.append(kept)
    return lists, passes


def feature_ids(body: dict) -> set[str]:
    features = body["features"] if body.get("type") == "FeatureCollection" else [body]
    return {str(f["properties"].get("pro_com_t", f.get("id"))) for f in features}


def file_path(prefix: str, index: int) -> str:
    """Where nginx serves areavasta's answer to the ``index``-th small request (a name free of query syntax)."""
    return f"{prefix}/r{index}"


def check_small(servers: Servers, www: Path) -> list[str]:
    """Both servers answer each small request with the same features (a note when a page differs); areavasta's
    bytes as sent, plain and gzipped, written under ``www`` for nginx."""
    notes = []
    with httpx.Client(timeout=60, headers=PLAIN) as client:
        for index, query in enumerate(SMALL):
            ours = client.get(servers.ours.url + query.ours).raise_for_status().json()
            tipg = client.get(servers.tipg.url + query.tipg).raise_for_status().json()
            ids_ours, ids_tipg = feature_ids(ours), feature_ids(tipg)
            matched = (ours.get("numberMatched"), tipg.get("numberMatched"))
            if ids_ours == ids_tipg:
                listed = ", ".join(sorted(ids_ours)) if len(ids_ours) <= 3 else f"{len(ids_ours)} of {matched[0]}"
                notes.append(f"- {query.name}: same features ({listed})")
            elif not ids_ours & ids_tipg:
                raise SystemExit(f"the servers disagree on {query.ours} and {query.tipg}")
            else:
                notes.append(
                    f"- {query.name}: {len(ids_ours & ids_tipg)} of {len(ids_ours)} features in common "
                    f"(matched: areavasta {matched[0]}, TiPg {matched[1]}; the servers order a page differently)"
                )
            for prefix, headers in (("/plain", None), ("/gzip", GZIP)):
                write(www, file_path(prefix, index), fetch(client, servers.ours.url + query.ours, headers).body)
    return notes


NGINX_CONF = """daemon off;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {tmp}/www;
        location = /health {{ return 200 "ok"; }}
        location /t/ {{ default_type application/vnd.mapbox-vector-tile; }}
        location /plain/ {{ default_type application/geo+json; }}
        location /gzip/ {{ default_type application/geo+json; add_header Content-Encoding gzip; }}
    }}
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@contextmanager
def nginx(tmp: Path, port: int) -> Iterator[Server]:
    """nginx on a loopback port serving ``tmp/www``."""
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, port=port))
    for path in [tmp, *tmp.rglob("*")]:  # a worker started by root runs as nobody
        path.chmod(0o755 if path.is_dir() else 0o644)
    base = f"http://127.0.0.1:{port}"
    argv = [str(nginx_binary()), "-p", str(tmp), "-e", str(tmp / "error.log"), "-c", str(conf)]
    with process(argv, dict(os.environ), f"{base}/health", tmp / "nginx.out") as proc:
        yield Server(base, proc.pid)


def rps(cell: dict | None) -> str:
    return f"{cell['rps']:,.0f}" if cell else "–"


def p99(cell: dict | None) -> str:
    return f"{cell['p99_ms']:.1f}" if cell and cell["requests"] else "–"


def cpu(cell: dict | None) -> str:
    """Server + PostgreSQL CPU milliseconds per request."""
    return f"{cell['server_ms']:.2f} + {cell['pg_ms']:.2f}" if cell and cell["requests"] else "–"


def ratio(a: dict | None, b: dict | None) -> str:
    return f"{a['rps'] / b['rps']:.2f}×" if a and b and b["rps"] else "–"


def kb(values: list[int]) -> str:
    return f"{statistics.mean(values) / 1024:.1f}" if values else "–"


def median_max(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} / {max(values):.1f}" if values else "–"


COLUMNS = (
    "req/s: cached / uncached / TiPg / nginx | p99 ms: cached / uncached / TiPg / nginx "
    "| CPU ms per request, server + PostgreSQL: cached / uncached / TiPg / nginx "
    "| cached ÷ TiPg | uncached ÷ TiPg | cached ÷ nginx |"
)


@dataclass(frozen=True)
class Cells:
    """One row's wrk cells: areavasta (cached), areavasta with the cache off, TiPg, nginx (None: not run)."""

    ours: dict
    cold: dict
    tipg: dict
    files: dict | None

    def columns(self) -> str:
        cells = (self.ours, self.cold, self.tipg, self.files)
        return (
            f"{' / '.join(rps(c) for c in cells)} | {' / '.join(p99(c) for c in cells)} | "
            f"{' / '.join(cpu(c) for c in cells)} | **{ratio(self.ours, self.tipg)}** | "
            f"**{ratio(self.cold, self.tipg)}** | {ratio(self.ours, self.files)}"
        )

    def same_bytes(self, what: str) -> None:
        """Stop when nginx sent bodies of another size than areavasta's: the anchor must serve the same bytes (the
        headers differ by a few hundred bytes)."""
        if self.files is None:
            return
        ours, files = (c["bytes"] / max(c["requests"], 1) for c in (self.ours, self.files))
        if abs(ours - files) > HEADER_SLACK + 0.01 * ours:
            raise SystemExit(f"nginx sent {files:,.0f} bytes a response for {what}, areavasta {ours:,.0f}")


def load_tiles(servers: Servers, lists: list[TileList], load: Load) -> tuple[list[str], list[Cells]]:
    rows, cells = [], []
    assert servers.nginx is not None
    for kept in lists:
        if not kept.tiles:
            continue
        ours_paths = [kept.layer.ours_path(t) for t in kept.tiles]
        tipg_paths = [kept.layer.tipg_path(t) for t in kept.tiles]
        for connections in TILE_CONNECTIONS:
            row = Cells(
                wrk(load, servers.ours, ours_paths, connections),
                wrk(load, servers.cold, ours_paths, connections),
                wrk(load, servers.tipg, tipg_paths, connections),
                wrk(load, servers.nginx, ["/t" + p for p in ours_paths], connections)
                if connections in NGINX_CONNECTIONS
                else None,
            )
            zooms = f"{kept.zooms[0]}–{kept.zooms[-1]}"
            row.same_bytes(f"{kept.layer.name} {zooms}")
            cells.append(row)
            rows.append(f"| {kept.layer.name} | {zooms} ({len(kept.tiles)}) | {connections} | {row.columns()} |")
            print(rows[-1], flush=True)
    return rows, cells


def load_small(servers: Servers, load: Load) -> tuple[list[str], dict[str, list[Cells]]]:
    """The rows of the small requests, and their cells by request."""
    rows: list[str] = []
    cells: dict[str, list[Cells]] = {}
    assert servers.nginx is not None
    for index, query in enumerate(SMALL):
        for prefix, headers in (("/plain", None), ("/gzip", GZIP)):
            for connections in SMALL_CONNECTIONS:
                row = Cells(
                    wrk(load, servers.ours, [query.ours], connections, headers),
                    wrk(load, servers.cold, [query.ours], connections, headers),
                    wrk(load, servers.tipg, [query.tipg], connections, headers),
                    wrk(load, servers.nginx, [file_path(prefix, index)], connections, headers),
                )
                row.same_bytes(query.name)
                size = " / ".join(f"{c['bytes'] / max(c['requests'], 1):,.0f}" for c in (row.ours, row.tipg))
                cells.setdefault(query.name, []).append(row)
                rows.append(
                    f"| {query.name} | {'yes' if headers else 'no'} | {connections} | {row.columns()} | {size} |"
                )
                print(rows[-1], flush=True)
    return rows, cells


def spread(cells: list[Cells], a: str, b: str) -> str:
    """The range of ``a``'s requests/s over ``b``'s across the rows where both ran."""
    pairs = [(getattr(c, a), getattr(c, b)) for c in cells]
    values = [x["rps"] / y["rps"] for x, y in pairs if x and y and y["rps"]]
    return f"{min(values):.2f}–{max(values):.2f}×" if values else "–"


def cpu_spread(cells: list[Cells], name: str, key: str) -> str:
    """The range of CPU milliseconds per request (``server_ms`` or ``pg_ms``) of one server across rows."""
    values = [getattr(c, name)[key] for c in cells if getattr(c, name)]
    return f"{min(values):.2f}–{max(values):.2f}" if values else "–"


def zoom_rows(passes: dict[tuple[str, int], ZoomPass]) -> list[str]:
    rows = []
    for (layer, zoom), p in passes.items():
        rows.append(
            f"| {layer} | {zoom} | {p.tiles} of {p.listed} | {kb(p.ours_bytes)} / {kb(p.tipg_bytes)} | "
            f"{median_max(p.first_ms)} | {median_max(p.cached_ms)} | {median_max(p.tipg_ms)} |"
        )
    return rows


def postmaster_of(engine: Engine) -> int:
    """The PostgreSQL postmaster of the store (the parent of this connection's backend; the store runs here)."""
    with engine.connect() as conn:
        return parent_pid(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--part", choices=("all", "tiles", "requests"), default="all", help="what to load")
    args = parser.parse_args()
    for tool, hint in (
        (shutil.which("wrk"), "apt-get install wrk"),
        (nginx_binary(), "apt-get install nginx"),
        (TIPG.exists(), "make bench-deps"),
    ):
        if not tool:
            raise SystemExit(f"missing: {hint}")
    url = database_url(Settings())
    engine = create_engine(url)
    load = Load(args.seconds, engine, postmaster_of(engine))
    with engine.connect() as conn:
        municipalities = conn.execute(text("SELECT count(*) FROM ref.comune")).scalar_one()
        edges = conn.execute(text("SELECT count(*) FROM net.edge")).scalar_one()
    if not municipalities or not edges:
        raise SystemExit("the store holds no municipalities or no roads; run the pipeline first")
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    ours_port, cold_port, tipg_port, nginx_port = (free_port() for _ in range(4))
    ours_url, cold_url, tipg_url = (f"http://127.0.0.1:{p}" for p in (ours_port, cold_port, tipg_port))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("AREAVASTA_", "TIPG_"))}
    ours_env = base_env | {"AREAVASTA_DATABASE_URL": url}
    cold_env = ours_env | {"AREAVASTA_RESPONSE_CACHE_MB": "0"}
    tipg_env = base_env | {
        "DATABASE_URL": plain,
        "TIPG_DB_SCHEMAS": '["ref","net"]',
        "TIPG_TILE_BUFFER": str(TILE_BUFFER),
        "TIPG_MAX_FEATURES_PER_TILE": "1000000",
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
    }
    started = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="tiles-load-") as tmp_name,
        process([str(BIN / "areavasta"), "serve", "--port", str(ours_port)], ours_env, f"{ours_url}/health") as ours,
        process([str(BIN / "areavasta"), "serve", "--port", str(cold_port)], cold_env, f"{cold_url}/health") as cold,
        process(
            [str(TIPG), "tipg.main:app", "--port", str(tipg_port), "--log-level", "warning"],
            tipg_env,
            f"{tipg_url}/collections",
        ) as tipg,
    ):
        servers = Servers(Server(ours_url, ours.pid), Server(cold_url, cold.pid), Server(tipg_url, tipg.pid))
        tmp = Path(tmp_name)
        www = tmp / "www"
        lists, passes = check_tiles(servers, www) if args.part != "requests" else ([], {})
        notes = check_small(servers, www)
        with nginx(tmp, nginx_port) as files:
            servers.nginx = files
            for kept in lists:  # nginx answers every URL with areavasta's bytes
                for tile in kept.tiles[:1]:
                    body = httpx.get(files.url + "/t" + kept.layer.ours_path(tile)).content
                    if body != (www / ("t" + kept.layer.ours_path(tile))).read_bytes():
                        raise SystemExit("nginx does not serve the bytes written")
            tile_rows, tile_cells = load_tiles(servers, lists, load) if args.part != "requests" else ([], [])
            small_rows, small_cells = load_small(servers, load) if args.part != "tiles" else ([], {})
    every_small = [c for cells in small_cells.values() for c in cells]
    empty_one = [f"{k.layer.name} {e}" for k in lists for e in k.empty_one]
    by_request = [
        f"- {name}: cached {spread(cells, 'ours', 'tipg')} TiPg and {spread(cells, 'ours', 'files')} nginx; "
        f"uncached {spread(cells, 'cold', 'tipg')} TiPg"
        for name, cells in small_cells.items()
    ]
    cells_are = (
        "- cached: areavasta as deployed; uncached: areavasta with its response cache off (every answer built from "
        "the store, as TiPg does); CPU: the server's process (with its workers) and PostgreSQL's (postmaster and "
        "every backend) over the cell, divided by the requests answered"
    )
    took = f"run took {(time.perf_counter() - started) / 60:.1f} min"
    tile_lines = [
        header("Tiles: areavasta, TiPg and nginx (the same bytes from files)"),
        f"- store: {municipalities:,} municipalities, {edges:,} road edges; tiles over lon {BOUNDS[0]}–{BOUNDS[2]}, "
        f"lat {BOUNDS[1]}–{BOUNDS[3]}, at most {TILES_PER_ZOOM} per zoom (morecantile, WebMercatorQuad)",
        f"- wrk -t1 cycling over the tiles of each row, {args.seconds} s per cell; one worker per server; {took}",
        cells_are,
        "- empty on both servers (areavasta: 204, TiPg: 200 with no body) and left out: "
        + ", ".join(f"{k.layer.name} z{k.zooms[0]}–{k.zooms[-1]} {k.empty_both}" for k in lists)
        + ("; empty on one side only: " + "; ".join(empty_one) if empty_one else "; none empty on one side only"),
        "",
        f"| layer | zooms (tiles) | c | {COLUMNS}",
        "|---|---|---|---|---|---|---|---|---|",
        *tile_rows,
        "",
        "One request per tile, one at a time (areavasta's first request builds and caches the tile; the second is "
        "served from the cache):",
        "",
        "| layer | zoom | tiles kept | mean KB areavasta / TiPg | areavasta first ms (median / max) "
        "| areavasta cached ms (median / max) | TiPg ms (median / max) |",
        "|---|---|---|---|---|---|---|",
        *zoom_rows(passes),
        "",
        f"Served from its cache, areavasta answered tiles at {spread(tile_cells, 'ours', 'tipg')} TiPg's requests "
        f"per second; with its cache off, building every tile from the store as TiPg does, at "
        f"{spread(tile_cells, 'cold', 'tipg')}. Beside nginx sending the same bytes from files, areavasta's "
        f"cache ran at {spread(tile_cells, 'ours', 'files')} of its rate (wrk, the servers and PostgreSQL share this "
        f"machine's cores). PostgreSQL CPU per cached tile: {cpu_spread(tile_cells, 'ours', 'pg_ms')} ms. The tiles "
        "are not byte for byte the same: areavasta simplifies geometries to a tenth of a pixel and TiPg does not by "
        "default (mean sizes in the second table); a tile with features only inside the 64-unit buffer is empty on "
        "TiPg, which selects by the tile's own bounds, and is left out of the lists.",
        "",
    ]
    small_lines = [
        header("Features and pages: areavasta, TiPg and nginx"),
        f"- store: {municipalities:,} municipalities; wrk -t1, {args.seconds} s per cell, each row's four cells one "
        f"after the other; one worker per server; nginx serves areavasta's bytes as sent (gzipped when asked); {took}",
        cells_are,
        *notes,
        "",
        f"| request | gzip | c | {COLUMNS} bytes areavasta / TiPg |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *small_rows,
        "",
        *by_request,
        "",
        f"Over these requests, areavasta's cache answered at {spread(every_small, 'ours', 'tipg')} TiPg's requests "
        f"per second and areavasta without its cache at {spread(every_small, 'cold', 'tipg')}; beside nginx sending "
        f"its bytes from a file, the cache ran at {spread(every_small, 'ours', 'files')} of nginx's rate. "
        f"PostgreSQL CPU per cached answer: {cpu_spread(every_small, 'ours', 'pg_ms')} ms; server CPU per cached "
        f"answer {cpu_spread(every_small, 'ours', 'server_ms')} ms against nginx's "
        f"{cpu_spread(every_small, 'files', 'server_ms')} ms: most of the distance to nginx is the Python HTTP "
        "server's own work per request (a stored answer is written by the HTTP protocol itself, api.server: what is "
        "left is parsing the request in Python, the cache look-up and the access line). areavasta gzips a body once "
        "and keeps it; the bytes column is the mean response with its headers as wrk received it.",
        "",
    ]
    parts = {"all": tile_lines + small_lines, "tiles": tile_lines, "requests": small_lines}
    print("\n".join(parts[args.part]))


if __name__ == "__main__":
    main()
