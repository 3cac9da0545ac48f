"""gRPC-web in front of the domain, as an ASGI app.

ZITADEL wraps its gRPC server with improbable-eng's grpcweb for every POST whose Content-Type
starts with ``application/grpc-web`` (internal/api/api.go, routeGRPCWeb). The wire, from the
gRPC-web protocol (PROTOCOL-WEB.md in grpc/grpc):

* the body is 5-byte frames: a flag byte (0x00 data, 0x01 compressed, 0x80 trailers) and a
  big-endian u32 length; ``application/grpc-web-text`` base64-encodes all of it;
* the answer is HTTP 200 whatever the outcome, with a data frame on success and always a
  trailer frame holding ``grpc-status``, the percent-encoded ``grpc-message`` and, for errors
  with details, ``grpc-status-details-bin`` (a base64 google.rpc.Status).

Framing errors answer like grpc-go would, with a gRPC status rather than an HTTP error, and an
unexpected exception becomes INTERNAL: a client never sees a traceback.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from google.protobuf.message import DecodeError, Message
from starlette.types import Receive, Scope, Send

from mock_server import bounded, connection, status
from mock_server.domain.errors import Code, ZitadelError
from mock_server.domain.service import CallMetadata, LifecycleService, Plan
from mock_server.faults import ConnectionDropped
from mock_server.grpc_front import codec
from mock_server.http_body import BodyTooLarge, read_body

logger = logging.getLogger(__name__)

GRPC_WEB = "application/grpc-web"
GRPC_WEB_TEXT = "application/grpc-web-text"
DATA_FLAG = 0x00
COMPRESSED_FLAG = 0x01
TRAILER_FLAG = 0x80
_HEADER = struct.Struct(">BI")
# grpc-go's default limit on a received message.
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
# gRPC-web calls are POST /<package>.<Service>/<Method>; ZITADEL's services are zitadel.*,
# and the root router tags them with X-Robots-Tag.
GRPC_WEB_PATH_PREFIX = "/zitadel."
# A base64 body is 4/3 the size of the frames it carries.
MAX_BODY_BYTES = (MAX_MESSAGE_BYTES + _HEADER.size) * 4 // 3 + 4
_BASE64_CHUNK = re.compile(rb"[A-Za-z0-9+/]+={0,2}")


def is_grpc_web(content_type: str | None) -> bool:
    return bool(content_type) and content_type.strip().lower().startswith(GRPC_WEB)


@dataclass(frozen=True)
class _Wire:
    """What the request's Content-Type says about the encoding of both directions."""

    content_type: str  # echoed on the response, parameters dropped
    text: bool  # grpc-web-text: base64 in both directions
    codec: str  # the content-subtype after "+"; "proto" when absent


@functools.lru_cache(maxsize=64)  # clients send a handful of Content-Types, each many times
def wire_of(content_type: str) -> _Wire:
    media = content_type.split(";", 1)[0].strip().lower()
    base, _, subtype = media.partition("+")
    return _Wire(content_type=media, text=base == GRPC_WEB_TEXT, codec=subtype or "proto")


def _failure(code: Code, text: str) -> ZitadelError:
    return ZitadelError(code, text)


def percent_encode(message: str) -> str:
    """grpc-message encoding: UTF-8, with bytes outside printable ASCII and '%' as %XX."""
    return "".join(
        chr(byte) if 0x20 <= byte <= 0x7E and byte != 0x25 else f"%{byte:02X}"
        for byte in message.encode("utf-8")
    )


def frame(flag: int, payload: bytes) -> bytes:
    return _HEADER.pack(flag, len(payload)) + payload


def trailer_frame(error: ZitadelError | None) -> bytes:
    return _OK_TRAILER if error is None else _error_trailer(error)


def status_pairs(error: ZitadelError | None) -> list[tuple[str, str]]:
    """The status trailers of a call, both gRPC fronts': grpc-status, the percent-encoded
    grpc-message (always, even empty) and grpc-status-details-bin when there are details."""
    if error is None:
        return [("grpc-status", "0"), ("grpc-message", "")]
    pairs = [
        ("grpc-status", str(status.grpc_code(error))),
        ("grpc-message", percent_encode(error.message)),
    ]
    details = codec.status_details_bin(error)
    if details is not None:
        # gRPC sends binary metadata as unpadded base64; decoders accept both forms.
        pairs.append((codec.STATUS_DETAILS_KEY, base64.b64encode(details).rstrip(b"=").decode()))
    return pairs


