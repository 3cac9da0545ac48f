"""The read rules (``reads.*``) and the visibility rules (``visibility.*``) as plain functions.

Expectations follow ZITADEL's converters (docs/zitadel-read-facts.md): enum names for states,
ToViewDetailsPb's four keys for users, orgs and grants, ChangeToDetailsPb (no creationDate) for
actions, list details with totalResult as a string and zero values omitted."""

from __future__ import annotations

import json

import pytest

from conformance import RULES, Request, Response, RuleViolation, check_all, spec
from conformance.provisioning import Ref
from conformance.read_checks import check_listed, check_read, check_visible
from conformance.reads import STATE_QUERIES, id_query

BASE = "http://zitadel.example/management/v1"
ORG = "69629023906488334"
USER_DETAILS = {
    "sequence": "3",
    "creationDate": "2025-01-06T09:00:13.644Z",
    "changeDate": "2025-01-06T09:00:20.466Z",
    "resourceOwner": ORG,
}
ACTION_DETAILS = {"sequence": "2", "changeDate": "2025-01-06T09:00:45.48Z", "resourceOwner": ORG}
DATED_ACTION_DETAILS = {**ACTION_DETAILS, "creationDate": "2025-01-06T09:00:00Z"}


def get(url, org=ORG):
    return Request("GET", url, {"Authorization": "Bearer t", "x-zitadel-orgid": org})


def search(url, body=None):
    return Request("POST", url, {"x-zitadel-orgid": ORG}, json.dumps(body or {}))


def ok(body):
    return Response(200, {"Content-Type": "application/json"}, json.dumps(body))


def user(state="USER_STATE_INACTIVE", uid="7", **changes):
    return {"id": uid, "details": dict(USER_DETAILS), "state": state, "userName": "u", **changes}


def rule_of(check, *args, **kwargs):
    with pytest.raises(RuleViolation) as caught:
        check(*args, **kwargs)
    assert caught.value.rule in RULES
    return caught.value.rule


def test_good_reads_pass():
    assert check_read(get(f"{BASE}/users/7"), ok({"user": user()}))
    action = {"id": "5", "details": ACTION_DETAILS, "state": "ACTION_STATE_ACTIVE"}
    assert check_read(get(f"{BASE}/actions/5"), ok({"action": action}))
    org = {"id": ORG, "details": USER_DETAILS, "state": "ORG_STATE_ACTIVE", "name": "o"}
    assert check_read(get(f"{BASE}/orgs/me"), ok({"org": org}))
    listed = {"details": {"totalResult": "5", "viewTimestamp": "2025-01-06T09:00:00.1Z"}}
    assert check_read(search(f"{BASE}/users/_search"), ok({**listed, "result": [user()]}))
    # An empty result: ZITADEL omits both the result and the zero totalResult.
    assert check_read(search(f"{BASE}/users/_search"), ok({"details": {}}))
    assert not check_all(get(f"{BASE}/users/7"), ok({"user": user()}))


@pytest.mark.parametrize(
    ("url", "body", "rule"),
    [
        ("/users/7", {"details": USER_DETAILS}, "reads.body"),
        ("/users/7", {"user": user(uid="8")}, "reads.id"),
        ("/users/x/grants/9", {"userGrant": user(uid="8", state="USER_GRANT_STATE_ACTIVE")},
         "reads.id"),
        ("/users/7", {"user": user(state=2)}, "reads.state"),
        ("/users/7", {"user": user(state="ACTION_STATE_ACTIVE")}, "reads.state"),
        ("/users/7", {"user": {**user(), "details": {**USER_DETAILS, "sequence": 3}}},
         "reads.details"),
        ("/users/7", {"user": {**user(), "details": {**USER_DETAILS, "resourceOwner": "1"}}},
         "reads.details"),
        ("/users/7", {"user": {**user(), "details": {**USER_DETAILS,
                                                     "changeDate": "2025-01-06T09:00:20+00:00"}}},
         "reads.details"),
        # Actions read through ChangeToDetailsPb: no creationDate, even on read.
        ("/actions/5", {"action": {"id": "5", "state": "ACTION_STATE_ACTIVE",
                                   "details": DATED_ACTION_DETAILS}},
         "reads.details"),
        ("/orgs/me", {"org": {"id": "1", "state": "ORG_STATE_ACTIVE", "details": USER_DETAILS}},
         "reads.id"),
    ],
)  # fmt: skip
def test_get_rules(url, body, rule):
    assert rule_of(check_read, get(BASE + url), ok(body)) == rule


