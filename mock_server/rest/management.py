"""Connexion handlers of the management operations: HTTP in, one service call, protojson out."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from connexion import request
from connexion.lifecycle import ConnexionResponse

from mock_server import contract, messages
from mock_server.domain import errors
from mock_server.domain.service import CallMetadata, LifecycleService
from mock_server.domain.world import Details
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
    return codec.metadata_from_pairs(request.headers.items())


def handler_for(service: LifecycleService, operation_id: str) -> Callable:
    rpc = contract.rpc_by_operation_id(operation_id)
    field_names = [rule.name for rule in rpc.path_fields]

    # Named parameters only: connexion then passes the path parameters and never tries to
    # parse the body, which the gateway middleware has already judged.
    async def handle(
        id: str | None = None, user_id: str | None = None, grant_id: str | None = None
    ):
        given = {"id": id, "user_id": user_id, "grant_id": grant_id}
        fields = {name: given[name] or "" for name in field_names}
        if rpc.is_read:
            return read(fields)
        details = service.call(rpc.name, fields, metadata_from_headers())
        return {"details": details_json(details, rpc.date_field)}, 200

    def read(path_fields: dict[str, str]) -> ConnexionResponse:
        body = request.scope.get("extensions", {}).get(DECODED_BODY) or {}
        known = messages.field_names(rpc.name)
        if any(isinstance(value, TooDeep) and key in known for key, value in body.items()):
            raise errors.invalid_argument(messages.TOO_DEEP)
        # Decoded before the call, as the gateway does; the path then overrides the body.
        fields = messages.request_fields(messages.parse_json_request(rpc.name, body))
        fields.update(path_fields)
        view = service.call(rpc.name, fields, metadata_from_headers())
        answer = messages.read_response(rpc.name, view)
        return ConnexionResponse(
            200, body=messages.protojson(answer), content_type="application/json"
        )

    handle.__name__ = rpc.name
    return handle
