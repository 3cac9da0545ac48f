"""Restoring: putting every resource the suite may have changed back to active.

On our mock through its control plane; on any other target through the API's own reactivate
call, where "already active" (400 code 9) counts as done.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import requests

from conformance import provisioning, spec
from conformance.model import Response

if TYPE_CHECKING:
    from conformance.target import Target

REQUEST_TIMEOUT = 10.0


class Restorer:
    def __init__(self, target: Target) -> None:
        self.target = target

    def ensure_active(self, ref: provisioning.Ref) -> str | None:
        """Put ``ref`` back to active; the reason when that failed."""
        target = self.target
        mock = target.resources.mock
        if mock is not None:
            try:
                if mock.get(ref).get("state") != "active":
                    mock.set_state(ref, "active")
            except provisioning.ResourcesError as exc:
                return str(exc)
            return None
        # A real target: reactivate through the API; "already active" is fine too.
        _, reactivate = spec.kinds()[ref.kind]
        try:
            response = target.session.post(
                reactivate.url(target.root, ref.params),
                json={},
                headers={"Authorization": target.authorization() or "", spec.ORG_HEADER: ref.org},
                timeout=REQUEST_TIMEOUT,
            )
        except requests.RequestException as exc:
            return f"{reactivate.rpc} {ref.id}: {exc}"
        body = Response(response.status_code, dict(response.headers), response.content).json(None)
        code = body.get("code") if isinstance(body, dict) else None
        if response.status_code == 200 or (response.status_code == 400 and code == 9):
            return None
        return (
            f"{reactivate.rpc} {ref.id} answered HTTP {response.status_code}: {response.text[:200]}"
        )

    def restore(self) -> list[str]:
        """Every resource the suite may have changed back to active; the problems found."""
        refs = self.target.safety.touchable_refs()
        return [problem for ref in refs if (problem := self.ensure_active(ref))]
