"""The response rules of the contract, as plain functions over a request/response pair.

Each ``check_*`` function returns ``True`` when its rules applied to the pair, ``False`` when
they do not concern it (e.g. the details rules on an error), and raises :class:`RuleViolation`
naming the broken rule otherwise. They need no server, no schemathesis and no pytest::

    from conformance import check_all, from_httpx

    request, response = from_httpx(httpx.post(url, headers=..., json={}))
    assert not check_all(request, response, default_org="1234")

:mod:`conformance.schemathesis_checks` wraps them as schemathesis custom checks.

Message texts are only ever compared where ZITADEL does not translate them (auth errors, in the
suite's scenarios); everything here checks shapes, codes and values.
"""

from __future__ import annotations

import re
from datetime import datetime

from conformance.model import Request, Response
from conformance.spec import ORG_HEADER, Operation, Read, read_for

# runtime.HTTPStatusFromCode of grpc-gateway v2, which ZITADEL's gateway uses unchanged.
HTTP_STATUS_BY_GRPC_CODE: dict[int, int] = {
    0: 200,
    1: 499,
    2: 500,
    3: 400,
    4: 504,
    5: 404,
    6: 409,
    7: 403,
    8: 429,
    9: 400,
    10: 409,
    11: 400,
    12: 501,
    13: 500,
    14: 503,
    15: 500,
    16: 401,
}
# ZITADEL's own routing handler answers a wrong method on a known path with 405 and code 12.
EXTRA_STATUS_FOR_CODE: dict[int, set[int]] = {12: {405}}
GRPC_CODE_NAMES = {
    1: "Canceled",
    2: "Unknown",
    3: "InvalidArgument",
    4: "DeadlineExceeded",
    5: "NotFound",
    6: "AlreadyExists",
    7: "PermissionDenied",
    8: "ResourceExhausted",
    9: "FailedPrecondition",
    10: "Aborted",
    11: "OutOfRange",
    12: "Unimplemented",
    13: "Internal",
    14: "Unavailable",
    15: "DataLoss",
    16: "Unauthenticated",
}

RULES: dict[str, str] = {
    "status.success": "a success is HTTP 200: grpc-gateway answers every OK status with 200",
    "status.mapping": "an error's HTTP status is grpc-gateway's mapping of its gRPC code",
    "envelope.json": "an error body is a JSON object served as application/json",
    "envelope.code": "code is an integer gRPC status code from 1 to 16",
    "envelope.message": "message is a string",
    "envelope.details": "details, when present, is an array of objects each with a string @type",
    "envelope.www_authenticate": "a 401 (code 16) carries a WWW-Authenticate header",
    "details.present": "a success body is a JSON object with a details object",
    "details.sequence": "details.sequence is a uint64 written as a decimal string",
    "details.date_field": "details has only the date field this operation returns",
    "details.date": "the date of details is RFC 3339 in UTC (with Z)",
    "details.resource_owner": "details.resourceOwner is the org the call was made in",
    # The reads (Get*/List*) of the lifecycle resources.
    "reads.body": 'a Get answers the resource under its key ({"user": {...}}); a List answers '
    "a details object and, when anything matched, a result array of objects",
    "reads.id": "a Get answers the resource it was asked for (the org: the org of the call)",
    "reads.state": "state is the enum name of the resource's kind, e.g. USER_STATE_INACTIVE",
    "reads.details": "a read resource's details: decimal sequence, the date fields its read "
    "fills (actions: changeDate only) in RFC 3339 UTC, resourceOwner = the org of the call",
    "reads.list_details": "a List's details: totalResult a decimal string, present whenever "
    "something matched and not below the number of results; viewTimestamp RFC 3339 UTC",
    "reads.listed": "a resource the suite holds active reads as active in its Get and is "
    "listed by its List (with the state query for active, where the List has one)",
    # What the reads show after a write.
    "visibility.state": "after a transition answered 200, the resource's Get shows the new state "
    "(within the read timeout)",
    "visibility.sequence": "... with a details.sequence not below the one the write answered",
    "visibility.list": "the List with a state query includes the resource for its new state and "
    "excludes it for the old one (user grants, which have no state query: listed by user id "
    "with the new state)",
}

_RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
_DECIMAL = re.compile(r"^[0-9]+$")
DATE_FIELDS = ("creationDate", "changeDate")
_NOT_JSON = object()


class RuleViolation(AssertionError):
    """A response that breaks ``rule`` (a key of :data:`RULES` or a scenario rule)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.message = message


def show(value: object) -> str:
    """A value as its JSON type reads: a string in quotes, a number without."""
    return _show(value)


def _show(value: object) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 80 else text[:77] + "..."


def _json_kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def is_success(response: Response) -> bool:
    return 200 <= response.status < 300


def check_status(request: Request, response: Response) -> bool:
    """``status.*``: 200 for a success, grpc-gateway's mapping for an error."""
    if is_success(response):
        if response.status != 200:
            raise RuleViolation("status.success", f"a success answered {response.status}, not 200")
        return True
    if response.status < 400:
        raise RuleViolation(
            "status.mapping",
            f"HTTP {response.status} is not a status grpc-gateway answers with "
            "(200 or the mapping of a gRPC code)",
        )
    body = response.json(default=None)
    code = body.get("code") if isinstance(body, dict) else None
    if not isinstance(code, int) or isinstance(code, bool) or code not in GRPC_CODE_NAMES:
        return False  # no code to compare with; the envelope rules report that
    allowed = {HTTP_STATUS_BY_GRPC_CODE[code], *EXTRA_STATUS_FOR_CODE.get(code, set())}
    if response.status not in allowed:
        expected = " or ".join(str(s) for s in sorted(allowed))
        raise RuleViolation(
            "status.mapping",
            f"code {code} ({GRPC_CODE_NAMES[code]}) is HTTP {expected} through grpc-gateway, "
            f"but the response is HTTP {response.status}",
        )
    return True


def check_envelope(request: Request, response: Response) -> bool:
    """``envelope.*``: the google.rpc.Status body of every error."""
    if is_success(response):
        return False
    if response.media_type != "application/json":
        raise RuleViolation(
            "envelope.json",
            f"an error must be served as application/json, got "
            f"{_show(response.header('content-type') or '(no Content-Type)')}",
        )
    body = response.json(default=_NOT_JSON)
    if body is _NOT_JSON or not isinstance(body, dict):
        found = "no JSON" if body is _NOT_JSON else _json_kind(body)
        raise RuleViolation("envelope.json", f"an error body must be a JSON object, got {found}")
    if "code" not in body:
        raise RuleViolation("envelope.code", "the error body has no code")
    code = body["code"]
    if not isinstance(code, int) or isinstance(code, bool):
        raise RuleViolation(
            "envelope.code", f"code must be an integer, got {_show(code)} ({_json_kind(code)})"
        )
    if code not in GRPC_CODE_NAMES:
        raise RuleViolation("envelope.code", f"code {code} is not a gRPC error code (1 to 16)")
    if not isinstance(body.get("message"), str):
        found = "nothing" if "message" not in body else _json_kind(body["message"])
        raise RuleViolation("envelope.message", f"message must be a string, got {found}")
    if "details" in body:
        details = body["details"]
        if not isinstance(details, list):
            raise RuleViolation(
                "envelope.details", f"details must be an array, got {_json_kind(details)}"
            )
        for index, item in enumerate(details):
            if not isinstance(item, dict):
                raise RuleViolation(
                    "envelope.details", f"details[{index}] must be an object, got {_show(item)}"
                )
            if not isinstance(item.get("@type"), str):
                raise RuleViolation(
                    "envelope.details", f"details[{index}] has no string @type: {_show(item)}"
                )
    if response.status == 401 and not response.header("www-authenticate"):
        raise RuleViolation("envelope.www_authenticate", "a 401 without WWW-Authenticate")
    return True


