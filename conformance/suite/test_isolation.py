"""Rule 7: a resource of org A addressed with x-zitadel-orgid of org B is not found, unchanged."""

from __future__ import annotations

import pytest

from conformance import scenarios, spec
from conformance.scenarios import Scenario

KINDS = ["action", "user", "user_grant"]


@pytest.mark.zitadel_check("isolation", "visibility")
@pytest.mark.parametrize("kind", KINDS)
def test_other_org_does_not_see_it(zitadel_target, zitadel_restore, kind):
    target = zitadel_target
    ref = scenarios.require(target, kind)
    other = target.other_org
    if other is None:
        pytest.skip(
            target.resources.missing
            or "the resources file names no other_org (a second org the caller may act in)"
        )
    deactivate, reactivate = spec.kinds()[kind]
    scenarios.start_active(target, ref, "isolation")
    scenario = Scenario(target, f"{kind} {ref.id} of org {ref.org} addressed from org {other}")
    # Each attempt from B is followed by the same transition in A, which only succeeds if the
    # attempt from B changed nothing (and on our mock the control plane compares directly).
    for attempt, proof, state in (
        (deactivate, deactivate, "inactive"),
        (reactivate, reactivate, "active"),
    ):
        before = target.snapshot(ref)
        call = scenario.call(attempt.rpc, ref.params, org=other)
        message = call.body.get("message") if isinstance(call.body, dict) else ""
        if scenarios.NO_MEMBERSHIP_ID in str(message):
            pytest.skip(f"the caller has no membership in the other org {other}")
        scenario.expect_error(call, "isolation.not_found", status=404, code=5, what=attempt.rpc)
        after = target.snapshot(ref)
        if before != after:
            scenario.fail(
                call,
                "isolation.unchanged",
                f"{attempt.rpc} from org {other} changed it: {before} -> {after}",
            )
        in_a = scenario.call(proof.rpc, ref.params, org=ref.org)
        scenario.expect_success(
            in_a,
            "isolation.unchanged",
            f"{proof.rpc} in org {ref.org} after the attempt from org {other}",
        )
        scenario.stop()
        scenario.see(in_a, ref, state)
    scenario.finish()
