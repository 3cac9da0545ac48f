"""Rule 5: unknown ids are not found (404, code 5) on every operation that takes an id."""

import pytest

from conformance import scenarios, spec
from conformance.scenarios import Scenario
from conformance.settings import flag

RPCS = [rpc for rpc, operation in spec.operations().items() if operation.path_params]


@pytest.mark.zitadel_check("not_found")
@pytest.mark.parametrize("rpc", RPCS)
def test_unknown_ids(zitadel_target, rpc):
    target = zitadel_target
    operation = spec.operations()[rpc]
    variants = [scenarios.unknown_params(operation)]
    ref = target.resources.first(operation.kind)
    if operation.kind == "user_grant" and ref is not None:
        # A known user with an unknown grant: the grant id alone selects.
        variants.append({"user_id": ref.params["user_id"], "grant_id": target.unknown_id()})
    scenario = Scenario(target, f"{rpc} with unknown ids")
    for params in variants:
        call = scenario.call(rpc, params, org=target.org)
        message = call.body.get("message") if isinstance(call.body, dict) else ""
        if scenarios.NO_MEMBERSHIP_ID in str(message):
            pytest.skip(
                "the caller has no membership in the org the suite works in, so every id is "
                f"'not found' for that reason; give a caller with rights ({flag('token')})"
            )
        scenario.expect_error(call, "not_found.unknown_id", status=404, code=5, what=str(params))
    scenario.finish()
