"""Which way an HTTP request goes, in the order ZITADEL's routers take it.

Both the ASGI front (:class:`mock_server.app._Front`) and the lane (:mod:`mock_server.lane`),
which answers from the HTTP/1 parser, ask here, so that the two paths cannot route the same
request differently.
"""

from __future__ import annotations

import enum

from mock_server.grpc_front.web import is_grpc_web
from mock_server.rest import gateway
from mock_server.rest.dispatch import RestDispatch
from mock_server.rest.management import Route


class Door(enum.Enum):
    UI_REDIRECT = "the Swagger UI's shortcut (/ui, and a GET of /)"
    GRPC_WEB = "gRPC-web"
    GATEWAY_NOT_FOUND = "a gateway path Starlette would redirect: grpc-gateway's 404"
    MANAGEMENT = "a management operation of the spec's route table"
    CONNEXION = "everything else: Swagger UI, the control plane, 404 and 405"


def door_of(
    method: str, path: str, content_type: str | None, rest: RestDispatch
) -> tuple[Door, tuple[Route, dict[str, str]] | None]:
    """The request's door, and for a management operation its route and path values."""
    # "/" too, for whoever opens the printed URL; only that exact GET, so every API path keeps
    # ZITADEL's own 404.
    if path in ("/ui", "/ui/") or (path == "/" and method in ("GET", "HEAD")):
        return Door.UI_REDIRECT, None
    # ZITADEL's routeGRPCWeb: every POST whose Content-Type starts with application/grpc-web.
    if method == "POST" and is_grpc_web(content_type):
        return Door.GRPC_WEB, None
    if gateway.is_gateway_path(path) and gateway.redirects_in_starlette(path):
        return Door.GATEWAY_NOT_FOUND, None
    found = rest.match_path(method, path)
    if found is not None:
        return Door.MANAGEMENT, found
    return Door.CONNEXION, None
