"""HTTP caching: strong ETags over response bodies, with 304 answers to conditional requests."""

from __future__ import annotations

import hashlib

from fastapi import Request
from fastapi.responses import Response


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def cached(request: Request, body: str | bytes, media_type: str, headers: dict[str, str] | None = None) -> Response:
    """``body`` with an ETag, or an empty 304 when the client already holds it (If-None-Match)."""
    data = body.encode() if isinstance(body, str) else body
    tag = etag_of(data)
    headers = {**(headers or {}), "ETag": tag, "Cache-Control": "no-cache"}
    wanted = request.headers.get("if-none-match", "")
    if tag in {t.strip() for t in wanted.split(",")} or wanted.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=media_type, headers=headers)
