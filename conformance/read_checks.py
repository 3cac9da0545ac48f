"""The read rules of the contract (``reads.*``, ``visibility.*``): what a Get or List of a
lifecycle resource answers, and what it shows after a write. Plain functions like the write rules
of :mod:`conformance.checks`, whose ``check_all`` runs :func:`check_read` too; a module of their
own because they check the resources a read answers, not the answer of one write.
"""

from __future__ import annotations

from conformance.model import Request, Response
from conformance.rule_primitives import (
    DATE_FIELDS,
    NOT_JSON,
    RFC3339_UTC,
    RuleViolation,
    is_success,
    is_uint64_decimal,
    json_kind,
    org_of_call,
    parse_date,
    show,
)
from conformance.spec import Read, read_for

READ_RULES: dict[str, str] = {
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


def _check_read_details(details: object, read: Read, org: str | None, where: str) -> None:
    if not isinstance(details, dict):
        found = json_kind(details)
        raise RuleViolation("reads.details", f"{where}: details must be an object, got {found}")
    sequence = details.get("sequence")
    if not is_uint64_decimal(sequence):
        found = "nothing" if "sequence" not in details else show(sequence)
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
            valid = isinstance(value, str) and bool(RFC3339_UTC.match(value))
            valid = valid and parse_date(value) is not None
        except ValueError:
            valid = False
        if not valid:
            raise RuleViolation(
                "reads.details",
                f"{where}: {name} must be RFC 3339 in UTC with Z, got {show(value)}",
            )
    owner = details.get("resourceOwner")
    if not isinstance(owner, str) or not owner:
        found = "nothing" if "resourceOwner" not in details else show(owner)
        raise RuleViolation(
            "reads.details", f"{where}: resourceOwner must be an org id, got {found}"
        )
    if org is not None and owner != org:
        raise RuleViolation(
            "reads.details", f"{where}: read in org {org}, but resourceOwner is {owner}"
        )


def _read_items(request: Request, response: Response, read: Read) -> list[dict]:
    """The resources a read success answers (raises ``reads.body``/``reads.list_details``)."""
    body = response.json(default=NOT_JSON)
    if not isinstance(body, dict):
        found = "no JSON" if body is NOT_JSON else json_kind(body)
        raise RuleViolation("reads.body", f"a read answers a JSON object, got {found}")
    if not read.is_list:
        item = body.get(read.item_key)
        if not isinstance(item, dict):
            found = "nothing" if read.item_key not in body else json_kind(item)
            raise RuleViolation(
                "reads.body", f'{read.rpc} answers {{"{read.item_key}": {{...}}}}, got {found}'
            )
        return [item]
    details = body.get("details")
    if not isinstance(details, dict):
        found = "nothing" if "details" not in body else json_kind(details)
        raise RuleViolation("reads.list_details", f"a List answers a details object, got {found}")
    result = body.get("result", [])
    if not isinstance(result, list) or not all(isinstance(item, dict) for item in result):
        raise RuleViolation("reads.body", f"result must be an array of objects, got {show(result)}")
    total = details.get("totalResult")
    if total is not None and not is_uint64_decimal(total):
        raise RuleViolation(
            "reads.list_details", f"totalResult must be a uint64 decimal string, got {show(total)}"
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
    if stamp is not None and not (isinstance(stamp, str) and RFC3339_UTC.match(stamp)):
        raise RuleViolation(
            "reads.list_details",
            f"viewTimestamp must be RFC 3339 in UTC with Z, got {show(stamp)}",
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

    ``default_org`` is the caller's own org, as for :func:`conformance.checks.check_details`.
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
            raise RuleViolation("reads.id", f"the {read.item_key} has no id, got {show(found)}")
        if wanted is not None and found != wanted:
            raise RuleViolation("reads.id", f"asked for {wanted}, {read.rpc} answered {found}")
    for index, item in enumerate(items):
        where = read.item_key if not read.is_list else f"result[{index}]"
        if not isinstance(item.get("id"), str) or not item.get("id"):
            raise RuleViolation("reads.id", f"{where} has no id, got {show(item.get('id'))}")
        state = item.get("state")
        if not isinstance(state, str) or not state.startswith(prefix) or state == prefix:
            found = "nothing" if "state" not in item else f"{show(state)} ({json_kind(state)})"
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
            "visibility.state", f"{read.rpc} reports {show(item.get('state'))}, not {wanted}"
        )
    details = item.get("details") if isinstance(item.get("details"), dict) else {}
    seen = details.get("sequence")
    if sequence is not None and (not is_uint64_decimal(seen) or int(seen) < sequence):
        raise RuleViolation(
            "visibility.sequence",
            f"{read.rpc} reports sequence {show(seen)}, below the write's {sequence}",
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
            f"{read.rpc} lists {resource_id} ({show(item.get('state'))}) though its query "
            "excludes it",
        )
    if listed and state is not None and item is not None:
        wanted = read.state_name(state)
        if item.get("state") != wanted:
            raise RuleViolation(
                "visibility.list",
                f"{read.rpc} lists {resource_id} as {show(item.get('state'))}, not {wanted}",
            )
    return True
