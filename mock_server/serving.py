"""The mock's listener: REST, gRPC-web and native gRPC on one port, as ZITADEL serves them, with
read time-outs and a bounded, quiet shutdown.

ZITADEL's ``RouteGRPC`` (internal/api/api.go) sends every HTTP/2 request with a gRPC
Content-Type to its grpc-go server and everything else to the HTTP router, behind Go's h2c
handler, so ``@zitadel/node`` works against the REST port. Here:

* uvicorn serves HTTP/1 with httptools (its fastest parser, unchanged on the REST path);
* :class:`OnePortProtocol` looks at the first bytes of each connection: a connection that opens
  with the HTTP/2 preface (RFC 9113 3.4, prior knowledge, which is how gRPC clients speak
  cleartext) is relayed byte for byte to the grpcio server on a private listener, so native
  gRPC keeps grpcio's real HTTP/2 and status handling. The REST path pays one ``startswith``;
* that grpcio server is ``grpc.aio`` on this same loop, started at the first connection that
  needs it (:class:`LazyGrpcFront`): a mock nobody calls over gRPC never loads grpcio (a
  quarter of its memory). ``--grpc-port`` is therefore our own listener, relayed the same way;
* a request head httptools refuses but Go's net/http parses (a method such as ``BREW``, a raw
  non-ASCII byte or a path over llhttp's limits, up to Go's DefaultMaxHeaderBytes) is handed,
  with its bytes, to uvicorn's h11 protocol, so it is routed (404 / 405 envelopes);
* every request's scope carries its asyncio transport under ``extensions["zitadel.transport"]``
  (:mod:`mock_server.connection`), which ASGI does not give an app, so that an injected fault
  can drop the connection;
* what neither parses gets Go's own plain answer (``400 Bad Request`` or ``431 Request Header
  Fields Too Large``, then close), as net/http's server writes before any handler runs.

Why this and not hypercorn (HTTP/2 into ASGI) or a proxy process: the gRPC front stays grpcio
(Google's, with reflection and health), REST stays on uvicorn+httptools, and the relay is a few
lines of asyncio with back-pressure both ways. Hypercorn would mean writing our own gRPC server
over ASGI trailers and moving REST to a slower server; a proxy would be one more process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import h11
import httptools
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mock_server import heap
from mock_server.connection import TRANSPORT_KEY

logger = logging.getLogger(__name__)

# RFC 9113 3.4: the client connection preface of HTTP/2 with prior knowledge.
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
# net/http: DefaultMaxHeaderBytes (1 MB) plus the 4096 bytes of slack readRequest allows.
MAX_HEADER_BYTES = (1 << 20) + 4096
# net/http's answers to a request it cannot parse (server.go, c.serve: errorHeaders).
_GO_ERROR_HEADERS = b"\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
GO_400 = b"HTTP/1.1 400 Bad Request" + _GO_ERROR_HEADERS + b"400 Bad Request"
GO_431 = (
    b"HTTP/1.1 431 Request Header Fields Too Large"
    + _GO_ERROR_HEADERS
    + b"431 Request Header Fields Too Large"
)
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_KEEP_ALIVE = 5
DEFAULT_SHUTDOWN_GRACE = 5.0


@dataclass(frozen=True)
class GrpcBackend:
    """Where the relay reaches grpcio: a Unix socket path, or a loopback TCP port."""

    path: str | None = None
    port: int | None = None
    # Awaited before each relayed connection: starts the server there on first use.
    ensure_started: Callable[[], Awaitable[None]] | None = field(default=None, compare=False)

    @property
    def grpc_address(self) -> str:
        return f"unix:{self.path}" if self.path else f"127.0.0.1:{self.port}"


class _ReadDeadline:
    """One timer per connection: a request must be read whole within ``seconds`` of its start.

    Like Go's http.Server ReadTimeout (from the first byte to the end of the body), it closes
    slowloris-style connections that trickle a head or a body; idle keep-alive connections are
    uvicorn's timeout_keep_alive.
    """

    def __init__(self, protocol: asyncio.Protocol, seconds: float | None) -> None:
        self._protocol = protocol
        self._seconds = seconds
        self._handle: asyncio.TimerHandle | None = None

    def arm(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._handle is None and self._seconds:
            self._handle = loop.call_later(self._seconds, self._expired)

    def disarm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _expired(self) -> None:
        self._handle = None
        transport = self._protocol.transport  # type: ignore[attr-defined]
        if transport is not None and not transport.is_closing():
            logger.debug("closing a connection that did not send its request in time")
            transport.close()


class _Backend(asyncio.Protocol):
    """The relay's side towards grpcio: what grpcio writes goes to the client as it is."""

    def __init__(self, front: Any) -> None:
        self.front = front  # the client's protocol; its ``transport`` is the client's
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        # From here on the client's bytes go straight through (its data_received sees this
        # transport), so what it sent while grpcio was being reached goes first, now.
        pending = self.front._pending
        if pending:
            transport.write(b"".join(pending))  # type: ignore[attr-defined]
        self.front._pending = []

    def data_received(self, data: bytes) -> None:
        self.front.transport.write(data)

    def connection_lost(self, exc: Exception | None) -> None:
        # grpcio closed (its stop, GOAWAY done): so does the client's connection.
        self.front.transport.close()

    def pause_writing(self) -> None:
        self.front.transport.pause_reading()

    def resume_writing(self) -> None:
        self.front.transport.resume_reading()


