"""Running the service under uvicorn (httptools parser, uvloop event loop) with bounded logs and bounded waits and
sizes for slow or oversized request headers.

uvicorn (0.54) closes a connection idle between requests (``timeout_keep_alive``) but bounds neither the *time* a
client may take to send a request's headers nor, with httptools, their *size*: a client that opens connections and
sends a byte now and then ("slowloris") would hold each of them for ever, and one that never ends its headers would
grow the parser's buffers. ``GuardedHttpTools`` adds both bounds: ``AREAVASTA_HEADER_TIMEOUT_S`` and
``AREAVASTA_HEADER_MAX_KB``. Behind a reverse proxy the proxy's own limits apply first (nginx:
``client_header_timeout``, ``large_client_header_buffers``).

Logs go to a size-rotated file when ``AREAVASTA_LOG_FILE`` is set (``AREAVASTA_LOG_MAX_MB`` per file,
``AREAVASTA_LOG_BACKUPS`` kept), otherwise to the standard streams; request targets in the access log are cut to
``AREAVASTA_LOG_URL_CHARS`` characters, so that long invented URLs cannot fill a disk either.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httptools
import uvicorn
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from geo.settings import Settings

if TYPE_CHECKING:
    from api.deps import StoreState

log = logging.getLogger(__name__)
ACCESS_PATH_ARG = 2  # uvicorn's access record: (client, method, path with query, HTTP version, status)
HEADER_LINE_BYTES = 4  # ": " and CRLF around a header's name and value
TOO_LARGE = b"Request line and headers too large"
TOO_LARGE_HEADERS = [
    (b"content-type", b"text/plain; charset=utf-8"),
    (b"content-length", str(len(TOO_LARGE)).encode()),
    (b"connection", b"close"),
]
# requests whose answer is never written by the protocol itself: a body, an upgrade, or what uvicorn's proxy layer
# rewrites (the scheme and client of a trusted proxy)
LEFT_TO_APPLICATION = frozenset(
    {b"content-length", b"transfer-encoding", b"expect", b"upgrade", b"x-forwarded-proto", b"x-forwarded-for"}
)


async def headers_too_large(scope: Scope, receive: Receive, send: Send) -> None:
    """The answer to a request whose line and headers exceed the bound: 431, and the connection closes."""
    await send({"type": "http.response.start", "status": 431, "headers": TOO_LARGE_HEADERS})
    await send({"type": "http.response.body", "body": TOO_LARGE})


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with two bounds on a request's line and headers: the time to send them (from
    the connection's start, or from the end of the previous response on a kept-alive connection; then the
    connection closes) and their size (then 431 and the connection closes).

    A GET whose answer the application's response cache holds, ready as asked (api.hits.CachedHits.ready), is
    written here as soon as its headers are parsed, with the headers and access line uvicorn would give it: no ASGI
    scope, task or message. Anything else, and any request while an earlier one on the connection is unanswered,
    goes to the application."""

    header_timeout_s: float = 10.0
    header_max_bytes: int = 16 * 1024
    store: StoreState | None = None  # the application's

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the connection's bounds: the header timer runs from now."""
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._awaiting_headers = True  # the next request's line and headers are not all in
        self._unparsed_bytes = 0  # bytes read towards them so far
        self._ended_in_read = False  # a request ended within the read being parsed
        self._written: bool | None = None  # this request's stored answer was written here (True: keep alive)
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        """Parse a read; refuse the request when its unfinished line and headers pass the size bound."""
        self._ended_in_read = False
        super().data_received(data)
        if self._awaiting_headers and not self.transport.is_closing():
            # where a request ending within this read left off is unknown: the next one is counted from the next read
            self._unparsed_bytes = 0 if self._ended_in_read else self._unparsed_bytes + len(data)
            if self._unparsed_bytes > self.header_max_bytes:
                log.info("refused a request whose line and headers exceed %s bytes", self.header_max_bytes)
                self.transport.write(STATUS_LINE[431] + b"".join(b"%s: %s\r\n" % h for h in TOO_LARGE_HEADERS))
                self.transport.write(b"\r\n" + TOO_LARGE)
                self.transport.close()

    def on_headers_complete(self) -> None:
        """Stop the header timer; a request whose line and headers pass the bound is answered 431."""
        self._awaiting_headers = False
        self._disarm_header_timer()
        size = len(self.url) + sum(len(name) + len(value) + HEADER_LINE_BYTES for name, value in self.headers)
        # a request is under way: no idle timer (one an answer written here armed for a request later in this read)
        self._unset_keepalive_if_required()
        if size > self.header_max_bytes:
            log.info("refused a request whose line and headers exceed %s bytes", self.header_max_bytes)
            self.app = headers_too_large  # the connection closes after this answer
        elif self._write_stored():
            return
        super().on_headers_complete()

    def _write_stored(self) -> bool:
        """Write the stored answer to this GET if the application has it ready; False to leave the request to it."""
        ready = self.store.ready_answer if self.store is not None else None
        if ready is None or self.parser.get_method() != b"GET" or self.pipeline or self.flow.write_paused:
            return False
        if self.transport.is_closing() or self.limit_concurrency is not None:
            return False  # a request after an answer that closes the connection; uvicorn's concurrency bound
        if self.cycle is not None and not self.cycle.response_complete:
            return False  # answers go out in the order of the requests
        if any(name in LEFT_TO_APPLICATION for name, _ in self.headers):
            return False
        try:
            url = httptools.parse_url(self.url)
            path = url.path.decode("ascii")
        except (httptools.HttpParserInvalidURLError, UnicodeDecodeError):
            return False  # uvicorn's own path answers these
        http_version = self.parser.get_http_version()
        scope: Scope = {
            "type": "http",
            "http_version": http_version,
            "method": "GET",
            "scheme": self.scheme,
            "server": self.server,
            "client": self.client,
            "root_path": self.root_path,
            "path": self.root_path + (unquote(path) if "%" in path else path),
            "query_string": url.query or b"",
            "headers": self.headers,
        }
        try:
            found = ready(scope)
        except Exception:  # within the parser's callback an error would become a 400: the application answers
            log.exception("stored answer not written; the application answers")
            return False
        if found is None:
            return False
        status, headers, body = found
        keep_alive = http_version != "1.0" and self.parser.should_keep_alive()
        if self.access_log:
            client, target = get_client_addr(scope), get_path_with_query_string(scope)  # type: ignore[arg-type]
            self.access_logger.info('%s - "%s %s HTTP/%s" %d', client, "GET", target, http_version, status)
        head = [STATUS_LINE[status]]
        for name, value in (*self.server_state.default_headers, *headers):
            head += (name, b": ", value, b"\r\n")
        head.append(b"\r\n" if keep_alive else b"connection: close\r\n\r\n")
        self.transport.writelines((b"".join(head), body))
        self._written = keep_alive
        return True

    def on_message_complete(self) -> None:
        """The next request's line and headers are awaited (and counted) from here; an answer written here ends."""
        written, self._written = self._written, None
        if written is None:
            super().on_message_complete()
        self._awaiting_headers, self._unparsed_bytes, self._ended_in_read = True, 0, True
        if written is not None:
            if not written:
                self.transport.close()
            self.on_response_complete()

    def on_response_complete(self) -> None:
        """On a kept-alive connection with no request queued, the header timer runs from now."""
        queued = bool(self.pipeline)  # a pipelined request, its headers in, starts now
        super().on_response_complete()
        if not queued and self._awaiting_headers and not self.transport.is_closing():
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the header timer with the connection."""
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self._awaiting_headers and not self.transport.is_closing():
            log.info("closed a connection whose request headers took over %s s", self.header_timeout_s)
            self.transport.close()


class ShortTargets(logging.Filter):
    """Cuts the request target of uvicorn's access records to a set length."""

    def __init__(self, chars: int) -> None:
        super().__init__()
        self.chars = chars

    def filter(self, record: logging.LogRecord) -> bool:
        """Cut the record's target when it is longer than the bound; keep every record."""
        args = record.args
        target = args[ACCESS_PATH_ARG] if isinstance(args, tuple) and len(args) > ACCESS_PATH_ARG else None
        if isinstance(args, tuple) and isinstance(target, str) and len(target) > self.chars:
            cut = f"{target[: self.chars]}…(+{len(target) - self.chars} chars)"
            record.args = (*args[:ACCESS_PATH_ARG], cut, *args[ACCESS_PATH_ARG + 1 :])
        return True


