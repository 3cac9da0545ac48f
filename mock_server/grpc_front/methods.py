"""What the native gRPC front answers on each HTTP/2 stream, as ZITADEL's grpc-go server does.

ManagementService's methods are single domain calls; beside them ZITADEL registers server
reflection (v1 and v1alpha, so ``grpcurl -plaintext localhost:8080 list`` works) and the
standard health service. The streams come from :mod:`mock_server.grpc_front.http2`; what a
refusal says follows grpc-go (internal/transport/http2_server.go, server.go), see
docs/grpc-native-facts.md.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import struct
from collections.abc import Callable
from typing import Any

from google.protobuf.message import DecodeError, Message

from mock_server import bounded
from mock_server.domain.errors import Code, ZitadelError
from mock_server.domain.service import CallMetadata, LifecycleService, Plan
from mock_server.faults import ConnectionDropped
from mock_server.grpc_front import codec, header_block, web
from mock_server.grpc_front.stream import Stream
from mock_server.grpc_front.web import MAX_MESSAGE_BYTES

logger = logging.getLogger(__name__)

_MESSAGE_HEAD = struct.Struct(">BL")
GRPC = b"application/grpc"

RESPONSE_HEAD = header_block.encode([(b":status", b"200"), (b"content-type", GRPC)])


def _status_fields(error: ZitadelError | None) -> list[tuple[bytes, bytes]]:
    return [(name.encode(), value.encode("ascii")) for name, value in web.status_pairs(error)]


OK_TRAILERS = header_block.encode(_status_fields(None))
OK_TRAILERS_ONLY = header_block.encode(
    [(b":status", b"200"), (b"content-type", GRPC), *_status_fields(None)]
)


def _trailers_only(error: ZitadelError) -> bytes:
    """grpc-go's answer to a call that fails before any message: one header block."""
    return header_block.encode(
        [(b":status", b"200"), (b"content-type", GRPC), *_status_fields(error)]
    )


_error_block = bounded.per_error(_trailers_only)
_error_trailers = bounded.per_error(lambda error: header_block.encode(_status_fields(error)))


def message(payload: bytes) -> bytes:
    return _MESSAGE_HEAD.pack(0, len(payload)) + payload


def fail(stream: Stream, error: ZitadelError, http_status: bytes = b"200") -> None:
    if stream.headers_sent:
        stream.finish(_error_trailers(error))
    elif http_status == b"200":
        stream.send_headers(_error_block(error), end_stream=True)
    else:
        block = header_block.encode(
            [(b":status", http_status), (b"content-type", GRPC), *_status_fields(error)]
        )
        stream.send_headers(block, end_stream=True)


def answer(stream: Stream, response: Message) -> None:
    """The unary answer in one write: head, the message, the trailers."""
    if stream.local_closed:
        return
    stream.send_headers(RESPONSE_HEAD)
    stream.send_data(message(response.SerializeToString()))
    stream.finish(OK_TRAILERS)


class Messages:
    """The gRPC messages of a request body, as its DATA frames bring them; what waits here
    counts against the connection's budget (http2.MAX_BUFFERED_BYTES)."""

    __slots__ = ("body",)

    def __init__(self) -> None:
        self.body = bytearray()

    def add(self, stream: Stream, payload: bytes) -> bool:
        """Whether the payload was kept; False when it passes the limits (refused)."""
        if len(self.body) + len(payload) > MAX_MESSAGE_BYTES + 2 * _MESSAGE_HEAD.size or (
            not stream.connection.reserve(stream, len(payload))
        ):
            return False
        self.body += payload
        return True

    def complete(self, stream: Stream) -> list[bytes] | ZitadelError:
        """The whole messages read so far (taken off the buffer), or why the body is wrong."""
        found = []
        body, position = self.body, 0
        while len(body) - position >= _MESSAGE_HEAD.size:
            flag, length = _MESSAGE_HEAD.unpack_from(body, position)
            refusal = web.length_refusal(length)
            if refusal is None and flag:
                encoding = stream.header(b"grpc-encoding")
                refusal = web.flag_refusal(flag, encoding and encoding.decode("latin-1"))
            if refusal is not None:
                return refusal
            stop = position + _MESSAGE_HEAD.size + length
            if stop > len(body):
                break
            found.append(bytes(body[position + _MESSAGE_HEAD.size : stop]))
            position = stop
        del body[:position]
        stream.connection.release(stream, position)
        return found