def _trailer(error: ZitadelError | None) -> bytes:
    lines = "".join(f"{name}:{value}\r\n" for name, value in status_pairs(error))
    return frame(TRAILER_FLAG, lines.encode("ascii"))


_OK_TRAILER = _trailer(None)
_error_trailer = bounded.per_error(_trailer)


def decode_text_body(body: bytes) -> bytes:
    """Base64 of grpc-web-text; a client may send several separately padded chunks."""
    body = b"".join(body.split())
    decoded = bytearray()
    position = 0
    for match in _BASE64_CHUNK.finditer(body):
        if match.start() != position:
            break
        chunk = match.group()
        decoded += base64.b64decode(chunk + b"=" * (-len(chunk) % 4), validate=True)
        position = match.end()
    if position != len(body):
        raise binascii.Error(f"invalid base64 at byte {position}")
    return bytes(decoded)


def length_refusal(length: int) -> ZitadelError | None:
    """grpc-go's answer to a message over its receive limit, or None."""
    if length > MAX_MESSAGE_BYTES:
        return _failure(
            Code.RESOURCE_EXHAUSTED,
            f"grpc: received message larger than max ({length} vs. {MAX_MESSAGE_BYTES})",
        )
    return None


def flag_refusal(flag: int, encoding: str | None) -> ZitadelError | None:
    """grpc-go's answer to a message's flag byte (checkRecvPayload, for a server without
    decompressors), or None for a plain message."""
    if flag == COMPRESSED_FLAG:
        if encoding in (None, "", "identity"):
            return _failure(
                Code.INTERNAL, "grpc: compressed flag set with identity or empty encoding"
            )
        return _failure(
            Code.UNIMPLEMENTED,
            f'grpc: Decompressor is not installed for grpc-encoding "{encoding}"',
        )
    if flag != DATA_FLAG:
        return _failure(Code.INTERNAL, f"grpc: received unexpected payload format {flag}")
    return None


def unmarshal_error(exc: Exception) -> ZitadelError:
    return _failure(Code.INTERNAL, f"grpc: error unmarshalling request: {exc}")


def read_message(body: bytes, encoding: str | None) -> bytes:
    """The one request message of a unary call, from its frames."""
    if len(body) < _HEADER.size:
        raise _failure(
            Code.INTERNAL,
            "grpc-web: request body holds no complete frame "
            f"({len(body)} bytes, a frame header is {_HEADER.size})",
        )
    flag, length = _HEADER.unpack_from(body)
    refusal = length_refusal(length)
    if refusal is not None:
        raise refusal
    payload = body[_HEADER.size : _HEADER.size + length]
    if len(payload) != length:
        raise _failure(
            Code.INTERNAL,
            f"grpc-web: frame announces {length} bytes but the body holds {len(payload)}",
        )
    refusal = flag_refusal(flag, encoding)
    if refusal is not None:
        raise refusal
    if len(body) > _HEADER.size + length:
        raise _failure(
            Code.INTERNAL, "grpc-web: a unary request carries one message frame, got more bytes"
        )
    return payload


UNEXPECTED = ZitadelError(Code.INTERNAL, "internal error in the mock")


class WebCall(NamedTuple):
    """A decoded gRPC-web call and its plan (its latency still to wait out)."""

    rpc_name: str
    request: Message
    metadata: CallMetadata
    plan: Plan

    def invoke(self, service: LifecycleService) -> Message:
        return codec.invoke(service, self.rpc_name, self.request, self.metadata, self.plan)


