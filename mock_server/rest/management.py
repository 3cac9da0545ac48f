"""The management operations over REST: path fields, headers and the decoded body in, one
service call, protojson out.

:meth:`Route.answer` is the one place that does it; the fast path
(:mod:`mock_server.rest.dispatch`) calls it for every management request, and the connexion
handlers (:func:`mock_server.rest.connexion_app.handler_for`) for the few that still reach
connexion's router (a HEAD on a read route, which Starlette's routes accept for every GET).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.types import Scope

from mock_server import connection, contract, messages
from mock_server.domain import errors
from mock_server.domain.service import CallMetadata, LifecycleService, Plan
from mock_server.domain.world import Details
from mock_server.faults import ConnectionDropped
from mock_server.grpc_front import codec
from mock_server.rest.gateway import compact_json
from mock_server.rest.json_body import TooDeep, decode_request_body

# What a front answers when an injected fault dropped the connection: nobody reads it.
DROPPED = 499


def protojson_timestamp(value: datetime) -> str:
    """RFC 3339 in UTC with 0, 3, 6 or 9 fractional digits, as protojson writes Timestamps."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    micros = value.microsecond
    if value.year < 1000:  # isoformat pads the year to four digits, strftime does not
        text = value.strftime("%Y-%m-%dT%H:%M:%S")
        if micros == 0:
            return text + "Z"
        if micros % 1000 == 0:
            return f"{text}.{micros // 1000:03d}Z"
        return f"{text}.{micros:06d}Z"
    # isoformat is C and a third of strftime's cost: ...T12:00:00[.ffffff]+00:00
    text = value.isoformat()[:-6]
    if micros and micros % 1000 == 0:
        text = text[:-3]
    return text + "Z"


def details_json(details: Details, date_field: str) -> dict[str, str]:
    # protojson writes uint64 as a string and omits the unset date field.
    return {
        "sequence": str(details.sequence),
        date_field: protojson_timestamp(details.event_date),
        "resourceOwner": details.resource_owner,
    }


def metadata_of(scope: Scope) -> CallMetadata:
    # grpc-gateway forwards Authorization and every x-zitadel-* header (any case) as metadata,
    # and the host the instance is chosen by.
    return codec.metadata_from_asgi(scope["headers"], transport="rest")


class Route:
    """One management RPC as REST serves it, with what it looks up once instead of per call."""

    def __init__(self, service: LifecycleService, rpc: contract.Rpc) -> None:
        self.service = service
        self.rpc = rpc
        self.field_names = tuple(rule.name for rule in rpc.path_fields)
        self.known_fields = messages.field_names(rpc.name) if rpc.is_read else frozenset()
        self.empty_request_fields = (
            messages.request_fields(messages.parse_json_request(rpc.name, {}))
            if rpc.is_read
            else {}
        )

    async def answer(
        self,
        path_values: Mapping[str, str],
        body: dict[str, Any] | None,
        scope: Scope,
    ) -> bytes | None:
        """The 200 body of the call, or None when an injected fault dropped the connection;
        the call's failure raises its ZitadelError."""
        fields = self.fields(path_values, body)
        metadata = metadata_of(scope)
        # Injected latency is awaited here, never slept: the event loop serves other calls.
        plan = self.service.plan(self.rpc.name, metadata)
        if plan.delay:
            await codec.wait_out(plan)  # as the gRPC fronts wait: never a fraction early
        try:
            return self.result(fields, metadata, plan)
        except ConnectionDropped as dropped:
            if await connection.drop(scope):
                return None
            raise dropped.undeliverable() from None

    def decode_body(self, raw: bytes) -> dict[str, Any] | None:
        """The body as the gateway decodes it; a GET binds none, whatever it holds."""
        return decode_request_body(raw, self.field_names) if self.rpc.has_body else None

    def fields(self, path_values: Mapping[str, str], body: dict[str, Any] | None) -> dict:
        """The request fields: the path's, and for a read the body's as the gateway decodes
        them."""
        fields = {name: path_values.get(name) or "" for name in self.field_names}
        if self.rpc.is_read:
            fields = self._read_fields(fields, body or {})
        return fields

    def result(self, fields: dict, metadata: CallMetadata, plan: Plan) -> bytes:
        """The call itself, its latency waited out: the 200 body; raises its ZitadelError
        (ConnectionDropped for an injected drop)."""
        rpc = self.rpc
        result = self.service.call(rpc.name, fields, metadata, plan)
        if rpc.is_read:
            return messages.protojson(messages.read_response(rpc.name, result))
        assert rpc.date_field is not None
        return compact_json({"details": details_json(result, rpc.date_field)})

    def _read_fields(self, path_fields: dict[str, str], body: dict[str, Any]) -> dict:
        known = self.known_fields
        if any(isinstance(value, TooDeep) and key in known for key, value in body.items()):
            raise errors.invalid_argument(messages.TOO_DEEP)
        # Decoded before the call, as the gateway does; the path then overrides the body.
        if body:
            fields = messages.request_fields(messages.parse_json_request(self.rpc.name, body))
        else:  # every GET: the same fields each time
            fields = dict(self.empty_request_fields)
        fields.update(path_fields)
        return fields
