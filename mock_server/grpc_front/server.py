"""Native gRPC (HTTP/2, plaintext) in front of the domain, with grpcio.

ZITADEL serves gRPC on the same port as REST; grpcio owns its HTTP/2 listeners, so the mock's
HTTP port relays HTTP/2 connections to a private listener of this server (mock_server/serving.py)
and ``--grpc-port`` adds a public one. Beside ManagementService it serves what ZITADEL
registers on its grpc-go server for tools: server reflection (v1 and v1alpha) and the standard
health service, so ``grpcurl -plaintext localhost:8080 list`` works.
"""

from __future__ import annotations

import importlib
import pkgutil
from concurrent import futures
from typing import NoReturn

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

from mock_server import status
from mock_server.domain.errors import ZitadelError
from mock_server.domain.service import LifecycleService
from mock_server.faults import ConnectionDropped
from mock_server.grpc_front import codec, gen
from mock_server.grpc_front.address import DEFAULT_GRPC_PORT, grpc_address
from mock_server.grpc_front.gen.zitadel import management_pb2_grpc

_CODES = {code.value[0]: code for code in grpc.StatusCode}


def abort(context: grpc.ServicerContext, error: ZitadelError) -> NoReturn:
    details = codec.status_details_bin(error)
    if details is not None:
        context.set_trailing_metadata(((codec.STATUS_DETAILS_KEY, details),))
    context.abort(_CODES[status.grpc_code(error)], error.message)


class ManagementServicer(management_pb2_grpc.ManagementServiceServicer):
    """The eight lifecycle RPCs and their seven reads; each one is a single domain call."""

    def __init__(self, service: LifecycleService) -> None:
        self._service = service

    def _call(self, rpc_name: str, request: Message, context: grpc.ServicerContext) -> Message:
        metadata = codec.metadata_from_pairs(context.invocation_metadata(), transport="grpc")
        try:
            # Injected latency is slept here, in this call's worker thread.
            return codec.invoke(self._service, rpc_name, request, metadata)
        except ConnectionDropped:
            # An injected drop: RST_STREAM, the client sees CANCELLED and no status.
            context.cancel()
            return None  # type: ignore[return-value]
        except ZitadelError as error:
            abort(context, error)

    def DeactivateAction(self, request, context):  # noqa: N802 - gRPC method names
        return self._call("DeactivateAction", request, context)

    def ReactivateAction(self, request, context):  # noqa: N802
        return self._call("ReactivateAction", request, context)

    def DeactivateUser(self, request, context):  # noqa: N802
        return self._call("DeactivateUser", request, context)

    def ReactivateUser(self, request, context):  # noqa: N802
        return self._call("ReactivateUser", request, context)

    def DeactivateOrg(self, request, context):  # noqa: N802
        return self._call("DeactivateOrg", request, context)

    def ReactivateOrg(self, request, context):  # noqa: N802
        return self._call("ReactivateOrg", request, context)

    def DeactivateUserGrant(self, request, context):  # noqa: N802
        return self._call("DeactivateUserGrant", request, context)

    def ReactivateUserGrant(self, request, context):  # noqa: N802
        return self._call("ReactivateUserGrant", request, context)

    def GetMyOrg(self, request, context):  # noqa: N802
        return self._call("GetMyOrg", request, context)

    def GetUserByID(self, request, context):  # noqa: N802
        return self._call("GetUserByID", request, context)

    def ListUsers(self, request, context):  # noqa: N802
        return self._call("ListUsers", request, context)

    def GetUserGrantByID(self, request, context):  # noqa: N802
        return self._call("GetUserGrantByID", request, context)

    def ListUserGrants(self, request, context):  # noqa: N802
        return self._call("ListUserGrants", request, context)

    def GetAction(self, request, context):  # noqa: N802
        return self._call("GetAction", request, context)

    def ListActions(self, request, context):  # noqa: N802
        return self._call("ListActions", request, context)


class _OtherManagementMethods(grpc.GenericRpcHandler):
    """The rest of ManagementService: the domain words the UNIMPLEMENTED, as on gRPC-web.

    Without this grpcio would answer its own "Method not found!" for them.
    """

    def __init__(self, service: LifecycleService) -> None:
        self._service = service

    def service(self, handler_call_details):
        method = handler_call_details.method
        if not method.startswith(codec.METHOD_PREFIX):
            return None
        rpc_name = method[len(codec.METHOD_PREFIX) :]

        def unimplemented(_request: bytes, context: grpc.ServicerContext):
            metadata = codec.metadata_from_pairs(context.invocation_metadata(), transport="grpc")
            try:
                self._service.call(rpc_name, {}, metadata)
            except ZitadelError as error:
                abort(context, error)
            raise AssertionError(f"the domain answered the unknown RPC {rpc_name}")

        # No deserializer: the bytes are never read, whatever message they hold.
        return grpc.unary_unary_rpc_method_handler(unimplemented)


REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
REFLECTION_V1ALPHA = reflection.SERVICE_NAME
HEALTH = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name


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


def add_standard_services(server: grpc.Server, served: list[str]) -> None:
    """Reflection (v1alpha and v1) over the generated descriptors, and health, all SERVING."""
    _register_reflection_v1()
    names = [*served, HEALTH, REFLECTION_V1ALPHA, REFLECTION_V1]
    servicer = reflection.ReflectionServicer(names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                REFLECTION_V1,
                {
                    "ServerReflectionInfo": grpc.stream_stream_rpc_method_handler(
                        servicer.ServerReflectionInfo,
                        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
                        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
                    )
                },
            ),
        )
    )
    checker = health.HealthServicer()
    for name in ["", *served]:
        checker.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)


def create_grpc_server(
    service: LifecycleService,
    host: str = "127.0.0.1",
    port: int | None = DEFAULT_GRPC_PORT,
    *,
    max_workers: int = 8,
    backend: str | None = None,
) -> tuple[grpc.Server, int | None]:
    """A grpcio server bound to ``host:port`` (0 picks a free port), not started yet.

    ``port=None`` binds no public port; ``backend`` is a further (private) address, the one
    the HTTP port relays to. Returns the server and its public port. Raises RuntimeError
    when an address cannot be bound.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc-front"),
        # grpcio sets SO_REUSEPORT by default, which lets a second mock silently share a
        # port that is already in use; a busy port must fail instead.
        options=[("grpc.so_reuseport", 0)],
    )
    management_pb2_grpc.add_ManagementServiceServicer_to_server(ManagementServicer(service), server)
    add_standard_services(server, generated_service_names())
    server.add_generic_rpc_handlers((_OtherManagementMethods(service),))
    bound = None
    if port is not None:
        bound = server.add_insecure_port(grpc_address(host, port))
        if bound == 0:  # older grpcio versions report a failed bind this way
            raise RuntimeError(f"cannot bind gRPC to {grpc_address(host, port)}")
    if backend is not None and server.add_insecure_port(backend) == 0:
        raise RuntimeError(f"cannot bind gRPC to {backend}")
    return server, bound
