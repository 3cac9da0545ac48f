"""CORS as ZITADEL's rs/cors options produce it (facts G)."""

from __future__ import annotations

import pytest
from rest_support import BASE, assert_details, main_org, rest_path

ORIGIN = "https://console.example.com"
EXPOSED = "Location, Content-Length, Grpc-Status, Grpc-Message, Grpc-Status-Details-Bin"
PREFLIGHT_VARY = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
ALLOWED_HEADERS = (
    "origin, content-type, accept, accept-language, authorization, x-zitadel-orgid, "
    "x-user-agent, x-grpc-web, x-requested-with, connect-protocol-version, connect-timeout-ms, "
    "grpc-timeout"
)


def _allow_headers(response) -> dict[str, str]:
    return {k: v for k, v in response.headers.items() if k.startswith("access-control-allow-")}


def _assert_actual_request_cors(response, origin: str) -> None:
    assert response.headers["access-control-allow-origin"] == origin
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-expose-headers"] == EXPOSED
    assert "Origin" in [v.strip() for v in response.headers["vary"].split(",")]


@pytest.mark.parametrize("origin", [ORIGIN, "http://localhost:4200", "null"])
def test_a_success_echoes_any_origin_with_credentials(api, origin) -> None:
    response = api.call("DeactivateOrg", headers={"Origin": origin})
    assert_details(response, "DeactivateOrg", main_org(api.world))
    _assert_actual_request_cors(response, origin)
    # With credentials the origin is echoed, never the wildcard.
    assert response.headers["access-control-allow-origin"] != "*"


@pytest.mark.parametrize(
    ("options", "status"),
    [
        ({"token": None}, 401),
        ({"token": "nope"}, 401),
        ({"body": b"{"}, 400),
        ({"org": "100000000000000000"}, 403),
    ],
)
def test_errors_carry_cors_headers_too(api, options, status) -> None:
    # Otherwise a browser hides the error body from the frontend.
    response = api.call("DeactivateOrg", headers={"Origin": ORIGIN}, **options)
    assert response.status_code == status
    _assert_actual_request_cors(response, ORIGIN)


def test_routing_errors_carry_cors_headers(api) -> None:
    response = api.client.post(BASE + "/nowhere", headers={"Origin": ORIGIN})
    assert response.status_code == 404
    _assert_actual_request_cors(response, ORIGIN)
    response = api.client.get(rest_path("DeactivateOrg"), headers={"Origin": ORIGIN})
    assert response.status_code == 405
    _assert_actual_request_cors(response, ORIGIN)


def test_without_origin_there_are_no_cors_headers_but_vary(api) -> None:
    response = api.call("DeactivateOrg")
    assert response.status_code == 200
    assert not [k for k in response.headers if k.startswith("access-control-")]
    assert response.headers["vary"] == "Origin"


@pytest.mark.parametrize("path", [rest_path("DeactivateUser", id="1"), BASE + "/anything/at/all"])
@pytest.mark.parametrize(
    "requested_headers", ["authorization, content-type, x-zitadel-orgid", ALLOWED_HEADERS, ""]
)
def test_preflight_is_204_echoing_method_and_headers(api, path, requested_headers) -> None:
    headers = {"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    if requested_headers:
        headers["Access-Control-Request-Headers"] = requested_headers
    response = api.client.options(path, headers=headers)
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["vary"] == PREFLIGHT_VARY
    expected = {
        "access-control-allow-origin": ORIGIN,
        "access-control-allow-methods": "POST",
        "access-control-allow-credentials": "true",
    }
    if requested_headers:
        expected["access-control-allow-headers"] = requested_headers
    assert _allow_headers(response) == expected
    assert "access-control-max-age" not in response.headers


def test_preflight_header_names_are_case_insensitive(api) -> None:
    headers = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization, X-Zitadel-OrgID",
    }
    response = api.client.options(rest_path("DeactivateOrg"), headers=headers)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize(
    ("method", "requested_headers"),
    [
        ("POST", "authorization, x-custom-header"),
        ("POST", "cookie"),
        ("PROPFIND", "authorization"),
        ("CONNECT", ""),
    ],
)
def test_aborted_preflight_is_still_204_without_allow_headers(api, method, requested_headers):
    headers = {"Origin": ORIGIN, "Access-Control-Request-Method": method}
    if requested_headers:
        headers["Access-Control-Request-Headers"] = requested_headers
    response = api.client.options(rest_path("DeactivateOrg"), headers=headers)
    assert response.status_code == 204
    assert _allow_headers(response) == {}
    assert "access-control-expose-headers" not in response.headers
    assert response.headers["vary"] == PREFLIGHT_VARY