def log_config(settings: Settings) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the service: uvicorn's format for messages, a plain one for the access
    lines, the application's own loggers at INFO, and a size-rotated file when one is configured."""

    def handler(stream: str) -> dict[str, Any]:
        if settings.log_file is None:
            return {"class": "logging.StreamHandler", "stream": stream}
        return {
            "class": "logging.handlers.RotatingFileHandler",
            "filename": str(settings.log_file),
            "maxBytes": settings.log_max_mb * 2**20,
            "backupCount": settings.log_backups,
            "encoding": "utf-8",
        }

    plain = settings.log_file is not None  # no colour codes in a file
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"short_targets": {"()": ShortTargets, "chars": settings.log_url_chars}},
        "formatters": {
            "default": {
                "()": "uvicorn.logging.DefaultFormatter",
                "fmt": "%(asctime)s %(levelprefix)s %(name)s: %(message)s",
                "use_colors": False if plain else None,
            },
            # uvicorn's message as it is ('client - "request line" status'): its AccessFormatter (colours, the
            # status phrase, two copies of each record) took 40-100 µs of CPU a line here, over twice the standard one
            "access": {"format": "%(asctime)s %(levelname)s:     %(message)s"},
        },
        "handlers": {
            "default": {**handler("ext://sys.stderr"), "formatter": "default"},
            "access": {**handler("ext://sys.stdout"), "formatter": "access", "filters": ["short_targets"]},
        },
        "loggers": {
            "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
            "api": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "geo": {"handlers": ["default"], "level": "INFO", "propagate": False},
            "maps": {"handlers": ["default"], "level": "INFO", "propagate": False},
        },
    }


def config(settings: Settings, host: str | None = None, port: int | None = None) -> uvicorn.Config:
    """The uvicorn configuration of the service."""
    from api.app import create_app

    app = create_app(settings)
    bounds = {"header_timeout_s": settings.header_timeout_s, "header_max_bytes": settings.header_max_kb * 1024}
    protocol = type("AreavastaHttp", (GuardedHttpTools,), {**bounds, "store": app.state.store})
    return uvicorn.Config(
        app,
        host=host or settings.host,
        port=port or settings.port,
        http=protocol,
        loop="uvloop",
        timeout_keep_alive=settings.keep_alive_timeout_s,
        log_config=log_config(settings),
    )


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve until interrupted (``areavasta serve``)."""
    # the service's log formats show no thread, process or source line: a record without them costs an access line
    # about 10 µs less (the logging HOWTO's "Optimization")
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    logging._srcfile = None
    uvicorn.Server(config(settings, host, port)).run()
