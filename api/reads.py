"""Reads on the event loop for the serving path before the framework (api.hits): a few psycopg asyncio connections
in autocommit, so that a plain request costs one round trip, no thread hop and no pool ping or rollback.

They carry the service's statement timeout and, as the serving engine, the process tag; JIT compilation is off
(PostGIS functions are costed so high that the planner compiles tile statements to machine code, which takes longer
than running them). psycopg prepares a statement on the server after its first runs on a connection, so the
compiled statements of api.ogc run prepared.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg

from geo.db.orphans import process_tag
from geo.settings import Settings


class Busy(Exception):
    """Every connection stayed taken for the pool's wait (``pool_timeout_s``)."""


class Reads:
    """At most ``pool_size`` connections, opened on first use and kept; bound to the event loop that uses them
    (a new loop, as a test client starts, gets new ones). A request waits for one at most ``pool_timeout_s``."""

    def __init__(self, conninfo: str, settings: Settings) -> None:
        options = "-c jit=off"
        if settings.statement_timeout_ms:
            options += f" -c statement_timeout={int(settings.statement_timeout_ms)}"
        self._connect: dict[str, Any] = {
            "conninfo": conninfo,
            "autocommit": True,
            "connect_timeout": settings.store_connect_timeout_s,
            "application_name": process_tag(),
            "options": options,
        }
        self._size = settings.pool_size
        self._wait_s = settings.pool_timeout_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(self._size)
        self._idle: list[psycopg.AsyncConnection[Any]] = []

    async def rows(self, sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of one statement; a connection that fails is closed, the error raised."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            self.close()
            self._loop, self._slots = loop, asyncio.Semaphore(self._size)
        slots = self._slots
        try:
            await asyncio.wait_for(slots.acquire(), self._wait_s)
        except TimeoutError:
            raise Busy from None
        try:
            conn = self._idle.pop() if self._idle else await psycopg.AsyncConnection.connect(**self._connect)
            try:
                cursor = await conn.execute(sql, params)
                found = await cursor.fetchall()
            except BaseException:
                conn.pgconn.finish()
                raise
            self._idle.append(conn)
            return found
        finally:
            slots.release()

    def close(self) -> None:
        """Close the idle connections (from any thread or loop: libpq's own close, no round trip)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.pgconn.finish()