def _escape_request_line(head: bytes) -> bytes:
    """Percent-encode raw bytes >= 0x80 in the request line, which h11 refuses.

    Go's url.ParseRequestURI keeps such bytes and the router matches the decoded path; %XX
    decodes to the same bytes, so the route and the path the app sees do not change.
    """
    end = head.find(b"\n")
    line = head if end < 0 else head[:end]
    if max(line, default=0) < 0x80:
        return head
    escaped = b"".join(b"%%%02X" % b if b >= 0x80 else bytes([b]) for b in line)
    return escaped if end < 0 else escaped + head[end:]


def _no_delay(transport: asyncio.BaseTransport) -> None:
    # asyncio sets TCP_NODELAY only on sockets created with proto=IPPROTO_TCP; without it a
    # response written in two parts waits for the client's delayed ACK (40 ms).
    sock = transport.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


# net/http's closeWriteAndWait: after an error answer it shuts its side down and lingers a
# little before closing, so the client reads the answer instead of a reset.
_LINGER_SECONDS = 0.5


def _answer_and_close(protocol: asyncio.Protocol, answer: bytes) -> None:
    transport = protocol.transport  # type: ignore[attr-defined]
    if transport.is_closing():
        return
    if getattr(protocol, "answered", False):
        return
    protocol.answered = True  # type: ignore[attr-defined]  # what else arrives is dropped
    transport.write(answer)
    if transport.can_write_eof():
        transport.write_eof()
        asyncio.get_running_loop().call_later(_LINGER_SECONDS, transport.close)
    else:
        transport.close()


class H11Fallback(H11Protocol):
    """uvicorn's h11 protocol for the connections httptools refused, with Go's 400/431."""

    read_timeout: float | None = DEFAULT_READ_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _no_delay(transport)
        self._deadline = _ReadDeadline(self, self.read_timeout)
        self._deadline.arm(self.loop)

    answered = False

    def data_received(self, data: bytes) -> None:
        if self.answered:
            return
        super().data_received(data)
        state = self.conn.their_state
        reading = state is h11.SEND_BODY or (state is h11.IDLE and self.conn.trailing_data[0])
        if reading:
            self._deadline.arm(self.loop)
        else:
            self._deadline.disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        super().handle_events()
        # A request found here has its cycle built and its app task scheduled, not started.
        if self.cycle is not None:
            extensions = self.cycle.scope.setdefault("extensions", {})  # type: ignore[typeddict-item]
            extensions.setdefault(TRANSPORT_KEY, self.transport)

    def send_400_response(self, msg: str) -> None:
        too_large = len(self.conn.trailing_data[0]) > MAX_HEADER_BYTES
        _answer_and_close(self, GO_431 if too_large else GO_400)


