"""The service as uvicorn runs it (api.server): slow request headers cut off, oversized ones refused, kept-alive and
pipelined requests answered in turn, logs rotated by size, long URLs cut in the access log."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import h11
import httpx
import pytest

from tests.conftest import free_port
from tests.probes import loaded_by
from tests.served import healthy_within

WAIT_S = 60  # a bound on waiting for the server, far above any timeout the tests set
HEALTH = b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"


@contextmanager
def running(database_url: str, **settings: str) -> Iterator[tuple[str, int]]:
    """``api.server.serve`` in a subprocess with these ``AREAVASTA_*`` settings; yields its host and port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AREAVASTA_")}
    env.update({"AREAVASTA_DATABASE_URL": database_url, "AREAVASTA_PORT": str(port)})
    env.update({f"AREAVASTA_{name.upper()}": value for name, value in settings.items()})
    script = "from api.server import serve; from geo.settings import Settings; serve(Settings(_env_file=None))"
    process = subprocess.Popen(
        [sys.executable, "-c", script], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        if not healthy_within(f"http://127.0.0.1:{port}", WAIT_S):
            pytest.fail("the service did not start")
        yield "127.0.0.1", port
    finally:
        process.terminate()
        process.wait(timeout=20)


def _closed_without_answer(sock: socket.socket) -> bool:
    """True when the server closes the connection without sending anything."""
    sock.settimeout(WAIT_S)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True


def _answers(sock: socket.socket, count: int) -> list[tuple[int, bytes]]:
    """Status and body of the next ``count`` responses on ``sock`` (requests already sent), read with h11."""
    conn = h11.Connection(h11.CLIENT)
    sock.settimeout(WAIT_S)
    answers = []
    for _ in range(count):
        if conn.our_state is h11.DONE:
            conn.start_next_cycle()
        conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))  # the state h11 expects
        conn.send(h11.EndOfMessage())
        status, body = 0, b""
        while (event := conn.next_event()) is not h11.PAUSED and not isinstance(event, h11.EndOfMessage):
            if event is h11.NEED_DATA:
                conn.receive_data(sock.recv(65536))
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.Data):
                body += event.data
        answers.append((status, body))
    return answers


def _with_header(size: int) -> bytes:
    """A request to /health whose line and headers come to about ``size`` bytes."""
    start = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Filler: "
    return start + b"y" * (size - len(start) - 4) + b"\r\n\r\n"


def test_slow_request_headers_are_cut_off_and_logs_are_bounded(area_vasta, tmp_path):
    log = tmp_path / "areavasta.log"
    settings = {"header_timeout_s": "1", "log_file": str(log), "log_url_chars": "100"}
    with running(area_vasta.settings.database_url, **settings) as address:
        with socket.create_connection(address) as silent, socket.create_connection(address) as trickling:
            trickling.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # the headers never end
            assert _closed_without_answer(silent) and _closed_without_answer(trickling)
        with socket.create_connection(address) as kept:
            kept.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while not answer.endswith(b'{"status":"ok"}'):
                answer += kept.recv(4096)
            assert answer.startswith(b"HTTP/1.1 200")
            kept.sendall(b"GET /health HTTP/1.1\r\n")  # a second request on the kept-alive connection stalls
            assert _closed_without_answer(kept)
        base = f"http://{address[0]}:{address[1]}"
        assert httpx.get(f"{base}/collections/provinces/items?{'x' * 5000}=1").status_code == 400
        assert httpx.get(f"{base}/health").status_code == 200  # the service answers on
    lines = log.read_text().splitlines()
    access = [line for line in lines if "/collections/provinces/items?" in line]
    assert len(access) == 1 and "…(+4931 chars)" in access[0] and len(access[0]) < 300
    assert any("request headers took over 1.0 s" in line for line in lines)
    assert not [line for line in lines if "Traceback" in line]