def org_of_call(request: Request, default_org: str | None = None) -> str | None:
    """The org a call acts in: the x-zitadel-orgid header, else the caller's own org."""
    header = (request.header(ORG_HEADER) or "").strip()
    return header or default_org


def check_details(
    request: Request,
    response: Response,
    *,
    default_org: str | None = None,
    operation: Operation | None = None,
) -> bool:
    """``details.*``: the ObjectDetails of a success.

    ``default_org`` is the caller's own org, the one a call without x-zitadel-orgid acts in;
    without it such calls are only checked for a non-empty resourceOwner.
    """
    operation = operation or request.operation
    if operation is None or not is_success(response):
        return False
    body = response.json(default=_NOT_JSON)
    if not isinstance(body, dict) or not isinstance(body.get("details"), dict):
        found = "no JSON" if body is _NOT_JSON else _json_kind(body)
        if isinstance(body, dict):
            found = "an object without a details object"
        raise RuleViolation("details.present", f'expected {{"details": {{...}}}}, got {found}')
    details = body["details"]

    sequence = details.get("sequence")
    if not isinstance(sequence, str) or not _DECIMAL.match(sequence):
        found = "nothing" if "sequence" not in details else f"{_show(sequence)}"
        if "sequence" in details and not isinstance(sequence, str):
            found += f" ({_json_kind(sequence)})"
        raise RuleViolation("details.sequence", f"sequence must be a decimal string, got {found}")
    if int(sequence) >= 2**64:
        raise RuleViolation("details.sequence", f"sequence {sequence} does not fit a uint64")

    expected = operation.date_field
    present = [name for name in DATE_FIELDS if name in details]
    if present != [expected]:
        shown = ", ".join(present) or "no date"
        raise RuleViolation(
            "details.date_field",
            f"{operation.rpc} returns only {expected}, got {shown}",
        )
    date = details[expected]
    if not isinstance(date, str) or not _RFC3339_UTC.match(date):
        raise RuleViolation(
            "details.date", f"{expected} must be RFC 3339 in UTC with Z, got {_show(date)}"
        )
    try:
        parse_date(date)
    except ValueError:
        raise RuleViolation(
            "details.date", f"{expected} is not a valid date: {_show(date)}"
        ) from None

    owner = details.get("resourceOwner")
    if not isinstance(owner, str) or not owner:
        found = "nothing" if "resourceOwner" not in details else _show(owner)
        raise RuleViolation(
            "details.resource_owner", f"resourceOwner must be an org id, got {found}"
        )
    org = org_of_call(request, default_org)
    if org is not None and owner != org:
        raise RuleViolation(
            "details.resource_owner",
            f"the call was made in org {org}, but resourceOwner is {owner}",
        )
    return True


def _decimal(value: object) -> bool:
    return isinstance(value, str) and bool(_DECIMAL.match(value)) and int(value) < 2**64


def _check_read_details(details: object, read: Read, org: str | None, where: str) -> None:
    if not isinstance(details, dict):
        found = _json_kind(details)
        raise RuleViolation("reads.details", f"{where}: details must be an object, got {found}")
    sequence = details.get("sequence")
    if not _decimal(sequence):
        found = "nothing" if "sequence" not in details else _show(sequence)
        raise RuleViolation(
            "reads.details", f"{where}: sequence must be a uint64 decimal string, got {found}"
        )
    present = tuple(name for name in DATE_FIELDS if name in details)
    if present != read.date_fields:
        raise RuleViolation(
            "reads.details",
            f"{where}: {read.rpc} fills {', '.join(read.date_fields)}, got "
            f"{', '.join(present) or 'no date'}",
        )
    for name in present:
        value = details[name]
        try:
            valid = isinstance(value, str) and bool(_RFC3339_UTC.match(value))
            valid = valid and parse_date(value) is not None
        except ValueError:
            valid = False
        if not valid:
            raise RuleViolation(
                "reads.details",
                f"{where}: {name} must be RFC 3339 in UTC with Z, got {_show(value)}",
            )
    owner = details.get("resourceOwner")
    if not isinstance(owner, str) or not owner:
        found = "nothing" if "resourceOwner" not in details else _show(owner)
        raise RuleViolation(
            "reads.details", f"{where}: resourceOwner must be an org id, got {found}"
        )
    if org is not None and owner != org:
        raise RuleViolation(
            "reads.details", f"{where}: read in org {org}, but resourceOwner is {owner}"
        )


