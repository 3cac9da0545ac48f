"""Native gRPC (HTTP/2, plaintext) in front of the domain, on the mock's own event loop.

ZITADEL serves gRPC on the same port as REST: the mock's HTTP port hands every connection that
opens with the HTTP/2 preface to a :class:`GrpcFront` (mock_server/serving.py), and
``--grpc-port`` is a listener of the same front. A call is a few function calls on the loop
beside the REST and gRPC-web requests: :mod:`http2` frames it, :mod:`methods` answers it.
Nothing here imports grpcio; reflection and health load it with their first call.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

from mock_server.domain.service import LifecycleService
from mock_server.grpc_front.address import DEFAULT_GRPC_PORT, grpc_address
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
        self.methods = GrpcMethods(service)
        self.connections: set[Http2Connection] = set()
        self._listeners = list(listeners or [])
        self._servers: list[asyncio.AbstractServer] = []

    def connection(self, preface_timeout: float | None = None) -> Http2Connection:
        return Http2Connection(self.methods.start, self.connections, preface_timeout)

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


def _listener(address: str) -> socket.socket:
    """A listening socket for ``host:port`` (port 0 picks one) or ``unix:path``."""
    try:
        if address.startswith("unix:"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.bind(address[len("unix:") :])
                sock.listen(128)
            except OSError:
                sock.close()
                raise
            return sock
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return socket.create_server((host, int(port)), family=family)
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"cannot bind gRPC to {address}: {exc}") from None


class ThreadedGrpcServer:
    """A :class:`GrpcFront` on an event loop of its own, in a thread, for a caller without a
    loop (tests, benchmarks): serving from construction, ``stop(grace).wait(timeout)`` as with
    grpcio's synchronous server."""

    def __init__(self, service: LifecycleService, addresses: list[str]) -> None:
        sockets: list[socket.socket] = []
        try:
            for address in addresses:
                sockets.append(_listener(address))
        except RuntimeError:
            for sock in sockets:
                sock.close()
            raise
        self.ports = [
            sock.getsockname()[1] if sock.family != getattr(socket, "AF_UNIX", None) else 0
            for sock in sockets
        ]
        self._front = GrpcFront(service, sockets)
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
        """Already serving since construction; kept so a caller reads as with grpcio."""

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
    service: LifecycleService,
    host: str = "127.0.0.1",
    port: int | None = DEFAULT_GRPC_PORT,
    *,
    backend: str | None = None,
) -> tuple[ThreadedGrpcServer, int | None]:
    """A gRPC server bound to ``host:port`` (0 picks a free port) on a thread of its own.

    ``port=None`` binds no public port; ``backend`` is a further address (``unix:path`` or
    ``host:port``). Returns the server and its public port. Raises RuntimeError when an
    address cannot be bound.
    """
    addresses = [] if port is None else [grpc_address(host, port)]
    if backend is not None:
        addresses.append(backend)
    server = ThreadedGrpcServer(service, addresses)
    return server, (server.ports[0] if port is not None else None)
