"""Deliberately broken servers: our mock behind a wrapper that breaks one rule per mode.

Each fault names the rules the conformance suite must report for it. The server runs in its own
process (``python conformance_fault_server.py --port N``) so that it does not share the test's
interpreter; ``PUT /_fault {"mode": "<fault>"}`` switches the fault (``null`` for none).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.types import Message, Receive, Scope, Send

MANAGEMENT = "/management/v1/"
ADMIN_TOKEN = "admin-pat"


@dataclass(frozen=True)
class Fault:
    rule: str  # one rule of the issue that it breaks
    description: str
    expected: tuple[str, ...]  # rule ids / check names of which the suite must report one
    column: str  # the matrix column that must fail
    suite_args: tuple[str, ...] = ()  # extra arguments for the run that must catch it
    # Reads (Get*/List*) pass the mock untouched unless the fault is about them.
    on_reads: bool = False
    # Caught through the reads alone: run against a target without control plane, with a
    # resources file (behind a proxy that hides /_mock).
    without_control: bool = False
    # Rules the suite must not blame for this fault (another rule is the one that failed).
    not_blamed: tuple[str, ...] = ()
    # A text one of the reported failures must contain (how the suite describes the fault).
    described_as: str | None = None


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0
    response_headers: list[tuple[bytes, bytes]] | None = None
    body: bytes = b""

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def set_json(self, value: Any) -> None:
        self.body = json.dumps(value).encode()

    def set_header(self, name: str, value: str | None) -> None:
        assert self.response_headers is not None
        key = name.lower().encode()
        self.response_headers = [(k, v) for k, v in self.response_headers if k.lower() != key]
        if value is not None:
            self.response_headers.append((key, value.encode("latin-1")))

    @property
    def is_success(self) -> bool:
        return self.status == 200

    @property
    def details(self) -> dict[str, Any] | None:
        body = self.json
        return body.get("details") if isinstance(body, dict) and self.is_success else None

    @property
    def transition(self) -> str:
        return "deactivate" if self.path.endswith("/_deactivate") else "reactivate"

    @property
    def is_write(self) -> bool:
        return self.path.endswith(("/_deactivate", "/_reactivate"))


FAULTS: dict[str, Fault] = {
    # 1. generated traffic
    "server_error": Fault(
        "1 no server error",
        "invalid bodies (400 code 3) answer 500 code 13 instead",
        ("not_a_server_error",),
        "5xx",
    ),
    "success_201": Fault(
        "1 documented status codes",
        "a success answers 201 instead of 200",
        ("status.success", "response_schema_conformance"),
        "status",
    ),
    "errors_as_text": Fault(
        "1 documented content type",
        "errors are served as text/plain",
        ("content_type_conformance", "envelope.json"),
        "content-type",
    ),
    "unwrapped_details": Fault(
        "1 bodies valid against the spec",
        "a success body is the details object itself, not {details: ...}",
        ("response_schema_conformance", "details.present"),
        "schema",
    ),
    "links_500": Fault(
        "1 stateful phase via links",
        "a reactivation right after the deactivation of the same id answers 500",
        ("not_a_server_error",),
        "links",
        ("-k", "links", "--zitadel-examples", "60"),
    ),
    # 2. details
    "sequence_number": Fault(
        "2 sequence a decimal string",
        "sequence is a JSON number",
        ("details.sequence",),
        "details",
    ),
    "date_offset": Fault(
        "2 dates RFC 3339 UTC",
        "the date is written with +00:00 instead of Z",
        ("details.date",),
        "details",
    ),
    "both_dates": Fault(
        "2 only the operation's date field",
        "details carry both creationDate and changeDate",
        ("details.date_field",),
        "details",
    ),
    "foreign_resource_owner": Fault(
        "2 resourceOwner is the org of the call",
        "resourceOwner is the instance id",
        ("details.resource_owner",),
        "details",
    ),
    # 3. envelope
    "code_as_name": Fault(
        "3 code an integer",
        'code is the gRPC code\'s name (Connect style), e.g. "not_found"',
        ("envelope.code",),
        "envelope",
    ),
    "precondition_412": Fault(
        "3 code consistent with the HTTP status",
        "FailedPrecondition (9) is sent as HTTP 412, not 400",
        ("status.mapping",),
        "status",
    ),
    "message_missing": Fault(
        "3 message a string",
        "the error body has no message",
        ("envelope.message",),
        "envelope",
    ),
    "untyped_error_details": Fault(
        "3 details with @type",
        "error details lose their @type",
        ("envelope.details",),
        "envelope",
    ),
    "no_www_authenticate": Fault(
        "3/4 401 carries WWW-Authenticate",
        "401 answers lack WWW-Authenticate",
        ("envelope.www_authenticate",),
        "envelope",
    ),
    # 4. auth
    "unauthenticated_as_403": Fault(
        "4 missing / unknown credentials: 401 code 16",
        "Unauthenticated answers 403 code 7 (a consistent envelope)",
        ("auth.missing", "auth.unknown_token"),
        "auth",
    ),
    "lenient_bearer": Fault(
        "4 malformed header",
        "'bearer <token>' (lower case) is accepted",
        ("auth.malformed",),
        "auth",
    ),
    "unknown_org_404": Fault(
        "4 unknown org id: 403 code 7",
        "an unknown x-zitadel-orgid answers 404 code 5",
        ("auth.unknown_org",),
        "auth",
    ),
    "rights_ignored": Fault(
        "4 caller without rights",
        "callers without the permission act as the instance owner",
        ("auth.no_rights",),
        "auth",
    ),
    # 5. not found
    "not_found_as_403": Fault(
        "5 unknown ids: 404 code 5",
        "a resource that is not found answers 403 code 7",
        ("not_found.unknown_id",),
        "not_found",
    ),
    # 6. stateful scenarios
    "repeat_deactivate_ok": Fault(
        "6 deactivate again: 400 code 9",
        "deactivating an inactive resource answers 200",
        ("lifecycle.again",),
        "lifecycle",
    ),
    "frozen_sequence": Fault(
        "6 larger sequence",
        "every success reports sequence 1",
        ("lifecycle.sequence",),
        "lifecycle",
    ),
    "dates_in_the_past": Fault(
        "6 dates move with the server's clock",
        "every success reports the same date of 2020 (valid format, never moving)",
        ("lifecycle.date", "lifecycle.clock"),
        "lifecycle",
    ),
    "date_backwards": Fault(
        "6 date not earlier",
        "a reactivation reports a date a day before the real one",
        ("lifecycle.date",),
        "lifecycle",
    ),
    "reactivate_noop": Fault(
        "6 ends in the state it started in",
        "reactivating answers 200 but changes nothing",
        ("lifecycle.again", "lifecycle.end_state"),
        "lifecycle",
    ),
    "grant_v3_behaviour": Fault(
        "6 grant idempotent under v4",
        "user grants behave as in ZITADEL v3 while v4 is expected",
        ("lifecycle.again",),
        "lifecycle",
    ),
    # 7. isolation
    "org_header_ignored": Fault(
        "7 resource isolation",
        "a resource is found in its own org whatever x-zitadel-orgid says",
        ("isolation.not_found",),
        "isolation",
    ),
    "cross_org_500": Fault(
        "7 the cross-org step",
        "a write with x-zitadel-orgid of another org than the resource's answers 500",
        ("not_a_server_error",),
        "isolation",
        not_blamed=("isolation.unchanged",),
    ),
    "code_as_string": Fault(
        "3 code an integer",
        'the error code is a JSON string ("5" instead of 5)',
        ("envelope.code", "not_found.unknown_id"),
        "not_found",
        described_as='got HTTP 404 code "5"',
    ),
    # 8. state seen through the reads, on a target without control plane (issue 11 section 3)
    "nothing_changes": Fault(
        "8 a write changes the state",
        "every transition answers 200 with plausible details and changes nothing",
        ("visibility.state",),
        "visibility",
        without_control=True,
    ),
    "stale_grant_read": Fault(
        "8 reads show the state (CVE-2024-46999 class)",
        "the reads keep reporting a deactivated user grant as active",
        ("visibility.state", "visibility.list"),
        "visibility",
        on_reads=True,
        without_control=True,
    ),
}

_CODE_NAMES = {
    3: "invalid_argument",
    5: "not_found",
    7: "permission_denied",
    9: "failed_precondition",
    16: "unauthenticated",
}


class FaultyApp:
    """Our mock (v4 or, for one fault, v3) with the selected fault applied to each call."""

    def __init__(self, v4: Any, v3: Any) -> None:
        self.v4 = v4
        self.v3 = v3
        self.mode: str | None = None
        self._recent_deactivations: dict[str, float] = {}

    @property
    def mock(self) -> Any:
        return self.v3 if self.mode == "grant_v3_behaviour" else self.v4

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.mock.app(scope, receive, send)
            return
        if scope["path"] == "/_fault":
            await self._control(scope, receive, send)
            return
        if not scope["path"].startswith(MANAGEMENT) or self.mode is None:
            await self.mock.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        exchange = Exchange(scope["method"], scope["path"], headers)
        on_reads = self.mode in FAULTS and FAULTS[self.mode].on_reads
        if exchange.is_write == on_reads:
            await self.mock.app(scope, receive, send)
            return
        scope = dict(scope)
        rewrite = REQUEST_FAULTS.get(self.mode)
        if rewrite is not None:
            rewrite(self, exchange)
            scope["headers"] = [
                (k.encode("latin-1"), v.encode("latin-1")) for k, v in exchange.headers.items()
            ]
        await self._respond(scope, receive, send, exchange)

    async def _respond(
        self, scope: Scope, receive: Receive, send: Send, exchange: Exchange
    ) -> None:
        shortcut = SHORTCUTS.get(self.mode)
        if shortcut is not None and shortcut(self, exchange):
            await self._send(send, exchange)
            return
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                exchange.status = message["status"]
                exchange.response_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.mock.app(scope, receive, capture)
        exchange.body = b"".join(chunks)
        mutate = RESPONSE_FAULTS.get(self.mode)
        if mutate is not None:
            mutate(self, exchange)
        await self._send(send, exchange)

    @staticmethod
    async def _send(send: Send, exchange: Exchange) -> None:
        exchange.set_header("content-length", str(len(exchange.body)))
        await send(
            {
                "type": "http.response.start",
                "status": exchange.status,
                "headers": exchange.response_headers,
            }
        )
        await send({"type": "http.response.body", "body": exchange.body})

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if scope["method"] == "PUT":
            mode = json.loads(body or b"{}").get("mode")
            if mode is not None and mode not in FAULTS and mode not in SAFETY_MODES:
                await _plain(send, 400, f"unknown fault {mode!r}")
                return
            self.mode = mode
            self._recent_deactivations.clear()
        await _plain(send, 200, json.dumps({"mode": self.mode}))

    # -- helpers used by the faults -----------------------------------------------------------

    def world(self, exchange: Exchange) -> Any:
        """The world of the instance the request selects, as the mock itself resolves it, so
        that the faults work for suites that run in instances of their own (xdist workers)."""
        from mock_server.grpc_front import codec

        host = codec.metadata_from_pairs(exchange.headers.items()).host
        return self.mock.instances.resolve(host).world

    def aggregate(self, exchange: Exchange) -> Any:
        """The world's aggregate a management path addresses (None for the org ops)."""
        world = self.world(exchange)
        parts = exchange.path[len(MANAGEMENT) :].split("/")
        with world.lock:
            if parts[0] == "actions":
                return world.actions.get(parts[1])
            if parts[0] == "users" and len(parts) > 3 and parts[2] == "grants":
                return world.user_grants.get(parts[3])
            if parts[0] == "users":
                return world.users.get(parts[1])
        return None


