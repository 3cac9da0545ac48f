"""What the write rules (:mod:`conformance.checks`) and the read rules
(:mod:`conformance.read_checks`) both stand on: the :class:`RuleViolation` they raise, how their
messages show a value, and the forms ZITADEL's details take (uint64 decimal strings, RFC 3339 UTC
dates). Its own module because ``check_all`` runs the read rules: the read rules cannot import
the write rules' module back.
"""

from __future__ import annotations

import re
from datetime import datetime

from conformance.model import Request, Response
from conformance.spec import ORG_HEADER

RFC3339_UTC = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
DECIMAL = re.compile(r"^[0-9]+$")
DATE_FIELDS = ("creationDate", "changeDate")
NOT_JSON = object()


class RuleViolation(AssertionError):
    """A response that breaks ``rule`` (a key of :data:`conformance.RULES` or a scenario rule)."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.message = message


def show(value: object) -> str:
    """A value as its JSON type reads: a string in quotes, a number without."""
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 80 else text[:77] + "..."


def json_kind(value: object) -> str:
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


def org_of_call(request: Request, default_org: str | None = None) -> str | None:
    """The org a call acts in: the x-zitadel-orgid header, else the caller's own org."""
    header = (request.header(ORG_HEADER) or "").strip()
    return header or default_org


def is_uint64_decimal(value: object) -> bool:
    return isinstance(value, str) and bool(DECIMAL.match(value)) and int(value) < 2**64


def parse_date(value: str) -> datetime:
    """An RFC 3339 UTC date with up to nine fractional digits (Python keeps six)."""
    head, _, fraction = value.removesuffix("Z").partition(".")
    return datetime.fromisoformat(f"{head}.{(fraction + '000000')[:6]}+00:00")
