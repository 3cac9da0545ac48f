"""The grpc-gateway in front of the management RPCs: body decoding and error responses.

Nothing here imports connexion, which the fast path (:mod:`mock_server.rest.dispatch`) and
start-up do without; connexion's error handlers are in :mod:`mock_server.rest.connexion_app`.

It sits in connexion's stack right after routing, so an unknown path (404) or method (405)
answers first, then a malformed body (400, before any authentication, as the gateway decodes
before calling the gRPC server), and only then the RPC with its auth and validation.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import bounded, contract, status
from mock_server.compact_json import ascii_bytes as compact_json_bytes
from mock_server.domain import errors
from mock_server.http_body import BodyTooLarge, ClientDisconnected, read_body
from mock_server.rest.json_body import decode_request_body

logger = logging.getLogger(__name__)

# Far above anything a lifecycle request needs, low enough that a stray upload cannot exhaust
# the mock's memory; grpc-go refuses oversize messages with ResourceExhausted too.
MAX_BODY_BYTES = 32 * 1024 * 1024
ROUTING_CONTEXT = "connexion_routing"
GATEWAY_PREFIX = "/management/v1"
# internal/api/http/middleware/robots_tag_interceptor.go, in the gateway's addInterceptors and
# on ZITADEL's root router (so gRPC-web answers carry it too).
ROBOTS_TAG = (b"x-robots-tag", b"none")


def compact_json(value: Any) -> bytes:
    """protojson's single-line form: no spaces, no trailing newline.

    (protojson may add a space after a comma in a given binary, chosen by detrand so nobody
    relies on either; the documented answers have none, so neither does the mock.)
    """
    return compact_json_bytes(value)


# Where the decoded body waits for the handler, so it is decoded once.
DECODED_BODY = "zitadel_gateway_body"


UNEXPECTED = errors.ZitadelError(errors.Code.INTERNAL, "Internal")


def too_large(exc: BodyTooLarge) -> errors.ZitadelError:
    # grpc-go's words for an oversize message.
    return errors.ZitadelError(
        errors.Code.RESOURCE_EXHAUSTED,
        f"grpc: received message larger than max ({exc.size} vs. {exc.limit})",
    )


class GatewayBodyMiddleware:
    """Decodes management request bodies like grpc-gateway and replays them downstream."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation_id = scope.get("extensions", {}).get(ROUTING_CONTEXT, {}).get("operation_id")
        rpc = _management_rpc(operation_id) if scope["type"] == "http" else None
        if rpc is None:
            await self.app(scope, receive, send)
            return
        if not rpc.has_body:
            # A GET binds no body: grpc-gateway never reads it, whatever it holds, and
            # connexion must not parse it either.
            await self.app(with_json_content_type(scope, 0), replay(b"", receive), send)
            return
        try:
            raw = await read_body(receive, MAX_BODY_BYTES, disconnect_raises=True)
        except ClientDisconnected:
            return  # nobody to answer, and the RPC must not run on half a body
        except BodyTooLarge as exc:
            raise too_large(exc) from None
        decoded = decode_request_body(raw, [rule.name for rule in rpc.path_fields])
        scope.setdefault("extensions", {})[DECODED_BODY] = decoded
        # From here on connexion sees the body the gateway decoded, as JSON: whatever the
        # client's Content-Type said (a form, a multipart without boundary, bytes that are no
        # UTF-8), ZITADEL decoded it as JSON, so connexion's own body parsing must never run.
        canonical = compact_json(decoded)
        await self.app(
            with_json_content_type(scope, len(canonical)), replay(canonical, receive), send
        )


def _management_rpc(operation_id: str | None) -> contract.Rpc | None:
    if not operation_id:
        return None
    try:
        return contract.rpc_by_operation_id(operation_id)
    except KeyError:
        return None


def with_json_content_type(scope: Scope, length: int) -> Scope:
    """The scope with the body announced as ``length`` bytes of application/json."""
    headers = [
        (name, value)
        for name, value in scope["headers"]
        if name not in (b"content-type", b"content-length", b"transfer-encoding")
    ]
    headers += [(b"content-type", b"application/json"), (b"content-length", b"%d" % length)]
    return {**scope, "headers": headers}


def is_gateway_path(path: str) -> bool:
    return path == GATEWAY_PREFIX or path.startswith(GATEWAY_PREFIX + "/")


def redirects_in_starlette(path: str) -> bool:
    """Paths Starlette's router would answer with a 307 to the path without (or with) a slash.

    grpc-gateway's ServeMux never redirects: a trailing slash is one more (empty) path
    component, so no pattern matches, and the bare prefix matches none either.
    """
    if path.startswith(GATEWAY_PREFIX + "/ui"):
        return False  # connexion's Swagger UI, which the mock adds and which does redirect
    return path == GATEWAY_PREFIX or path.endswith("/")


async def send_error(
    send: Send, error: errors.ZitadelError, *, http_status: int | None = None
) -> None:
    """The envelope of ``error`` as a raw ASGI response, for code that runs before connexion."""
    body, headers = error_answer(error)
    code = http_status if http_status is not None else status.http_status(error)
    await send({"type": "http.response.start", "status": code, "headers": list(headers)})
    await send({"type": "http.response.body", "body": body})


def _build_error_answer(error: errors.ZitadelError) -> tuple[bytes, tuple]:
    body = compact_json(status.envelope(error))
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    headers += [(k.lower().encode(), v.encode()) for k, v in status.http_headers(error).items()]
    return body, tuple(headers)


# The envelope's body and headers of an error, built once per error.
error_answer = bounded.per_error(_build_error_answer)


def log_unexpected(exc: Exception) -> None:
    """A bug of the mock, never the client's fault: it gets an envelope, the log the trace."""
    logger.error("unhandled error", exc_info=exc)


async def send_unexpected(send: Send, exc: Exception) -> None:
    """:data:`UNEXPECTED` for a bug met before connexion, logged in full."""
    log_unexpected(exc)
    await send_error(send, UNEXPECTED)


async def gateway_not_found(_scope: Scope, _receive: Receive, send: Send) -> None:
    await send_error(send, errors.ZitadelError(errors.Code.NOT_FOUND, "Not Found"))


def replay(raw: bytes, receive: Receive) -> Receive:
    """Hand the already-read body downstream once, then listen to the client again."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return replay