def test_kept_alive_and_pipelined_requests_are_answered_in_turn_and_oversized_headers_refused(area_vasta, tmp_path):
    """Line and headers over 16 KiB (the default, as h11's buffer bound was): 431 and the connection closes, whether
    the block is complete in one read or still unfinished; the requests before it on the connection are answered."""
    log = tmp_path / "areavasta.log"
    ok = (200, b'{"status":"ok"}')
    with running(area_vasta.settings.database_url, log_file=str(log)) as address:
        with socket.create_connection(address) as sock:
            sock.sendall(HEALTH * 3 + _with_header(15 * 1024))  # pipelined in one write
            assert _answers(sock, 4) == [ok] * 4
            sock.sendall(HEALTH)  # the connection was kept alive
            assert _answers(sock, 1) == [ok]
            sock.sendall(HEALTH + _with_header(17 * 1024) + HEALTH)
            assert [status for status, _ in _answers(sock, 2)] == [200, 431]
            assert _closed_without_answer(sock)  # the request after the refused one is not answered
        with socket.create_connection(address) as sock:
            sock.sendall(_with_header(20 * 1024)[:-4])  # the headers have not ended
            assert [status for status, _ in _answers(sock, 1)] == [431] and _closed_without_answer(sock)
        assert httpx.get(f"http://{address[0]}:{address[1]}/health").status_code == 200  # the service answers on
    lines = log.read_text().splitlines()
    refused = [line for line in lines if '"GET /health HTTP/1.1" 431' in line]  # the unfinished one has no line
    assert len(refused) == 1
    client = refused[0].split()[3]  # one connection, one client address and port: 6 answers, then the refusal
    assert len([line for line in lines if f'{client} - "GET /health HTTP/1.1" 200' in line]) == 6
    assert len([line for line in lines if "line and headers exceed 16384 bytes" in line]) == 2
    assert not [line for line in lines if "Traceback" in line]


