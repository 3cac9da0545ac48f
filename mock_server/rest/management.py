"""Connexion handlers of the management operations: HTTP in, one service call, protojson out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from connexion import request
from connexion.lifecycle import ConnexionResponse

from mock_server import connection, contract, messages
from mock_server.domain import errors
from mock_server.domain.service import CallMetadata, LifecycleService
from mock_server.domain.world import Details
from mock_server.faults import ConnectionDropped
from mock_server.grpc_front import codec
from mock_server.rest.gateway import DECODED_BODY
from mock_server.rest.json_body import TooDeep


def protojson_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as protojson writes Timestamps."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    micros = value.microsecond
    if micros == 0:
        return text + "Z"
    if micros % 1000 == 0:
        return f"{text}.{micros // 1000:03d}Z"
    return f"{text}.{micros:06d}Z"


def details_json(details: Details, date_field: str) -> dict[str, str]:
    # protojson writes uint64 as a string and omits the unset date field.
    return {
        "sequence": str(details.sequence),
        date_field: protojson_timestamp(details.event_date),
        "resourceOwner": details.resource_owner,
    }


def metadata_from_headers() -> CallMetadata:
    # grpc-gateway forwards Authorization and every x-zitadel-* header (any case) as metadata,
    # and the host the instance is chosen by.
    return codec.metadata_from_pairs(request.headers.items(), transport="rest")


def handler_for(service: LifecycleService, operation_id: str) -> Callable:
    rpc = contract.rpc_by_operation_id(operation_id)
    field_names = [rule.name for rule in rpc.path_fields]
    # Looked up once per route, not per request.
    known_fields = messages.field_names(rpc.name) if rpc.is_read else frozenset()

    # Named parameters only: connexion then passes the path parameters and never tries to
    # parse the body, which the gateway middleware has already judged.
    async def handle(
        id: str | None = None, user_id: str | None = None, grant_id: str | None = None
    ):
        given = {"id": id, "user_id": user_id, "grant_id": grant_id}
        fields = {name: given[name] or "" for name in field_names}
        if rpc.is_read:
            fields = read_fields(fields)
        metadata = metadata_from_headers()
        # Injected latency is awaited here, never slept: the event loop serves other calls.
        plan = service.plan(rpc.name, metadata)
        if plan.delay:
            await asyncio.sleep(plan.delay)
        try:
            result = service.call(rpc.name, fields, metadata, plan)
        except ConnectionDropped as dropped:
            if await connection.drop(request.scope):
                return ConnexionResponse(status_code=499, body=b"")  # nobody reads it
            raise dropped.undeliverable() from None
        if rpc.is_read:
            answer = messages.read_response(rpc.name, result)
            return ConnexionResponse(
                200, body=messages.protojson(answer), content_type="application/json"
            )
        return {"details": details_json(result, rpc.date_field)}, 200

    def read_fields(path_fields: dict[str, str]) -> dict:
        body = request.scope.get("extensions", {}).get(DECODED_BODY) or {}
        if any(isinstance(value, TooDeep) and key in known_fields for key, value in body.items()):
            raise errors.invalid_argument(messages.TOO_DEEP)
        # Decoded before the call, as the gateway does; the path then overrides the body.
        fields = messages.request_fields(messages.parse_json_request(rpc.name, body))
        fields.update(path_fields)
        return fields

    handle.__name__ = rpc.name
    return handle
