"""How a :class:`~mock_server.domain.errors.ZitadelError` leaves the server, on every wire.

This is the one place that maps a domain error to a gRPC code, an HTTP status and the JSON
envelope; the REST, gRPC and gRPC-web fronts all ask here.
"""

from __future__ import annotations

from typing import Any

from mock_server.domain.errors import Code, ZitadelError

ERROR_DETAIL_TYPE = "type.googleapis.com/zitadel.v1.ErrorDetail"

# grpc-gateway v2 runtime.HTTPStatusFromCode, which ZITADEL's gateway uses unchanged.
HTTP_STATUS_BY_CODE: dict[Code, int] = {
    Code.OK: 200,
    Code.CANCELLED: 499,
    Code.UNKNOWN: 500,
    Code.INVALID_ARGUMENT: 400,
    Code.DEADLINE_EXCEEDED: 504,
    Code.NOT_FOUND: 404,
    Code.ALREADY_EXISTS: 409,
    Code.PERMISSION_DENIED: 403,
    Code.UNAUTHENTICATED: 401,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.FAILED_PRECONDITION: 400,
    Code.ABORTED: 409,
    Code.OUT_OF_RANGE: 400,
    Code.UNIMPLEMENTED: 501,
    Code.INTERNAL: 500,
    Code.UNAVAILABLE: 503,
    Code.DATA_LOSS: 500,
}


def http_status(error: ZitadelError) -> int:
    return HTTP_STATUS_BY_CODE[error.code]


def grpc_code(error: ZitadelError) -> int:
    return int(error.code)


def error_details(error: ZitadelError) -> list[dict[str, str]]:
    """The ``zitadel.v1.ErrorDetail`` entries, in their JSON (protobuf Any) form."""
    if error.error_id is None:
        return []
    return [{"@type": ERROR_DETAIL_TYPE, "id": error.error_id, "message": error.text}]


def envelope(error: ZitadelError) -> dict[str, Any]:
    """The google.rpc.Status body the gateway writes; empty details are omitted (protojson)."""
    body: dict[str, Any] = {"code": grpc_code(error), "message": error.message}
    details = error_details(error)
    if details:
        body["details"] = details
    return body


def http_headers(error: ZitadelError) -> dict[str, str]:
    """Headers the gateway adds to an error response."""
    if error.code is Code.UNAUTHENTICATED:
        return {"WWW-Authenticate": error.message}
    return {}
