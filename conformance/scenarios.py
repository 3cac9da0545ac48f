"""What the scenario tests expect, in terms that fail with the exchange on screen.

A scenario fails on its own expectation (``auth.missing``, ``lifecycle.sequence``, ...) and on
any response rule the answers broke on the way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import pytest

from conformance import checks, spec
from conformance.provisioning import Ref
from conformance.rule_primitives import parse_date, show
from conformance.settings import flag
from conformance.target import Call, ConformanceFailure, Target, Violation

# How far a transition's date may be from the server's own clock: the Date header has whole
# seconds, and a proxy may add its own; a date stuck in the past or the future is off by more.
CLOCK_TOLERANCE = timedelta(seconds=120)

# The texts ZITADEL does not translate (its auth interceptor answers before translation).
AUTH_HEADER_MISSING = "auth header missing"
INVALID_AUTH_HEADER_ID = "AUTH-toLo1"
TOKEN_INVALID_ID = "AUTH-7fs1e"
ORG_NOT_FOUND_ID = "AUTH-Bs7Ds"
NO_PERMISSION_ID = "AUTH-5mWD2"
NO_MEMBERSHIP_ID = "AUTHZ-cdgFk"

SCENARIO_RULES = {
    "auth.missing": "no Authorization header: 401, code 16, 'auth header missing'",
    "auth.malformed": "an Authorization header that is not 'Bearer <token>': 401, code 16, "
    "AUTH-toLo1",
    "auth.unknown_token": "an unknown token: 401, code 16, AUTH-7fs1e",
    "auth.unknown_org": "x-zitadel-orgid of an org that does not exist: 403, code 7, AUTH-Bs7Ds",
    "auth.no_rights": "a caller without the permission: 403 code 7 (AUTH-5mWD2), without a "
    "membership: 404 code 5 (AUTHZ-cdgFk); nothing changes",
    "not_found.unknown_id": "unknown ids: 404, code 5",
    "lifecycle.deactivate": "deactivating an active resource: 200",
    "lifecycle.again": "deactivating it again: 400 code 9 (200 with unchanged details for a "
    "user grant under profile v4); the same for reactivating twice",
    "lifecycle.sequence": "reactivating answers a larger sequence than deactivating",
    "lifecycle.date": "each transition answers a date later than the previous transition's",
    "lifecycle.clock": "each transition's date is within "
    f"{CLOCK_TOLERANCE.total_seconds():g} s of the server's clock (its Date header)",
    "lifecycle.reactivate": "reactivating an inactive resource: 200",
    "lifecycle.end_state": "the resource ends in the state it started in",
    "isolation.not_found": "a resource of org A addressed with x-zitadel-orgid of org B: 404, "
    "code 5",
    "isolation.unchanged": "... and it is unchanged",
    **{rule: text for rule, text in checks.RULES.items() if rule.startswith("visibility.")},
}


class Scenario:
    """Calls of one scenario; fails with every broken expectation and response rule."""

    def __init__(self, target: Target, title: str) -> None:
        self.target = target
        self.title = title
        self.failures: list[Violation] = []
        self.calls: list[Call] = []
        self.unseen = False  # a transition did not show in the reads

    def call(self, rpc: str, params: dict[str, str] | None = None, **kwargs: Any) -> Call:
        call = self.target.call(rpc, params, **kwargs)
        self.calls.append(call)
        return call

    def see(self, call: Call, ref: Ref, state: str) -> None:
        """After ``call`` (a transition of ``ref``), the target's reads must show ``state``.

        Once the reads failed to show a transition, later checks of this scenario read once
        instead of waiting out the read timeout again.
        """
        outcome = self.target.reads.verify_transition(call, ref, state, wait=not self.unseen)
        if any(v.rule.startswith("visibility.") for v in outcome.violations):
            self.unseen = True
        self.failures += outcome.violations

    def fail(self, call: Call | None, rule: str, message: str) -> None:
        if call is None:
            call = self.calls[-1]
        self.failures.append(
            Violation(rule, message, call.operation.rpc, call.request, call.response)
        )

    def finish(self) -> None:
        __tracebackhide__ = True
        general = [v for call in self.calls for v in call.violations]
        failures = self.failures + general
        if failures:
            raise ConformanceFailure(f"{self.title}:", failures, {})

    def stop(self) -> None:
        """End the scenario now when an expectation failed that later steps rely on."""
        __tracebackhide__ = True
        if self.failures or any(call.status >= 500 for call in self.calls):
            self.finish()

    def expect_success(self, call: Call, rule: str, what: str) -> bool:
        if call.status == 200:
            return True
        if call.status >= 500:
            # Broken already by the rule that failed (not_a_server_error, in call.violations):
            # the scenario's own expectation cannot be judged, so it is not blamed.
            return False
        self.fail(call, rule, f"{what}: expected HTTP 200, got {outcome(call)}")
        return False

    def expect_error(
        self,
        call: Call,
        rule: str,
        *,
        status: int,
        code: int,
        message: str | None = None,
        error_id: str | None = None,
        what: str = "",
    ) -> bool:
        problems = []
        if call.status >= 500:
            return False  # see expect_success: not_a_server_error is the rule that failed
        if call.status != status or call.code != code:
            problems.append(f"expected HTTP {status} code {show(code)}, got {outcome(call)}")
        text = call.body.get("message") if isinstance(call.body, dict) else None
        if not problems and message is not None and text != message:
            problems.append(f"expected the message {message!r}, got {text!r}")
        if not problems and error_id is not None and error_id not in str(text):
            problems.append(f"expected the error {error_id} in the message, got {text!r}")
        if problems:
            self.fail(call, rule, (f"{what}: " if what else "") + "; ".join(problems))
            return False
        return True


def outcome(call: Call) -> str:
    """``HTTP 404 code 5``, the code quoted by its JSON type (``code "5"`` is a string)."""
    body = call.body
    if not isinstance(body, dict) or "code" not in body:
        return f"HTTP {call.status} (no code)"
    return f"HTTP {call.status} code {show(body['code'])}"


def check_clock(scenario: Scenario, call: Call, date: datetime | None, what: str) -> None:
    """``date`` (of ``call``'s details) must be near the server's clock, its Date header."""
    header = call.response.header("date")
    if date is None or header is None:
        return
    try:
        server_now = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return
    if server_now.tzinfo is None:  # "GMT" and "-0000" come back naive; HTTP dates are UTC
        server_now = server_now.replace(tzinfo=UTC)
    if abs(date - server_now) > CLOCK_TOLERANCE:
        scenario.fail(
            call,
            "lifecycle.clock",
            f"{what} answered the date {date.isoformat()}, but the server's clock (Date: "
            f"{header}) is {server_now.isoformat()}: more than "
            f"{CLOCK_TOLERANCE.total_seconds():g} s apart",
        )


def unknown_params(operation: spec.Operation) -> dict[str, str]:
    return {name: Target.unknown_id() for name in operation.path_params}


def require_sendable(target: Target, rpc: str) -> None:
    """Skip a test of ``rpc`` when the suite never sends it in this run (see safety)."""
    refusal = target.safety.refusal(spec.operations()[rpc])
    if refusal:
        pytest.skip(refusal)


def start_active(target: Target, ref: Ref, title: str) -> None:
    """Make ``ref`` active for a scenario; a resource found in another state was left so by
    someone else (or by a run that could not restore it), which the report says."""
    before = target.snapshot(ref)
    if before is not None and before.get("state") != "active" and target.matrix is not None:
        note = (
            f"{title}: found {ref.kind} {ref.id} {before.get('state')} at the start, a state "
            "this suite did not leave it in; it was made active again"
        )
        if note not in target.matrix.notes:
            target.matrix.notes.append(note)
    problem = target.ensure_active(ref)
    if problem:
        pytest.fail(f"{ref.kind} {ref.id} could not be made active before the scenario: {problem}")


def require(target: Target, kind: str) -> Ref:
    """The resource of ``kind`` a scenario works on, or a skip that says why there is none."""
    ref = target.resources.first(kind)
    if ref is None:
        reason = target.resources.missing or f"the resources file lists no {kind.replace('_', ' ')}"
        pytest.skip(reason)
    if kind == "org" and not target.may_touch_org:
        pytest.skip(
            "deactivates the org the suite works in; opt in with "
            f"{flag('allow_org_deactivation')}=1"
        )
    return ref


def details_of(call: Call) -> tuple[int | None, Any]:
    """(sequence, date) of a success, ``None`` where they cannot be read."""
    details = call.details
    sequence = details.get("sequence")
    date = details.get(call.operation.date_field)
    try:
        parsed_date = parse_date(date) if isinstance(date, str) else None
    except ValueError:
        parsed_date = None
    parsed_sequence = int(sequence) if isinstance(sequence, str) and sequence.isdigit() else None
    return parsed_sequence, parsed_date
