"""The mock's HTTP application: the management REST API, gRPC-web, its control plane and CORS.

Routing comes from the spec through connexion. Connexion's own security and request validation
middlewares are left out on purpose: ZITADEL authenticates before it validates and words both
its own way, so the domain does both (with the spec's rules) and connexion only routes.
"""

from __future__ import annotations

from dataclasses import dataclass

import connexion
from connexion.middleware import MiddlewarePosition
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.resolver import Resolver
from starlette.datastructures import Headers
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from zitadel_lifecycle_openapi import CONTROL_SPEC, MANAGEMENT_SPEC

from mock_server import contract
from mock_server.admin import WorldAdmin
from mock_server.domain.commands import DEFAULT_PROFILE
from mock_server.domain.errors import ZitadelError
from mock_server.domain.service import LifecycleService
from mock_server.domain.world import World
from mock_server.fixtures import DEFAULT_SEED, build_world
from mock_server.grpc_front import GrpcWebApp, is_grpc_web
from mock_server.rest import control as control_plane
from mock_server.rest import gateway, management
from mock_server.rest.cors import CorsMiddleware

CONTROL_BASE_PATH = "/_mock/v1"
MIDDLEWARES = [
    ServerErrorMiddleware,
    ExceptionMiddleware,
    SwaggerUIMiddleware,
    RoutingMiddleware,
    LifespanMiddleware,
    ContextMiddleware,
]


@dataclass
class MockServer:
    """Everything one running mock holds; ``app`` is the ASGI application to serve."""

    app: ASGIApp
    service: LifecycleService
    admin: WorldAdmin

    @property
    def world(self) -> World:
        return self.service.world


class _Front:
    """The outermost app: the /ui shortcut, gRPC-web, then everything else to connexion."""

    def __init__(self, api: ASGIApp, grpc_web: ASGIApp) -> None:
        self.api = api
        self.grpc_web = grpc_web
        self.ui_redirect = RedirectResponse("/management/v1/ui/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in ("/ui", "/ui/"):
            await self.ui_redirect(scope, receive, send)
            return
        # ZITADEL's routeGRPCWeb: every POST whose Content-Type starts with application/grpc-web.
        if (
            scope["type"] == "http"
            and scope["method"] == "POST"
            and is_grpc_web(Headers(scope=scope).get("content-type"))
        ):
            await self.grpc_web(scope, receive, send)
            return
        await self.api(scope, receive, send)


def create_mock(
    world: World | None = None,
    *,
    seed: int = DEFAULT_SEED,
    fixtures: str | None = None,
    profile: str = DEFAULT_PROFILE,
    control: bool = True,
    read_lag: float = 0.0,
) -> MockServer:
    """``read_lag`` is in seconds: how long the reads trail the writes (see World.read_lag)."""

    def initial_world() -> World:
        world = build_world(seed, fixtures)
        world.read_lag = read_lag
        return world

    world = world if world is not None else initial_world()
    service = LifecycleService(world, profile)
    admin = WorldAdmin(world, initial_world)

    api = connexion.AsyncApp(__name__, middlewares=list(MIDDLEWARES))
    api.add_middleware(gateway.GatewayBodyMiddleware, position=MiddlewarePosition.BEFORE_CONTEXT)
    api.add_api(
        MANAGEMENT_SPEC,
        base_path=contract.base_path(contract.load_spec()),
        resolver=Resolver(lambda operation_id: management.handler_for(service, operation_id)),
    )
    if control:
        handlers = control_plane.handlers(admin, service.profile.name)
        api.add_api(
            CONTROL_SPEC,
            base_path=CONTROL_BASE_PATH,
            resolver=Resolver(lambda operation_id: handlers[operation_id]),
        )
    api.add_error_handler(ZitadelError, gateway.handle_zitadel_error)
    api.add_error_handler(404, gateway.handle_http_exception)
    api.add_error_handler(405, gateway.handle_http_exception)
    api.add_error_handler(Exception, gateway.handle_unexpected)

    app: ASGIApp = CorsMiddleware(_Front(api, GrpcWebApp(service)))
    return MockServer(app=app, service=service, admin=admin)


def create_app(world: World | None = None, **options: object) -> ASGIApp:
    """The ASGI app of a mock; :func:`create_mock` takes the same options and exposes the world."""
    return create_mock(world, **options).app  # type: ignore[arg-type]
