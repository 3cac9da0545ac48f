"""The mock's HTTP application: the management REST API, gRPC-web, its control plane and CORS.

Routing comes from the spec through connexion. Connexion's own security and request validation
middlewares are left out on purpose: ZITADEL authenticates before it validates and words both
its own way, so the domain does both (with the spec's rules) and connexion only routes. Nor
does connexion parse a body: the gateway middleware and the control-plane guard hand it JSON
they have judged already.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import connexion
from connexion.middleware import MiddlewarePosition
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.resolver import Resolver
from starlette.datastructures import Headers
from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from zitadel_lifecycle_openapi import CONTROL_SPEC, MANAGEMENT_SPEC

from mock_server import contract
from mock_server.admin import DEFAULT_MAX_RESOURCES, WorldAdmin
from mock_server.domain.commands import DEFAULT_PROFILE, PROFILES
from mock_server.domain.errors import ZitadelError
from mock_server.domain.instances import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_INSTANCES, Instances
from mock_server.domain.service import LifecycleService
from mock_server.domain.world import World
from mock_server.fixtures import DEFAULT_SEED, build_world, world_factory
from mock_server.grpc_front import GrpcWebApp, is_grpc_web
from mock_server.journal import DEFAULT_JOURNAL_SIZE
from mock_server.rest import control as control_plane
from mock_server.rest import gateway, management
from mock_server.rest.control import CONTROL_BASE_PATH, ControlPlaneGuard
from mock_server.rest.cors import CorsMiddleware
from mock_server.swagger_ui import MockSwaggerUI, world_tokens

__all__ = ["CONTROL_BASE_PATH", "MockServer", "create_app", "create_mock"]
# gRPC-web calls are POST /<package>.<Service>/<Method>; ZITADEL's services are zitadel.*.
GRPC_WEB_PATH_PREFIX = "/zitadel."
MIDDLEWARES = [
    ServerErrorMiddleware,
    ExceptionMiddleware,
    MockSwaggerUI,
    RoutingMiddleware,
    LifespanMiddleware,
    ContextMiddleware,
]


@dataclass
class MockServer:
    """Everything one running mock holds; ``app`` is the ASGI application to serve."""

    app: ASGIApp
    service: LifecycleService
    admin: WorldAdmin  # of the default instance
    instances: Instances

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
        if scope["type"] != "http":
            await self.api(scope, receive, send)
            return
        path = scope["path"]
        # "/" too, for whoever opens the printed URL; only that exact GET, so every API path
        # keeps ZITADEL's own 404.
        if path in ("/ui", "/ui/") or (path == "/" and scope["method"] in ("GET", "HEAD")):
            await self.ui_redirect(scope, receive, send)
            return
        # ZITADEL's routeGRPCWeb: every POST whose Content-Type starts with application/grpc-web.
        if scope["method"] == "POST" and is_grpc_web(Headers(scope=scope).get("content-type")):
            await self.grpc_web(scope, receive, send)
            return
        if gateway.is_gateway_path(path) and gateway.redirects_in_starlette(path):
            await gateway.gateway_not_found(scope, receive, send)
            return
        await self.api(scope, receive, send)


class _RobotsTag:
    """ZITADEL's RobotsTagHandler, outside CORS as in the gateway's addInterceptors, and on the
    root router's gRPC-web route (``a.router.Use(http_mw.RobotsTagHandler)``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (gateway.is_gateway_path(path) or path.startswith(GRPC_WEB_PATH_PREFIX)):
            await self.app(scope, receive, send)
            return

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", []), gateway.ROBOTS_TAG]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, tagged)


def create_mock(
    world: World | None = None,
    *,
    seed: int = DEFAULT_SEED,
    fixtures: str | None = None,
    profile: str = DEFAULT_PROFILE,
    control: bool = True,
    read_lag: float = 0.0,
    control_token: str | None = None,
    max_resources: int = DEFAULT_MAX_RESOURCES,
    strict_instances: bool = False,
    max_instances: int = DEFAULT_MAX_INSTANCES,
    instance_idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    journal_size: int = DEFAULT_JOURNAL_SIZE,
    faults: Iterable[Mapping[str, Any]] = (),
) -> MockServer:
    """The mock's app on one world.

    ``read_lag`` is in seconds: how long the reads trail the writes (see World.read_lag).
    ``control_token`` makes every control-plane call present ``Authorization: Bearer <it>``;
    ``max_resources`` caps what the control plane may add to the world.
    The other instances are created through the control plane (or :class:`ZitadelMock`);
    ``strict_instances`` answers hosts that name none as ZITADEL answers an unknown instance.
    ``journal_size`` bounds each instance's journal; ``faults`` (their JSON form, see
    :mod:`mock_server.faults`) are injected into the default instance from the start.
    """

    def initial_world() -> World:
        world = build_world(seed, fixtures)
        world.read_lag = read_lag
        return world

    world = world if world is not None else initial_world()
    instances = Instances(
        world,
        PROFILES[profile],
        initial_world,
        world_factory,
        strict=strict_instances,
        max_instances=max_instances,
        idle_timeout=instance_idle_timeout,
        journal_size=journal_size,
    )
    for fault in faults:
        instances.default.faults.add(fault)
    service = LifecycleService(instances)
    admin = WorldAdmin(world, initial_world, max_resources=max_resources)

    # The Swagger UI's Authorize dialog lists the default instance's tokens.
    middlewares = [
        functools.partial(MockSwaggerUI, tokens=world_tokens(world)) if m is MockSwaggerUI else m
        for m in MIDDLEWARES
    ]
    api = connexion.AsyncApp(
        __name__, middlewares=middlewares, jsonifier=gateway.CompactJsonifier()
    )
    api.add_middleware(gateway.GatewayBodyMiddleware, position=MiddlewarePosition.BEFORE_CONTEXT)
    api.add_api(
        MANAGEMENT_SPEC,
        base_path=contract.base_path(contract.load_spec()),
        resolver=Resolver(lambda operation_id: management.handler_for(service, operation_id)),
    )
    if control:
        handlers = control_plane.handlers(instances, admin)
        api.add_api(
            CONTROL_SPEC,
            base_path=CONTROL_BASE_PATH,
            resolver=Resolver(lambda operation_id: handlers[operation_id]),
        )
    api.add_error_handler(ZitadelError, gateway.handle_zitadel_error)
    api.add_error_handler(404, gateway.handle_http_exception)
    api.add_error_handler(405, gateway.handle_http_exception)
    api.add_error_handler(Exception, gateway.handle_unexpected)

    # CORS as ZITADEL answers it, except on the control plane: it is for tools, not browsers.
    app: ASGIApp = CorsMiddleware(_Front(api, GrpcWebApp(service)), without=CONTROL_BASE_PATH)
    app = _RobotsTag(app)
    if control:
        app = ControlPlaneGuard(app, control_token)
    return MockServer(app=app, service=service, admin=admin, instances=instances)


def create_app(world: World | None = None, **options: object) -> ASGIApp:
    """The ASGI app of a mock; :func:`create_mock` takes the same options and exposes the world."""
    return create_mock(world, **options).app  # type: ignore[arg-type]