def _read_items(request: Request, response: Response, read: Read) -> list[dict]:
    """The resources a read success answers (raises ``reads.body``/``reads.list_details``)."""
    body = response.json(default=_NOT_JSON)
    if not isinstance(body, dict):
        found = "no JSON" if body is _NOT_JSON else _json_kind(body)
        raise RuleViolation("reads.body", f"a read answers a JSON object, got {found}")
    if not read.is_list:
        item = body.get(read.item_key)
        if not isinstance(item, dict):
            found = "nothing" if read.item_key not in body else _json_kind(item)
            raise RuleViolation(
                "reads.body", f'{read.rpc} answers {{"{read.item_key}": {{...}}}}, got {found}'
            )
        return [item]
    details = body.get("details")
    if not isinstance(details, dict):
        found = "nothing" if "details" not in body else _json_kind(details)
        raise RuleViolation("reads.list_details", f"a List answers a details object, got {found}")
    result = body.get("result", [])
    if not isinstance(result, list) or not all(isinstance(item, dict) for item in result):
        raise RuleViolation(
            "reads.body", f"result must be an array of objects, got {_show(result)}"
        )
    total = details.get("totalResult")
    if total is not None and not _decimal(total):
        raise RuleViolation(
            "reads.list_details", f"totalResult must be a uint64 decimal string, got {_show(total)}"
        )
    if result and total is None:
        raise RuleViolation(
            "reads.list_details",
            f"{len(result)} result(s) but no totalResult (only a zero count is omitted)",
        )
    if total is not None and int(total) < len(result):
        raise RuleViolation(
            "reads.list_details", f"totalResult {total} is below the {len(result)} results listed"
        )
    stamp = details.get("viewTimestamp")
    if stamp is not None and not (isinstance(stamp, str) and _RFC3339_UTC.match(stamp)):
        raise RuleViolation(
            "reads.list_details",
            f"viewTimestamp must be RFC 3339 in UTC with Z, got {_show(stamp)}",
        )
    return result


def check_read(
    request: Request,
    response: Response,
    *,
    default_org: str | None = None,
    read: Read | None = None,
) -> bool:
    """``reads.*``: the body of a read success (Get or List of a lifecycle resource).

    ``default_org`` is the caller's own org, as for :func:`check_details`.
    """
    read = read or read_for(request.method, request.url)
    if read is None or not is_success(response):
        return False
    org = org_of_call(request, default_org)
    items = _read_items(request, response, read)
    prefix = read.active.removesuffix("ACTIVE")  # "USER_STATE_"
    if not read.is_list:
        params = read.match(request.method, request.url) or {}
        wanted = params.get("grant_id") or params.get("id") or (org if read.kind == "org" else None)
        found = items[0].get("id")
        if not isinstance(found, str) or not found:
            raise RuleViolation("reads.id", f"the {read.item_key} has no id, got {_show(found)}")
        if wanted is not None and found != wanted:
            raise RuleViolation("reads.id", f"asked for {wanted}, {read.rpc} answered {found}")
    for index, item in enumerate(items):
        where = read.item_key if not read.is_list else f"result[{index}]"
        if not isinstance(item.get("id"), str) or not item.get("id"):
            raise RuleViolation("reads.id", f"{where} has no id, got {_show(item.get('id'))}")
        state = item.get("state")
        if not isinstance(state, str) or not state.startswith(prefix) or state == prefix:
            found = "nothing" if "state" not in item else f"{_show(state)} ({_json_kind(state)})"
            raise RuleViolation(
                "reads.state", f"{where}: state must be a {prefix}* enum name, got {found}"
            )
        _check_read_details(item.get("details"), read, org, where)
    return True