@pytest.mark.parametrize(
    ("body", "rule"),
    [
        ({"result": [user()]}, "reads.list_details"),
        ({"details": {"totalResult": 1}, "result": [user()]}, "reads.list_details"),
        ({"details": {}, "result": [user()]}, "reads.list_details"),
        ({"details": {"totalResult": "1"}, "result": [user(), user(uid="8")]},
         "reads.list_details"),
        ({"details": {"viewTimestamp": "yesterday"}}, "reads.list_details"),
        ({"details": {"totalResult": "1"}, "result": {"id": "7"}}, "reads.body"),
        ({"details": {"totalResult": "1"}, "result": [user(state="USER_STATE_9")]}, None),
    ],
)  # fmt: skip
def test_list_rules(body, rule):
    request, response = search(f"{BASE}/users/_search"), ok(body)
    if rule is None:
        assert check_read(request, response)
    else:
        assert rule_of(check_read, request, response) == rule


def test_read_rules_do_not_apply_to_errors_or_writes():
    error = Response(404, {"Content-Type": "application/json"}, '{"code": 5, "message": "x"}')
    assert not check_read(get(f"{BASE}/users/7"), error)
    write = Request("POST", f"{BASE}/users/7/_deactivate", {}, b"{}")
    assert not check_read(write, ok({"details": USER_DETAILS}))


def test_visible_needs_the_state_and_a_sequence_not_below_the_writes():
    request = get(f"{BASE}/users/7")
    assert check_visible(request, ok({"user": user()}), state="inactive", sequence=3)
    stale = ok({"user": user(state="USER_STATE_ACTIVE")})
    assert rule_of(check_visible, request, stale, state="inactive", sequence=3) == (
        "visibility.state"
    )
    behind = ok({"user": user()})
    assert rule_of(check_visible, request, behind, state="inactive", sequence=4) == (
        "visibility.sequence"
    )


def test_listed_includes_excludes_and_compares_the_listed_state():
    request = search(f"{BASE}/users/grants/_search")
    grant = {"id": "9", "state": "USER_GRANT_STATE_ACTIVE"}
    answer = ok({"details": {"totalResult": "1"}, "result": [grant]})
    assert check_listed(request, answer, "9", listed=True, state="active")
    # The CVE-2024-46999 class: a deactivated grant still listed as active.
    assert rule_of(check_listed, request, answer, "9", listed=True, state="inactive") == (
        "visibility.list"
    )
    assert rule_of(check_listed, request, answer, "9", listed=False) == "visibility.list"
    empty = ok({"details": {}})
    assert rule_of(check_listed, request, empty, "9", listed=True) == "visibility.list"
    assert check_listed(request, empty, "9", listed=False)


def test_the_list_queries_the_suite_sends_are_in_the_spec():
    document = spec.contract.load_spec()
    schemas = document["components"]["schemas"]
    known = {
        "user": set(schemas["v1UserSearchQuery"]["properties"]),
        "action": set(schemas["v1ActionQuery"]["properties"]),
        "user_grant": set(schemas["v1UserGrantQuery"]["properties"]),
    }
    for kind, names in known.items():
        ref = Ref(kind, "1", ORG, {"id": "1", "user_id": "2", "grant_id": "1"})
        assert set(id_query(ref)) <= names, kind
        if kind in STATE_QUERIES:
            assert STATE_QUERIES[kind] in names
    # ZITADEL has no user grant state query; the suite must not invent one.
    assert not any("state" in name.lower() for name in known["user_grant"])


def test_every_read_of_the_spec_has_a_kind_of_the_writes():
    assert {read.kind for read in spec.reads().values()} == set(spec.kinds())
    assert spec.reads_of("org")[1] is None
    assert spec.reads_of("action")[0].date_fields == ("changeDate",)