class _OneWritePerResponse:
    """A request's transport that holds the response head uvicorn writes on
    ``http.response.start`` until the body's first bytes, and writes both at once.

    uvicorn writes head and body separately, so a small answer cost two send() calls and two
    TCP segments (the socket has TCP_NODELAY), the largest single cost of a fast REST call.
    The head waits for nothing else: the body follows it at once on the mock's own answers,
    and a response that ends without body bytes (HEAD, an empty body) flushes it when it
    completes. What is written before the response starts (``100 Continue``) goes out as is.
    """

    __slots__ = ("_transport", "_cycle", "_held", "_head_seen")

    def __init__(self, transport: asyncio.Transport, cycle: Any) -> None:
        self._transport = transport
        self._cycle = cycle
        self._held: bytes | None = None
        self._head_seen = False

    def write(self, data: bytes) -> None:
        if self._held is not None:
            data = self._held + data
            self._held = None
        elif not self._head_seen and self._cycle.response_started:
            self._head_seen = True
            self._held = data
            return
        self._transport.write(data)

    def flush(self) -> None:
        if self._held is not None:
            held, self._held = self._held, None
            self._transport.write(held)

    def release(self) -> None:
        # The cycle holds this writer: without the way back, both go by reference counting
        # as soon as the connection moves on, instead of waiting for the collector.
        self._head_seen = True  # nothing more to hold, so the cycle is never asked again
        self._cycle = None

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _write_each_response_once(cycle: Any) -> None:
    writer = _OneWritePerResponse(cycle.transport, cycle)
    cycle.transport = writer
    completed = cycle.on_response

    def on_response() -> None:
        writer.flush()
        writer.release()
        completed()

    cycle.on_response = on_response


class OnePortProtocol(HttpToolsProtocol):
    """httptools for HTTP/1, native gRPC relayed to grpcio, h11 for heads httptools refuses."""

    grpc_backend: GrpcBackend | None = None
    read_timeout: float | None = DEFAULT_READ_TIMEOUT

    @classmethod
    def configured(
        cls, grpc_backend: GrpcBackend | None, read_timeout: float | None
    ) -> type[OnePortProtocol]:
        attributes = {"grpc_backend": grpc_backend, "read_timeout": read_timeout}
        fallback = type("ConfiguredH11Fallback", (H11Fallback,), {"read_timeout": read_timeout})
        return type("ConfiguredOnePortProtocol", (cls,), {**attributes, "h11_class": fallback})

    h11_class: type[H11Fallback] = H11Fallback

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        _no_delay(transport)
        self._sniff: bytes | None = b""  # until the first bytes rule HTTP/2 in or out
        self._between_messages = True
        self._head: list[bytes] | None = None  # this request's head so far, for the fallback
        self._head_size = 0
        self._backend: _Backend | None = None
        self._pending: list[bytes] | None = None  # relayed bytes waiting for the connection
        self._deadline = _ReadDeadline(self, self.read_timeout)
        self._deadline.arm(self.loop)

    # -- bytes in -------------------------------------------------------------------------

    answered = False

    def data_received(self, data: bytes) -> None:
        if self.answered:
            return
        if self._pending is not None:  # relaying
            if self._backend is not None and self._backend.transport is not None:
                self._backend.transport.write(data)
            else:
                self._pending.append(data)
            return
        if self._sniff is not None:
            data = self._sniff + data
            if len(data) < len(H2_PREFACE) and H2_PREFACE.startswith(data):
                self._sniff = data
                return
            self._sniff = None
            if data.startswith(H2_PREFACE) and self.grpc_backend is not None:
                self._relay(data)
                return
        self._unset_keepalive_if_required()
        if self._between_messages:
            self._head, self._head_size = [data], len(data)
        elif self._head is not None:
            self._head.append(data)
            self._head_size += len(data)
        if self._head is not None and self._head_size > MAX_HEADER_BYTES:
            self._answer_and_close(GO_431)
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            if (
                self._head is not None
                and not self.pipeline
                and (self.cycle is None or self.cycle.response_complete)
            ):
                self._fall_back_to_h11(b"".join(self._head))
            else:
                self._answer_and_close(GO_400)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()

    def on_message_begin(self) -> None:
        self._between_messages = False
        self._deadline.arm(self.loop)
        super().on_message_begin()
        # The connection, for faults that drop it (mock_server.connection): ASGI has no
        # handle on it otherwise.
        self.scope["extensions"] = {TRANSPORT_KEY: self.transport}  # type: ignore[typeddict-unknown-key]

    def on_headers_complete(self) -> None:
        # httptools.parse_url refuses a URL over 64 KB (16-bit offsets) right here, which
        # makes this head one for h11: so the head is kept until it has been accepted.
        previous = self.cycle
        super().on_headers_complete()
        self._head = None
        if self.cycle is not previous and self.cycle is not None:
            _write_each_response_once(self.cycle)

    def on_message_complete(self) -> None:
        self._between_messages = True
        self._deadline.disarm()
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        self._answer_and_close(GO_400)

    def _answer_and_close(self, answer: bytes) -> None:
        _answer_and_close(self, answer)

    def _fall_back_to_h11(self, head: bytes) -> None:
        self._deadline.disarm()
        self._unset_keepalive_if_required()
        self.connections.discard(self)
        protocol = self.h11_class(
            config=self.config,
            server_state=self.server_state,
            app_state=self.app_state,
            _loop=self.loop,
        )
        self.transport.set_protocol(protocol)
        protocol.connection_made(self.transport)
        protocol.data_received(_escape_request_line(head))

    # -- the gRPC relay ---------------------------------------------------------------------

    def _relay(self, first: bytes) -> None:
        self._deadline.disarm()  # HTTP/2 keeps its own time (grpcio's keepalive)
        self._pending = [first]
        self._backend = _Backend(self)
        assert self.grpc_backend is not None
        self.loop.create_task(_connect_backend(self, self._backend, self.grpc_backend))

    def pause_writing(self) -> None:
        if self._backend is not None and self._backend.transport is not None:
            self._backend.transport.pause_reading()
        else:
            super().pause_writing()

    def resume_writing(self) -> None:
        if self._backend is not None and self._backend.transport is not None:
            self._backend.transport.resume_reading()
        else:
            super().resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.disarm()
        if self._backend is not None and self._backend.transport is not None:
            self._backend.transport.close()
        super().connection_lost(exc)

    def shutdown(self) -> None:
        if self._pending is not None:
            return  # grpcio's own stop ends relayed calls (GOAWAY), then closes the backend
        super().shutdown()


