"""Access: reading is public unless configured otherwise; writing needs an API key with the right role."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from fastapi import Request, Security
from fastapi.security import APIKeyHeader
from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from api.ogc.errors import OGCError
from geo.keys import ApiKey, verify

key_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="An API key from 'areavasta keys create'")
NAMESPACE = "api-key-failures"


class KeyGuard:
    """Wrong API keys counted per client address in a moving one-minute window; an address past the limit is
    answered 429 with Retry-After, whatever key it sends, until its window frees up (no guessing at speed)."""

    def __init__(self, per_minute: int) -> None:
        self.rate = RateLimitItemPerMinute(per_minute)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, client: str) -> None:
        """Refuse ``client`` with a 429 and Retry-After while its wrong keys of the last minute reach the limit."""
        if not self.limiter.test(self.rate, NAMESPACE, client):
            reset = self.limiter.get_window_stats(self.rate, NAMESPACE, client).reset_time
            retry = max(1, math.ceil(reset - time.time()))
            raise OGCError(
                429,
                "TooManyRequests",
                f"too many wrong API keys from this address; retry in {retry} s",
                {"Retry-After": str(retry)},
            )

    def failed(self, client: str) -> None:
        """Count one wrong key from ``client``."""
        self.limiter.hit(self.rate, NAMESPACE, client)


def _key(request: Request) -> ApiKey | None:
    secret = request.headers.get("x-api-key")
    if not secret:
        return None
    store = request.app.state.store
    client = request.client.host if request.client else "unknown"
    store.key_guard.check(client)
    key = verify(store.engine(), secret)
    if key is None:
        store.key_guard.failed(client)
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
