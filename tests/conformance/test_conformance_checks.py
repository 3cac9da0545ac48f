"""The response rules as plain functions, and their adapters."""

import datetime
import json

import httpx
import pytest
from schemathesis.core.transport import Response as StResponse

from conformance import (
    Request,
    Response,
    RuleViolation,
    assert_conforms,
    check_all,
    check_details,
    check_envelope,
    check_status,
    from_httpx,
    from_schemathesis,
    operation_for,
)
from conformance.schemathesis_checks import zitadel_details, zitadel_envelope, zitadel_status

BASE = "http://zitadel.example/management/v1"
ORG = "69629023906488334"
ACTION = f"{BASE}/actions/1/_deactivate"
USER = f"{BASE}/users/2/_reactivate"


def request(url=ACTION, org=ORG):
    headers = {"Authorization": "Bearer t"}
    if org is not None:
        headers["x-zitadel-orgid"] = org
    return Request("POST", url, headers, b"{}")


def ok(details, status=200):
    return Response(status, {"Content-Type": "application/json"}, json.dumps({"details": details}))


def error(body, status, headers=None):
    raw = body if isinstance(body, str) else json.dumps(body)
    return Response(status, {"Content-Type": "application/json", **(headers or {})}, raw)


GOOD_ACTION = {"sequence": "7", "creationDate": "2025-03-01T10:00:00.123Z", "resourceOwner": ORG}
GOOD_USER = {"sequence": "7", "changeDate": "2025-03-01T10:00:00Z", "resourceOwner": ORG}
NOT_FOUND = {
    "code": 5,
    "message": "Action not found (COMMAND-NRmhu)",
    "details": [{"@type": "type.googleapis.com/zitadel.v1.ErrorDetail", "id": "COMMAND-NRmhu"}],
}


def rule_of(check, *args, **kwargs):
    with pytest.raises(RuleViolation) as caught:
        check(*args, **kwargs)
    return caught.value.rule


def test_operations_are_found_from_the_url_even_behind_a_prefix():
    assert operation_for("POST", ACTION).rpc == "DeactivateAction"
    assert operation_for("POST", "https://proxy/zitadel/management/v1/orgs/me/_reactivate").rpc == (
        "ReactivateOrg"
    )
    grant = operation_for("POST", f"{BASE}/users/1/grants/2/_deactivate")
    assert grant.rpc == "DeactivateUserGrant" and grant.date_field == "changeDate"
    assert operation_for("GET", ACTION) is None
    assert operation_for("POST", f"{BASE}/actions/1/_delete") is None


def test_good_answers_pass_every_rule():
    assert check_all(request(), ok(GOOD_ACTION)) == []
    assert check_all(request(USER), ok(GOOD_USER)) == []
    assert check_all(request(), error(NOT_FOUND, 404)) == []
    missing = {"code": 16, "message": "auth header missing"}
    assert (
        check_all(request(), error(missing, 401, {"WWW-Authenticate": "auth header missing"})) == []
    )
    # ZITADEL's router answers a wrong method with 405 and code 12.
    assert check_all(request(), error({"code": 12, "message": "Method Not Allowed"}, 405)) == []


@pytest.mark.parametrize(
    "details, rule",
    [
        ({**GOOD_ACTION, "sequence": 7}, "details.sequence"),
        ({**GOOD_ACTION, "sequence": "-1"}, "details.sequence"),
        ({**GOOD_ACTION, "sequence": str(2**64)}, "details.sequence"),
        ({k: v for k, v in GOOD_ACTION.items() if k != "sequence"}, "details.sequence"),
        ({**GOOD_ACTION, "changeDate": GOOD_ACTION["creationDate"]}, "details.date_field"),
        ({k: v for k, v in GOOD_ACTION.items() if k != "creationDate"}, "details.date_field"),
        ({**GOOD_ACTION, "creationDate": "2025-03-01T10:00:00+00:00"}, "details.date"),
        ({**GOOD_ACTION, "creationDate": "2025-13-01T10:00:00Z"}, "details.date"),
        ({**GOOD_ACTION, "creationDate": 1740823200}, "details.date"),
        ({**GOOD_ACTION, "resourceOwner": ""}, "details.resource_owner"),
        ({**GOOD_ACTION, "resourceOwner": "someone-else"}, "details.resource_owner"),
    ],
)
def test_details_rules(details, rule):
    assert rule_of(check_details, request(), ok(details)) == rule


def test_users_report_change_date_not_creation_date():
    wrong = {**GOOD_USER, "creationDate": GOOD_USER.pop("changeDate")}
    assert rule_of(check_details, request(USER), ok(wrong)) == "details.date_field"