async def _plain(send: Send, status: int, text: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": text.encode()})


def _error(exchange: Exchange) -> dict[str, Any] | None:
    body = exchange.json
    return body if isinstance(body, dict) and exchange.status >= 400 else None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


# -- request-side faults: change what the mock sees --------------------------------------------


def _lenient_bearer(app: FaultyApp, exchange: Exchange) -> None:
    value = exchange.headers.get("authorization", "")
    if value.startswith("bearer "):
        exchange.headers["authorization"] = "Bearer " + value[len("bearer ") :]


def _rights_ignored(app: FaultyApp, exchange: Exchange) -> None:
    from mock_server import contract
    from mock_server.domain import auth, errors

    value = exchange.headers.get("authorization")
    rpc = next((r for r in contract.rpcs().values() if _matches(r.path, exchange.path)), None)
    if value is None or rpc is None:
        return
    world = app.world(exchange)
    with world.lock:
        try:
            auth.authorize(world, value, exchange.headers.get("x-zitadel-orgid"), rpc.permission)
        except errors.ZitadelError as exc:
            if exc.error_id in ("AUTH-5mWD2", "AUTHZ-cdgFk"):
                exchange.headers["authorization"] = f"Bearer {ADMIN_TOKEN}"


def _matches(template: str, path: str) -> bool:
    want = (MANAGEMENT.rstrip("/") + template).split("/")
    have = path.split("/")
    return len(want) == len(have) and all(
        w.startswith("{") or w == h for w, h in zip(want, have, strict=True)
    )


def _org_header_ignored(app: FaultyApp, exchange: Exchange) -> None:
    aggregate = app.aggregate(exchange)
    if aggregate is not None and "x-zitadel-orgid" in exchange.headers:
        exchange.headers["x-zitadel-orgid"] = aggregate.resource_owner


def _org_ops_ignore_header(app: FaultyApp, exchange: Exchange) -> None:
    # The org operations act on the caller's own org, whatever x-zitadel-orgid names.
    if exchange.path.startswith(MANAGEMENT + "orgs/me/"):
        exchange.headers.pop("x-zitadel-orgid", None)


REQUEST_FAULTS: dict[str, Callable[[FaultyApp, Exchange], None]] = {
    "org_ops_ignore_header": _org_ops_ignore_header,
    "lenient_bearer": _lenient_bearer,
    "rights_ignored": _rights_ignored,
    "org_header_ignored": _org_header_ignored,
}


# -- answers made up without asking the mock ---------------------------------------------------


def _reactivate_noop(app: FaultyApp, exchange: Exchange) -> bool:
    aggregate = app.aggregate(exchange)
    if exchange.transition != "reactivate" or aggregate is None:
        return False
    if getattr(aggregate.state, "value", "") != "inactive":
        return False
    exchange.response_headers = [(b"content-type", b"application/json")]
    _answer_details(exchange, aggregate, aggregate.sequence + 1, datetime.now(UTC))
    return True


def _answer_details(exchange: Exchange, aggregate: Any, sequence: int, date: datetime) -> None:
    """A 200 with the details a transition answers (actions carry creationDate, as ZITADEL's
    action answers do), as if it had happened at ``sequence`` and ``date``."""
    date_field = "creationDate" if "/actions/" in exchange.path else "changeDate"
    exchange.status = 200
    exchange.set_json(
        {
            "details": {
                "sequence": str(sequence),
                date_field: _iso(date),
                "resourceOwner": aggregate.resource_owner,
            }
        }
    )


def _nothing_changes(app: FaultyApp, exchange: Exchange) -> bool:
    """200 with details one sequence on, as if the transition happened; the world stays.

    Only for callers the mock would let through: auth and not-found keep their real answers.
    """
    from mock_server import contract
    from mock_server.domain import auth, errors

    rpc = next((r for r in contract.rpcs().values() if _matches(r.path, exchange.path)), None)
    world = app.world(exchange)
    with world.lock:
        try:
            caller = auth.authorize(
                world,
                exchange.headers.get("authorization"),
                exchange.headers.get("x-zitadel-orgid"),
                rpc.permission if rpc else "",
            )
        except errors.ZitadelError:
            return False
    aggregate = app.aggregate(exchange)
    if aggregate is None and exchange.path.startswith(MANAGEMENT + "orgs/me/"):
        aggregate = world.orgs.get(caller.org_id)
    if aggregate is None or aggregate.resource_owner != caller.org_id:
        return False  # unknown ids and other orgs' resources keep their real errors
    exchange.response_headers = [(b"content-type", b"application/json")]
    _answer_details(exchange, aggregate, aggregate.sequence + 1, datetime.now(UTC))
    return True


SHORTCUTS: dict[str, Callable[[FaultyApp, Exchange], bool]] = {
    "reactivate_noop": _reactivate_noop,
    "nothing_changes": _nothing_changes,
}


# -- response-side faults ----------------------------------------------------------------------


def _server_error(app: FaultyApp, exchange: Exchange) -> None:
    error = _error(exchange)
    if error and error.get("code") == 3:
        exchange.status = 500
        exchange.set_json({"code": 13, "message": "Internal"})


def _success_201(app: FaultyApp, exchange: Exchange) -> None:
    if exchange.is_success:
        exchange.status = 201


def _errors_as_text(app: FaultyApp, exchange: Exchange) -> None:
    if _error(exchange):
        exchange.set_header("content-type", "text/plain; charset=utf-8")


def _unwrapped_details(app: FaultyApp, exchange: Exchange) -> None:
    if exchange.details is not None:
        exchange.set_json(exchange.details)


def _links_500(app: FaultyApp, exchange: Exchange) -> None:
    key = exchange.path.rsplit("/", 1)[0]
    now = time.monotonic()
    if exchange.is_success and exchange.transition == "deactivate":
        app._recent_deactivations[key] = now
    elif exchange.is_success and now - app._recent_deactivations.pop(key, -10.0) < 5.0:
        exchange.status = 500
        exchange.set_json({"code": 13, "message": "Internal"})


def _details_fault(
    change: Callable[[dict[str, Any], Exchange], None],
) -> Callable[[FaultyApp, Exchange], None]:
    def fault(app: FaultyApp, exchange: Exchange) -> None:
        details = exchange.details
        if details is not None:
            change(details, exchange)
            exchange.set_json({"details": details})

    return fault


def _sequence_number(details: dict[str, Any], exchange: Exchange) -> None:
    details["sequence"] = int(details["sequence"])


def _date_offset(details: dict[str, Any], exchange: Exchange) -> None:
    for name in ("creationDate", "changeDate"):
        if name in details:
            details[name] = details[name].replace("Z", "+00:00")


def _both_dates(details: dict[str, Any], exchange: Exchange) -> None:
    date = details.get("creationDate") or details.get("changeDate")
    details["creationDate"] = details["changeDate"] = date


def _frozen_sequence(details: dict[str, Any], exchange: Exchange) -> None:
    details["sequence"] = "1"


def _dates_in_the_past(details: dict[str, Any], exchange: Exchange) -> None:
    for name in ("creationDate", "changeDate"):
        if name in details:
            details[name] = "2020-01-01T00:00:00Z"


def _cross_org_500(app: FaultyApp, exchange: Exchange) -> None:
    aggregate = app.aggregate(exchange)
    org = exchange.headers.get("x-zitadel-orgid")
    if aggregate is not None and org and org != aggregate.resource_owner:
        exchange.status = 500
        exchange.set_json({"code": 13, "message": "Internal"})


def _code_as_string(error: dict[str, Any], exchange: Exchange) -> None:
    error["code"] = str(error["code"])


def _date_backwards(details: dict[str, Any], exchange: Exchange) -> None:
    if exchange.transition == "reactivate":
        for name in ("creationDate", "changeDate"):
            if name in details:
                moved = datetime.fromisoformat(details[name].replace("Z", "+00:00")) - timedelta(
                    days=1
                )
                details[name] = _iso(moved)


def _foreign_owner(app: FaultyApp, exchange: Exchange) -> None:
    details = exchange.details
    if details is not None:
        details["resourceOwner"] = app.world(exchange).instance_id
        exchange.set_json({"details": details})


def _error_fault(
    change: Callable[[dict[str, Any], Exchange], None],
) -> Callable[[FaultyApp, Exchange], None]:
    def fault(app: FaultyApp, exchange: Exchange) -> None:
        error = _error(exchange)
        if error is not None:
            change(error, exchange)
            exchange.set_json(error)

    return fault


def _code_as_name(error: dict[str, Any], exchange: Exchange) -> None:
    error["code"] = _CODE_NAMES.get(error["code"], "unknown")


def _precondition_412(error: dict[str, Any], exchange: Exchange) -> None:
    if error.get("code") == 9:
        exchange.status = 412


def _message_missing(error: dict[str, Any], exchange: Exchange) -> None:
    error.pop("message", None)


def _untyped_details(error: dict[str, Any], exchange: Exchange) -> None:
    for item in error.get("details", []):
        item.pop("@type", None)


def _no_www_authenticate(app: FaultyApp, exchange: Exchange) -> None:
    exchange.set_header("www-authenticate", None)


def _unauthenticated_as_403(error: dict[str, Any], exchange: Exchange) -> None:
    if error.get("code") == 16:
        exchange.status = 403
        error["code"] = 7
        exchange.set_header("www-authenticate", None)


def _unknown_org_404(error: dict[str, Any], exchange: Exchange) -> None:
    if "AUTH-Bs7Ds" in str(error.get("message")):
        exchange.status = 404
        error["code"] = 5


def _not_found_as_403(error: dict[str, Any], exchange: Exchange) -> None:
    if error.get("code") == 5 and "COMMAND-" in str(error.get("message")):
        exchange.status = 403
        error["code"] = 7


def _repeat_deactivate_ok(app: FaultyApp, exchange: Exchange) -> None:
    error = _error(exchange)
    aggregate = app.aggregate(exchange)
    if (
        not error
        or error.get("code") != 9
        or exchange.transition != "deactivate"
        or aggregate is None
    ):
        return
    _answer_details(exchange, aggregate, aggregate.sequence, aggregate.change_date)


def _stale_grant_read(app: FaultyApp, exchange: Exchange) -> None:
    # GetUserGrantByID and ListUserGrants answer an inactive grant as still active.
    body = exchange.json
    if not exchange.is_success or not isinstance(body, dict) or "/grants" not in exchange.path:
        return
    grants = [body["userGrant"]] if "userGrant" in body else body.get("result", [])
    for grant in grants:
        if grant.get("state") == "USER_GRANT_STATE_INACTIVE":
            grant["state"] = "USER_GRANT_STATE_ACTIVE"
    exchange.set_json(body)


RESPONSE_FAULTS: dict[str, Callable[[FaultyApp, Exchange], None]] = {
    "stale_grant_read": _stale_grant_read,
    "server_error": _server_error,
    "success_201": _success_201,
    "errors_as_text": _errors_as_text,
    "unwrapped_details": _unwrapped_details,
    "links_500": _links_500,
    "sequence_number": _details_fault(_sequence_number),
    "date_offset": _details_fault(_date_offset),
    "both_dates": _details_fault(_both_dates),
    "foreign_resource_owner": _foreign_owner,
    "code_as_name": _error_fault(_code_as_name),
    "precondition_412": _error_fault(_precondition_412),
    "message_missing": _error_fault(_message_missing),
    "untyped_error_details": _error_fault(_untyped_details),
    "no_www_authenticate": _no_www_authenticate,
    "unauthenticated_as_403": _error_fault(_unauthenticated_as_403),
    "unknown_org_404": _error_fault(_unknown_org_404),
    "not_found_as_403": _error_fault(_not_found_as_403),
    "repeat_deactivate_ok": _repeat_deactivate_ok,
    "frozen_sequence": _details_fault(_frozen_sequence),
    "date_backwards": _details_fault(_date_backwards),
    "dates_in_the_past": _details_fault(_dates_in_the_past),
    "cross_org_500": _cross_org_500,
    "code_as_string": _error_fault(_code_as_string),
}
# Modes that break no rule the suite can report, for the tests of its safety and notes.
SAFETY_MODES = ("org_ops_ignore_header",)
assert set(FAULTS) | set(SAFETY_MODES) == set(REQUEST_FAULTS) | set(RESPONSE_FAULTS) | set(
    SHORTCUTS
) | {"grant_v3_behaviour"}


def build_app() -> FaultyApp:
    from mock_server.app import create_mock

    return FaultyApp(create_mock(profile="v4"), create_mock(profile="v3"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    import uvicorn

    uvicorn.run(build_app(), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