async def _connect_backend(front: Any, backend: _Backend, target: GrpcBackend) -> None:
    """Connect ``front`` (a client's protocol with ``transport`` and ``_pending``) to grpcio."""
    loop = asyncio.get_running_loop()
    try:
        if target.ensure_started is not None:
            await target.ensure_started()
        if target.path:
            await loop.create_unix_connection(lambda: backend, target.path)
        else:
            await loop.create_connection(lambda: backend, "127.0.0.1", target.port)
    except Exception as exc:  # whatever failed, the client must not wait on a dead relay
        logger.warning("cannot reach the gRPC server: %s", exc)
        front.transport.close()
        return
    assert backend.transport is not None
    if front.transport.is_closing():
        backend.transport.close()


class GrpcPortProtocol(asyncio.Protocol):
    """A connection to ``--grpc-port``: every byte relayed to grpcio, as the HTTP port relays an
    HTTP/2 connection (the port is ours so that grpcio can start only when first needed)."""

    def __init__(self, target: GrpcBackend) -> None:
        self.target = target
        self.transport: asyncio.Transport | None = None
        self._pending: list[bytes] | None = []
        self._backend = _Backend(self)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        _no_delay(transport)
        asyncio.get_running_loop().create_task(_connect_backend(self, self._backend, self.target))

    def data_received(self, data: bytes) -> None:
        if self._backend.transport is not None:
            self._backend.transport.write(data)
        elif self._pending is not None:
            self._pending.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._backend.transport is not None:
            self._backend.transport.close()

    def pause_writing(self) -> None:
        if self._backend.transport is not None:
            self._backend.transport.pause_reading()

    def resume_writing(self) -> None:
        if self._backend.transport is not None:
            self._backend.transport.resume_reading()