def test_details_need_the_wrapper():
    body = Response(200, {"Content-Type": "application/json"}, json.dumps(GOOD_ACTION))
    assert rule_of(check_details, request(), body) == "details.present"


def test_resource_owner_without_header_is_the_callers_own_org():
    headerless = request(org=None)
    assert check_details(headerless, ok(GOOD_ACTION))  # unknown own org: only non-empty
    assert check_details(headerless, ok(GOOD_ACTION), default_org=ORG)
    assert rule_of(check_details, headerless, ok(GOOD_ACTION), default_org="1") == (
        "details.resource_owner"
    )
    # An empty header selects the caller's own org, as ZITADEL reads it.
    assert check_details(request(org=" "), ok(GOOD_ACTION), default_org=ORG)


def test_details_rules_do_not_apply_to_errors_or_foreign_paths():
    assert check_details(request(), error(NOT_FOUND, 404)) is False
    assert check_details(request(f"{BASE}/actions"), ok({})) is False


@pytest.mark.parametrize(
    "body, status, rule",
    [
        ({**NOT_FOUND, "code": "not_found"}, 404, "envelope.code"),
        ({**NOT_FOUND, "code": 5.0}, 404, "envelope.code"),
        ({**NOT_FOUND, "code": 0}, 404, "envelope.code"),
        ({"message": "x"}, 404, "envelope.code"),
        ({"code": 5}, 404, "envelope.message"),
        ({**NOT_FOUND, "message": None}, 404, "envelope.message"),
        ({**NOT_FOUND, "details": {"@type": "x"}}, 404, "envelope.details"),
        ({**NOT_FOUND, "details": [{"id": "COMMAND-NRmhu"}]}, 404, "envelope.details"),
        ({**NOT_FOUND, "details": ["x"]}, 404, "envelope.details"),
        ("<html>Not Found</html>", 404, "envelope.json"),
        ([NOT_FOUND], 404, "envelope.json"),
        ({"code": 16, "message": "auth header missing"}, 401, "envelope.www_authenticate"),
    ],
)
def test_envelope_rules(body, status, rule):
    assert rule_of(check_envelope, request(), error(body, status)) == rule


def test_an_error_must_be_json():
    text = Response(404, {"Content-Type": "text/plain"}, json.dumps(NOT_FOUND))
    assert rule_of(check_envelope, request(), text) == "envelope.json"


@pytest.mark.parametrize(
    "body, status, rule",
    [
        ({"code": 9, "message": "Action is not active (COMMAND-Dgj92)"}, 412, "status.mapping"),
        ({"code": 5, "message": "not found"}, 400, "status.mapping"),
        ({"code": 16, "message": "x"}, 403, "status.mapping"),
    ],
)
def test_status_follows_grpc_gateway(body, status, rule):
    assert rule_of(check_status, request(), error(body, status)) == rule


def test_a_success_is_200_and_redirects_are_not_answers():
    assert rule_of(check_status, request(), ok(GOOD_ACTION, 201)) == "status.success"
    assert rule_of(check_status, request(), Response(302, {"Location": "/"})) == "status.mapping"


def test_assert_conforms_shows_the_exchange_without_the_token():
    with pytest.raises(AssertionError) as caught:
        assert_conforms(request(), ok({**GOOD_ACTION, "sequence": 7}))
    text = str(caught.value)
    assert "[details.sequence]" in text and "sent: POST" in text and "got:  HTTP 200" in text
    assert "Bearer t" not in text.replace("Bearer t...", "")


def _httpx(body, status=200, url=ACTION, headers=None):
    def handler(req):
        return httpx.Response(status, json=body, headers=headers)

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        response = client.post(url, json={}, headers={"x-zitadel-orgid": ORG})
        # A mock transport never times the exchange; schemathesis reads the time.
        response.elapsed = datetime.timedelta(0)
        return response


def test_httpx_adapter():
    request_, response = from_httpx(_httpx({"details": GOOD_ACTION}))
    assert request_.header("X-Zitadel-OrgId") == ORG and request_.body == b"{}"
    assert check_all(request_, response) == []
    assert check_all(*from_httpx(_httpx({"details": {**GOOD_ACTION, "sequence": 1}})))


def test_schemathesis_adapters():
    good = StResponse.from_any(_httpx({"details": GOOD_ACTION}))
    request_, response = from_schemathesis(good)
    assert request_.operation.rpc == "DeactivateAction" and response.status == 200
    # True means "did not apply", which schemathesis reports as skipped.
    assert zitadel_details(None, good, None) is False
    assert zitadel_envelope(None, good, None) is True
    assert zitadel_status(None, good, None) is False
    bad = StResponse.from_any(_httpx({"code": 5, "message": "x"}, status=400))
    with pytest.raises(RuleViolation, match=r"status\.mapping"):
        zitadel_status(None, bad, None)
