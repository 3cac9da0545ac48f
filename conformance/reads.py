"""State as the target's own reads show it: Get and List of each lifecycle resource.

The suite sees state on any target through ZITADEL's reads (GetUserByID, ListUsers, GetMyOrg,
GetAction, ListActions, GetUserGrantByID, ListUserGrants), never through our mock's control
plane. After each transition it polls the resource's Get until it shows the new state with a
sequence not below the write's, then asks the List: with a state query, the resource must be
included for its new state and excluded for the old one. ZITADEL's v1 reads come from
projections and may lag behind the writes (zitadel issue 7543), so the polling is bounded by
the read timeout and the time it took is reported as the lag.

Every answer is checked like any other (schemathesis' checks, status and envelope) plus the
read rules of :func:`conformance.read_checks.check_read`; all of it lands in the ``reads`` row of
the write whose effect was being read, the verdict in its ``visibility`` row.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from conformance import read_checks, spec
from conformance.model import Request, Response, from_schemathesis
from conformance.provisioning import Ref
from conformance.rule_primitives import RuleViolation, show

if TYPE_CHECKING:
    from conformance.target import Target, Violation

# The List query that selects one resource, and the one that selects a state, with ZITADEL's
# names (management.proto: ListUsersRequest.queries -> user.SearchQuery, ListActionsRequest ->
# action.ActionQuery). ListUserGrants has no state query (user.UserGrantQuery has none), so a
# grant is listed by its user and its listed state is compared instead.
STATE_QUERIES = {"user": "stateQuery", "action": "actionStateQuery"}
# ZITADEL's v1 maximum (SystemDefaults.MaxQueryLimit), so one page holds every grant of a user.
LIST_LIMIT = 1000
# The caller may act but not read: a skip with the reason, not a failure of the target.
_CANNOT_READ = ("AUTH-5mWD2", "AUTHZ-cdgFk")
_FIRST_PAUSE = 0.02
_MAX_PAUSE = 0.5


def id_query(ref: Ref) -> dict[str, Any]:
    """The List query entry that selects ``ref`` (a grant: every grant of its user)."""
    if ref.kind == "user":
        return {"inUserIdsQuery": {"userIds": [ref.id]}}
    if ref.kind == "action":
        return {"actionIdQuery": {"id": ref.id}}
    if ref.kind == "user_grant":
        return {"userIdQuery": {"userId": ref.params["user_id"]}}
    raise ValueError(f"no List for {ref.kind}")


def list_body(ref: Ref, read: spec.Read, state: str | None = None) -> dict[str, Any]:
    queries = [id_query(ref)]
    if state is not None:
        queries.append({STATE_QUERIES[ref.kind]: {"state": read.state_name(state)}})
    return {"query": {"offset": "0", "limit": LIST_LIMIT}, "queries": queries}


@dataclass
class ReadCall:
    """One read and what came of it."""

    read: spec.Read
    request: Request
    response: Response
    violations: list[Violation]

    @property
    def status(self) -> int:
        return self.response.status

    @property
    def code(self) -> int | None:
        body = self.response.json(default=None)
        return body.get("code") if isinstance(body, dict) else None

    def cannot_read(self) -> bool:
        body = self.response.json(default=None)
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        return self.status in (403, 404) and any(i in message for i in _CANNOT_READ)

    def item(self, resource_id: str | None = None) -> dict[str, Any] | None:
        return read_checks.read_item(self.response, self.read, resource_id)


@dataclass
class Visibility:
    """What the reads showed after one write."""

    violations: list[Violation] = field(default_factory=list)
    lag: float | None = None  # seconds until every read showed it
    skipped: str | None = None


class Reader:
    def __init__(self, target: Target) -> None:
        self.target = target

    # -- single reads -------------------------------------------------------------------------

    def call(
        self, read: spec.Read, ref: Ref, rpc: str | None, body: dict[str, Any] | None = None
    ) -> ReadCall:
        """One read of ``ref`` in its org; its answer checked and recorded under ``rpc``."""
        target = self.target
        params = {name: ref.params[name] for name in read.path_params}
        kwargs: dict[str, Any] = {
            "path_parameters": params,
            "headers": {spec.ORG_HEADER: ref.org},
        }
        if read.is_list:
            kwargs.update(body=body or {}, media_type="application/json")
        case = target.read_operation(read.rpc).Case(**kwargs)
        response = target.send(case)
        request, reply = from_schemathesis(response)
        violations = target.verify_read(read, case, response, rpc, (request, reply))
        return ReadCall(read, request, reply, violations)

    def get(self, ref: Ref, rpc: str | None = None) -> ReadCall:
        return self.call(spec.reads_of(ref.kind)[0], ref, rpc)

    def search(self, ref: Ref, rpc: str | None = None, state: str | None = None) -> ReadCall:
        listing = spec.reads_of(ref.kind)[1]
        assert listing is not None, f"{ref.kind} has no List"
        return self.call(listing, ref, rpc, list_body(ref, listing, state))

    def observe(self, ref: Ref) -> dict[str, Any] | None:
        """State (``active``/``inactive``/the enum name), sequence and changeDate as the Get
        shows them; ``None`` when it cannot be read."""
        call = self.get(ref)
        item = call.item() if call.status == 200 else None
        if item is None:
            return None
        read = call.read
        state = item.get("state")
        names = {read.active: "active", read.inactive: "inactive"}
        details = item.get("details") if isinstance(item.get("details"), dict) else {}
        return {
            "state": names.get(state, state),
            "sequence": details.get("sequence"),
            "change_date": details.get("changeDate"),
        }

    # -- after a write ------------------------------------------------------------------------

    def await_state(
        self,
        ref: Ref,
        rpc: str | None,
        state: str,
        *,
        sequence: int | None,
        since: float,
        timeout: float,
    ) -> Visibility:
        """Poll the reads of ``ref`` until they show ``state`` (after ``rpc`` answered at
        ``since``, a ``time.monotonic()`` value), for at most ``timeout`` seconds.

        Without ``rpc`` the reads are checked as they stand and recorded nowhere.
        """
        outcome = Visibility()
        deadline = since + timeout
        get, listing = spec.reads_of(ref.kind)

        def shown(call: ReadCall) -> None:
            read_checks.check_visible(
                call.request, call.response, state=state, sequence=sequence, read=get
            )

        def listed(query_state: str | None, included: bool) -> Any:
            def check(call: ReadCall) -> None:
                read_checks.check_listed(
                    call.request,
                    call.response,
                    ref.id,
                    listed=included,
                    # Listed by user (no state query): the entry itself must show the state.
                    state=state if query_state is None else None,
                    read=listing,
                )

            return check

        expectations: list[tuple[spec.Read, str | None, Any]] = [(get, None, shown)]
        if listing is not None and ref.kind in STATE_QUERIES:
            other = "inactive" if state == "active" else "active"
            expectations.append((listing, state, listed(state, True)))
            expectations.append((listing, other, listed(other, False)))
        elif listing is not None:
            expectations.append((listing, None, listed(None, True)))
        for read, query_state, expect in expectations:
            body = list_body(ref, read, query_state) if read.is_list else None
            call, problem = self._poll(read, ref, rpc, body, expect, deadline)
            outcome.violations += call.violations
            if problem == "cannot read":
                outcome.skipped = (
                    f"the caller may not read ({read.rpc} answered HTTP {call.status} code "
                    f"{show(call.code)}); give a token with the read permissions"
                )
                return outcome
            if problem is not None:
                from conformance.target import Violation

                waited = max(0.0, time.monotonic() - since)
                after = (
                    f"{rpc} of {ref.kind} {ref.id} answered {_answered(sequence)}, but after "
                    f"{waited:.1f}s "
                    if rpc is not None
                    else f"{ref.kind} {ref.id} should be {state}, but "
                )
                outcome.violations.append(
                    Violation(
                        problem.rule,
                        after + problem.message,
                        read.rpc,
                        call.request,
                        call.response,
                    )
                )
                return outcome
        outcome.lag = max(0.0, time.monotonic() - since)
        return outcome

    def verify_transition(
        self, call: Any, ref: Ref, state: str, *, wait: bool = True
    ) -> Visibility:
        """After ``call`` (a transition of ``ref``, :class:`conformance.target.Call`) the reads
        must show ``state``; recorded in the ``visibility`` row (and the lag) of its RPC.

        After a 200 the reads get the read timeout to catch up; after an error nothing may
        have changed, so one read each must show it already (as with ``wait=False``).
        """
        target = self.target
        operation = call.operation
        success = call.status == 200
        sequence = _sequence(call.details) if success else None
        outcome = self.await_state(
            ref,
            operation.rpc,
            state,
            sequence=sequence,
            since=call.answered_at,
            timeout=target.settings.read_timeout if success and wait else 0.0,
        )
        if target.matrix is not None:
            if outcome.skipped:
                target.matrix.skipped(operation.rpc, "visibility", outcome.skipped)
            own = [v for v in outcome.violations if v.rule.startswith("visibility.")]
            for violation in own:
                target.record(operation, "visibility", violation)
            if not own and not outcome.skipped:
                target.record(operation, "visibility")
            if success and wait and outcome.lag is not None:
                target.matrix.lag(operation.rpc, outcome.lag)
        return outcome

    def _poll(
        self,
        read: spec.Read,
        ref: Ref,
        rpc: str | None,
        body: dict[str, Any] | None,
        expect: Any,
        deadline: float,
    ) -> tuple[ReadCall, Any]:
        """Read until ``expect`` holds or the deadline passed: (last call, problem or None)."""
        pause = _FIRST_PAUSE
        while True:
            call = self.call(read, ref, rpc, body)
            if call.cannot_read():
                return call, "cannot read"
            if call.status != 200:
                problem = RuleViolation(
                    "visibility.state",
                    f"{read.rpc} answered HTTP {call.status} code {show(call.code)}",
                )
            else:
                try:
                    expect(call)
                except RuleViolation as violation:
                    problem = violation
                else:
                    return call, None
            if time.monotonic() + pause > deadline:
                return call, problem
            time.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE)


def _sequence(details: dict[str, Any]) -> int | None:
    value = details.get("sequence")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _answered(sequence: int | None) -> str:
    return "200" if sequence is None else f"200 with sequence {sequence}"
