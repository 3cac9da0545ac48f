"""The mock's HTTP application: the management REST API, gRPC-web, its control plane and CORS.

A request meets, outermost first: the control-plane guard, X-Robots-Tag, CORS, then
:class:`_Front`, which sends gRPC-web to its app, the management operations to the REST fast
path (:mod:`mock_server.rest.dispatch`, one table lookup) and everything else (Swagger UI, the
control plane, unknown paths and methods) to connexion (:mod:`mock_server.rest.connexion_app`),
built on the first request that needs it so that start-up never imports it.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server import contract, heap
from mock_server.admin import DEFAULT_MAX_RESOURCES, WorldAdmin
from mock_server.domain.commands import DEFAULT_PROFILE, PROFILES
from mock_server.domain.instances import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_INSTANCES, Instances
from mock_server.domain.service import LifecycleService
from mock_server.domain.world import World
from mock_server.doors import Door, door_of
from mock_server.fixtures import DEFAULT_SEED, build_world, world_factory
from mock_server.grpc_front import GrpcWebApp
from mock_server.grpc_front.web import GRPC_WEB_PATH_PREFIX, serve_lifespan
from mock_server.journal import DEFAULT_JOURNAL_SIZE
from mock_server.lane import Lane
from mock_server.rest import gateway
from mock_server.rest.control_guard import CONTROL_BASE_PATH, ControlPlaneGuard
from mock_server.rest.cors import CorsMiddleware
from mock_server.rest.dispatch import RestDispatch

__all__ = ["CONTROL_BASE_PATH", "MockServer", "create_app", "create_mock"]


@dataclass
class MockServer:
    """Everything one running mock holds; ``app`` is the ASGI application to serve."""

    app: ASGIApp
    service: LifecycleService
    admin: WorldAdmin  # of the default instance
    instances: Instances
    # The management and gRPC-web calls the mock's own listener answers without the ASGI
    # round trip (mock_server.lane).
    lane: Lane | None = None

    @property
    def world(self) -> World:
        return self.service.world


class _Front:
    """The outermost app: the /ui shortcut, gRPC-web, the management operations (one table
    lookup, :mod:`mock_server.rest.dispatch`), then everything else to connexion."""

    def __init__(self, api: ASGIApp, grpc_web: ASGIApp, rest: RestDispatch) -> None:
        self.api = api
        self.grpc_web = grpc_web
        self.rest = rest
        self.ui_redirect = RedirectResponse("/management/v1/ui/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            # Answered here, so that a server's start-up does not build connexion; the mock
            # registers nothing for connexion's lifespan to run.
            await serve_lifespan(receive, send)
            return
        if scope["type"] != "http":
            await self.api(scope, receive, send)
            return
        method = scope["method"]
        # Only a POST's Content-Type can choose a door (gRPC-web): no header scan for the rest.
        content_type = _content_type(scope) if method == "POST" else None
        door, found = door_of(method, scope["path"], content_type, self.rest)
        if door is Door.UI_REDIRECT:
            await self.ui_redirect(scope, receive, send)
        elif door is Door.GRPC_WEB:
            await self.grpc_web(scope, receive, send)
        elif door is Door.GATEWAY_NOT_FOUND:
            await gateway.gateway_not_found(scope, receive, send)
        elif found is not None:
            await self.rest.serve(*found, scope, receive, send)
        else:
            await self.api(scope, receive, send)


class LazyApp:
    """An ASGI app built by ``build`` on its first call (from any thread, built once)."""

    def __init__(self, build: Callable[[], ASGIApp]) -> None:
        self._build = build
        self._app: ASGIApp | None = None
        self._lock = threading.Lock()

    @property
    def app(self) -> ASGIApp:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = self._build()
                    heap.built_to_last()
        return self._app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app
        if app is None:
            # Built in a worker thread: the event loop serves the other requests meanwhile.
            try:
                app = await asyncio.to_thread(lambda: self.app)
            except Exception as exc:  # a bug of the mock: still an envelope, logged in full
                await gateway.send_unexpected(send, exc)
                return
        await app(scope, receive, send)


def _connexion_app(
    service: LifecycleService,
    instances: Instances,
    admin: WorldAdmin,
    control: bool,
    world: World,
) -> ASGIApp:
    with warnings.catch_warnings():
        # connexion's imports warn about its own dependencies (Starlette's test client on
        # httpx, jsonschema's RefResolver): nothing a user of the mock can act on, and since
        # the app is built on a first request, the warning would land in the user's run.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from mock_server import swagger_ui
        from mock_server.rest import connexion_app

        return connexion_app.build(
            service,
            instances,
            admin,
            base_path=contract.management_base_path(),
            control=control,
            # The Swagger UI's Authorize dialog lists the default instance's tokens.
            tokens=swagger_ui.world_tokens(world),
        )


def _content_type(scope: Scope) -> str | None:
    # The first Content-Type, as Headers.get reads it, without building a Headers per request.
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.decode("latin-1")
    return None


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

    api = LazyApp(lambda: _connexion_app(service, instances, admin, control, world))
    base_path = contract.management_base_path()

    # CORS as ZITADEL answers it, except on the control plane: it is for tools, not browsers.
    rest, grpc_web = RestDispatch(service, base_path), GrpcWebApp(service)
    app: ASGIApp = CorsMiddleware(_Front(api, grpc_web, rest), without=CONTROL_BASE_PATH)
    app = _RobotsTag(app)
    if control:
        app = ControlPlaneGuard(app, control_token)
    lane = Lane(service, rest, grpc_web)
    return MockServer(app=app, service=service, admin=admin, instances=instances, lane=lane)


def create_app(world: World | None = None, **options: object) -> ASGIApp:
    """The ASGI app of a mock; :func:`create_mock` takes the same options and exposes the world."""
    return create_mock(world, **options).app  # type: ignore[arg-type]
