"""Native gRPC (HTTP/2, plaintext) in front of the domain, with grpcio.

ZITADEL serves gRPC on the same port as REST; the mock gives it a port of its own because
grpcio owns its HTTP/2 listener. Clients only need a URL, so nothing changes for them.
"""

from __future__ import annotations

from concurrent import futures
from typing import NoReturn

import grpc
from google.protobuf.message import Message

from mock_server import status
from mock_server.domain.errors import ZitadelError
from mock_server.domain.service import LifecycleService
from mock_server.grpc_front import codec
from mock_server.grpc_front.gen.zitadel import management_pb2_grpc

DEFAULT_GRPC_PORT = 50051
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
        metadata = codec.metadata_from_pairs(context.invocation_metadata())
        try:
            return codec.invoke(self._service, rpc_name, request, metadata)
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
            metadata = codec.metadata_from_pairs(context.invocation_metadata())
            try:
                self._service.call(rpc_name, {}, metadata)
            except ZitadelError as error:
                abort(context, error)
            raise AssertionError(f"the domain answered the unknown RPC {rpc_name}")

        # No deserializer: the bytes are never read, whatever message they hold.
        return grpc.unary_unary_rpc_method_handler(unimplemented)


def grpc_address(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"{host}:{port}"


def create_grpc_server(
    service: LifecycleService,
    host: str = "127.0.0.1",
    port: int = DEFAULT_GRPC_PORT,
    *,
    max_workers: int = 8,
) -> tuple[grpc.Server, int]:
    """A grpcio server bound to ``host:port`` (0 picks a free port), not started yet.

    Returns the server and the port it is bound to. Raises RuntimeError when the port
    cannot be bound.
    """
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc-front"),
        # grpcio sets SO_REUSEPORT by default, which lets a second mock silently share a
        # port that is already in use; a busy port must fail instead.
        options=[("grpc.so_reuseport", 0)],
    )
    management_pb2_grpc.add_ManagementServiceServicer_to_server(ManagementServicer(service), server)
    server.add_generic_rpc_handlers((_OtherManagementMethods(service),))
    bound = server.add_insecure_port(grpc_address(host, port))
    if bound == 0:  # older grpcio versions report a failed bind this way
        raise RuntimeError(f"cannot bind gRPC to {grpc_address(host, port)}")
    return server, bound
