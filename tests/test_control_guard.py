"""The control plane is closed to browsers and, with a token, to everyone else: no CORS, no
simple-request bodies, the management API's body limit, a depth limit, a cap on resources."""

from __future__ import annotations

import pytest
from rest_support import Api, assert_details, assert_json_error_response, main_org

from mock_server.rest import gateway

CONTROL = "/_mock/v1"
ORIGIN = "http://evil.example"


def _error(response, status: int, code: int, fragment: str) -> None:
    body = assert_json_error_response(response)
    assert (response.status_code, body["code"]) == (status, code), body
    assert fragment in body["message"], body


def test_no_cors_on_the_control_plane(api) -> None:
    response = api.client.get(f"{CONTROL}/info", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    assert not [h for h in response.headers if h.startswith("access-control-")]
    preflight = api.client.options(
        f"{CONTROL}/reset",
        headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    assert preflight.status_code != 204


def test_the_management_api_keeps_its_cors(api) -> None:
    response = api.client.post(
        "/management/v1/orgs/me/_reactivate", headers={"Origin": ORIGIN}, content=b"{}"
    )
    assert response.headers["access-control-allow-origin"] == ORIGIN


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "multipart/form-data",
        b"application/\xffjson",
    ],
)
def test_simple_request_bodies_are_refused(api, content_type) -> None:
    # What a web page may POST cross-origin without a preflight; reset must not happen.
    org = main_org(api.world)
    api.mock.admin.set_state("orgs", org, "inactive")
    response = api.client.post(
        f"{CONTROL}/reset", content=b"{}", headers={"Content-Type": content_type}
    )
    _error(response, 415, 3, "application/json")
    assert api.world.orgs[org].state.value == "inactive"
    created = api.client.post(
        f"{CONTROL}/orgs", content=b'{"name":"x"}', headers={"Content-Type": content_type}
    )
    _error(created, 415, 3, "application/json")


def test_json_and_no_content_type_are_taken(api) -> None:
    assert api.client.post(f"{CONTROL}/reset").status_code == 204
    response = api.client.post(
        f"{CONTROL}/orgs",
        content=b'{"name":"x"}',
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("body", [b"[" * 1000 + b"]" * 1000, b'{"name":' + b"[" * 100000])
def test_deep_json_is_a_400_not_a_500(api, body) -> None:
    response = api.client.post(
        f"{CONTROL}/orgs", content=body, headers={"Content-Type": "application/json"}
    )
    _error(response, 400, 3, "the body is not JSON")


def test_the_body_limit_is_the_management_apis(api, monkeypatch) -> None:
    monkeypatch.setattr(gateway, "MAX_BODY_BYTES", 1000)
    response = api.client.post(
        f"{CONTROL}/orgs",
        content=b'{"name":"' + b"a" * 2000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    _error(response, 413, 8, "larger than 1000 bytes")


def test_resources_are_capped() -> None:
    from mock_server.app import create_mock

    mock = create_mock(max_resources=0)
    api = Api(mock)
    have = mock.admin.resource_count()
    mock.admin.max_resources = have + 2
    for _ in range(2):
        assert api.client.post(f"{CONTROL}/orgs", json={"name": "x"}).status_code == 201
    for kind, entry in [("orgs", {"name": "y"}), ("tokens", {"token": "t", "user": "u"})]:
        response = api.client.post(f"{CONTROL}/{kind}", json=entry)
        _error(response, 429, 8, f"holds {have + 2} resources")
    assert mock.admin.resource_count() == have + 2
    # A reset gives room again; the API itself is never capped.
    assert api.client.post(f"{CONTROL}/reset").status_code == 204
    assert api.client.post(f"{CONTROL}/orgs", json={"name": "z"}).status_code == 201
    assert_details(api.call("DeactivateOrg"), "DeactivateOrg", main_org(mock.world))


@pytest.fixture(scope="module")
def guarded() -> Api:
    from mock_server.app import create_mock

    return Api(create_mock(control_token="s3cret"))


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer wrong", "bearer s3cret", "s3cret", "Bearer s3cret ", "Bearer admin-pat"],
)
def test_a_control_token_is_required_when_set(guarded, authorization) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    for method, path in [("GET", "/info"), ("POST", "/reset"), ("GET", "/nothing")]:
        response = guarded.client.request(method, CONTROL + path, headers=headers)
        _error(response, 401, 16, "Authorization: Bearer <control token>")
        assert response.headers["www-authenticate"].startswith("the control plane needs")


def test_the_right_control_token_opens_it(guarded) -> None:
    response = guarded.client.get(f"{CONTROL}/info", headers={"Authorization": "Bearer s3cret"})
    assert response.status_code == 200
    assert {t["token"] for t in response.json()["tokens"]} >= {"admin-pat"}


def test_the_control_token_does_not_touch_the_management_api(guarded) -> None:
    guarded.mock.admin.reset()
    response = guarded.call("ReactivateOrg")
    assert response.json()["code"] == 9  # the org is active: the API answered as usual


@pytest.mark.parametrize("content_type", ["multipart/form-data", b"text/\xff"])
def test_a_get_with_a_form_content_type_is_still_answered(api, content_type) -> None:
    # Found by tests/test_fuzz.py: connexion parsed the (ignored) body of a GET as a form.
    response = api.client.request(
        "GET", f"{CONTROL}/info", content=b"a=1", headers={"Content-Type": content_type}
    )
    assert response.status_code == 200, response.text