def answer(
    wire: _Wire, response: Message | None, error: ZitadelError | None
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The 200 answer's headers and body: the message's frame, if any, then the trailers."""
    payload = b"" if response is None else frame(DATA_FLAG, response.SerializeToString())
    payload += trailer_frame(error)
    if wire.text:
        payload = base64.b64encode(payload)
    headers = [
        (b"content-type", wire.content_type.encode("latin-1")),
        (b"content-length", str(len(payload)).encode("ascii")),
    ]
    return headers, payload


class GrpcWebApp:
    """ASGI app answering ``POST /zitadel.management.v1.ManagementService/<Rpc>`` in gRPC-web."""

    def __init__(self, service: LifecycleService) -> None:
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        raw_headers = scope["headers"]
        content_type, encoding = _content_type_and_encoding(raw_headers)
        if scope["method"] != "POST":
            await _plain(send, 405, "gRPC-web takes POST only", [(b"allow", b"POST")])
            return
        if not is_grpc_web(content_type):
            await _plain(send, 415, f"invalid gRPC-web request content-type {content_type!r}")
            return
        wire = wire_of(content_type)
        try:
            body = await _read_grpc_web_body(receive)
            metadata = codec.metadata_from_asgi(raw_headers, transport="grpc-web")
            call = self.prepare(scope["path"], metadata, encoding, wire, body)
            # Injected latency is awaited, never slept: the event loop serves other calls.
            if call.plan.delay:
                await codec.wait_out(call.plan)
            try:
                response = call.invoke(self.service)
            except ConnectionDropped as dropped:
                if await connection.drop(scope):
                    return
                raise dropped.undeliverable() from None
            error = None
        except ZitadelError as failure:
            response, error = None, failure
        except Exception:  # the client gets a status, the log gets the traceback
            logger.exception("gRPC-web call %s failed", scope.get("path"))
            response, error = None, UNEXPECTED
        headers, payload = answer(wire, response, error)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    def prepare(
        self,
        path: str,
        metadata: CallMetadata,
        encoding: str | None,
        wire: _Wire,
        body: bytes,
    ) -> WebCall:
        """The call a request's body asks for, its plan taken (its latency still to wait
        out); raises the gRPC status that refuses the request before any RPC runs."""
        if wire.codec != "proto":
            # grpc-go's answer to a content-subtype without a registered codec.
            raise _failure(
                Code.INTERNAL, f"grpc: no codec registered for content-subtype {wire.codec}"
            )
        if wire.text:
            try:
                body = decode_text_body(body)
            except (binascii.Error, ValueError) as exc:
                raise _failure(
                    Code.INVALID_ARGUMENT, f"grpc-web-text: body is not base64: {exc}"
                ) from None
        service_name, _, rpc_name = path.lstrip("/").partition("/")
        if not rpc_name or "/" in rpc_name:
            raise _failure(Code.UNIMPLEMENTED, f"malformed method name: {path!r}")
        if service_name != codec.SERVICE_NAME:
            raise _failure(Code.UNIMPLEMENTED, f"unknown service {service_name}")
        request_class = codec.request_class(rpc_name)
        if request_class is None:
            # Not one of the eight: the domain words the UNIMPLEMENTED, as on native gRPC.
            self.service.call(rpc_name, {}, metadata)
            raise AssertionError(f"the domain answered the unknown RPC {rpc_name}")
        message = read_message(body, encoding)
        try:
            request = request_class.FromString(message)
        except DecodeError as exc:
            raise unmarshal_error(exc) from None
        return WebCall(rpc_name, request, metadata, self.service.plan(rpc_name, metadata))


def _content_type_and_encoding(
    raw_headers: Iterable[tuple[bytes, bytes]],
) -> tuple[str, str | None]:
    """The request's Content-Type ("" without one) and grpc-encoding, the first of each."""
    content_type, encoding = None, None
    for name, value in raw_headers:
        name = name.lower()
        if name == b"content-type" and content_type is None:
            content_type = value.decode("latin-1")
        elif name == b"grpc-encoding" and encoding is None:
            encoding = value.decode("latin-1")
    return content_type or "", encoding


async def _read_grpc_web_body(receive: Receive) -> bytes:
    try:
        return await read_body(receive, MAX_BODY_BYTES)
    except BodyTooLarge as exc:
        raise _failure(
            Code.RESOURCE_EXHAUSTED, f"grpc-web: request body larger than {exc.limit} bytes"
        ) from None


async def _plain(
    send: Send, code: int, text: str, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = text.encode("utf-8")
    headers = [(b"content-type", b"text/plain; charset=utf-8"), *(extra or [])]
    headers.append((b"content-length", str(len(body)).encode("ascii")))
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def serve_lifespan(receive: Receive, send: Send) -> None:
    # Nothing to set up or tear down: the world is built before serving.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
