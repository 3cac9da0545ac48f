"""The TCP connection under a request: the handle an injected fault cuts, and what the mock's
listeners and protocols share about it (how they listen, the HTTP/2 preface, TCP_NODELAY, its
time-outs).

ASGI gives an app no handle on its connection; the mock's own protocols
(:mod:`mock_server.one_port`) put the asyncio transport into the scope under
:data:`TRANSPORT_KEY`. Under another server (Starlette's TestClient, httpx's ASGITransport)
there is none, and :func:`drop` says so, so the front answers a status instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable

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


class Deadline:
    """A connection's time-out (a request's read deadline, the keep-alive between requests)
    that a request moves without touching the loop's timers.

    ``arm`` and ``disarm`` only set a time: each time-out keeps one timer, which acts when it
    fires if the deadline it finds has passed, and otherwise waits for that deadline. A timer
    armed and cancelled per request, for each of the two time-outs, cost ~5 µs of a ~90 µs
    REST call.
    """

    __slots__ = ("_loop", "_seconds", "_expired", "_at", "_timer")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, seconds: float | None, expired: Callable[[], None]
    ) -> None:
        self._loop = loop
        self._seconds = seconds
        self._expired = expired
        self._at: float | None = None
        self._timer: asyncio.TimerHandle | None = None

    def arm(self) -> None:
        """Due ``seconds`` from now, unless armed already (a deadline counts from its start);
        never with ``seconds`` None."""
        if self._at is None and self._seconds is not None:
            self._at = self._loop.time() + self._seconds
            if self._timer is None:
                self._timer = self._loop.call_at(self._at, self._check)

    def disarm(self) -> None:
        self._at = None

    def cancel(self) -> None:
        """Disarmed for good: the connection is gone, and its timer with it."""
        self._at = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        at = self._at
        if at is None:
            return
        # The loop runs a timer up to its clock's resolution early.
        if at <= self._loop.time() + _CLOCK_SLACK:
            self._at = None
            self._expired()
        else:
            self._timer = self._loop.call_at(at, self._check)


# uvloop rounds timers to the millisecond; asyncio's clock may be coarser.
_CLOCK_SLACK = max(0.001, time.get_clock_info("monotonic").resolution)
