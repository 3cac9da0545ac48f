"""Between protobuf messages and the domain: what both gRPC fronts share.

Requests become the proto-field mapping the domain takes, :class:`Details` become
``zitadel.v1.ObjectDetails`` with the date field the spec names, reads are answered through
:mod:`mock_server.messages`, and a
:class:`~mock_server.domain.errors.ZitadelError` becomes the ``google.rpc.Status`` that ZITADEL
sends as ``grpc-status-details-bin``. No behaviour lives here.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Iterable

from google.protobuf import any_pb2
from google.protobuf.descriptor import Descriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from google.rpc import status_pb2

from mock_server import contract, messages, status
from mock_server.domain.errors import ZitadelError
from mock_server.domain.service import CallMetadata, LifecycleService, Plan
from mock_server.domain.world import Details
from mock_server.grpc_front.gen.zitadel import management_pb2, message_pb2, object_pb2

SERVICE = management_pb2.DESCRIPTOR.services_by_name["ManagementService"]
SERVICE_NAME = SERVICE.full_name  # zitadel.management.v1.ManagementService
METHOD_PREFIX = f"/{SERVICE_NAME}/"
RPC_NAMES = tuple(method.name for method in SERVICE.methods)

AUTHORIZATION_KEY = "authorization"
ORG_ID_KEY = "x-zitadel-orgid"
STATUS_DETAILS_KEY = "grpc-status-details-bin"
# What selects the instance, first found wins (origin_interceptor.go with the default
# InstanceHostHeaders; docs/zitadel-instance-facts.md). The last, Go's r.Host, is the HTTP/1
# Host or the HTTP/2 :authority: native gRPC's dial target selects the instance too.
INSTANCE_HOST_KEYS = (
    "x-zitadel-instance-host",
    "forwarded",
    "x-zitadel-forwarded",
    "x-forwarded-host",
    "host",
)
_METADATA_KEYS = (AUTHORIZATION_KEY, ORG_ID_KEY, *INSTANCE_HOST_KEYS)


def request_class(rpc_name: str) -> type[Message] | None:
    method = SERVICE.methods_by_name.get(rpc_name)
    return None if method is None else GetMessageClass(method.input_type)


def fields_of(request: Message) -> dict[str, str]:
    """Every field of a request, unset ones as "", keyed by proto field name."""
    return {name: getattr(request, name) for name in _field_names(request.DESCRIPTOR)}


@functools.cache
def _field_names(descriptor: Descriptor) -> tuple[str, ...]:
    return tuple(field.name for field in descriptor.fields)


def metadata_from_pairs(
    pairs: Iterable[tuple[str, str | bytes]], transport: str = "direct"
) -> CallMetadata:
    """The call metadata of gRPC metadata or HTTP headers; keys compare case-insensitively.
    ``transport`` names the front (rest, grpc-web, grpc) for the journal."""
    found: dict[str, str] = {}
    for key, value in pairs:
        key = key.lower()
        if key in _METADATA_KEYS and key not in found:
            found[key] = value.decode("latin-1") if isinstance(value, bytes) else value
    return _metadata(found, transport)


_ASGI_METADATA_KEYS = {key.encode(): key for key in _METADATA_KEYS}
# Only native gRPC's headers hold pseudo-headers (ASGI scopes never do): :authority is its Host.
_ASGI_METADATA_KEYS[b":authority"] = "host"


def metadata_from_asgi(headers: Iterable[tuple[bytes, bytes]], transport: str) -> CallMetadata:
    """:func:`metadata_from_pairs` over an ASGI scope's raw headers: the same metadata without
    decoding every header first. (Servers lower-case the names; a scope built by hand need not.)"""
    found: dict[str, str] = {}
    for raw_key, value in headers:
        key = _ASGI_METADATA_KEYS.get(raw_key.lower())
        if key is not None and key not in found:
            found[key] = value.decode("latin-1")
    return _metadata(found, transport)


def _metadata(found: dict[str, str], transport: str) -> CallMetadata:
    host = None
    for key in INSTANCE_HOST_KEYS:
        host = _host_of(key, found.get(key))
        if host:
            break
    authorization, org_id = found.get(AUTHORIZATION_KEY), found.get(ORG_ID_KEY)
    return CallMetadata(authorization, org_id, host or None, transport)


def _host_of(key: str, value: str | None) -> str | None:
    """The host a header names; ``Forwarded`` style ones carry it as ``host=`` of the first
    entry (hostFromForwarded)."""
    if not value or key not in ("forwarded", "x-zitadel-forwarded"):
        return value or None
    first = value.split(",", 1)[0]
    for pair in first.split(";"):
        name, _, found = pair.strip().partition("=")
        if name.lower() == "host" and found:
            return found.strip('"')
    return None


def object_details(rpc_name: str, details: Details) -> object_pb2.ObjectDetails:
    message = object_pb2.ObjectDetails(
        sequence=details.sequence, resource_owner=details.resource_owner
    )
    messages.set_timestamp(getattr(message, _date_field(rpc_name)), details.event_date)
    return message


@functools.cache
def _date_field(rpc_name: str) -> str:
    # The spec names the one date field each RPC fills (creationDate for the action RPCs).
    camel = contract.rpcs()[rpc_name].date_field
    return object_pb2.ObjectDetails.DESCRIPTOR.fields_by_camelcase_name[camel].name


def response_message(rpc_name: str, details: Details) -> Message:
    return messages.response_class(rpc_name)(details=object_details(rpc_name, details))


def status_message(error: ZitadelError) -> status_pb2.Status:
    """The google.rpc.Status of an error, its ErrorDetail packed in Any as ZITADEL does."""
    details = [
        any_pb2.Any(
            type_url=entry["@type"],
            value=message_pb2.ErrorDetail(
                id=entry["id"], message=entry["message"]
            ).SerializeToString(),
        )
        for entry in status.error_details(error)
    ]
    return status_pb2.Status(code=status.grpc_code(error), message=error.message, details=details)


def status_details_bin(error: ZitadelError) -> bytes | None:
    """The value of grpc-status-details-bin, or None: grpc-go sends it only with details."""
    message = status_message(error)
    return message.SerializeToString() if message.details else None


async def wait_out(plan: Plan) -> None:
    """Await the plan's injected latency, counted from the plan's start as the journal counts
    it: uvloop's timers have millisecond granularity and may wake a fraction early."""
    while (remaining := plan.started + plan.delay - time.monotonic()) > 0:
        await asyncio.sleep(remaining)


def invoke(
    service: LifecycleService,
    rpc_name: str,
    request: Message,
    metadata: CallMetadata,
    plan: Plan | None = None,
) -> Message:
    """One call through the domain; raises ZitadelError. Without a ``plan`` the injected
    latency is slept in this thread (see :meth:`LifecycleService.call`)."""
    if contract.rpcs()[rpc_name].is_read:
        view = service.call(rpc_name, messages.request_fields(request), metadata, plan)
        return messages.read_response(rpc_name, view)
    details = service.call(rpc_name, fields_of(request), metadata, plan)
    return response_message(rpc_name, details)
