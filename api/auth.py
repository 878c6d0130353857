"""Access: reading is public unless configured otherwise; writing needs an API key with the right role."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Security
from fastapi.security import APIKeyHeader

from api.ogc.errors import OGCError
from geo.keys import ApiKey, verify

key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key from 'areavasta keys create'")


def _key(request: Request) -> ApiKey | None:
    secret = request.headers.get("x-api-key")
    if not secret:
        return None
    key = verify(request.app.state.store.engine(), secret)
    if key is None:
        raise OGCError(401, "Unauthorized", "the API key is unknown or revoked")
    return key


def require(role: str) -> Callable[[Request], ApiKey]:
    """A dependency that admits only keys of at least ``role``."""

    def dependency(request: Request, _declared: str | None = Security(key_header)) -> ApiKey:
        key = _key(request)
        if key is None:
            raise OGCError(401, "Unauthorized", f"this needs an API key (X-API-Key) with role {role} or higher")
        if not key.allows(role):
            raise OGCError(403, "Forbidden", f"the key '{key.name}' has role {key.role}; this needs {role}")
        return key

    return dependency


def read_access(request: Request) -> None:
    """Open data is public by default; with AREAVASTA_PUBLIC_READ=false a viewer key is needed to read."""
    if not request.app.state.store.settings.public_read:
        require("viewer")(request)
