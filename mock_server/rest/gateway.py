"""The grpc-gateway in front of the management RPCs: body decoding and error responses.

It sits in connexion's stack right after routing, so an unknown path (404) or method (405)
answers first, then a malformed body (400, before any authentication, as the gateway decodes
before calling the gRPC server), and only then the RPC with its auth and validation.
"""

from __future__ import annotations

import json
import logging

from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import contract, status
from mock_server.domain import errors
from mock_server.http_body import BodyTooLarge, read_body
from mock_server.rest.json_body import decode_request_body

logger = logging.getLogger(__name__)

# Far above anything a lifecycle request needs, low enough that a stray upload cannot exhaust
# the mock's memory; grpc-go refuses oversize messages with ResourceExhausted too.
MAX_BODY_BYTES = 32 * 1024 * 1024
ROUTING_CONTEXT = "connexion_routing"
# Where the decoded body waits for the handler, so it is decoded once.
DECODED_BODY = "zitadel_gateway_body"


def error_response(error: errors.ZitadelError) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=status.http_status(error),
        body=json.dumps(status.envelope(error)).encode(),
        content_type="application/json",
        mimetype="application/json",
        headers=status.http_headers(error),
    )


def handle_zitadel_error(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, errors.ZitadelError)
    return error_response(exc)


def handle_http_exception(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Routing failures in the gateway's words: 404 Not Found (code 5), 405 (code 12)."""
    code = getattr(exc, "status_code", 500)
    if code == 404:
        return error_response(errors.ZitadelError(errors.Code.NOT_FOUND, "Not Found"))
    if code == 405:
        # ZITADEL's own routing-error handler answers 405 with code 12, outside the code mapping.
        response = error_response(
            errors.ZitadelError(errors.Code.UNIMPLEMENTED, "Method Not Allowed")
        )
        response.status_code = 405
        return response
    detail = exc.detail if isinstance(exc, HTTPException) else "Internal"
    error = errors.ZitadelError(errors.Code.INTERNAL, str(detail))
    response = error_response(error)
    response.status_code = code if 400 <= code < 600 else 500
    return response


def handle_unexpected(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """A bug of the mock, never the client's fault: still an envelope, and logged in full."""
    logger.error("unhandled error", exc_info=exc)
    return error_response(errors.ZitadelError(errors.Code.INTERNAL, "Internal"))


class GatewayBodyMiddleware:
    """Decodes management request bodies like grpc-gateway and replays them downstream."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation_id = scope.get("extensions", {}).get(ROUTING_CONTEXT, {}).get("operation_id")
        rpc = _management_rpc(operation_id) if scope["type"] == "http" else None
        if rpc is None or not rpc.has_body:
            # A GET binds no body: grpc-gateway never reads it, whatever it holds.
            await self.app(scope, receive, send)
            return
        try:
            raw = await read_body(receive, MAX_BODY_BYTES)
        except BodyTooLarge as exc:
            raise errors.ZitadelError(
                errors.Code.RESOURCE_EXHAUSTED,
                f"grpc: received message larger than max ({exc.size} vs. {exc.limit})",
            ) from None
        body = decode_request_body(raw, [rule.name for rule in rpc.path_fields])
        scope.setdefault("extensions", {})[DECODED_BODY] = body
        await self.app(scope, _replay(raw, receive), send)


def _management_rpc(operation_id: str | None) -> contract.Rpc | None:
    if not operation_id:
        return None
    try:
        return contract.rpc_by_operation_id(operation_id)
    except KeyError:
        return None


def _replay(raw: bytes, receive: Receive) -> Receive:
    """Hand the already-read body downstream once, then listen to the client again."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return replay
