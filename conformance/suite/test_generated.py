"""Rule 1: generated traffic, positive and negative, and the stateful phase through the links."""

import pytest

from conformance import scenarios, spec

RPCS = list(spec.operations())


@pytest.mark.zitadel_check("generated")
@pytest.mark.parametrize("rpc", RPCS)
def test_generated_traffic(zitadel_target, zitadel_restore, rpc):
    scenarios.require_sendable(zitadel_target, rpc)
    zitadel_target.run_generated(rpc)


@pytest.mark.zitadel_check("links")
def test_stateful_phase_through_links(zitadel_target, zitadel_restore):
    zitadel_target.run_links()