TOO_LARGE = ZitadelError(
    Code.RESOURCE_EXHAUSTED,
    f"grpc: received message larger than max (over {MAX_MESSAGE_BYTES} bytes)",
)


class Unary:
    """A call with one request message: grpc-go reads the first message and answers it;
    a body that ends before one is whole is UNKNOWN "EOF" / "unexpected EOF" (recvMsg)."""

    __slots__ = ("messages", "respond", "done")

    def __init__(self, respond: Callable[[Stream, bytes], None]) -> None:
        self.messages = Messages()
        self.respond = respond
        self.done = False

    def data(self, stream: Stream, payload: bytes) -> None:
        if self.done:
            return
        if not self.messages.add(stream, payload):
            self.done = True
            fail(stream, TOO_LARGE)
            return
        found = self.messages.complete(stream)
        if isinstance(found, ZitadelError):
            self.done = True
            fail(stream, found)
        elif found:
            self.done = True
            stream.connection.release(stream)
            self.messages.body.clear()
            self.respond(stream, found[0])

    def end(self, stream: Stream) -> None:
        if self.done:
            return
        self.done = True
        stream.connection.release(stream)
        text = "unexpected EOF" if self.messages.body else "EOF"
        fail(stream, ZitadelError(Code.UNKNOWN, text))

    def reset(self, stream: Stream) -> None:
        self.done = True  # the stream's task (injected latency) is cancelled by the connection


class _Refused:
    """A stream answered at its headers; the rest of its body is not read."""

    def data(self, stream: Stream, payload: bytes) -> None:
        pass

    def end(self, stream: Stream) -> None:
        pass

    def reset(self, stream: Stream) -> None:
        pass


_REFUSED = _Refused()


