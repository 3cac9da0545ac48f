"""Native gRPC (HTTP/2, plaintext) in front of the domain, with grpcio's asyncio server.

ZITADEL serves gRPC on the same port as REST; grpcio owns its HTTP/2 listeners, so the mock's
HTTP port (and ``--grpc-port``) relay HTTP/2 connections to a private listener of this server
(mock_server/serving.py). The server is ``grpc.aio`` on the mock's own event loop: a call is a
coroutine on that loop, with no hop to a worker thread and back (which cost the synchronous
server three times the CPU of a REST call). Beside ManagementService it serves what ZITADEL
registers on its grpc-go server for tools: server reflection (v1 and v1alpha) and the standard
health service, so ``grpcurl -plaintext localhost:8080 list`` works.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import threading
from typing import NoReturn

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import DecodeError, Message
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

from mock_server import contract, status
from mock_server.domain.errors import ZitadelError
from mock_server.domain.service import LifecycleService
from mock_server.faults import ConnectionDropped
from mock_server.grpc_front import codec, gen
from mock_server.grpc_front.address import DEFAULT_GRPC_PORT, grpc_address

_CODES = {code.value[0]: code for code in grpc.StatusCode}


async def abort(context: grpc.aio.ServicerContext, error: ZitadelError) -> NoReturn:
    details = codec.status_details_bin(error)
    if details is not None:
        context.set_trailing_metadata(((codec.STATUS_DETAILS_KEY, details),))
    await context.abort(_CODES[status.grpc_code(error)], error.message)


class ManagementMethods(grpc.GenericRpcHandler):
    """Every ManagementService method: the lifecycle RPCs and their reads are each a single
    domain call; for the rest the domain words the UNIMPLEMENTED, as on gRPC-web (grpcio would
    answer its own "Method not found!").

    The handlers take the raw request bytes and parse them themselves: grpc.aio answers a
    failing deserializer with UNKNOWN, where grpc-go (and the synchronous server) says INTERNAL.
    """

    def __init__(self, service: LifecycleService) -> None:
        self._service = service
        self._handlers = {
            codec.METHOD_PREFIX + rpc_name: grpc.unary_unary_rpc_method_handler(
                self._answer(rpc_name), response_serializer=_serialized
            )
            for rpc_name in contract.rpcs()
        }

    def service(self, handler_call_details):
        method = handler_call_details.method
        handler = self._handlers.get(method)
        if handler is not None or not method.startswith(codec.METHOD_PREFIX):
            return handler
        rpc_name = method[len(codec.METHOD_PREFIX) :]

        async def unimplemented(_request: bytes, context: grpc.aio.ServicerContext):
            metadata = codec.metadata_from_pairs(context.invocation_metadata(), transport="grpc")
            try:
                self._service.call(rpc_name, {}, metadata)
            except ZitadelError as error:
                await abort(context, error)
            raise AssertionError(f"the domain answered the unknown RPC {rpc_name}")

        # No deserializer: the bytes are never read, whatever message they hold.
        return grpc.unary_unary_rpc_method_handler(unimplemented)

    def _answer(self, rpc_name: str):
        request_class = codec.request_class(rpc_name)
        assert request_class is not None, rpc_name

        async def answer(raw: bytes, context: grpc.aio.ServicerContext) -> Message:
            try:
                request = request_class.FromString(raw)
            except DecodeError as exc:
                # grpc-go unmarshals before any handler runs, so before authentication.
                await context.abort(
                    grpc.StatusCode.INTERNAL, f"grpc: error unmarshalling request: {exc}"
                )
            metadata = codec.metadata_from_pairs(context.invocation_metadata(), transport="grpc")
            try:
                # Injected latency is awaited, never slept: the loop serves every other call.
                plan = self._service.plan(rpc_name, metadata)
                await codec.wait_out(plan)
                return codec.invoke(self._service, rpc_name, request, metadata, plan)
            except ConnectionDropped as dropped:
                # An injected drop: the client sees CANCELLED, as when grpc-go resets the
                # stream. (grpc.aio cannot reset a stream from a handler, and a cancelled
                # handler sends nothing, so the client would wait for its deadline.)
                await context.abort(grpc.StatusCode.CANCELLED, dropped.message)
            except ZitadelError as error:
                await abort(context, error)

        return answer


def _serialized(message: Message) -> bytes:
    return message.SerializeToString()


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


async def add_standard_services(server: grpc.aio.Server, served: list[str]) -> None:
    """Reflection (v1alpha and v1) over the generated descriptors, and health, all SERVING."""
    _register_reflection_v1()
    names = [*served, HEALTH, REFLECTION_V1ALPHA, REFLECTION_V1]
    servicer = reflection.aio.ReflectionServicer(names)
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
    checker = health.aio.HealthServicer()
    for name in ["", *served]:
        await checker.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)


async def start_grpc_server(
    service: LifecycleService, addresses: list[str]
) -> tuple[grpc.aio.Server, list[int]]:
    """A started ``grpc.aio`` server on the running loop, listening on ``addresses``
    (``host:port``, port 0 picks one, or ``unix:path``); returns it and the bound ports.
    Raises RuntimeError when an address cannot be bound."""
    server = grpc.aio.server(
        # grpcio sets SO_REUSEPORT by default, which lets a second mock silently share a
        # port that is already in use; a busy port must fail instead.
        options=[("grpc.so_reuseport", 0)],
    )
    server.add_generic_rpc_handlers((ManagementMethods(service),))
    await add_standard_services(server, generated_service_names())
    bound = []
    for address in addresses:
        try:
            port = server.add_insecure_port(address)
        except RuntimeError as exc:
            raise RuntimeError(f"cannot bind gRPC to {address}: {exc}") from None
        if port == 0:  # older grpcio versions report a failed bind this way
            raise RuntimeError(f"cannot bind gRPC to {address}")
        bound.append(port)
    await server.start()
    return server, bound


class ThreadedGrpcServer:
    """The same ``grpc.aio`` server on an event loop of its own, in a thread, for a caller
    without a loop (tests, benchmarks): ``start()``, then ``stop(grace).wait(timeout)`` as
    with grpcio's synchronous server."""

    def __init__(self, service: LifecycleService, addresses: list[str]) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="grpc-front", daemon=True)
        self._thread.start()
        try:
            self._server, self.ports = asyncio.run_coroutine_threadsafe(
                start_grpc_server(service, addresses), self._loop
            ).result()
        except BaseException:
            self._close_loop()
            raise
        self._stopped = threading.Event()

    def _run(self) -> None:
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    def start(self) -> None:
        """Already serving since construction; kept so a caller reads as with grpcio."""

    def stop(self, grace: float | None) -> threading.Event:
        if not self._stopped.is_set() and self._thread.is_alive():

            async def stop() -> None:
                await self._server.stop(grace)

            future = asyncio.run_coroutine_threadsafe(stop(), self._loop)
            future.add_done_callback(lambda _: (self._stopped.set(), self._close_loop()))
        return self._stopped

    def _close_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)


def create_grpc_server(
    service: LifecycleService,
    host: str = "127.0.0.1",
    port: int | None = DEFAULT_GRPC_PORT,
    *,
    backend: str | None = None,
) -> tuple[ThreadedGrpcServer, int | None]:
    """A gRPC server bound to ``host:port`` (0 picks a free port) on a thread of its own.

    ``port=None`` binds no public port; ``backend`` is a further (private) address, the one
    the HTTP port relays to. Returns the server and its public port. Raises RuntimeError
    when an address cannot be bound. (The mock itself serves it on its own loop:
    :func:`start_grpc_server`.)
    """
    addresses = [] if port is None else [grpc_address(host, port)]
    if backend is not None:
        addresses.append(backend)
    server = ThreadedGrpcServer(service, addresses)
    return server, (server.ports[0] if port is not None else None)
