"""DeactivateAction and ReactivateAction: every row of the facts' per-case table (section D)."""

from __future__ import annotations

import pytest
from rest_support import (
    assert_details,
    assert_error,
    find,
    main_org,
    second_org,
)

from mock_server.fixtures import SEED_TOKENS

NOT_FOUND_ID = {"DeactivateAction": "COMMAND-NRmhu", "ReactivateAction": "COMMAND-Aa22g"}
# The state each RPC starts from when it succeeds.
FROM_STATE = {"DeactivateAction": "active", "ReactivateAction": "inactive"}
TO_STATE = {"DeactivateAction": "inactive", "ReactivateAction": "active"}


@pytest.mark.parametrize("rpc", ["DeactivateAction", "ReactivateAction"])
def test_transition_succeeds_with_creation_date_details(api, rpc) -> None:
    org = main_org(api.world)
    action = find(api.world, "actions", org=org, state=FROM_STATE[rpc])
    before = action.sequence
    response = api.on(rpc, action)
    assert_details(response, rpc, org, sequence=before + 1)
    assert action.state.value == TO_STATE[rpc]


@pytest.mark.parametrize("rpc", ["DeactivateAction", "ReactivateAction"])
def test_unknown_action_is_not_found(api, rpc) -> None:
    response = api.call(rpc, id="100000000000000000")
    message = f"Action not found ({NOT_FOUND_ID[rpc]})"
    assert_error(response, 404, 5, message, NOT_FOUND_ID[rpc])


@pytest.mark.parametrize("rpc", ["DeactivateAction", "ReactivateAction"])
def test_action_of_another_org_is_not_found(api, rpc) -> None:
    # In the state the RPC would accept, so only the org scoping can refuse it.
    action = find(api.world, "actions", org=second_org(api.world), state=FROM_STATE[rpc])
    response = api.on(rpc, action)
    assert_error(response, 404, 5, f"Action not found ({NOT_FOUND_ID[rpc]})", NOT_FOUND_ID[rpc])
    assert action.state.value == FROM_STATE[rpc]


@pytest.mark.parametrize("rpc", ["DeactivateAction", "ReactivateAction"])
def test_removed_action_is_not_found(api, rpc) -> None:
    action = find(api.world, "actions", org=main_org(api.world), state=FROM_STATE[rpc])
    api.mock.admin.set_state("actions", action.id, "removed")
    response = api.on(rpc, action)
    assert_error(response, 404, 5, f"Action not found ({NOT_FOUND_ID[rpc]})", NOT_FOUND_ID[rpc])


def test_deactivate_an_inactive_action(api) -> None:
    action = find(api.world, "actions", org=main_org(api.world), state="inactive")
    before = action.sequence
    response = api.on("DeactivateAction", action)
    assert_error(response, 400, 9, "Action is not active (COMMAND-Dgj92)", "COMMAND-Dgj92")
    assert action.sequence == before


def test_reactivate_an_active_action(api) -> None:
    action = find(api.world, "actions", org=main_org(api.world), state="active")
    response = api.on("ReactivateAction", action)
    assert_error(response, 400, 9, "Action is not inactive (COMMAND-J53zh)", "COMMAND-J53zh")
    assert action.state.value == "active"


@pytest.mark.parametrize("rpc", ["DeactivateAction", "ReactivateAction"])
@pytest.mark.parametrize("action_id", ["x" * 201, "é" * 201, "9" * 1000])
def test_action_ids_have_no_length_rule(api, rpc, action_id) -> None:
    # DeactivateActionRequest.id carries no validation rule: a long id is simply not found.
    response = api.call(rpc, id=action_id)
    assert_error(response, 404, 5, f"Action not found ({NOT_FOUND_ID[rpc]})", NOT_FOUND_ID[rpc])


def test_admin_reaches_another_orgs_action_through_the_org_header(api) -> None:
    org = second_org(api.world)
    action = find(api.world, "actions", org=org, state="active")
    response = api.on("DeactivateAction", action, org=org)
    assert_details(response, "DeactivateAction", org)
    assert action.state.value == "inactive"


def test_org_owner_acts_in_its_own_org_without_the_header(api) -> None:
    org = second_org(api.world)
    action = find(api.world, "actions", org=org, state="inactive")
    response = api.on("ReactivateAction", action, token=SEED_TOKENS.second_org_owner)
    assert_details(response, "ReactivateAction", org)
