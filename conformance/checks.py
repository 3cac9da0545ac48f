"""The response rules of the contract, as plain functions over a request/response pair.

Each ``check_*`` function returns ``True`` when its rules applied to the pair, ``False`` when
they do not concern it (e.g. the details rules on an error), and raises :class:`RuleViolation`
naming the broken rule otherwise. They need no server, no schemathesis and no pytest::

    from conformance import check_all, from_httpx

    request, response = from_httpx(httpx.post(url, headers=..., json={}))
    assert not check_all(request, response, default_org="1234")

The read rules (``reads.*``, ``visibility.*``) are in :mod:`conformance.read_checks`;
``check_all`` runs them too. :mod:`conformance.schemathesis_checks` wraps the rules as
schemathesis custom checks.

Message texts are only ever compared where ZITADEL does not translate them (auth errors, in the
suite's scenarios); everything here checks shapes, codes and values.
"""

from __future__ import annotations

from conformance.model import Request, Response
from conformance.read_checks import READ_RULES, check_read
from conformance.rule_primitives import (
    DATE_FIELDS,
    DECIMAL,
    NOT_JSON,
    RFC3339_UTC,
    RuleViolation,
    is_success,
    json_kind,
    org_of_call,
    parse_date,
    show,
)
from conformance.spec import Operation

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
    **READ_RULES,
}


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
            f"{show(response.header('content-type') or '(no Content-Type)')}",
        )
    body = response.json(default=NOT_JSON)
    if body is NOT_JSON or not isinstance(body, dict):
        found = "no JSON" if body is NOT_JSON else json_kind(body)
        raise RuleViolation("envelope.json", f"an error body must be a JSON object, got {found}")
    if "code" not in body:
        raise RuleViolation("envelope.code", "the error body has no code")
    code = body["code"]
    if not isinstance(code, int) or isinstance(code, bool):
        raise RuleViolation(
            "envelope.code", f"code must be an integer, got {show(code)} ({json_kind(code)})"
        )
    if code not in GRPC_CODE_NAMES:
        raise RuleViolation("envelope.code", f"code {code} is not a gRPC error code (1 to 16)")
    if not isinstance(body.get("message"), str):
        found = "nothing" if "message" not in body else json_kind(body["message"])
        raise RuleViolation("envelope.message", f"message must be a string, got {found}")
    if "details" in body:
        details = body["details"]
        if not isinstance(details, list):
            raise RuleViolation(
                "envelope.details", f"details must be an array, got {json_kind(details)}"
            )
        for index, item in enumerate(details):
            if not isinstance(item, dict):
                raise RuleViolation(
                    "envelope.details", f"details[{index}] must be an object, got {show(item)}"
                )
            if not isinstance(item.get("@type"), str):
                raise RuleViolation(
                    "envelope.details", f"details[{index}] has no string @type: {show(item)}"
                )
    if response.status == 401 and not response.header("www-authenticate"):
        raise RuleViolation("envelope.www_authenticate", "a 401 without WWW-Authenticate")
    return True


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
    body = response.json(default=NOT_JSON)
    if not isinstance(body, dict) or not isinstance(body.get("details"), dict):
        found = "no JSON" if body is NOT_JSON else json_kind(body)
        if isinstance(body, dict):
            found = "an object without a details object"
        raise RuleViolation("details.present", f'expected {{"details": {{...}}}}, got {found}')
    details = body["details"]

    sequence = details.get("sequence")
    if not isinstance(sequence, str) or not DECIMAL.match(sequence):
        found = "nothing" if "sequence" not in details else f"{show(sequence)}"
        if "sequence" in details and not isinstance(sequence, str):
            found += f" ({json_kind(sequence)})"
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
    if not isinstance(date, str) or not RFC3339_UTC.match(date):
        raise RuleViolation(
            "details.date", f"{expected} must be RFC 3339 in UTC with Z, got {show(date)}"
        )
    try:
        parse_date(date)
    except ValueError:
        raise RuleViolation(
            "details.date", f"{expected} is not a valid date: {show(date)}"
        ) from None

    owner = details.get("resourceOwner")
    if not isinstance(owner, str) or not owner:
        found = "nothing" if "resourceOwner" not in details else show(owner)
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
