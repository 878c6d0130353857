"""HTTP details every endpoint shares, handled before routing: HEAD answered as GET without a body, and requests
whose address carries a NUL byte refused as a client error (no store or parser ever sees one)."""

from __future__ import annotations

import json
from urllib.parse import unquote_to_bytes

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Protocol:
    """ASGI middleware for HEAD and NUL bytes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        address = scope.get("raw_path", b"") + b"?" + scope.get("query_string", b"")
        if b"\x00" in unquote_to_bytes(address):
            body = json.dumps({"code": "InvalidParameterValue", "description": "the address holds a NUL byte"})
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                }
            )
            await send({"type": "http.response.body", "body": body.encode()})
            return
        if scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)
