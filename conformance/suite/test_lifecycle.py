"""Rule 6: deactivate, again, reactivate, again on a provisioned resource of each kind; after
each call the target's own reads must show the state it left (the ``visibility`` row)."""

from __future__ import annotations

import pytest

from conformance import scenarios, spec
from conformance.scenarios import Scenario

KINDS = ["action", "user", "user_grant", "org"]


@pytest.mark.zitadel_check("lifecycle", "visibility")
@pytest.mark.parametrize("kind", KINDS)
def test_lifecycle(zitadel_target, zitadel_restore, kind):
    target = zitadel_target
    ref = scenarios.require(target, kind)
    deactivate, reactivate = spec.kinds()[kind]
    # ZITADEL v4 made both user grant transitions idempotent: 200 with the existing details.
    idempotent = kind == "user_grant" and target.profile == "v4"
    scenarios.start_active(target, ref, "lifecycle")
    scenario = Scenario(target, f"lifecycle of {kind} {ref.id} (profile {target.profile})")

    first = scenario.call(deactivate.rpc, ref.params, org=ref.org)
    scenario.expect_success(first, "lifecycle.deactivate", "deactivating an active " + kind)
    scenario.stop()
    scenario.see(first, ref, "inactive")
    again = _again(scenario, deactivate.rpc, ref, first, idempotent, "deactivating it again")
    scenario.see(again, ref, "inactive")

    second = scenario.call(reactivate.rpc, ref.params, org=ref.org)
    scenario.expect_success(second, "lifecycle.reactivate", "reactivating the inactive " + kind)
    scenario.stop()
    scenario.see(second, ref, "active")
    seq1, date1 = scenarios.details_of(first)
    seq2, date2 = scenarios.details_of(second)
    if seq1 is not None and seq2 is not None and seq2 <= seq1:
        scenario.fail(
            second,
            "lifecycle.sequence",
            f"reactivating answered sequence {seq2}, not larger than deactivating ({seq1})",
        )
    if date1 is not None and date2 is not None and date2 <= date1:
        scenario.fail(
            second,
            "lifecycle.date",
            f"reactivating answered {date2.isoformat()}, not later than deactivating "
            f"({date1.isoformat()})",
        )
    scenarios.check_clock(scenario, first, date1, "deactivating")
    scenarios.check_clock(scenario, second, date2, "reactivating")
    again = _again(scenario, reactivate.rpc, ref, second, idempotent, "reactivating it again")
    scenario.see(again, ref, "active")

    end = target.snapshot(ref)
    # Read through the target's Get; when it cannot be read, the visibility row says why.
    if end is not None and end["state"] != "active":
        scenario.fail(
            None, "lifecycle.end_state", f"{kind} {ref.id} ended {end['state']}, not active"
        )
    scenario.finish()


def _again(scenario, rpc, ref, previous, idempotent, what):
    call = scenario.call(rpc, ref.params, org=ref.org)
    if not idempotent:
        scenario.expect_error(call, "lifecycle.again", status=400, code=9, what=what)
        return call
    if not scenario.expect_success(call, "lifecycle.again", what + " (idempotent under v4)"):
        return call
    if call.details.get("sequence") != previous.details.get("sequence"):
        scenario.fail(
            call,
            "lifecycle.again",
            f"{what} must answer the existing details, but the sequence moved from "
            f"{previous.details.get('sequence')} to {call.details.get('sequence')}",
        )
    return call
