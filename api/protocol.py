"""HTTP details every endpoint shares, handled before routing: HEAD answered as GET without a body, requests
whose address carries a NUL byte refused as a client error (no store or parser ever sees one), and an unexpected
error kept inside the response: Starlette sends its 500 document and then re-raises, which makes the server drop
the connection; here the error ends with the document, and the connection stays usable."""

from __future__ import annotations

import json
import logging
from urllib.parse import unquote_to_bytes

from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.http import accepts_gzip

log = logging.getLogger(__name__)
SERVER_ERROR = json.dumps({"code": "ServerError", "description": "the service failed to answer this request"})


async def _send_json(send: Send, status: int, body: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


class Protocol:
    """ASGI middleware for HEAD and NUL bytes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a HEAD as the GET without its body, refuse an address holding a NUL byte with a 400, and answer a 500
        for an error raised before any response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        address = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if b"\x00" in unquote_to_bytes(address):
            body = json.dumps({"code": "InvalidParameterValue", "description": "the address holds a NUL byte"})
            await _send_json(send, 400, body)
            return
        head = scope["method"] == "HEAD"
        started = False

        async def forward(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            elif head and message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        try:
            await self.app({**scope, "method": "GET"} if head else scope, receive, forward)
        except Exception:
            if started:  # the 500 document has gone out (and was logged): the exchange is complete
                return
            log.exception("unexpected error before any response")
            await _send_json(send, 500, SERVER_ERROR)


class NegotiatedGZip(GZipMiddleware):
    """Starlette's gzip for the answers the service does not compress itself, only for clients whose
    Accept-Encoding admits it (Starlette looks for the word, so ``gzip;q=0``, a refusal, would get gzip)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Gzip the answer as Starlette does when the client accepts gzip; pass it through untouched otherwise."""
        if scope["type"] == "http" and not accepts_gzip(Headers(scope=scope).get("accept-encoding", "")):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
