"""An ASGI app wrapper that counts the HTTP requests reaching it (what the fast serving layer let through)."""


class Counting:
    """An ASGI app that counts the requests reaching it."""

    def __init__(self, app):
        self.app, self.calls = app, 0

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            self.calls += 1
        await self.app(scope, receive, send)