class GrpcMethods:
    """Every method the front serves, for one mock's :class:`LifecycleService`."""

    def __init__(self, service: LifecycleService) -> None:
        self.service = service
        self._management = {
            codec.METHOD_PREFIX + rpc_name: self._management_call(rpc_name)
            for rpc_name in codec.RPC_NAMES
        }
        self._standard: dict[str, Callable[[Stream], Any]] | None = None

    # -- a new stream ----------------------------------------------------------------------

    def start(self, stream: Stream) -> Any:
        """The handler of a new stream, or _REFUSED once the stream is answered (grpc-go's
        operateHeaders checks the content type, then the method, then routes)."""
        call = stream.derived.get("call")
        if call is not None:  # the same header block as an earlier management call
            return Unary(call)
        headers = stream.headers
        content_type = headers.get(b"content-type", b"")
        subtype = _content_subtype(content_type)
        if subtype is None:
            text = content_type.decode("latin-1")
            error = ZitadelError(
                Code.INVALID_ARGUMENT, f'invalid gRPC request content-type "{text}"'
            )
            fail(stream, error, b"415")
            return _REFUSED
        method = headers.get(b":method", b"")
        if method != b"POST":
            text = method.decode("latin-1")
            error = ZitadelError(
                Code.INTERNAL,
                f'Received a HEADERS frame with :method "{text}" which should be POST',
            )
            fail(stream, error, b"405")
            return _REFUSED
        if subtype != "proto":
            text = f"grpc: no codec registered for content-subtype {subtype}"
            fail(stream, ZitadelError(Code.INTERNAL, text))
            return _REFUSED
        path = headers.get(b":path", b"").decode("latin-1")
        call = self._management.get(path)
        if call is not None:
            stream.derived["call"] = call
            return Unary(call)
        return self._other(stream, path)

    def _other(self, stream: Stream, path: str) -> Any:
        service_name, _, method_name = (
            path[1:].rpartition("/") if path.startswith("/") else ("", "", "")
        )
        if not service_name or not method_name:
            fail(stream, ZitadelError(Code.UNIMPLEMENTED, f"malformed method name: {path!r}"))
            return _REFUSED
        if service_name == codec.SERVICE_NAME:
            # Not one of the methods the mock serves: the domain words the UNIMPLEMENTED.
            metadata = _metadata(stream)
            try:
                self.service.call(method_name, {}, metadata)
            except ZitadelError as error:
                fail(stream, error)
                return _REFUSED
            raise AssertionError(f"the domain answered the unknown RPC {method_name}")
        if self._standard is None:
            from mock_server import heap
            from mock_server.grpc_front import standard_services

            self._standard = standard_services.handlers()
            heap.built_to_last()
        handler = self._standard.get(path)
        if handler is not None:
            return handler(stream)
        known = {name.rpartition("/")[0].lstrip("/") for name in self._standard}
        if service_name in known:
            text = f"unknown method {method_name} for service {service_name}"
        else:
            text = f"unknown service {service_name}"
        fail(stream, ZitadelError(Code.UNIMPLEMENTED, text))
        return _REFUSED

    # -- ManagementService ----------------------------------------------------------------

    def _management_call(self, rpc_name: str) -> Callable[[Stream, bytes], None]:
        request_class = codec.request_class(rpc_name)
        assert request_class is not None, rpc_name
        service = self.service

        def respond(stream: Stream, raw: bytes) -> None:
            try:
                request = request_class.FromString(raw)
            except DecodeError as exc:
                # grpc-go unmarshals before any handler runs, so before authentication.
                fail(stream, web.unmarshal_error(exc))
                return
            metadata = _metadata(stream)
            try:
                plan = service.plan(rpc_name, metadata)
                if plan.delay:
                    # Injected latency is awaited: the loop serves every other call meanwhile.
                    call = functools.partial(
                        _invoke, service, rpc_name, request, metadata, plan, stream
                    )
                    stream.task = asyncio.ensure_future(_after_delay(plan, call))
                    return
                _invoke(service, rpc_name, request, metadata, plan, stream)
            except ZitadelError as error:
                fail(stream, error)

        return respond


def _invoke(
    service: LifecycleService,
    rpc_name: str,
    request: Message,
    metadata: Any,
    plan: Plan,
    stream: Stream,
) -> None:
    try:
        response = codec.invoke(service, rpc_name, request, metadata, plan)
    except ConnectionDropped:
        # An injected drop: the stream is reset as grpc-go resets one; the client sees
        # CANCELLED.
        stream.cancel()
        return
    except ZitadelError as error:
        fail(stream, error)
        return
    except Exception:  # the client gets a status, the log gets the traceback
        logger.exception("gRPC call %s failed", rpc_name)
        fail(stream, web.UNEXPECTED)
        return
    answer(stream, response)


async def _after_delay(plan: Plan, then: Callable[[], None]) -> None:
    await codec.wait_out(plan)
    then()


def _metadata(stream: Stream) -> CallMetadata:
    """The call metadata of the stream's headers, once per distinct header block."""
    derived = stream.derived
    metadata = derived.get("metadata")
    if metadata is None:
        metadata = derived["metadata"] = codec.metadata_from_asgi(
            stream.headers.items(), transport="grpc"
        )
    return metadata


def _content_subtype(content_type: bytes) -> str | None:
    """grpc-go's grpcutil.ContentSubtype: "proto" for application/grpc, the part after "+"
    or ";", None when it is no gRPC content type at all."""
    media = content_type.decode("latin-1").lower()
    if not media.startswith("application/grpc"):
        return None
    rest = media[len("application/grpc") :]
    if not rest:
        return "proto"
    if rest[0] not in "+;":
        return None
    return rest[1:] or "proto" if rest[0] == "+" else "proto"
