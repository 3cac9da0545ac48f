"""Connexion's part of the mock: the spec-driven app for everything the fast path leaves.

Routing comes from the spec through connexion: Swagger UI, the control plane, 404 and 405 for
unknown paths and methods, and the management routes themselves (their table is the spec's,
which :mod:`mock_server.rest.dispatch` compiles too). Connexion's own security and request
validation middlewares are left out on purpose: ZITADEL authenticates before it validates and
words both its own way, so the domain does both (with the spec's rules) and connexion only
routes. Nor does connexion parse a body: the gateway middleware and the control-plane guard
hand it JSON they have judged already.

Importing connexion takes about 0.4 s and 24 MB (Starlette's test client, httpx, requests,
jsonschema come with it), which is most of the mock's start-up: this module is imported, and
the app built, on the first request that needs it (:class:`mock_server.app.LazyApp`).
"""

from __future__ import annotations

import functools
from typing import Any

import connexion
from connexion.jsonifier import Jsonifier
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp
from zitadel_lifecycle_openapi import CONTROL_SPEC, MANAGEMENT_SPEC

from mock_server import contract, status
from mock_server.admin import WorldAdmin
from mock_server.domain import errors
from mock_server.domain.instances import Instances
from mock_server.domain.service import LifecycleService
from mock_server.rest import control as control_plane
from mock_server.rest import gateway
from mock_server.rest.control_guard import CONTROL_BASE_PATH
from mock_server.rest.gateway import DECODED_BODY, compact_json
from mock_server.rest.management import DROPPED, Route
from mock_server.swagger_ui import MockSwaggerUI, TokenLister

MIDDLEWARES = [
    ServerErrorMiddleware,
    ExceptionMiddleware,
    MockSwaggerUI,
    RoutingMiddleware,
    LifespanMiddleware,
    ContextMiddleware,
]


class CompactJsonifier(Jsonifier):
    """Connexion's serializer for handler results, writing :func:`gateway.compact_json`."""

    def dumps(self, data: Any, **kwargs: Any) -> str:
        return compact_json(data).decode()


def error_response(error: errors.ZitadelError) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=status.http_status(error),
        body=compact_json(status.envelope(error)),
        content_type="application/json",
        mimetype="application/json",
        headers=status.http_headers(error),
    )


# The error handlers are coroutines: connexion runs a plain function in a worker thread, one
# thread-pool hop for every 404 and 405 it answers.
async def handle_zitadel_error(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, errors.ZitadelError)
    return error_response(exc)


async def handle_http_exception(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
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


async def handle_unexpected(_request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """A bug of the mock, never the client's fault: still an envelope, and logged in full."""
    gateway.log_unexpected(exc)
    return error_response(gateway.UNEXPECTED)


def handler_for(service: LifecycleService, operation_id: str):
    """The connexion handler of one management operation. The fast path answers all of them
    but a HEAD on a read route, which Starlette's GET routes accept."""
    route = Route(service, contract.rpc_by_operation_id(operation_id))

    # Named parameters only: connexion then passes the path parameters and never tries to
    # parse the body, which the gateway middleware has already judged.
    async def handle(
        id: str | None = None, user_id: str | None = None, grant_id: str | None = None
    ):
        given = {"id": id, "user_id": user_id, "grant_id": grant_id}
        scope = connexion.request.scope
        body = scope.get("extensions", {}).get(DECODED_BODY)
        answer = await route.answer(given, body, scope)
        if answer is None:
            return ConnexionResponse(status_code=DROPPED, body=b"")
        return ConnexionResponse(200, body=answer, content_type="application/json")

    handle.__name__ = route.rpc.name
    return handle


def build(
    service: LifecycleService,
    instances: Instances,
    admin: WorldAdmin,
    *,
    base_path: str,
    control: bool,
    tokens: TokenLister | None = None,
) -> ASGIApp:
    """The connexion app: the management API at ``base_path`` and the control plane; the
    Swagger UI's Authorize dialog lists what ``tokens`` gives."""
    middlewares = [
        functools.partial(MockSwaggerUI, tokens=tokens) if m is MockSwaggerUI else m
        for m in MIDDLEWARES
    ]
    api = connexion.AsyncApp(__name__, middlewares=middlewares, jsonifier=CompactJsonifier())
    api.add_middleware(gateway.GatewayBodyMiddleware, position=MiddlewarePosition.BEFORE_CONTEXT)
    # The specs as documents parsed by libyaml: given a path, connexion would parse each one
    # with pure-Python YAML once per middleware (0.8 s of a busy machine's first request).
    api.add_api(
        contract.load_spec(MANAGEMENT_SPEC),
        base_path=base_path,
        resolver=Resolver(lambda operation_id: handler_for(service, operation_id)),
    )
    if control:
        handlers = control_plane.handlers(instances, admin)
        api.add_api(
            contract.load_spec(CONTROL_SPEC),
            base_path=CONTROL_BASE_PATH,
            resolver=Resolver(lambda operation_id: handlers[operation_id]),
        )
    api.add_error_handler(errors.ZitadelError, handle_zitadel_error)
    api.add_error_handler(404, handle_http_exception)
    api.add_error_handler(405, handle_http_exception)
    api.add_error_handler(Exception, handle_unexpected)
    return api
