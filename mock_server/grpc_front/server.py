"""Native gRPC (HTTP/2, plaintext) in front of the domain, on the mock's own event loop.

ZITADEL serves gRPC on the same port as REST: the mock's HTTP port hands every connection that
opens with the HTTP/2 preface to a :class:`GrpcFront` (mock_server/one_port.py), and
``--grpc-port`` is a listener of the same front. A call is a few function calls on the loop
beside the REST and gRPC-web requests: :mod:`http2` frames it, :mod:`methods` answers it.
Nothing here imports grpcio; reflection and health load it with their first call, the HTTP/2
code itself with the first connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import TYPE_CHECKING

from mock_server import heap
from mock_server.connection import listen
from mock_server.domain.service import LifecycleService
from mock_server.grpc_front.address import DEFAULT_GRPC_PORT, grpc_address

if TYPE_CHECKING:
    from mock_server.grpc_front.http2 import Http2Connection
    from mock_server.grpc_front.methods import GrpcMethods

# A connection of its own port must send the HTTP/2 preface within this time.
PREFACE_TIMEOUT = 10.0


class GrpcFront:
    """Native gRPC of one mock: connections handed over by the HTTP port (:meth:`connection`)
    and ``listeners`` of its own, opened by ``open()``; ``stop(grace)`` ends them all."""

    def __init__(
        self, service: LifecycleService, listeners: list[socket.socket] | None = None
    ) -> None:
        self._service = service
        self._methods: GrpcMethods | None = None
        self.connections: set[Http2Connection] = set()
        self._listeners = list(listeners or [])
        self._servers: list[asyncio.AbstractServer] = []

    def connection(self, preface_timeout: float | None = None) -> Http2Connection:
        from mock_server.grpc_front.http2 import Http2Connection

        return Http2Connection(self._started().start, self.connections, preface_timeout)

    def _started(self) -> GrpcMethods:
        # Built with the first connection: HTTP/2, HPACK and the method table are a few
        # hundredths of a second of start-up that a mock nobody calls over gRPC never needs.
        if self._methods is None:
            from mock_server.grpc_front.methods import GrpcMethods

            self._methods = GrpcMethods(self._service)
            heap.built_to_last()
        return self._methods

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._listeners:
            server = await loop.create_server(lambda: self.connection(PREFACE_TIMEOUT), sock=sock)
            self._servers.append(server)

    async def stop(self, grace: float | None) -> None:
        """GOAWAY to every connection, the calls in flight get ``grace`` seconds, then the
        connections still open are cut."""
        for server in self._servers:
            server.close()
        connections = list(self.connections)
        for connection in connections:
            connection.go_away()
        waiting = [asyncio.ensure_future(c.idle.wait()) for c in connections]
        if waiting:
            _, pending = await asyncio.wait(waiting, timeout=grace)
            for task in pending:
                task.cancel()
        for connection in list(self.connections):
            connection.abort()


class ThreadedGrpcServer:
    """A :class:`GrpcFront` on ``sock`` on an event loop of its own, in a thread, for a caller
    without a loop (tests, benchmarks): serving from construction, stopped with
    ``stop(grace).wait(timeout)``."""

    def __init__(self, service: LifecycleService, sock: socket.socket) -> None:
        self.port = sock.getsockname()[1]
        self._front = GrpcFront(service, [sock])
        self._loop = asyncio.new_event_loop()
        self._stopped = threading.Event()
        opened = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(opened,), name="grpc-front", daemon=True
        )
        self._thread.start()
        opened.wait()

    def _run(self, opened: threading.Event) -> None:
        try:
            self._loop.run_until_complete(self._front.open())
            opened.set()
            self._loop.run_forever()
        finally:
            opened.set()
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    def start(self) -> None:
        """Nothing to do, it serves from construction: for callers that start a server."""

    def stop(self, grace: float | None) -> threading.Event:
        if not self._stopped.is_set() and self._thread.is_alive():

            async def stop() -> None:
                await self._front.stop(grace)

            future = asyncio.run_coroutine_threadsafe(stop(), self._loop)
            future.add_done_callback(lambda _: (self._stopped.set(), self._close_loop()))
        return self._stopped

    def _close_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)


def create_grpc_server(
    service: LifecycleService, host: str = "127.0.0.1", port: int = DEFAULT_GRPC_PORT
) -> tuple[ThreadedGrpcServer, int]:
    """A gRPC server bound to ``host:port`` (0 picks a free port) on a thread of its own;
    returns it and its port. Raises RuntimeError when the address cannot be bound."""
    try:
        sock = listen(host, port)
    except OSError as exc:
        raise RuntimeError(f"cannot bind gRPC to {grpc_address(host, port)}: {exc}") from None
    server = ThreadedGrpcServer(service, sock)
    return server, server.port
