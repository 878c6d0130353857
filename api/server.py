"""Running the service under uvicorn with bounded logs and bounded waits for slow clients.

uvicorn (0.54) closes a connection idle between requests (``timeout_keep_alive``) and caps the size of a request's
headers (h11, 16 KiB by default), but it has no limit on the *time* a client may take to send them: a client that
opens connections and sends a byte now and then ("slowloris") holds each of them for ever. ``SlowHeadersH11`` adds
that limit (``AREAVASTA_HEADER_TIMEOUT_S``). Behind a reverse proxy the proxy's own limit applies first (nginx:
``client_header_timeout``).

Logs go to a size-rotated file when ``AREAVASTA_LOG_FILE`` is set (``AREAVASTA_LOG_MAX_MB`` per file,
``AREAVASTA_LOG_BACKUPS`` kept), otherwise to the standard streams; request targets in the access log are cut to
``AREAVASTA_LOG_URL_CHARS`` characters, so that long invented URLs cannot fill a disk either.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from geo.settings import Settings

log = logging.getLogger(__name__)
ACCESS_PATH_ARG = 2  # uvicorn's access record: (client, method, path with query, HTTP version, status)


class SlowHeadersH11(H11Protocol):
    """uvicorn's h11 protocol that closes a connection whose request headers are not complete in time (from the
    connection's start, or from the end of the previous response on a kept-alive connection)."""

    header_timeout_s: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request line and headers are in
            self._disarm_header_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
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
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            log.info("closed a connection whose request headers took over %s s", self.header_timeout_s)
            self.transport.close()


class ShortTargets(logging.Filter):
    """Cuts the request target of uvicorn's access records to a set length."""

    def __init__(self, chars: int) -> None:
        super().__init__()
        self.chars = chars

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        target = args[ACCESS_PATH_ARG] if isinstance(args, tuple) and len(args) > ACCESS_PATH_ARG else None
        if isinstance(args, tuple) and isinstance(target, str) and len(target) > self.chars:
            cut = f"{target[: self.chars]}…(+{len(target) - self.chars} chars)"
            record.args = (*args[:ACCESS_PATH_ARG], cut, *args[ACCESS_PATH_ARG + 1 :])
        return True


def log_config(settings: Settings) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the service: uvicorn's formats, the application's own loggers at INFO,
    and a size-rotated file when one is configured."""

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
            "access": {
                "()": "uvicorn.logging.AccessFormatter",
                "fmt": '%(asctime)s %(levelprefix)s %(client_addr)s - "%(request_line)s" %(status_code)s',
                "use_colors": False if plain else None,
            },
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

    protocol = type("AreavastaH11", (SlowHeadersH11,), {"header_timeout_s": settings.header_timeout_s})
    return uvicorn.Config(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        http=protocol,
        timeout_keep_alive=settings.keep_alive_timeout_s,
        log_config=log_config(settings),
    )


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Serve until interrupted (``areavasta serve``)."""
    uvicorn.Server(config(settings, host, port)).run()
