"""Rule 4: who may call. ZITADEL's auth interceptor answers before translation, so the error
ids and the missing-header text are compared exactly."""

import pytest

from conformance import scenarios, spec
from conformance.scenarios import Scenario
from conformance.settings import flag

RPCS = list(spec.operations())


def _where(target, rpc):
    """Path parameters and org of a real resource when there is one: a server that forgets to
    check would then change it (and the suite would put it back)."""
    scenarios.require_sendable(target, rpc)
    operation = spec.operations()[rpc]
    if operation.kind == "org":
        # Never the org the suite works in: a server that skipped auth must not deactivate it.
        return {}, target.unknown_id()
    ref = target.resources.first(operation.kind)
    if ref is None:
        return scenarios.unknown_params(operation), target.org
    return ref.params, ref.org


@pytest.mark.zitadel_check("auth")
@pytest.mark.parametrize("rpc", RPCS)
def test_no_authorization_header(zitadel_target, zitadel_restore, rpc):
    params, org = _where(zitadel_target, rpc)
    scenario = Scenario(zitadel_target, f"{rpc} without an Authorization header")
    call = scenario.call(rpc, params, org=org, authorization=None)
    scenario.expect_error(
        call, "auth.missing", status=401, code=16, message=scenarios.AUTH_HEADER_MISSING
    )
    scenario.finish()


@pytest.mark.zitadel_check("auth")
@pytest.mark.parametrize("rpc", RPCS)
def test_malformed_authorization_header(zitadel_target, zitadel_restore, rpc):
    params, org = _where(zitadel_target, rpc)
    token = zitadel_target.token
    scenario = Scenario(zitadel_target, f"{rpc} with a malformed Authorization header")
    # The prefix is case-sensitive: a valid token after "bearer " is still refused.
    for value in (f"bearer {token}", "Basic Y29uZm9ybWFuY2U6c3VpdGU="):
        call = scenario.call(rpc, params, org=org, authorization=value)
        scenario.expect_error(
            call,
            "auth.malformed",
            status=401,
            code=16,
            error_id=scenarios.INVALID_AUTH_HEADER_ID,
            what=f"Authorization: {value.split(' ')[0]} ...",
        )
    scenario.finish()


@pytest.mark.zitadel_check("auth")
@pytest.mark.parametrize("rpc", RPCS)
def test_unknown_token(zitadel_target, zitadel_restore, rpc):
    params, org = _where(zitadel_target, rpc)
    scenario = Scenario(zitadel_target, f"{rpc} with an unknown token")
    call = scenario.call(rpc, params, org=org, token=f"unknown-{zitadel_target.unknown_id()}")
    scenario.expect_error(
        call, "auth.unknown_token", status=401, code=16, error_id=scenarios.TOKEN_INVALID_ID
    )
    scenario.finish()


@pytest.mark.zitadel_check("auth")
@pytest.mark.parametrize("rpc", RPCS)
def test_unknown_org(zitadel_target, zitadel_restore, rpc):
    params, _ = _where(zitadel_target, rpc)
    scenario = Scenario(zitadel_target, f"{rpc} with x-zitadel-orgid of an org that does not exist")
    call = scenario.call(rpc, params, org=zitadel_target.unknown_id())
    scenario.expect_error(
        call, "auth.unknown_org", status=403, code=7, error_id=scenarios.ORG_NOT_FOUND_ID
    )
    scenario.finish()


_NO_RIGHTS = {
    "no_membership": (404, 5, scenarios.NO_MEMBERSHIP_ID),
    "no_permission": (403, 7, scenarios.NO_PERMISSION_ID),
}


@pytest.mark.zitadel_check("auth")
@pytest.mark.parametrize("caller", sorted(_NO_RIGHTS))
@pytest.mark.parametrize("rpc", RPCS)
def test_caller_without_rights(zitadel_target, zitadel_restore, rpc, caller):
    target = zitadel_target
    token = target.resources.tokens.get(caller)
    if token is None:
        pytest.skip(
            target.resources.missing
            or f"the resources file names no '{caller}' token (tokens: {{{caller}: ...}})"
        )
    scenarios.require_sendable(target, rpc)
    operation = spec.operations()[rpc]
    if operation.kind == "org" and target.resources.org and not target.may_touch_org:
        pytest.skip(
            "a caller without rights is sent to the org the suite works in, which a server "
            "that failed to refuse would deactivate; opt in with "
            + flag("allow_org_deactivation")
            + "=1"
        )
    ref = scenarios.require(target, operation.kind)
    status, code, error_id = _NO_RIGHTS[caller]
    before = target.snapshot(ref)
    scenario = Scenario(target, f"{rpc} by a caller with {caller.replace('_', ' ')} in the org")
    call = scenario.call(rpc, ref.params, org=ref.org, token=token)
    scenario.expect_error(call, "auth.no_rights", status=status, code=code, error_id=error_id)
    after = target.snapshot(ref)
    if before != after:
        scenario.fail(
            call,
            "auth.no_rights",
            f"the refused call changed {ref.kind} {ref.id}: {before} -> {after}",
        )
    scenario.finish()
