"""CORS as ZITADEL configures rs/cors (internal/api/http/middleware/cors_interceptor.go).

Every origin is allowed with credentials, so the origin is echoed; a preflight always answers
204, and a preflight asking for a method or header outside the lists is "aborted": 204 without
any Allow-* header, which the browser then refuses.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_HEADERS = frozenset(
    {
        "origin",
        "content-type",
        "accept",
        "accept-language",
        "authorization",
        "x-zitadel-orgid",
        "x-user-agent",
        "x-grpc-web",
        "x-requested-with",
        "connect-protocol-version",
        "connect-timeout-ms",
        "grpc-timeout",
    }
)
ALLOWED_METHODS = frozenset({"OPTIONS", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
EXPOSED_HEADERS = "Location, Content-Length, Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin"
_EXPOSED = EXPOSED_HEADERS.encode()
_VARY_ORIGIN = ((b"vary", b"Origin"),)


def _requested_headers_allowed(value: str) -> bool:
    requested = [h.strip().lower() for h in value.split(",") if h.strip()]
    return all(h in ALLOWED_HEADERS for h in requested)


def response_headers(method: str, origin: bytes | None) -> tuple[tuple[bytes, bytes], ...]:
    """What CORS adds to an answer (not a preflight's) to a request with this ``origin``."""
    if origin and method in ALLOWED_METHODS:
        return (
            *_VARY_ORIGIN,
            (b"access-control-allow-origin", origin),
            (b"access-control-allow-credentials", b"true"),
            (b"access-control-expose-headers", _EXPOSED),
        )
    return _VARY_ORIGIN


class CorsMiddleware:
    """``without``: a path prefix left without CORS (the mock's control plane)."""

    def __init__(self, app: ASGIApp, without: str | None = None) -> None:
        self.app = app
        self.without = without

    def _exempt(self, path: str) -> bool:
        return self.without is not None and (
            path == self.without or path.startswith(self.without + "/")
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._exempt(scope["path"]):
            await self.app(scope, receive, send)
            return
        # One pass over the raw headers, as Headers would read them: the first Origin.
        origin: bytes | None = None
        asks_preflight = False
        for name, value in scope["headers"]:
            if name == b"origin":
                if origin is None:
                    origin = value
            elif name == b"access-control-request-method":
                asks_preflight = True
        if asks_preflight and scope["method"] == "OPTIONS":
            await self._preflight(Headers(scope=scope), send)
            return
        added = response_headers(scope["method"], origin)

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *added]}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, headers: Headers, send: Send) -> None:
        out = [(b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers")]
        origin = headers.get("origin", "")
        method = headers["access-control-request-method"].upper()
        requested = headers.get("access-control-request-headers", "")
        if origin and method in ALLOWED_METHODS and _requested_headers_allowed(requested):
            out.append((b"access-control-allow-origin", origin.encode("latin-1")))
            out.append((b"access-control-allow-methods", method.encode("latin-1")))
            if requested:
                out.append((b"access-control-allow-headers", requested.encode("latin-1")))
            out.append((b"access-control-allow-credentials", b"true"))
        await send({"type": "http.response.start", "status": 204, "headers": out})
        await send({"type": "http.response.body", "body": b""})
