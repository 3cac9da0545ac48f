"""The TCP connection under a request: the handle an injected fault cuts, and what the mock's
listeners and protocols share about it (how they listen, the HTTP/2 preface, TCP_NODELAY).

ASGI gives an app no handle on its connection; the mock's own protocols
(:mod:`mock_server.one_port`) put the asyncio transport into the scope under
:data:`TRANSPORT_KEY`. Under another server (Starlette's TestClient, httpx's ASGITransport)
there is none, and :func:`drop` says so, so the front answers a status instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket

from starlette.types import Scope

TRANSPORT_KEY = "zitadel.transport"
# RFC 9113 3.4: the client connection preface of HTTP/2 with prior knowledge.
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host`` (an IPv6 literal with or without brackets) and
    ``port`` (0 picks a free one); raises OSError."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host.strip("[]"), port), family=family, backlog=2048)


def no_delay(transport: asyncio.BaseTransport) -> None:
    """TCP_NODELAY on the connection. asyncio sets it only on sockets created with
    proto=IPPROTO_TCP; without it an answer written in two parts waits for the client's
    delayed ACK (40 ms)."""
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


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
