"""What the suite may touch: the orgs it must never deactivate and the last guard before a send.

Every request goes through :meth:`Safety.guard` just before it leaves, so no generated value,
link or scenario can address an org the suite may not change. Without
``--allow-org-deactivation`` no DeactivateOrg leaves at all, whatever it addresses: a server
that ignores x-zitadel-orgid (or the Authorization header) acts on the caller's own org, so no
header value makes that request safe.
"""

from __future__ import annotations

from typing import Any

from conformance import provisioning, spec
from conformance.settings import Settings


class UnsafeRequest(RuntimeError):
    """A request the suite refuses to send: it could deactivate an org it may not touch."""


class Safety:
    def __init__(
        self, settings: Settings, resources: provisioning.Resources, default_org: str | None
    ) -> None:
        self.settings = settings
        self.resources = resources
        self.default_org = default_org

    @property
    def org(self) -> str | None:
        """Org A: where the provisioned resources live."""
        return self.resources.org

    @property
    def may_touch_org(self) -> bool:
        return self.settings.allow_org_deactivation and self.org is not None

    def protected_orgs(self) -> set[str]:
        resources = self.resources
        orgs = {resources.org, resources.other_org, self.default_org, resources.caller_org}
        return {o for o in orgs if o}

    def touchable_refs(self) -> list[provisioning.Ref]:
        return [r for r in self.resources.refs if r.kind != "org" or self.may_touch_org]

    def refusal(self, operation: spec.Operation) -> str | None:
        """Why ``operation`` is never sent in this run; ``None`` when it may be."""
        if operation.kind == "org" and operation.transition == "deactivate":
            if not self.may_touch_org:
                return (
                    f"{operation.rpc} is never sent without --allow-org-deactivation: a server "
                    "that ignores x-zitadel-orgid would deactivate the caller's own org"
                )
        return None

    def guard(self, operation: spec.Operation | None, headers: dict[str, Any]) -> None:
        if operation is None or operation.kind != "org":
            return  # a read, or a write that cannot touch an org
        refusal = self.refusal(operation)
        if refusal:
            raise UnsafeRequest(f"refusing to send: {refusal}")
        value = next((v for k, v in headers.items() if k.lower() == spec.ORG_HEADER), None)
        value = str(value).strip() if value is not None else ""
        if value and value not in self.protected_orgs():
            return
        if value and self.may_touch_org and value == self.org:
            return
        raise UnsafeRequest(
            f"refusing to send {operation.rpc} with x-zitadel-orgid {value or '(none)'}: it "
            "could deactivate an org the suite may not change"
        )
