"""One HTTP/2 request stream as the layer above sees it (:mod:`mock_server.grpc_front.methods`):
its headers, what its client sent, and our side of it, written through its connection
(:mod:`mock_server.grpc_front.http2`)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from mock_server.grpc_front.frames import CANCEL

if TYPE_CHECKING:
    from mock_server.grpc_front.http2 import Http2Connection


class Handler(Protocol):
    """What a stream's bytes go to (mock_server.grpc_front.methods)."""

    def data(self, stream: Stream, payload: bytes) -> None: ...

    def end(self, stream: Stream) -> None: ...

    def reset(self, stream: Stream) -> None: ...


class Stream:
    """One request stream: its headers, what the client sent, and our side of it."""

    __slots__ = (
        "connection",
        "id",
        "headers",
        "handler",
        "send_window",
        "outbox",
        "closing",
        "remote_closed",
        "local_closed",
        "headers_sent",
        "unacknowledged",
        "buffered",
        "task",
        "derived",
    )

    def __init__(self, connection: Http2Connection, stream_id: int, send_window: int) -> None:
        self.connection = connection
        self.id = stream_id
        self.headers: dict[bytes, bytes] = {}
        self.handler: Handler | None = None
        self.send_window = send_window
        self.outbox = bytearray()  # DATA bytes waiting for flow-control credit
        self.closing: bytes | None = None  # the trailers' frame, sent after the outbox
        self.remote_closed = False
        self.local_closed = False
        self.headers_sent = False
        self.unacknowledged = 0
        self.buffered = 0
        self.task: asyncio.Task | None = None
        # What the layer above derives from the headers (its call metadata), shared by the
        # streams whose header blocks are the same bytes; like ``headers``, read-only.
        self.derived: dict[str, Any] = {}

    # -- our side --------------------------------------------------------------------------

    def send_headers(self, block: bytes, end_stream: bool = False) -> None:
        """One header block of ours (:mod:`header_block`), as HEADERS (+ CONTINUATION)."""
        if self.local_closed:
            return
        self.headers_sent = True
        self.connection.write_headers(self.id, block, end_stream)
        if end_stream:
            self._closed_locally()

    def send_data(self, payload: bytes) -> None:
        if self.local_closed or self.closing is not None:
            return
        self.outbox += payload
        self.connection.flush(self)

    def finish(self, trailers: bytes) -> None:
        """The trailers, after whatever DATA is still waiting for credit."""
        if self.local_closed or self.closing is not None:
            return
        self.closing = trailers
        self.connection.flush(self)

    def cancel(self) -> None:
        """RST_STREAM(CANCEL): what grpc-go does to a stream it gives up; the client sees
        CANCELLED."""
        if not self.local_closed:
            self.connection.reset_stream(self, CANCEL)

    def _closed_locally(self) -> None:
        self.local_closed = True
        self.outbox.clear()
        self.closing = None
        self.connection.stream_closed_locally(self)

    def header(self, name: bytes) -> bytes | None:
        return self.headers.get(name)
