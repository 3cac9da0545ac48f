"""The contract's response rules as schemathesis custom checks.

Use them in your own schemathesis tests without registering anything::

    from conformance.schemathesis_checks import CHECKS

    @schema.parametrize()
    def test_api(case):
        case.call_and_validate(additional_checks=CHECKS)

or register them for ``schemathesis run`` (they then run with ``--checks all``)::

    SCHEMATHESIS_HOOKS=conformance.schemathesis_hooks schemathesis run ...

Registration is explicit: importing :mod:`conformance` never changes what other schemathesis
runs in the same process check. ``zitadel_details`` compares resourceOwner with
x-zitadel-orgid, or with ZITADEL_ORG_ID for calls without that header when it is set.
"""

from __future__ import annotations

import os
from typing import Any

from conformance.checks import check_details, check_envelope, check_status
from conformance.model import from_schemathesis


def zitadel_status(ctx: Any, response: Any, case: Any) -> bool:
    """A success is 200, an error's status is grpc-gateway's mapping of its code."""
    return not check_status(*from_schemathesis(response))


def zitadel_envelope(ctx: Any, response: Any, case: Any) -> bool:
    """Errors are google.rpc.Status envelopes: integer code, string message, typed details."""
    return not check_envelope(*from_schemathesis(response))


def zitadel_details(ctx: Any, response: Any, case: Any) -> bool:
    """Successes carry ObjectDetails: decimal sequence, one RFC 3339 UTC date, the org."""
    request, reply = from_schemathesis(response)
    return not check_details(request, reply, default_org=os.environ.get("ZITADEL_ORG_ID") or None)


# A check returns True when it did not apply, which schemathesis reports as skipped.
CHECKS = [zitadel_status, zitadel_envelope, zitadel_details]


def register() -> None:
    """Register the checks with schemathesis (for ``schemathesis run`` and its config)."""
    import schemathesis

    for check in CHECKS:
        schemathesis.check(check)
