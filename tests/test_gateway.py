"""The grpc-gateway in front of the RPCs: body decoding, routing errors, odd input (facts E, J)."""

from __future__ import annotations

import re
import urllib.parse

import pytest
from rest_support import (
    BASE,
    PATHS,
    RPCS,
    assert_details,
    assert_error,
    assert_json_error_response,
    assert_validation_error,
    dumps,
    find,
    main_org,
    rest_path,
)

# protojson words its errors "proto:" plus U+0020 or U+00A0, chosen per binary on purpose, so
# only the prefix is pinned.
PROTOJSON_ERROR = re.compile(r"^proto:[ \u00a0]")
TEN_MB = 10 * 1024 * 1024


@pytest.fixture
def action(api):
    return find(api.world, "actions", org=main_org(api.world), state="active")


def _deactivate(api, action, body: bytes | None, **options):
    return api.call("DeactivateAction", id=action.id, body=body, **options)


def _assert_accepted(api, response) -> None:
    assert_details(response, "DeactivateAction", main_org(api.world))


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b'{"unknown": 1, "nested": {"deep": [1, 2, {"x": null}]}}',
        b'{"details": "ignored", "sequence": "99"}',
        b"",
        b"   \r\n\t ",
        b"{}garbage",
        b'{} {"id": 5}',
        b'{"id": null}',
    ],
)
def test_bodies_the_gateway_accepts(api, action, body) -> None:
    _assert_accepted(api, _deactivate(api, action, body))


def test_no_body_at_all(api, action) -> None:
    response = api.client.post(
        rest_path("DeactivateAction", id=action.id), headers={"Authorization": "Bearer admin-pat"}
    )
    _assert_accepted(api, response)


def test_the_path_overrides_the_same_field_in_the_body(api, action) -> None:
    other = next(
        a
        for a in api.world.actions.values()
        if a.resource_owner == action.resource_owner
        and a.state.value == "active"
        and a is not action
    )
    _assert_accepted(api, _deactivate(api, action, dumps({"id": other.id})))
    assert (action.state.value, other.state.value) == ("inactive", "active")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{", "unexpected EOF"),
        (b'{"id":"a"', "unexpected EOF"),
        (b'{"id":', "unexpected EOF"),
        (b'{"id":}', "invalid character '}' looking for beginning of value"),
        (b"x", "invalid character 'x' looking for beginning of value"),
        (b"{'id':'1'}", "invalid character '\\'' looking for beginning of object key string"),
        (b'{"id":"1",}', "invalid character '}' looking for beginning of object key string"),
    ],
)
def test_invalid_json_gets_go_decoder_messages(api, action, body, message) -> None:
    assert_validation_error(_deactivate(api, action, body), message)
    assert action.state.value == "active"


@pytest.mark.parametrize("rpc", RPCS)
def test_a_truncated_body_fails_before_authentication(api, rpc) -> None:
    # The gateway decodes before it calls the gRPC server, where authentication happens.
    response = api.call(rpc, id="1", user_id="1", grant_id="1", token=None, body=b"{")
    assert_validation_error(response, "unexpected EOF")


@pytest.mark.parametrize("body", [b"null", b"[]", b'"str"', b"5", b"true", b'[{"id": "1"}]'])
def test_json_that_is_not_an_object(api, action, body) -> None:
    response = _deactivate(api, action, body)
    body_json = assert_json_error_response(response)
    assert (response.status_code, body_json["code"]) == (400, 3)
    assert "details" not in body_json
    assert PROTOJSON_ERROR.match(body_json["message"]), body_json
    assert "unexpected token" in body_json["message"]


@pytest.mark.parametrize(
    ("rpc", "body"),
    [
        ("DeactivateAction", b'{"id": 5}'),
        ("DeactivateUser", b'{"id": 5}'),
        ("ReactivateUser", b'{"id": {"a": 1}}'),
        ("DeactivateUserGrant", b'{"user_id": 5}'),
        ("DeactivateUserGrant", b'{"grantId": [1]}'),
        ("ReactivateUserGrant", b'{"userId": true}'),
    ],
)
def test_a_request_field_of_the_wrong_type(api, rpc, body) -> None:
    response = api.call(rpc, id="1", user_id="1", grant_id="1", body=body)
    body_json = assert_json_error_response(response)
    assert (response.status_code, body_json["code"]) == (400, 3)
    assert "details" not in body_json
    assert PROTOJSON_ERROR.match(body_json["message"]), body_json


def test_a_field_the_request_message_lacks_may_have_any_type(api) -> None:
    # DeactivateOrgRequest is empty: "id" is unknown there and discarded, whatever its type.
    response = api.call("DeactivateOrg", body=b'{"id": 5, "userId": [true]}')
    assert_details(response, "DeactivateOrg", main_org(api.world))


