"""The TCP connection under an ASGI request, so that an injected fault can cut it.

ASGI gives an app no handle on its connection; the mock's own protocols
(:mod:`mock_server.serving`) put the asyncio transport into the scope under
:data:`TRANSPORT_KEY`. Under another server (Starlette's TestClient, httpx's ASGITransport)
there is none, and :func:`drop` says so, so the front answers a status instead.
"""

from __future__ import annotations

import asyncio

from starlette.types import Scope

TRANSPORT_KEY = "zitadel.transport"


async def drop(scope: Scope) -> bool:
    """Abort the request's connection (a TCP reset, nothing more is sent); False when the
    scope carries no transport to abort."""
    transport = scope.get("extensions", {}).get(TRANSPORT_KEY)
    if transport is None:
        return False
    if not transport.is_closing():
        transport.abort()
    # abort() schedules connection_lost; once it has run the server marks the request
    # disconnected and drops whatever the app still sends.
    for _ in range(2):
        await asyncio.sleep(0)
    return True
