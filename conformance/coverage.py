"""Which documented outcomes of each operation the run actually saw.

The spec documents a 200 and a ``google.rpc.Status`` default for every operation; which errors
each one answers is ZITADEL's behaviour (its command code and auth interceptor, see
``conformance/README.md``): 401 code 16 without valid credentials, 403 code 7 for an unknown
org or a caller without the permission, 400 code 3 for an invalid request, 404 code 5 for an
unknown id, 400 code 9 for a transition from the wrong state (not for user grants under v4,
which answer 200 with the existing details). A run that never provoked one of them did not test
it, whatever the verdict says; ``--require-coverage`` makes that a failure.
"""

from __future__ import annotations

from typing import Any

from conformance import spec

_ALWAYS = ("200", "400 code 3", "401 code 16", "403 code 7")


def documented(rpc: str, profile: str) -> tuple[str, ...]:
    """The outcomes ZITADEL documents for write ``rpc`` under ``profile``."""
    operation = spec.operations()[rpc]
    outcomes = list(_ALWAYS)
    if operation.kind != "org":
        outcomes.append("404 code 5")
    if not (operation.kind == "user_grant" and profile == "v4"):
        outcomes.append("400 code 9")
    return tuple(sorted(outcomes))


def coverage(observed: dict[str, dict[str, int]], profile: str) -> dict[str, dict[str, Any]]:
    """Per write operation: each documented outcome with how often it was answered, and the
    outcomes that were answered although not documented."""
    result = {}
    for rpc in spec.operations():
        seen = observed.get(rpc, {})
        wanted = documented(rpc, profile)
        result[rpc] = {
            "documented": {outcome: seen.get(outcome, 0) for outcome in wanted},
            "undocumented": {o: n for o, n in sorted(seen.items()) if o not in wanted},
        }
    return result


def gaps(table: dict[str, dict[str, Any]]) -> list[str]:
    """``DeactivateOrg: 400 code 9`` for every documented outcome never answered."""
    return [
        f"{rpc}: {outcome}"
        for rpc, row in table.items()
        for outcome, count in row["documented"].items()
        if not count
    ]
