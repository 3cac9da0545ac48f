"""ObjectDetails of successes across every RPC: the sequence is the aggregate's own counter, the
date is its latest event's, resourceOwner is the owning org (facts C.6, I.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rest_support import (
    DATE_FIELD,
    Api,
    assert_details,
    find,
    main_org,
    parse_date,
    second_org,
)

# (kind, deactivate RPC, reactivate RPC)
KINDS = [
    ("actions", "DeactivateAction", "ReactivateAction"),
    ("users", "DeactivateUser", "ReactivateUser"),
    ("orgs", "DeactivateOrg", "ReactivateOrg"),
    ("user_grants", "DeactivateUserGrant", "ReactivateUserGrant"),
]


def _subject(api: Api, kind: str, org: str):
    if kind == "orgs":
        return api.world.orgs[org]
    return find(api.world, kind, org=org, state="active")


@pytest.mark.parametrize(("kind", "deactivate", "reactivate"), KINDS, ids=[k[0] for k in KINDS])
@pytest.mark.parametrize("where", ["own org", "org header"])
def test_each_transition_advances_the_sequence_by_one(api, kind, deactivate, reactivate, where):
    org = main_org(api.world) if where == "own org" else second_org(api.world)
    header = None if where == "own org" else org
    subject = _subject(api, kind, org)
    start = subject.sequence
    started = datetime.now(UTC) - timedelta(seconds=1)
    previous_date = None
    for step, rpc in enumerate([deactivate, reactivate, deactivate, reactivate], start=1):
        response = api.on(rpc, subject, org=header)
        details = assert_details(response, rpc, org, sequence=start + step)
        date = parse_date(details[DATE_FIELD[rpc]])
        # The date is that of the event just recorded, in UTC, never going backwards.
        assert date == subject.change_date
        assert started <= date <= datetime.now(UTC)
        if previous_date is not None:
            assert date >= previous_date
        previous_date = date
    assert subject.sequence == start + 4
    events = [e for e in api.world.events if e.aggregate_id == subject.id]
    assert [e.sequence for e in events] == list(range(1, start + 5))


def test_sequences_are_per_aggregate(api) -> None:
    org = main_org(api.world)
    first = find(api.world, "actions", org=org, state="active")
    second = next(
        a
        for a in api.world.actions.values()
        if a.resource_owner == org and a.state.value == "active" and a.id != first.id
    )
    before_first, before_second = first.sequence, second.sequence
    response = api.on("DeactivateAction", first)
    assert_details(response, "DeactivateAction", org, sequence=before_first + 1)
    response = api.on("DeactivateAction", second)
    assert_details(response, "DeactivateAction", org, sequence=before_second + 1)
    response = api.on("ReactivateAction", second)
    assert_details(response, "ReactivateAction", org, sequence=before_second + 2)
    assert first.sequence == before_first + 1


def test_failed_calls_leave_no_event(api) -> None:
    org = main_org(api.world)
    action = find(api.world, "actions", org=org, state="inactive")
    events_before = len(api.world.events)
    sequence_before = action.sequence
    assert api.on("DeactivateAction", action).status_code == 400
    user = find(api.world, "users", org=org, state="active")
    assert api.on("ReactivateUser", user).status_code == 400
    assert len(api.world.events) == events_before
    assert action.sequence == sequence_before
