"""The reads of each provisioned resource while it is active: Get and List, every answer
checked against the spec and the read rules (the ``reads`` row). Read-only, so the org is read
too without --zitadel-allow-org-deactivation."""

from __future__ import annotations

import dataclasses
import time

import pytest

from conformance.scenarios import Scenario

KINDS = ["action", "user", "user_grant", "org"]


@pytest.mark.zitadel_check("reads")
@pytest.mark.parametrize("kind", KINDS)
def test_reads_show_the_active_resource(zitadel_target, zitadel_restore, kind):
    target = zitadel_target
    ref = target.resources.first(kind)
    if ref is None:
        pytest.skip(
            target.resources.missing or f"the resources file lists no {kind.replace('_', ' ')}"
        )
    if kind != "org" or target.may_touch_org:
        # The org is never reactivated without the opt-in; resources start active.
        problem = target.ensure_active(ref)
        if problem:
            pytest.fail(f"{kind} {ref.id} could not be made active before the scenario: {problem}")
    scenario = Scenario(target, f"the reads of {kind} {ref.id}, which is active")
    outcome = target.reads.await_state(
        ref, None, "active", sequence=None, since=time.monotonic(), timeout=0.0
    )
    if outcome.skipped:
        pytest.skip(outcome.skipped)
    scenario.failures += [
        dataclasses.replace(v, rule="reads.listed") if v.rule.startswith("visibility.") else v
        for v in outcome.violations
    ]
    scenario.finish()