@pytest.mark.parametrize("body", [b'{"id":"\xff"}', b'{"x":"\xc3\x28"}', b"\xff\xfe{}", b"\x80"])
def test_invalid_utf8(api, action, body) -> None:
    response = _deactivate(api, action, body)
    body_json = assert_json_error_response(response)
    assert (response.status_code, body_json["code"]) == (400, 3)
    assert "details" not in body_json
    assert action.state.value == "active"


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        None,
        "application/x-www-form-urlencoded",
        "application/json; charset=utf-8",
        "application/xml",
        "not a media type",
    ],
)
def test_every_content_type_is_decoded_as_json(api, action, content_type) -> None:
    response = _deactivate(api, action, b"{", content_type=content_type)
    assert_validation_error(response, "unexpected EOF")
    _assert_accepted(api, _deactivate(api, action, b'{"ignored": true}', content_type=content_type))


def test_a_10_mb_object_with_an_unknown_field_is_accepted(api, action) -> None:
    body = b'{"padding": "' + b"a" * TEN_MB + b'"}'
    _assert_accepted(api, _deactivate(api, action, body))


def test_10_mb_of_garbage_is_a_decoder_error(api, action) -> None:
    response = _deactivate(api, action, b"x" * TEN_MB)
    assert_validation_error(response, "invalid character 'x' looking for beginning of value")


@pytest.mark.parametrize(
    "path",
    [
        "/nothing",
        "/actions/1/_frobnicate",
        "/actions/1/x",
        "/orgs/you",
        "/orgs/other/_deactivate",
        "/users/1/_deactivate/extra",
        "/users/1/grants/x/y",
        "/users//_deactivate",
        "/actions//_reactivate",
        "/users/1/grants//_reactivate",
        "",
    ],
)
def test_unknown_path(api, path) -> None:
    response = api.client.post(BASE + path, headers={"Authorization": "Bearer admin-pat"})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"code": 5, "message": "Not Found"}


@pytest.mark.parametrize("rpc", RPCS)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_wrong_method(api, rpc, method) -> None:
    path = rest_path(rpc, id="1", user_id="1", grant_id="1")
    # Routing answers first: no token is needed to learn the method is wrong. An OPTIONS
    # without Access-Control-Request-Method is no preflight, so CORS lets it through to routing.
    response = api.client.request(method, path)
    assert response.status_code == 405
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"code": 12, "message": "Method Not Allowed"}


ODD_IDS = [
    "ünïcödé",
    "用户",
    "🙂" * 50,
    "\u202eevil",
    "a b",
    "<script>alert(1)</script>",
    "'; DROP TABLE users; --",
    "null",
    "-1",
    "1e400",
    "%00",
    "%2F",
    "%2e%2e",
    "%25",
    "%ZZ",
    "x" * 5000,
    "é" * 3000,
    "{id}",
    "..",
]


@pytest.mark.parametrize("rpc", [r for r in RPCS if "{" in PATHS[r]])
def test_odd_ids_never_break_the_mock(live_api, rpc) -> None:
    # Over real HTTP: percent-escapes reach the server as sent (httpx only escapes what a URL
    # cannot carry), and a broken server would show as a 500 or a dropped connection.
    for odd in ODD_IDS:
        path = BASE + PATHS[rpc].format(id=odd, user_id=odd, grant_id=odd)
        response = live_api.client.post(
            path, headers={"Authorization": "Bearer admin-pat"}, content=b"{}"
        )
        body = assert_json_error_response(response)
        assert (response.status_code, body["code"]) in {(400, 3), (404, 5)}, (odd, body)


# An escaped "/" splits the path like a real one (the router matches the decoded path) and a
# client resolves "..", so such ids are left to the test above.
@pytest.mark.parametrize(
    "odd",
    [v for v in ODD_IDS if "/" not in v and v.strip(".") and len(v) < 100],
    ids=lambda v: ascii(v)[:30],
)
def test_odd_ids_fully_escaped_are_not_found(live_api, odd) -> None:
    quoted = urllib.parse.quote(odd, safe="")
    response = live_api.call("DeactivateAction", id=quoted)
    assert_error(response, 404, 5, "Action not found (COMMAND-NRmhu)", "COMMAND-NRmhu")


def test_percent_escapes_are_decoded_exactly_once(live_api) -> None:
    org = main_org(live_api.world)
    live_api.mock.admin.create("users", {"id": "%41", "org": org})
    live_api.mock.admin.create("users", {"id": "A", "org": org})
    assert_details(live_api.call("DeactivateUser", id="%2541"), "DeactivateUser", org)
    assert live_api.world.users["%41"].state.value == "inactive"
    assert live_api.world.users["A"].state.value == "active"


def test_an_odd_org_header_is_an_unknown_org(live_api) -> None:
    for value in ("é" * 300, "' OR 1=1", "0", "%00"):
        response = live_api.call("DeactivateOrg", headers={"x-zitadel-orgid": value.encode()})
        assert_error(response, 403, 7, "Organisation doesn't exist (AUTH-Bs7Ds)", "AUTH-Bs7Ds")
