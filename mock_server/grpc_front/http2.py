"""HTTP/2 (RFC 9113) as native gRPC uses it, on the mock's event loop: one connection's frames,
streams, flow control and shutdown. Its words are :mod:`frames`, a stream is :mod:`stream`, a
header block :mod:`header_block`; what a stream means is :mod:`mock_server.grpc_front.methods`.

Why our own: grpcio (C-core, its ``grpc.aio`` glue, the relay a shared port needs) cost 1.8 –
2.4× a REST call, and the pure-Python ``h2`` library answers a no-op gRPC call in 273 µs of CPU
against 16 µs for this framing loop on the same machine (docs/performance.md). A gRPC client
speaks a small part of HTTP/2: prior knowledge, POST streams, a header block, DATA, trailers.
Everything else a client may send is handled as RFC 9113 asks: SETTINGS acknowledged and
applied, PING answered, flow control kept both ways, PRIORITY ignored, a protocol error ends
the connection with GOAWAY.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

from mock_server.connection import no_delay
from mock_server.grpc_front import header_block
from mock_server.grpc_front.frames import (
    ACK,
    COMPRESSION_ERROR,
    CONTINUATION,
    DATA,
    DEFAULT_FRAME_SIZE,
    DEFAULT_WINDOW,
    END_HEADERS,
    END_STREAM,
    ENHANCE_YOUR_CALM,
    FLOW_CONTROL_ERROR,
    FRAME_SIZE_ERROR,
    GOAWAY,
    HEAD,
    HEADERS,
    INTERNAL_ERROR,
    MAX_WINDOW,
    NO_ERROR,
    PADDED,
    PING,
    PREFACE,
    PRIORITY,
    PRIORITY_FLAG,
    PROTOCOL_ERROR,
    PUSH_PROMISE,
    REFUSED_STREAM,
    RST_STREAM,
    SETTING,
    SETTINGS,
    SETTINGS_ENABLE_PUSH,
    SETTINGS_HEADER_TABLE_SIZE,
    SETTINGS_INITIAL_WINDOW_SIZE,
    SETTINGS_MAX_CONCURRENT_STREAMS,
    SETTINGS_MAX_FRAME_SIZE,
    SETTINGS_MAX_HEADER_LIST_SIZE,
    STREAM_CLOSED,
    U32,
    WINDOW_UPDATE,
    GoAway,
    frame,
    unpadded,
)
from mock_server.grpc_front.stream import Handler, Stream

logger = logging.getLogger(__name__)

# What we let a client have in flight: a 4 MiB message (grpc-go's receive limit) arrives in a
# few round trips; each stream and the connection are topped up as their bytes are read.
RECEIVE_WINDOW = 1 << 20
MAX_CONCURRENT_STREAMS = 1000
# A header block, compressed and decoded: Go's DefaultMaxHeaderBytes (1 MiB), as REST allows.
MAX_HEADER_BYTES = 1 << 20
# Frames one header block may span: 1 MiB in 16 KiB frames is 64.
MAX_HEADER_FRAGMENTS = 128
# Bytes of unanswered request bodies one connection may hold; a stream that would pass it is
# refused (RESOURCE_EXHAUSTED by its handler), so a client cannot grow the mock's memory.
MAX_BUFFERED_BYTES = 16 << 20


class Http2Connection(asyncio.Protocol):
    """One client's HTTP/2 connection; ``start(stream)`` gives each new stream its handler."""

    def __init__(
        self,
        start: Callable[[Stream], Handler],
        connections: set[Http2Connection] | None = None,
        preface_timeout: float | None = None,
    ) -> None:
        self._start = start
        self._connections = connections
        self._preface_timeout = preface_timeout
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self._preface_seen = False
        self._blocks = header_block.BlockReader(MAX_HEADER_BYTES, MAX_HEADER_FRAGMENTS)
        self._table_update_due = True
        self._streams: dict[int, Stream] = {}
        self._last_stream_id = 0
        self._send_window = DEFAULT_WINDOW
        self._peer_initial_window = DEFAULT_WINDOW
        self._peer_frame_size = DEFAULT_FRAME_SIZE
        self._unacknowledged = 0
        self._buffered = 0
        self._header_stream: Stream | None = None  # a header block awaiting CONTINUATION
        self._header_flags = 0
        # Streams with DATA or trailers waiting for flow-control credit.
        self._waiting: dict[int, Stream] = {}
        # Streams we answered before their END_STREAM was read: reset at the end of the batch
        # if it did not come in it (grpc-go resets a stream the client has not half-closed
        # when its status goes out, and its reader has usually seen END_STREAM by then).
        self._answered_early: list[Stream] = []
        # The streams we reset lately, whose client may still send frames it had in flight.
        self._reset_ids: deque[int] = deque(maxlen=1024)
        self._going_away = False
        self._closed = False
        self._preface_timer: asyncio.TimerHandle | None = None
        # While frames are read, what we answer is gathered and written once after them: one
        # segment per batch of calls, not one per frame.
        self._corked: list[bytes] | None = None
        self.idle = asyncio.Event()

    # -- asyncio ---------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        no_delay(transport)  # again for a connection the HTTP port handed over: it is cheap
        if self._connections is not None:
            self._connections.add(self)
        settings = b"".join(
            SETTING.pack(key, value)
            for key, value in (
                (SETTINGS_MAX_CONCURRENT_STREAMS, MAX_CONCURRENT_STREAMS),
                (SETTINGS_INITIAL_WINDOW_SIZE, RECEIVE_WINDOW),
                (SETTINGS_MAX_HEADER_LIST_SIZE, MAX_HEADER_BYTES),
            )
        )
        self._write(
            frame(SETTINGS, 0, 0, settings)
            + frame(WINDOW_UPDATE, 0, 0, U32.pack(RECEIVE_WINDOW - DEFAULT_WINDOW))
        )
        if self._preface_timeout is not None:
            self._preface_timer = asyncio.get_running_loop().call_later(
                self._preface_timeout, self._preface_late
            )
        self._check_idle()

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        buffer = self._buffer + data if self._buffer else data
        self._corked = []
        try:
            if not self._preface_seen:
                if len(buffer) < len(PREFACE):
                    if not PREFACE.startswith(buffer):
                        raise GoAway(PROTOCOL_ERROR, "not the HTTP/2 preface")
                    self._buffer = buffer
                    return
                if not buffer.startswith(PREFACE):
                    raise GoAway(PROTOCOL_ERROR, "not the HTTP/2 preface")
                self._preface_seen = True
                if self._preface_timer is not None:
                    self._preface_timer.cancel()
                buffer = buffer[len(PREFACE) :]
            position, end = 0, len(buffer)
            unpack = HEAD.unpack_from
            while end - position >= 9:
                high, low, kind, flags, stream_id = unpack(buffer, position)
                length = (high << 8) | low
                if length > DEFAULT_FRAME_SIZE:
                    raise GoAway(FRAME_SIZE_ERROR, f"a frame of {length} bytes")
                stop = position + 9 + length
                if stop > end:
                    break
                payload = buffer[position + 9 : stop]
                position = stop
                self._frame(kind, flags, stream_id & 0x7FFFFFFF, payload)
                if self._closed:
                    return
            self._buffer = buffer[position:]
            if self._answered_early:
                self._reset_answered_early()
            if self._unacknowledged >= RECEIVE_WINDOW // 2:
                self._write(frame(WINDOW_UPDATE, 0, 0, U32.pack(self._unacknowledged)))
                self._unacknowledged = 0
        except GoAway as error:
            self.go_away(error.code, str(error))
        finally:
            corked, self._corked = self._corked, None
            if corked:
                self._write(b"".join(corked))

    def connection_lost(self, exc: Exception | None) -> None:
        self._closed = True
        if self._preface_timer is not None:
            self._preface_timer.cancel()
        for stream in list(self._streams.values()):
            self._forget(stream)
        if self._connections is not None:
            self._connections.discard(self)
        self.idle.set()

    def pause_writing(self) -> None:
        # A client that does not read its answers stops being read: its requests wait in
        # the kernel, not in the mock's memory.
        if self.transport is not None:
            self.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.transport is not None and not self._closed:
            self.transport.resume_reading()

    # -- frames in -------------------------------------------------------------------------

    def _frame(self, kind: int, flags: int, stream_id: int, payload: bytes) -> None:
        if self._blocks.pending and kind != CONTINUATION:
            raise GoAway(PROTOCOL_ERROR, "a header block without its CONTINUATION")
        if kind == DATA:
            self._data(flags, stream_id, payload)
        elif kind == HEADERS:
            self._headers(flags, stream_id, payload)
        elif kind == CONTINUATION:
            self._continuation(flags, stream_id, payload)
        elif kind == SETTINGS:
            self._settings(flags, stream_id, payload)
        elif kind == PING:
            if stream_id:
                raise GoAway(PROTOCOL_ERROR, "PING on a stream")
            if len(payload) != 8:
                raise GoAway(FRAME_SIZE_ERROR, "a PING not of 8 bytes")
            if not flags & ACK:
                self._write(frame(PING, ACK, 0, payload))
        elif kind == WINDOW_UPDATE:
            self._window_update(stream_id, payload)
        elif kind == RST_STREAM:
            if not stream_id:
                raise GoAway(PROTOCOL_ERROR, "RST_STREAM on stream 0")
            if len(payload) != 4:
                raise GoAway(FRAME_SIZE_ERROR, "a RST_STREAM not of 4 bytes")
            self._check_not_idle(stream_id, "RST_STREAM")
            stream = self._streams.get(stream_id)
            if stream is not None:
                stream.remote_closed = stream.local_closed = True
                self._forget(stream)
                if stream.handler is not None:
                    stream.handler.reset(stream)
        elif kind == GOAWAY:
            if stream_id:
                raise GoAway(PROTOCOL_ERROR, "GOAWAY on a stream")
            if len(payload) < 8:
                raise GoAway(FRAME_SIZE_ERROR, "a GOAWAY under 8 bytes")
            self._going_away = True
            self._check_idle()
        elif kind == PRIORITY:
            if not stream_id:
                raise GoAway(PROTOCOL_ERROR, "PRIORITY on stream 0")
            if len(payload) != 5:
                self._send_reset(stream_id, FRAME_SIZE_ERROR)
        elif kind == PUSH_PROMISE:
            raise GoAway(PROTOCOL_ERROR, "a client sent PUSH_PROMISE")
        # Frames of unknown types are ignored (RFC 9113 4.1).

    def _check_not_idle(self, stream_id: int, kind: str) -> None:
        if stream_id > self._last_stream_id:
            raise GoAway(PROTOCOL_ERROR, f"{kind} on idle stream {stream_id}")

    def _data(self, flags: int, stream_id: int, payload: bytes) -> None:
        if not stream_id:
            raise GoAway(PROTOCOL_ERROR, "DATA on stream 0")
        # Flow control counts the whole frame, padding included (RFC 9113 6.1).
        length = len(payload)
        self._unacknowledged += length
        if flags & PADDED:
            payload = unpadded(payload)
        stream = self._streams.get(stream_id)
        if stream is None:
            self._check_not_idle(stream_id, "DATA")
            return  # a stream we already ended or reset: its credit is returned above
        if stream.remote_closed:
            # The client ended this stream already (RFC 9113 5.1, half-closed remote).
            self.reset_stream(stream, STREAM_CLOSED)
            return
        if flags & END_STREAM:
            # Before the handler sees the bytes: an answer it gives at once ends the stream.
            stream.remote_closed = True
        if payload and stream.handler is not None and not stream.local_closed:
            stream.handler.data(stream, payload)
        if flags & END_STREAM:
            self._remote_end(stream)
        elif not stream.local_closed:
            stream.unacknowledged += length
            if stream.unacknowledged >= RECEIVE_WINDOW // 2:
                self._write(frame(WINDOW_UPDATE, 0, stream.id, U32.pack(stream.unacknowledged)))
                stream.unacknowledged = 0

    def _headers(self, flags: int, stream_id: int, payload: bytes) -> None:
        if not stream_id:
            raise GoAway(PROTOCOL_ERROR, "HEADERS on stream 0")
        if flags & PADDED:
            payload = unpadded(payload)
        if flags & PRIORITY_FLAG:
            payload = payload[5:]
        stream = self._streams.get(stream_id)
        if stream is None:
            if stream_id % 2 == 0:
                raise GoAway(PROTOCOL_ERROR, f"HEADERS opening even stream {stream_id}")
            if stream_id <= self._last_stream_id:
                if stream_id not in self._reset_ids:
                    raise GoAway(PROTOCOL_ERROR, f"HEADERS reopening stream {stream_id}")
                # A stream we reset, its client's frames still in flight: the block is decoded
                # (the compression state must stay in step) and dropped (RFC 9113 5.4.2).
                stream = Stream(self, stream_id, 0)
                stream.remote_closed = stream.local_closed = True
            else:
                self._last_stream_id = stream_id
                stream = Stream(self, stream_id, self._peer_initial_window)
        self._header_stream, self._header_flags = stream, flags
        self._header_block(self._blocks.begin, payload, flags)

    def _continuation(self, flags: int, stream_id: int, payload: bytes) -> None:
        stream = self._header_stream
        if stream is None or stream.id != stream_id:
            raise GoAway(PROTOCOL_ERROR, "CONTINUATION out of place")
        self._header_block(self._blocks.add, payload, flags)

    def _header_block(
        self,
        read: Callable[[bytes, bool], header_block.Decoded | None],
        fragment: bytes,
        flags: int,
    ) -> None:
        """A fragment of the pending stream's header block (``flags`` its frame's): the
        stream opens when the block ends."""
        try:
            decoded = read(fragment, bool(flags & END_HEADERS))
        except header_block.BlockTooLarge as exc:
            raise GoAway(ENHANCE_YOUR_CALM, str(exc)) from None
        except header_block.CompressionError as exc:
            raise GoAway(COMPRESSION_ERROR, str(exc)) from None
        if decoded is not None:
            stream, self._header_stream = self._header_stream, None
            assert stream is not None
            self._open(stream, self._header_flags, *decoded)

    def _open(
        self,
        stream: Stream,
        flags: int,
        headers: dict[bytes, Any],
        derived: dict[str, Any],
        size: int,
    ) -> None:
        if stream.local_closed and stream.id not in self._streams:
            return  # a stream already over (see _headers)
        if stream.id in self._streams:  # trailers from the client: only their END_STREAM counts
            if not flags & END_STREAM:
                raise GoAway(PROTOCOL_ERROR, "a second header block without END_STREAM")
            if stream.remote_closed:
                self.reset_stream(stream, STREAM_CLOSED)
            else:
                self._remote_end(stream)
            return
        if size > MAX_HEADER_BYTES:
            # grpc-go: a header list over its limit resets the stream (FRAME_SIZE_ERROR).
            self._send_reset(stream.id, FRAME_SIZE_ERROR)
            return
        if (
            self._going_away
            or len(self._streams) >= MAX_CONCURRENT_STREAMS
            or not self.reserve(stream, size)
        ):
            self._send_reset(stream.id, REFUSED_STREAM)
            self._check_idle()
            return
        stream.headers, stream.derived = headers, derived
        ended = bool(flags & END_STREAM)
        stream.remote_closed = ended  # so that an answer given at once needs no reset
        self._streams[stream.id] = stream
        self.idle.clear()
        try:
            stream.handler = self._start(stream)
        except Exception:
            logger.exception("starting gRPC stream %s failed", stream.id)
            self.reset_stream(stream, INTERNAL_ERROR)
            return
        if ended:
            if stream.local_closed:
                self._forget(stream)
            elif stream.handler is not None:
                stream.handler.end(stream)

    def _remote_end(self, stream: Stream) -> None:
        stream.remote_closed = True
        if stream.local_closed:
            self._forget(stream)
        elif stream.handler is not None:
            stream.handler.end(stream)

    def _settings(self, flags: int, stream_id: int, payload: bytes) -> None:
        if stream_id:
            raise GoAway(PROTOCOL_ERROR, "SETTINGS on a stream")
        if flags & ACK:
            if payload:
                raise GoAway(FRAME_SIZE_ERROR, "a SETTINGS ACK with a payload")
            return
        if len(payload) % 6:
            raise GoAway(FRAME_SIZE_ERROR, "a SETTINGS frame of odd size")
        grown = False
        for offset in range(0, len(payload), 6):
            key, value = SETTING.unpack_from(payload, offset)
            if key == SETTINGS_INITIAL_WINDOW_SIZE:
                if value > MAX_WINDOW:
                    raise GoAway(FLOW_CONTROL_ERROR, "initial window over 2^31-1")
                delta = value - self._peer_initial_window
                self._peer_initial_window = value
                if delta:
                    for stream in self._streams.values():
                        stream.send_window += delta
                        if stream.send_window > MAX_WINDOW:
                            raise GoAway(FLOW_CONTROL_ERROR, "a window over 2^31-1")
                    grown = grown or delta > 0
            elif key == SETTINGS_MAX_FRAME_SIZE:
                if not DEFAULT_FRAME_SIZE <= value <= 16_777_215:
                    raise GoAway(PROTOCOL_ERROR, f"max frame size {value}")
                self._peer_frame_size = value
            elif key == SETTINGS_HEADER_TABLE_SIZE:
                self._table_update_due = True
            elif key == SETTINGS_ENABLE_PUSH and value > 1:
                raise GoAway(PROTOCOL_ERROR, "ENABLE_PUSH over 1")
        self._write(frame(SETTINGS, ACK, 0))
        if grown:
            self._flush_waiting()

    def _window_update(self, stream_id: int, payload: bytes) -> None:
        if len(payload) != 4:
            raise GoAway(FRAME_SIZE_ERROR, "a WINDOW_UPDATE not of 4 bytes")
        increment = U32.unpack(payload)[0] & 0x7FFFFFFF
        if not stream_id:
            if not increment:
                raise GoAway(PROTOCOL_ERROR, "a WINDOW_UPDATE of 0")
            self._send_window += increment
            if self._send_window > MAX_WINDOW:
                raise GoAway(FLOW_CONTROL_ERROR, "the connection window over 2^31-1")
            self._flush_waiting()
            return
        self._check_not_idle(stream_id, "WINDOW_UPDATE")
        stream = self._streams.get(stream_id)
        if stream is None:
            return
        if not increment:
            self.reset_stream(stream, PROTOCOL_ERROR)
            return
        stream.send_window += increment
        if stream.send_window > MAX_WINDOW:
            self.reset_stream(stream, FLOW_CONTROL_ERROR)
            return
        if stream.id in self._waiting:
            self.flush(stream)

    def _flush_waiting(self) -> None:
        for stream in list(self._waiting.values()):
            self.flush(stream)
            if self._send_window <= 0:
                break

    # -- frames out ------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if self._corked is not None:
            self._corked.append(data)
        elif self.transport is not None and not self._closed:
            self.transport.write(data)

    def write_headers(self, stream_id: int, block: bytes, end_stream: bool) -> None:
        if self._table_update_due:
            block = header_block.TABLE_SIZE_ZERO + block
            self._table_update_due = False
        flags = END_STREAM if end_stream else 0
        size = self._peer_frame_size
        if len(block) <= size:
            self._write(frame(HEADERS, flags | END_HEADERS, stream_id, block))
            return
        pieces = [block[i : i + size] for i in range(0, len(block), size)]
        frames = [frame(HEADERS, flags, stream_id, pieces[0])]
        frames += [frame(CONTINUATION, 0, stream_id, piece) for piece in pieces[1:-1]]
        frames.append(frame(CONTINUATION, END_HEADERS, stream_id, pieces[-1]))
        self._write(b"".join(frames))

    def flush(self, stream: Stream) -> None:
        """Send what flow control allows of the stream's DATA, then its trailers."""
        outbox = stream.outbox
        frames = []
        while outbox:
            room = min(stream.send_window, self._send_window, self._peer_frame_size)
            if room <= 0:
                break
            piece = bytes(outbox[:room])
            del outbox[:room]
            stream.send_window -= len(piece)
            self._send_window -= len(piece)
            frames.append(frame(DATA, 0, stream.id, piece))
        if frames:
            self._write(b"".join(frames))
        if not outbox and stream.closing is not None:
            trailers, stream.closing = stream.closing, None
            stream.send_headers(trailers, end_stream=True)
        if outbox or stream.closing is not None:
            self._waiting[stream.id] = stream
        else:
            self._waiting.pop(stream.id, None)

    def _send_reset(self, stream_id: int, code: int) -> None:
        self._write(frame(RST_STREAM, 0, stream_id, U32.pack(code)))
        self._reset_ids.append(stream_id)

    def reset_stream(self, stream: Stream, code: int) -> None:
        self._send_reset(stream.id, code)
        stream.remote_closed = True
        stream._closed_locally()

    def stream_closed_locally(self, stream: Stream) -> None:
        if stream.remote_closed:
            self._forget(stream)
        elif self._corked is not None:
            self._answered_early.append(stream)  # decided at the end of the batch
        else:
            self._reset_unfinished(stream)

    def _reset_answered_early(self) -> None:
        answered, self._answered_early = self._answered_early, []
        for stream in answered:
            if not stream.remote_closed:
                self._reset_unfinished(stream)

    def _reset_unfinished(self, stream: Stream) -> None:
        # Answered before the client finished sending (an early error, or a unary answer
        # given before END_STREAM came): grpc-go resets the rest with NO_ERROR (RFC 9113 8.1).
        self._send_reset(stream.id, NO_ERROR)
        stream.remote_closed = True
        self._forget(stream)

    def _forget(self, stream: Stream) -> None:
        self._waiting.pop(stream.id, None)
        if self._streams.pop(stream.id, None) is not None:
            self._buffered -= stream.buffered
            stream.buffered = 0
            if stream.task is not None and not stream.task.done():
                stream.task.cancel()
            self._check_idle()

    # -- memory ----------------------------------------------------------------------------

    def reserve(self, stream: Stream, size: int) -> bool:
        """Whether ``size`` more request bytes of ``stream`` fit the connection's budget."""
        if self._buffered + size > MAX_BUFFERED_BYTES:
            return False
        self._buffered += size
        stream.buffered += size
        return True

    def release(self, stream: Stream, size: int | None = None) -> None:
        """Give back ``size`` bytes of the stream's reservation (all of it by default)."""
        size = stream.buffered if size is None else min(size, stream.buffered)
        self._buffered -= size
        stream.buffered -= size

    # -- the end ---------------------------------------------------------------------------

    def go_away(self, code: int = NO_ERROR, reason: str = "") -> None:
        """GOAWAY: with NO_ERROR the streams in flight finish first, else the connection ends."""
        if self._closed or self.transport is None:
            return
        debug = reason.encode("utf-8", "replace")[:256]
        self._write(frame(GOAWAY, 0, 0, U32.pack(self._last_stream_id) + U32.pack(code) + debug))
        self._going_away = True
        if code != NO_ERROR:
            logger.debug("HTTP/2 connection error %s: %s", code, reason)
            self.close()
        else:
            self._check_idle()

    def close(self) -> None:
        """Close after what is written (and gathered) so far."""
        corked, self._corked = self._corked, None
        if corked:
            self._write(b"".join(corked))
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()
        self._closed = True

    def abort(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()
        self._closed = True

    def _check_idle(self) -> None:
        if self._streams:
            return
        self.idle.set()
        if self._going_away and not self._blocks.pending:
            self.close()

    def _preface_late(self) -> None:
        if not self._preface_seen:
            self.close()
