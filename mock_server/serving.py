"""Running the mock's listener (:mod:`mock_server.one_port`) until a signal, with its gRPC front,
and a bounded, quiet shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import uvicorn

from mock_server import heap
from mock_server.one_port import (
    DEFAULT_KEEP_ALIVE,
    DEFAULT_READ_TIMEOUT,
    MAX_HEADER_BYTES,
    OnePortProtocol,
)

if TYPE_CHECKING:
    from mock_server.grpc_front.server import GrpcFront
    from mock_server.lane import Lane

DEFAULT_SHUTDOWN_GRACE = 5.0


class MockServer(uvicorn.Server):
    """uvicorn's server without its signal juggling, running the gRPC fronts with it.

    uvicorn re-raises a caught SIGTERM after shutdown (exit status 143) and does not know about
    native gRPC; here a signal only asks for the shutdown, which is bounded by the grace:
    listeners close at once, calls in flight get ``grace`` seconds, then every connection still
    open (a half-sent body, say) is closed and the gRPC front's stop is awaited, so nothing
    schedules work on a dying interpreter. ``grpc_servers`` are :class:`GrpcFront` s (anything with
    ``async open()`` and ``async stop(grace)``), opened at start-up.
    """

    def __init__(self, config: uvicorn.Config, grpc_servers: list[GrpcFront], grace: float) -> None:
        super().__init__(config)
        self.grpc_servers = grpc_servers
        self.grace = grace

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # see serve(): the loop's own signal handlers

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        for front in self.grpc_servers:
            await front.open()
        await super().startup(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # The gRPC fronts' stop runs beside uvicorn's: GOAWAY, the grace, then the cut.
        stopped = [asyncio.ensure_future(front.stop(self.grace)) for front in self.grpc_servers]
        # At the end of the grace every connection still open is cut: its client sees the
        # connection close and its app an http.disconnect, so nothing is left to cancel.
        # uvicorn's own timeout (config) stays as the backstop behind this.
        cut = asyncio.get_running_loop().call_later(self.grace, self._abort_connections)
        try:
            await super().shutdown(sockets)
        finally:
            cut.cancel()
            self._abort_connections()
        if stopped:
            await asyncio.wait(stopped, timeout=self.grace + 5)

    def _abort_connections(self) -> None:
        for connection in list(self.server_state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None and not transport.is_closing():
                transport.abort()


def serve(
    app: Callable,
    sock: socket.socket,
    *,
    grpc_front: GrpcFront | None,
    lane: Lane | None = None,
    grace: float = DEFAULT_SHUTDOWN_GRACE,
    read_timeout: float | None = DEFAULT_READ_TIMEOUT,
    keep_alive: int = DEFAULT_KEEP_ALIVE,
    log_level: str = "info",
    access_log: bool = False,
) -> None:
    """Serve ``app`` on ``sock`` until SIGINT or SIGTERM; returns after a clean shutdown.

    ``grpc_front`` serves native gRPC, handed the HTTP/2 connections of ``sock`` and run and
    stopped with the HTTP server; a second SIGINT cuts the grace short. ``lane`` answers the
    plain management and gRPC-web calls (:mod:`mock_server.lane`). ``access_log`` logs a line per
    request (uvicorn's access log).
    """
    config = uvicorn.Config(
        app,
        # uvicorn's access log sees only its own cycles: with it on, every request takes them.
        http=OnePortProtocol.configured(grpc_front, read_timeout, None if access_log else lane),
        timeout_keep_alive=keep_alive,
        timeout_graceful_shutdown=grace + 5,  # type: ignore[arg-type]
        h11_max_incomplete_event_size=MAX_HEADER_BYTES + 1,
        log_level=log_level,
        access_log=access_log,
    )
    server = MockServer(config, [grpc_front] if grpc_front is not None else [], grace)

    async def main() -> None:
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            if server.should_exit and signum == signal.SIGINT:
                server.force_exit = True
            server.should_exit = True

        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, on_signal, signum)
        # After the signal handlers: a SIGTERM during the collection is a clean exit.
        heap.freeze_start_up()
        await server.serve(sockets=[sock])

    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(main())


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when installed (uvicorn[standard] brings it), as ``uvicorn.run`` would pick."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
