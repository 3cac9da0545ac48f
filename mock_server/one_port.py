"""The mock's listener protocol: REST, gRPC-web and native gRPC on one port, as ZITADEL serves
them, with read time-outs (running it, with its shutdown, is :mod:`mock_server.serving`).

ZITADEL's ``RouteGRPC`` (internal/api/api.go) sends every HTTP/2 request with a gRPC
Content-Type to its grpc-go server and everything else to the HTTP router, behind Go's h2c
handler, so ``@zitadel/node`` works against the REST port. Here:

* uvicorn serves HTTP/1 with httptools (its fastest parser), and each request head is first
  offered to the lane (:mod:`mock_server.lane`), which answers the plain management and
  gRPC-web calls from the parser's callbacks without uvicorn's ASGI cycle;
* :class:`OnePortProtocol` looks at the first bytes of each connection: a connection that opens
  with the HTTP/2 preface (RFC 9113 3.4, prior knowledge, which is how gRPC clients speak
  cleartext) is handed, transport and all, to the native gRPC front
  (:class:`~mock_server.grpc_front.server.GrpcFront`, HTTP/2 on this same loop). The REST path
  pays one ``startswith``; ``--grpc-port`` is a listener of the same front;
* a request head httptools refuses but Go's net/http parses (a method such as ``BREW``, a raw
  non-ASCII byte or a path over llhttp's limits, up to Go's DefaultMaxHeaderBytes) is handed,
  with its bytes, to uvicorn's h11 protocol, so it is routed (404 / 405 envelopes);
* every request's scope carries its asyncio transport under ``extensions["zitadel.transport"]``
  (:mod:`mock_server.connection`), which ASGI does not give an app, so that an injected fault
  can drop the connection;
* what neither parses gets Go's own plain answer (``400 Bad Request`` or ``431 Request Header
  Fields Too Large``, then close), as net/http's server writes before any handler runs.

Why this and not hypercorn (HTTP/2 into ASGI) or a proxy process: REST stays on
uvicorn+httptools, the fastest Python HTTP/1 stack, and native gRPC needs only the small part
of HTTP/2 gRPC clients speak (mock_server/grpc_front/http2.py says why it is our own and not
grpcio or the h2 library). Hypercorn would move REST to a slower server; a proxy would be one
more process.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

import h11
import httptools
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mock_server import lane_cycle
from mock_server.connection import H2_PREFACE, TRANSPORT_KEY, Deadline, no_delay

if TYPE_CHECKING:
    from mock_server.grpc_front.server import GrpcFront
    from mock_server.lane import Lane

logger = logging.getLogger(__name__)

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


def _read_deadline(protocol: Any, seconds: float | None) -> Deadline:
    """A request must be read whole within ``seconds`` of its start: like Go's http.Server
    ReadTimeout (from the first byte to the end of the body), it closes slowloris-style
    connections that trickle a head or a body; idle keep-alive connections are the keep-alive
    time-out's."""

    def expired() -> None:
        transport = protocol.transport
        if transport is not None and not transport.is_closing():
            logger.debug("closing a connection that did not send its request in time")
            transport.close()

    return Deadline(protocol.loop, seconds or None, expired)  # 0: no limit


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
        no_delay(transport)
        self._deadline = _read_deadline(self, self.read_timeout)
        self._deadline.arm()

    answered = False

    def data_received(self, data: bytes) -> None:
        if self.answered:
            return
        super().data_received(data)
        state = self.conn.their_state
        reading = state is h11.SEND_BODY or (state is h11.IDLE and self.conn.trailing_data[0])
        if reading:
            self._deadline.arm()
        else:
            self._deadline.disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.cancel()
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
    """httptools for HTTP/1, HTTP/2 handed to the native gRPC front, h11 for heads httptools
    refuses."""

    grpc_front: GrpcFront | None = None
    read_timeout: float | None = DEFAULT_READ_TIMEOUT
    lane: Lane | None = None

    @classmethod
    def configured(
        cls,
        grpc_front: GrpcFront | None,
        read_timeout: float | None,
        lane: Lane | None = None,
    ) -> type[OnePortProtocol]:
        """``lane`` answers the plain management and gRPC-web calls without the ASGI round trip
        (:mod:`mock_server.lane`)."""
        attributes = {"grpc_front": grpc_front, "read_timeout": read_timeout, "lane": lane}
        fallback = type("ConfiguredH11Fallback", (H11Fallback,), {"read_timeout": read_timeout})
        return type("ConfiguredOnePortProtocol", (cls,), {**attributes, "h11_class": fallback})

    h11_class: type[H11Fallback] = H11Fallback

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        no_delay(transport)
        self._sniff: bytes | None = b""  # until the first bytes rule HTTP/2 in or out
        self._between_messages = True
        self._head: list[bytes] | None = None  # this request's head so far, for the fallback
        self._head_size = 0
        self._deadline = _read_deadline(self, self.read_timeout)
        self._deadline.arm()
        # uvicorn's keep-alive time-out, on a deadline of the same kind (see
        # on_response_complete).
        self._idle = Deadline(self.loop, self.timeout_keep_alive, self.timeout_keep_alive_handler)

    def _unset_keepalive_if_required(self) -> None:
        self._idle.disarm()

    def on_response_complete(self) -> None:
        if self.pipeline:
            # uvicorn starts the next pipelined request, its own way for each version, and
            # arms no keep-alive for it.
            super().on_response_complete()
            return
        # uvicorn's own steps, with the keep-alive on the lazy deadline: its timer was armed
        # and cancelled around every request.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._idle.disarm()
        self.flow.resume_reading()
        self._idle.arm()

    # -- bytes in -------------------------------------------------------------------------

    answered = False

    def data_received(self, data: bytes) -> None:
        if self.answered:
            return
        if self._sniff is not None:
            data = self._sniff + data
            if len(data) < len(H2_PREFACE) and H2_PREFACE.startswith(data):
                self._sniff = data
                return
            self._sniff = None
            if data.startswith(H2_PREFACE) and self.grpc_front is not None:
                self._hand_over(data)
                return
        self._unset_keepalive_if_required()
        if self._between_messages:
            # Like Go's server, whose ReadTimeout runs from the next request's first byte:
            # the blank lines httptools skips before a request line start it too.
            self._deadline.arm()
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
        # A request read after an answer written in the same turn (the lane's, pipelined):
        # the keep-alive time-out armed by that answer must not cut this one.
        self._unset_keepalive_if_required()
        self._deadline.arm()
        super().on_message_begin()
        # The connection, for faults that drop it (mock_server.connection): ASGI has no
        # handle on it otherwise.
        self.scope["extensions"] = {TRANSPORT_KEY: self.transport}  # type: ignore[typeddict-unknown-key]

    def on_headers_complete(self) -> None:
        if self.transport.is_closing():
            # An answer already ended the connection (a lane answer is written while the
            # parser goes on through the buffer): what follows is never run, as uvicorn
            # never starts a cycle pipelined behind a closing answer.
            self._head = None
            return
        if (
            self.lane is not None
            and (self.cycle is None or self.cycle.response_complete)
            and not self.parser.should_upgrade()
        ):
            cycle = lane_cycle.claim(self)
            if cycle is not None:
                self.cycle = cycle  # type: ignore[assignment]
                self._head = None
                return
        # httptools.parse_url refuses a URL over 64 KB (16-bit offsets) right here, which
        # makes this head one for h11: so the head is kept until it has been accepted.
        previous = self.cycle
        super().on_headers_complete()
        self._head = None
        if self.cycle is not previous and self.cycle is not None:
            _write_each_response_once(self.cycle)

    def on_body(self, body: bytes) -> None:
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if type(cycle) is lane_cycle.LaneCycle:
            cycle.call.body += body  # at most the announced Content-Length (claim checks it)
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._between_messages = True
        self._deadline.disarm()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if type(cycle) is lane_cycle.LaneCycle:
            if not cycle.response_complete:
                cycle.finish()
            return
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        self._answer_and_close(GO_400)

    def _answer_and_close(self, answer: bytes) -> None:
        _answer_and_close(self, answer)

    def _fall_back_to_h11(self, head: bytes) -> None:
        self._deadline.cancel()
        self._idle.cancel()
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

    # -- native gRPC ----------------------------------------------------------------------

    def _hand_over(self, first: bytes) -> None:
        """The connection becomes the gRPC front's: HTTP/2 keeps its own time (a gRPC
        channel stays open between calls) and the front's stop ends it with GOAWAY."""
        self._deadline.cancel()
        self._idle.cancel()
        self.connections.discard(self)
        assert self.grpc_front is not None
        protocol = self.grpc_front.connection()
        self.transport.set_protocol(protocol)
        protocol.connection_made(self.transport)
        protocol.data_received(first)

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.cancel()
        self._idle.cancel()
        super().connection_lost(exc)
