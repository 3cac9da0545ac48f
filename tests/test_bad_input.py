"""Input a fuzzer or an attacker sends, answered as ZITADEL's gateway answers it (facts E, J):
every Content-Type decoded as JSON, Go's decoder limits, no redirects, protojson's compact
bodies and the gateway's X-Robots-Tag."""

from __future__ import annotations

import pytest
from rest_support import (
    BASE,
    RPCS,
    assert_details,
    assert_error,
    assert_validation_error,
    find,
    main_org,
    rest_path,
)

ADMIN = {"Authorization": "Bearer admin-pat"}
DEEP_ARRAY = b"[" * 1000 + b"]" * 1000


@pytest.fixture
def action(api):
    return find(api.world, "actions", org=main_org(api.world), state="active")


def _deactivate(api, action, body: bytes, content_type: bytes | str | None, **headers):
    sent = {**ADMIN, **headers}
    if content_type is not None:
        sent["Content-Type"] = content_type
    return api.client.post(rest_path("DeactivateAction", id=action.id), content=body, headers=sent)


@pytest.mark.parametrize(
    "content_type",
    [
        "multipart/form-data",
        "multipart/form-data; boundary=xyz",
        "application/x-www-form-urlencoded",
        b"application/\xffjson",
        b"text/plain; charset=\xe9",
    ],
)
def test_form_and_odd_content_types_are_decoded_as_json(api, action, content_type) -> None:
    # connexion would parse forms ("Missing boundary in multipart.", problem+json) and choke
    # on a Content-Type that is no UTF-8 (a 500); ZITADEL's gateway takes all of them as JSON.
    assert_validation_error(
        _deactivate(api, action, b"a=1", content_type),
        ("invalid character 'a' looking for beginning of value"),
    )
    assert action.state.value == "active"
    assert_details(
        _deactivate(api, action, b"{}", content_type), "DeactivateAction", main_org(api.world)
    )


@pytest.mark.parametrize(
    "body",
    [
        b'{"padding":"' + b"a" * (1024 * 1024 + 10) + b'"}',
        b"{}" + b"&a=1" * 1500,
    ],
    ids=["over-1-MB", "over-1000-fields"],
)
def test_big_form_bodies_reach_the_rpc(api, action, body) -> None:
    # Starlette's form parser refuses these ("Field exceeded maximum size", "Too many fields");
    # for the gateway they are a JSON object (with trailing bytes it drains).
    response = _deactivate(api, action, body, "application/x-www-form-urlencoded")
    assert_details(response, "DeactivateAction", main_org(api.world))


def test_json_nested_1000_deep_is_a_protojson_error_before_auth(api, action) -> None:
    # encoding/json allows 10,000 levels; protojson then refuses a top-level array.
    response = api.client.post(rest_path("DeactivateAction", id=action.id), content=DEEP_ARRAY)
    assert_validation_error(response, "proto: syntax error (line 1:1): unexpected token [")


def test_json_nested_past_go_limit_is_a_decoder_error(api, action) -> None:
    body = b'{"a":' + b"[" * 10001
    response = api.client.post(rest_path("DeactivateAction", id=action.id), content=body)
    assert_validation_error(response, "invalid character '[' exceeded max depth")


def test_deep_json_in_an_unknown_field_is_ignored(api, action) -> None:
    body = b'{"x":' + b"[" * 5000 + b"]" * 5000 + b"}"
    response = _deactivate(api, action, body, "application/json")
    assert_details(response, "DeactivateAction", main_org(api.world))


@pytest.mark.parametrize(
    "path",
    [
        BASE,
        BASE + "/orgs/me/_reactivate/",
        BASE + "/orgs/me/_deactivate/",
        BASE + "/actions/1/_deactivate/",
    ],
)
def test_no_redirects_only_not_found(api, path) -> None:
    response = api.client.post(path, headers=ADMIN, content=b"{}", follow_redirects=False)
    assert response.status_code == 404
    assert response.content == b'{"code":5,"message":"Not Found"}'
    assert "location" not in response.headers


def test_success_and_error_bodies_are_compact_protojson(api, action) -> None:
    ok = _deactivate(api, action, b"{}", "application/json")
    assert b" " not in ok.content and not ok.content.endswith(b"\n"), ok.content
    assert ok.content.startswith(b'{"details":{"sequence":"')
    again = _deactivate(api, action, b"{}", "application/json")
    assert again.content == (
        b'{"code":9,"message":"Action is not active (COMMAND-Dgj92)","details":[{"@type":'
        b'"type.googleapis.com/zitadel.v1.ErrorDetail","id":"COMMAND-Dgj92",'
        b'"message":"Action is not active"}]}'
    )
    unauthenticated = api.client.post(rest_path("DeactivateAction", id=action.id))
    assert unauthenticated.content == b'{"code":16,"message":"auth header missing"}'
    routing = api.client.get(rest_path("DeactivateAction", id=action.id))
    assert routing.content == b'{"code":12,"message":"Method Not Allowed"}'


@pytest.mark.parametrize("rpc", RPCS)
def test_gateway_answers_carry_x_robots_tag(api, rpc) -> None:
    response = api.client.post(rest_path(rpc, id="1", user_id="1", grant_id="1"), headers=ADMIN)
    assert response.headers["x-robots-tag"] == "none"


def test_x_robots_tag_on_routing_errors_and_preflights(api) -> None:
    assert api.client.post(BASE + "/nothing").headers["x-robots-tag"] == "none"
    preflight = api.client.options(
        BASE + "/orgs/me/_deactivate",
        headers={"Origin": "http://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["x-robots-tag"] == "none"


def test_an_unknown_org_error_is_still_an_envelope_with_odd_headers(api) -> None:
    response = api.client.post(
        rest_path("DeactivateOrg"),
        headers={**ADMIN, "x-zitadel-orgid": b"\xff\xfe", "Accept": b"\xff"},
    )
    assert_error(response, 403, 7, "Organisation doesn't exist (AUTH-Bs7Ds)", "AUTH-Bs7Ds")


def test_grpc_web_answers_carry_x_robots_tag(api) -> None:
    response = api.client.post(
        "/zitadel.management.v1.ManagementService/ReactivateOrg",
        headers={"Content-Type": "application/grpc-web+proto"},
        content=b"\x00\x00\x00\x00\x00",
    )
    assert response.status_code == 200
    assert response.headers["x-robots-tag"] == "none"


def test_no_x_robots_tag_outside_zitadels_routes(api) -> None:
    assert "x-robots-tag" not in api.client.get("/_mock/v1/info").headers
