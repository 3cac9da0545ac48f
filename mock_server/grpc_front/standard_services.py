"""Server reflection (v1 and v1alpha) and health, which ZITADEL registers on its grpc-go server
beside its APIs; loaded with the first call that needs them (grpcio-reflection brings grpcio).

Reflection answers from grpcio-reflection's servicer over the generated descriptors, one
response per request message as the stream brings them. Health follows grpc-go's
health/server.go: every served service (and "") is SERVING; Check of another name is
NOT_FOUND "unknown service"; Watch sends the status and keeps the stream open.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import DecodeError
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection, reflection_pb2

from mock_server.domain.errors import Code, ZitadelError
from mock_server.grpc_front import gen, methods, web
from mock_server.grpc_front.stream import Stream

REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
REFLECTION_V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"
HEALTH = "grpc.health.v1.Health"


def handlers() -> dict[str, Callable[[Stream], Any]]:
    """The path of each standard method and what starts a stream of it."""
    _register_reflection_v1()
    served = generated_service_names()
    names = [*served, HEALTH, REFLECTION_V1ALPHA, REFLECTION_V1]
    servicer = reflection.ReflectionServicer(names)
    serving = {"", *served}

    def reflect(stream: Stream) -> _Reflection:
        return _Reflection(servicer)

    def check(stream: Stream) -> methods.Unary:
        return methods.Unary(lambda stream, raw: _check(serving, stream, raw))

    def watch(stream: Stream) -> methods.Unary:
        return methods.Unary(lambda stream, raw: _watch(serving, stream, raw))

    return {
        f"/{REFLECTION_V1}/ServerReflectionInfo": reflect,
        f"/{REFLECTION_V1ALPHA}/ServerReflectionInfo": reflect,
        f"/{HEALTH}/Check": check,
        f"/{HEALTH}/Watch": watch,
    }


class _Reflection:
    """A ServerReflectionInfo stream: each request message answered as it arrives."""

    def __init__(self, servicer: reflection.ReflectionServicer) -> None:
        self._servicer = servicer
        self._messages = methods.Messages()

    def data(self, stream: Stream, payload: bytes) -> None:
        if not self._messages.add(stream, payload):
            methods.fail(stream, methods.TOO_LARGE)
            return
        found = self._messages.complete(stream)
        if isinstance(found, ZitadelError):
            methods.fail(stream, found)
            return
        for raw in found:
            try:
                request = reflection_pb2.ServerReflectionRequest.FromString(raw)
            except DecodeError as exc:
                methods.fail(stream, web.unmarshal_error(exc))
                return
            (response,) = self._servicer.ServerReflectionInfo(iter([request]), None)
            if not stream.headers_sent:
                stream.send_headers(methods.RESPONSE_HEAD)
            stream.send_data(methods.message(response.SerializeToString()))

    def end(self, stream: Stream) -> None:
        if self._messages.body:
            methods.fail(stream, ZitadelError(Code.UNKNOWN, "unexpected EOF"))
        elif not stream.headers_sent:
            stream.send_headers(methods.OK_TRAILERS_ONLY, end_stream=True)
        else:
            stream.finish(methods.OK_TRAILERS)

    def reset(self, stream: Stream) -> None:
        pass


def _health_request(stream: Stream, raw: bytes) -> health_pb2.HealthCheckRequest | None:
    try:
        return health_pb2.HealthCheckRequest.FromString(raw)
    except DecodeError as exc:
        methods.fail(stream, web.unmarshal_error(exc))
        return None


def _check(serving: set[str], stream: Stream, raw: bytes) -> None:
    request = _health_request(stream, raw)
    if request is None:
        return
    if request.service not in serving:
        methods.fail(stream, ZitadelError(Code.NOT_FOUND, "unknown service"))
        return
    methods.answer(
        stream, health_pb2.HealthCheckResponse(status=health_pb2.HealthCheckResponse.SERVING)
    )


def _watch(serving: set[str], stream: Stream, raw: bytes) -> None:
    request = _health_request(stream, raw)
    if request is None:
        return
    found = request.service in serving
    status = (
        health_pb2.HealthCheckResponse.SERVING
        if found
        else health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
    )
    # The status, and the stream stays open: a status never changes in the mock, and the
    # client ends the watch (RST_STREAM) or the mock's shutdown does.
    stream.send_headers(methods.RESPONSE_HEAD)
    stream.send_data(
        methods.message(health_pb2.HealthCheckResponse(status=status).SerializeToString())
    )


def _register_reflection_v1() -> None:
    """grpcio-reflection implements v1alpha only; v1 is the same proto in another package
    (grpc/reflection/v1/reflection.proto), so its descriptor is v1alpha's renamed, and the
    same servicer answers both (grpcurl asks v1 first, older tools v1alpha)."""
    pool = descriptor_pool.Default()
    try:
        pool.FindServiceByName(REFLECTION_V1)
        return
    except KeyError:
        pass
    proto = descriptor_pb2.FileDescriptorProto()
    reflection_pb2.DESCRIPTOR.CopyToProto(proto)
    old, new = proto.package, "grpc.reflection.v1"
    proto.name, proto.package = "grpc/reflection/v1/reflection.proto", new
    proto.options.Clear()

    def rename(type_name: str) -> str:
        return type_name.replace(f".{old}.", f".{new}.", 1)

    for message in proto.message_type:
        for message_field in message.field:
            if message_field.type_name:
                message_field.type_name = rename(message_field.type_name)
    for service in proto.service:
        for method in service.method:
            method.input_type, method.output_type = (
                rename(method.input_type),
                rename(method.output_type),
            )
    pool.Add(proto)


def generated_service_names() -> list[str]:
    """Every service of the generated protos, found at run time: a new .proto under gen/
    shows up in reflection without touching this file."""
    names = []
    for module_info in pkgutil.walk_packages(gen.__path__, gen.__name__ + "."):
        if not module_info.name.endswith("_pb2"):
            continue
        module = importlib.import_module(module_info.name)
        names += [s.full_name for s in module.DESCRIPTOR.services_by_name.values()]
    return sorted(names)
