"""The one routing order both the ASGI front and the lane follow (mock_server.doors)."""

from __future__ import annotations

import pytest

from mock_server.app import create_mock
from mock_server.doors import Door, door_of

GRPC_WEB = "application/grpc-web+proto"
DEACTIVATE = "/management/v1/actions/123/_deactivate"


@pytest.fixture(scope="module")
def rest():
    return create_mock().lane.dispatch


@pytest.mark.parametrize(
    ("method", "path", "content_type", "door"),
    [
        ("GET", "/", None, Door.UI_REDIRECT),
        ("HEAD", "/", None, Door.UI_REDIRECT),
        ("POST", "/", None, Door.CONNEXION),
        ("POST", "/ui", GRPC_WEB, Door.UI_REDIRECT),
        ("GET", "/ui/", None, Door.UI_REDIRECT),
        # ZITADEL's routeGRPCWeb comes before the gateway: a management path too.
        ("POST", DEACTIVATE, GRPC_WEB, Door.GRPC_WEB),
        ("POST", DEACTIVATE, "application/grpc-web-text", Door.GRPC_WEB),
        ("GET", DEACTIVATE, GRPC_WEB, Door.CONNEXION),  # a GET: the gateway, no such route
        ("POST", DEACTIVATE, "application/json", Door.MANAGEMENT),
        ("POST", DEACTIVATE + "/", "application/json", Door.GATEWAY_NOT_FOUND),
        ("GET", "/management/v1", None, Door.GATEWAY_NOT_FOUND),
        ("GET", "/management/v1/ui/", None, Door.CONNEXION),
        ("GET", "/management/v1/actions/123", None, Door.MANAGEMENT),
        ("DELETE", "/management/v1/actions/123", None, Door.CONNEXION),
        ("GET", "/_mock/v1/info", None, Door.CONNEXION),
    ],
)
def test_each_request_has_one_door(rest, method, path, content_type, door) -> None:
    found_door, found = door_of(method, path, content_type, rest)
    assert found_door is door
    assert (found is not None) == (door is Door.MANAGEMENT)


def test_a_management_door_carries_its_route_and_path_values(rest) -> None:
    _, found = door_of("POST", DEACTIVATE, "application/json", rest)
    route, values = found
    assert (route.rpc.name, values) == ("DeactivateAction", {"id": "123"})
