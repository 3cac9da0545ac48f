"""HTTP/2's words (RFC 9113): frame types, flags, error codes, settings, and a frame's bytes.

What the connection (:mod:`mock_server.grpc_front.http2`) and the tests that speak raw frames
to it share; no state here.
"""

from __future__ import annotations

import struct

from mock_server.connection import H2_PREFACE

PREFACE = H2_PREFACE

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY = range(8)
WINDOW_UPDATE, CONTINUATION = 8, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

NO_ERROR, PROTOCOL_ERROR, INTERNAL_ERROR, FLOW_CONTROL_ERROR = 0, 1, 2, 3
STREAM_CLOSED, FRAME_SIZE_ERROR, REFUSED_STREAM, CANCEL, COMPRESSION_ERROR = 5, 6, 7, 8, 9
ENHANCE_YOUR_CALM = 0xB

SETTINGS_HEADER_TABLE_SIZE, SETTINGS_ENABLE_PUSH, SETTINGS_MAX_CONCURRENT_STREAMS = 1, 2, 3
SETTINGS_INITIAL_WINDOW_SIZE, SETTINGS_MAX_FRAME_SIZE, SETTINGS_MAX_HEADER_LIST_SIZE = 4, 5, 6

DEFAULT_WINDOW = 65_535
DEFAULT_FRAME_SIZE = 16_384
MAX_WINDOW = 2**31 - 1

HEAD = struct.Struct(">HBBBL")  # length as 16 + 8 bits, type, flags, stream id
U32 = struct.Struct(">L")
SETTING = struct.Struct(">HL")


class GoAway(Exception):
    """A connection error: the connection ends with GOAWAY ``code`` (RFC 9113 5.4.1)."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


def frame(kind: int, flags: int, stream_id: int, payload: bytes = b"") -> bytes:
    length = len(payload)
    return HEAD.pack(length >> 8, length & 0xFF, kind, flags, stream_id) + payload


def unpadded(payload: bytes) -> bytes:
    """A PADDED frame's payload without its pad length and padding."""
    if not payload:
        raise GoAway(PROTOCOL_ERROR, "a padded frame without its pad length")
    pad = payload[0]
    if pad >= len(payload):
        raise GoAway(PROTOCOL_ERROR, "padding longer than the frame")
    return payload[1 : len(payload) - pad]
