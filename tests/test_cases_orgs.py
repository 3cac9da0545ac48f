"""DeactivateOrg and ReactivateOrg ("/orgs/me"): the facts' rows (sections C.4, D, I.3, I.8)."""

from __future__ import annotations

import pytest
from rest_support import assert_details, assert_error, inactive_org, main_org, second_org

from mock_server.fixtures import SEED_TOKENS


def test_deactivate_then_reactivate_my_org(api) -> None:
    org_id = main_org(api.world)
    org = api.world.orgs[org_id]
    before = org.sequence
    # No header: "me" is the org of the token's user.
    response = api.call("DeactivateOrg")
    assert_details(response, "DeactivateOrg", org_id, sequence=before + 1)
    assert org.state.value == "inactive"
    response = api.call("ReactivateOrg")
    assert_details(response, "ReactivateOrg", org_id, sequence=before + 2)
    assert org.state.value == "active"


def test_org_already_deactivated(api) -> None:
    response = api.call("DeactivateOrg", org=inactive_org(api.world))
    message = "Organisation is already deactivated (EVENT-Dbs2g)"
    assert_error(response, 400, 9, message, "EVENT-Dbs2g")


def test_org_already_active(api) -> None:
    response = api.call("ReactivateOrg")
    assert_error(response, 400, 9, "Organisation is already active (EVENT-bfnrh)", "EVENT-bfnrh")


@pytest.mark.parametrize(
    ("rpc", "error_id"), [("DeactivateOrg", "ORG-oL9nT"), ("ReactivateOrg", "ORG-Dgf3g")]
)
def test_removed_org_is_not_found(api, rpc, error_id) -> None:
    # A removed org still passes the authz existence check; only an instance-level caller,
    # whose membership does not depend on the org, gets as far as the command.
    org = second_org(api.world)
    api.mock.admin.set_state("orgs", org, "removed")
    response = api.call(rpc, org=org)
    assert_error(response, 404, 5, f"Organisation not found ({error_id})", error_id)


@pytest.mark.parametrize("rpc", ["DeactivateOrg", "ReactivateOrg"])
def test_org_that_never_existed_in_the_header(api, rpc) -> None:
    response = api.call(rpc, org="100000000000000000")
    message = "Organisation doesn't exist (AUTH-Bs7Ds)"
    assert_error(response, 403, 7, message, "AUTH-Bs7Ds")


def test_reactivate_the_inactive_org_through_the_header_as_instance_owner(api) -> None:
    org = inactive_org(api.world)
    response = api.call("ReactivateOrg", org=org)
    assert_details(response, "ReactivateOrg", org)
    assert api.world.orgs[org].state.value == "active"


def test_the_inactive_orgs_owner_reactivates_it_without_the_header(api) -> None:
    org = inactive_org(api.world)
    response = api.call("ReactivateOrg", token=SEED_TOKENS.inactive_org_owner)
    assert_details(response, "ReactivateOrg", org)
    assert api.world.orgs[org].state.value == "active"


def test_an_org_owner_keeps_working_after_deactivating_the_org(api) -> None:
    # Deactivating an org touches no user, grant or token (facts I.3).
    org = main_org(api.world)
    assert_details(api.call("DeactivateOrg", token=SEED_TOKENS.org_owner), "DeactivateOrg", org)
    response = api.call("ReactivateOrg", token=SEED_TOKENS.org_owner)
    assert_details(response, "ReactivateOrg", org)


def test_another_orgs_owner_has_no_membership_here(api) -> None:
    response = api.call("DeactivateOrg", token=SEED_TOKENS.org_owner, org=second_org(api.world))
    assert_error(response, 404, 5, "membership not found (AUTHZ-cdgFk)", "AUTHZ-cdgFk")
    assert api.world.orgs[second_org(api.world)].state.value == "active"
