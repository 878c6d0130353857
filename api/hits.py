"""Cache hits served before routing: when the listener vouches for the data version and reading is public, a
stored answer for this URL (and representation) goes out without FastAPI's routing, dependencies and parameter
validation; anything else goes on to the application unchanged."""

from __future__ import annotations

from fastapi import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import StoreState
from api.ogc import html


class CachedHits:
    """ASGI middleware in front of the routes."""

    def __init__(self, app: ASGIApp, store: StoreState) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        watch = self.store.watch
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and watch is not None
            and self.store.settings.public_read
        ):
            version = watch.current()
            if version is not None:
                request = Request(scope)
                variant = "html" if html.wants_html(request, request.query_params.get("f")) else ""
                entry = self.store.cache.get((version, f"{variant} {request.url}"))
                if entry is not None:
                    await entry.response(request)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
