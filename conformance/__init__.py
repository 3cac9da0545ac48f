"""Conformance suite for ZITADEL's Management API v1 lifecycle endpoints.

The response rules are plain functions over a request/response pair, usable from any test::

    from conformance import assert_conforms, from_httpx

    assert_conforms(*from_httpx(httpx.post(url, headers=headers, json={})))

The suite itself runs as a pytest plugin (``pytest --pyargs conformance.suite --zitadel-url
URL``) or as ``zitadel-conformance URL``; see conformance/README.md.
"""

from __future__ import annotations

from conformance.checks import (
    RULES,
    assert_conforms,
    check_all,
    check_details,
    check_envelope,
    check_status,
)
from conformance.model import Request, Response, from_httpx, from_requests, from_schemathesis
from conformance.read_checks import check_listed, check_read, check_visible
from conformance.rule_primitives import RuleViolation
from conformance.spec import Operation, Read, operation_for, operations, reads

__all__ = [
    "RULES",
    "Operation",
    "Read",
    "Request",
    "Response",
    "RuleViolation",
    "assert_conforms",
    "check_all",
    "check_details",
    "check_envelope",
    "check_listed",
    "check_read",
    "check_status",
    "check_visible",
    "from_httpx",
    "from_requests",
    "from_schemathesis",
    "operation_for",
    "operations",
    "reads",
]