class LazyGrpcFront:
    """Native gRPC of one mock on the mock's event loop, started at its first connection.

    grpcio and its ``grpc.aio`` server (mock_server.grpc_front.server) load when a connection
    first needs them (an HTTP/2 preface on the HTTP port, a connection to ``listeners``), so an
    idle mock holds none of grpcio's memory; the import runs in a thread while the loop keeps
    serving. ``open()`` starts relaying the listeners, ``stop(grace)`` ends it all.
    """

    def __init__(
        self, service: Any, private: GrpcBackend, listeners: list[socket.socket] | None = None
    ) -> None:
        self.service = service
        self.backend = GrpcBackend(private.path, private.port, self.ensure_started)
        self._listeners = list(listeners or [])
        self._relays: list[asyncio.AbstractServer] = []
        self._server: Any = None
        self._starting: asyncio.Future | None = None

    @property
    def started(self) -> bool:
        return self._server is not None

    async def ensure_started(self) -> None:
        if self._server is not None:
            return
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._start())
        starting = self._starting
        try:
            await asyncio.shield(starting)
        except Exception:
            # A failed start is not kept: the next connection tries again.
            if self._starting is starting:
                self._starting = None
            raise

    async def _start(self) -> None:
        import importlib

        module = await asyncio.to_thread(importlib.import_module, "mock_server.grpc_front.server")
        self._server, _ = await module.start_grpc_server(self.service, [self.backend.grpc_address])
        heap.built_to_last()

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._listeners:
            relay = await loop.create_server(lambda: GrpcPortProtocol(self.backend), sock=sock)
            self._relays.append(relay)

    async def stop(self, grace: float | None) -> None:
        for relay in self._relays:
            relay.close()
        if self._starting is not None:
            with contextlib.suppress(Exception):
                await self._starting
        if self._server is not None:
            await self._server.stop(grace)


@contextlib.contextmanager
def private_grpc_backend() -> Iterator[GrpcBackend]:
    """A listener address for grpcio that only this process uses: a Unix socket in a private
    directory, or a loopback port where Unix sockets are missing."""
    if hasattr(socket, "AF_UNIX"):
        directory = tempfile.mkdtemp(prefix="zitadel-mock-")
        try:
            yield GrpcBackend(path=os.path.join(directory, "grpc.sock"))
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    with socket.socket() as probe:  # pragma: no cover - Windows
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield GrpcBackend(port=port)  # pragma: no cover


class MockServer(uvicorn.Server):
    """uvicorn's server without its signal juggling, running the gRPC fronts with it.

    uvicorn re-raises a caught SIGTERM after shutdown (exit status 143) and does not know about
    grpcio; here a signal only asks for the shutdown, which is bounded by the grace:
    listeners close at once, calls in flight get ``grace`` seconds, then every connection still
    open (a half-sent body, say) is closed and grpcio's stop is awaited, so nothing schedules
    work on a dying interpreter. ``grpc_servers`` are :class:`LazyGrpcFront` s (anything with
    ``async open()`` and ``async stop(grace)``), opened at start-up.
    """

    def __init__(
        self, config: uvicorn.Config, grpc_servers: list[LazyGrpcFront], grace: float
    ) -> None:
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
        # grpcio's stop runs beside uvicorn's: its GOAWAY ends the relayed connections that
        # uvicorn's shutdown waits for.
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
    grpc_servers: list[LazyGrpcFront],
    grpc_backend: GrpcBackend | None,
    grace: float = DEFAULT_SHUTDOWN_GRACE,
    read_timeout: float | None = DEFAULT_READ_TIMEOUT,
    keep_alive: int = DEFAULT_KEEP_ALIVE,
    log_level: str = "info",
    access_log: bool = False,
) -> None:
    """Serve ``app`` on ``sock`` until SIGINT or SIGTERM; returns after a clean shutdown.

    ``grpc_servers`` are :class:`LazyGrpcFront` s, run and stopped with the HTTP server; a
    second SIGINT cuts the grace short. ``access_log`` logs a line per request (uvicorn's
    access log).
    """
    config = uvicorn.Config(
        app,
        http=OnePortProtocol.configured(grpc_backend, read_timeout),
        timeout_keep_alive=keep_alive,
        timeout_graceful_shutdown=grace + 5,  # type: ignore[arg-type]
        h11_max_incomplete_event_size=MAX_HEADER_BYTES + 1,
        log_level=log_level,
        access_log=access_log,
    )
    server = MockServer(config, grpc_servers, grace)

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