def read_item(response: Response, read: Read, resource_id: str | None = None) -> dict | None:
    """The resource a Get answered, or the entry of ``resource_id`` in a List's result."""
    body = response.json(default=None)
    if not isinstance(body, dict):
        return None
    if not read.is_list:
        item = body.get(read.item_key)
        return item if isinstance(item, dict) else None
    result = body.get("result")
    if not isinstance(result, list):
        return None
    return next((i for i in result if isinstance(i, dict) and i.get("id") == resource_id), None)


def check_visible(
    request: Request,
    response: Response,
    *,
    state: str,
    sequence: int | None = None,
    read: Read | None = None,
) -> bool:
    """``visibility.state``/``.sequence``: a Get shows ``state`` (``active``/``inactive``) with
    a details.sequence not below ``sequence`` (the write's)."""
    read = read or read_for(request.method, request.url)
    if read is None or read.is_list or not is_success(response):
        return False
    item = read_item(response, read) or {}
    wanted = read.state_name(state)
    if item.get("state") != wanted:
        raise RuleViolation(
            "visibility.state", f"{read.rpc} reports {_show(item.get('state'))}, not {wanted}"
        )
    details = item.get("details") if isinstance(item.get("details"), dict) else {}
    seen = details.get("sequence")
    if sequence is not None and (not _decimal(seen) or int(seen) < sequence):
        raise RuleViolation(
            "visibility.sequence",
            f"{read.rpc} reports sequence {_show(seen)}, below the write's {sequence}",
        )
    return True


def check_listed(
    request: Request,
    response: Response,
    resource_id: str,
    *,
    listed: bool,
    state: str | None = None,
    read: Read | None = None,
) -> bool:
    """``visibility.list``: a List's result includes ``resource_id`` (``listed``) or not; when
    ``state`` is given, the entry must show it."""
    read = read or read_for(request.method, request.url)
    if read is None or not read.is_list or not is_success(response):
        return False
    item = read_item(response, read, resource_id)
    if listed and item is None:
        raise RuleViolation("visibility.list", f"{read.rpc} does not list {resource_id}")
    if not listed and item is not None:
        raise RuleViolation(
            "visibility.list",
            f"{read.rpc} lists {resource_id} ({_show(item.get('state'))}) though its query "
            "excludes it",
        )
    if listed and state is not None and item is not None:
        wanted = read.state_name(state)
        if item.get("state") != wanted:
            raise RuleViolation(
                "visibility.list",
                f"{read.rpc} lists {resource_id} as {_show(item.get('state'))}, not {wanted}",
            )
    return True


def parse_date(value: str) -> datetime:
    """An RFC 3339 UTC date with up to nine fractional digits (Python keeps six)."""
    head, _, fraction = value.removesuffix("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(fraction + '000000')[:6]}+00:00")


def check_all(
    request: Request, response: Response, *, default_org: str | None = None
) -> list[RuleViolation]:
    """Every response rule; the violations found (one per group at most)."""
    violations = []
    for check in (check_status, check_envelope):
        try:
            check(request, response)
        except RuleViolation as violation:
            violations.append(violation)
    for check in (check_details, check_read):
        try:
            check(request, response, default_org=default_org)
        except RuleViolation as violation:
            violations.append(violation)
    return violations


def assert_conforms(
    request: Request, response: Response, *, default_org: str | None = None
) -> None:
    """Raise one AssertionError listing every violation, for plain pytest tests."""
    violations = check_all(request, response, default_org=default_org)
    if violations:
        from conformance.report import describe_exchange

        lines = [str(v) for v in violations]
        raise AssertionError("\n".join([*lines, describe_exchange(request, response)]))