def test_the_log_file_rotates_at_its_size(tmp_path: Path):
    """20,000 long access lines and 2,000 application lines into a 1 MB log with two backups: three files."""
    log = tmp_path / "areavasta.log"
    script = textwrap.dedent(
        f"""
        import logging, logging.config
        from api.server import log_config
        from geo.settings import Settings
        settings = Settings(_env_file=None, log_file={str(log)!r}, log_max_mb=1, log_backups=2, log_url_chars=200)
        logging.config.dictConfig(log_config(settings))
        access = logging.getLogger("uvicorn.access")
        for i in range(20_000):
            access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/x?" + "y" * 10_000 + str(i), "1.1", 400)
        for i in range(2_000):
            logging.getLogger("api.ogc.errors").warning("data store unavailable: %s", i)
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("AREAVASTA_")}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, cwd=Path(__file__).parents[1])
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["areavasta.log", "areavasta.log.1", "areavasta.log.2"]
    assert all((tmp_path / name).stat().st_size <= 2**20 for name in files)
    newest = (tmp_path / "areavasta.log").read_text()
    assert "data store unavailable: 1999" in newest


class Recording(asyncio.Transport):
    """A transport that keeps what the protocol writes."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: object = None) -> object:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.data += data

    def writelines(self, parts) -> None:  # type: ignore[no-untyped-def]
        for part in parts:
            self.write(part)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def _responses(data: bytes) -> list[tuple[int, list[tuple[bytes, bytes]], bytes]]:
    """The complete responses in ``data``: status, headers in their order, body."""
    conn, found = h11.Connection(h11.CLIENT), []
    if not data:
        return found  # (no data would tell h11 the connection closed)
    conn.receive_data(bytes(data))
    while True:
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        if conn.our_state is h11.IDLE:
            conn.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
            conn.send(h11.EndOfMessage())
        status, headers, body = 0, {}, b""
        while (event := conn.next_event()) is not h11.NEED_DATA and not isinstance(event, h11.EndOfMessage):
            if isinstance(event, h11.Response):
                status, headers = event.status_code, list(event.headers)
            elif isinstance(event, h11.Data):
                body += event.data
        if event is h11.NEED_DATA or event is h11.PAUSED:
            return found
        found.append((status, headers, body))
        if conn.their_state is h11.MUST_CLOSE:
            return found


def test_a_stored_answer_is_written_by_the_protocol_as_the_application_sends_it(area_vasta):
    """A GET whose answer is stored goes out within the read that completes it (no task, no ASGI message), with the
    status, headers and body the application sent the first time; pipelined behind a request the application is
    still answering, it waits its turn; HTTP/1.0 closes the connection and a GET with a body goes to the application."""
    from uvicorn.lifespan.on import LifespanOn
    from uvicorn.server import ServerState

    from api import server

    feature = b"GET /collections/municipalities/items/016024 HTTP/1.1\r\nHost: x\r\n\r\n"
    other = b"GET /collections/municipalities/items/016001 HTTP/1.1\r\nHost: x\r\n\r\n"
    config = server.config(area_vasta.settings)
    config.load()

    async def scenario() -> None:
        lifespan = LifespanOn(config)
        await lifespan.startup()
        try:
            store = config.loaded_app.app.state.store  # under uvicorn's proxy-headers layer
            assert await asyncio.to_thread(store.watch.wait_for, None) is not None

            state = ServerState()
            state.default_headers = [(b"date", b"Tue, 01 Dec 2026 12:00:00 GMT"), (b"server", b"uvicorn")]

            def connect() -> tuple[server.GuardedHttpTools, Recording]:
                protocol = config.http_protocol_class(config=config, server_state=state, app_state={})
                transport = Recording()
                protocol.connection_made(transport)
                return protocol, transport

            async def settle(transport: Recording, count: int) -> list:
                for _ in range(WAIT_S * 100):
                    if len(found := _responses(transport.data)) >= count:
                        return found
                    await asyncio.sleep(0.01)
                pytest.fail(f"{count} answers expected, got {_responses(transport.data)}")

            protocol, transport = connect()
            protocol.data_received(feature)
            assert transport.data == b""  # the first answer is built by the application, in a task
            (built,) = await settle(transport, 1)
            assert built[0] == 200 and b'"016024"' in built[2] and built[1][:2] == state.default_headers
            transport.data.clear()
            protocol.data_received(feature)
            assert _responses(transport.data) == [built]  # written before any task could run
            transport.data.clear()
            protocol.data_received(other + feature)  # pipelined behind one the application answers
            assert transport.data == b""
            answers = await settle(transport, 2)
            assert [a[0] for a in answers] == [200, 200] and b'"016001"' in answers[0][2] and answers[1] == built
            transport.data.clear()
            third = other.replace(b"016001", b"016002")
            protocol.data_received(feature + third)  # written here, then one for the application in the same read
            assert _responses(transport.data) == [built]
            assert protocol.timeout_keep_alive_task is None  # no idle timer while the application answers
            assert len(await settle(transport, 2)) == 2
            transport.data.clear()
            protocol.data_received(
                feature.replace(b"\r\n\r\n", b"\r\nIf-None-Match: " + dict(built[1])[b"etag"] + b"\r\n\r\n")
            )
            assert [a[0] for a in _responses(transport.data)] == [304] and not transport.closed
            transport.data.clear()
            protocol.data_received(feature.replace(b"\r\n\r\n", b"\r\nContent-Length: 2\r\n\r\n{}"))
            assert transport.data == b""  # a body: the application's
            assert await settle(transport, 1) == [built]

            protocol, transport = connect()
            protocol.data_received(feature.replace(b"HTTP/1.1", b"HTTP/1.0"))
            ((status, headers, body),) = _responses(transport.data)
            assert (status, body) == (200, built[2]) and (b"connection", b"close") in headers and transport.closed
        finally:
            await lifespan.shutdown()

    asyncio.run(scenario())


# the libraries only a file download or a map page needs: about 2 s of imports in every service process, most of
# which never writes a file and many of which never draw a map
FILE_AND_MAP_LIBRARIES = ("geopandas", "openpyxl", "pyogrio", "folium", "pandas")


def test_the_service_starts_without_the_file_writers_or_the_map_builders():
    started = (
        "from api.server import config\nfrom geo.settings import Settings\n"
        "config(Settings(_env_file=None, database_url='postgresql+psycopg://u@127.0.0.1:1/x'))"
    )
    assert loaded_by(started, FILE_AND_MAP_LIBRARIES) == set()
