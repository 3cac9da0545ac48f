"""Where the stateful scenarios get their resources, and how the suite puts them back.

In this order of precedence:

1. a resources file (YAML) naming orgs, resources and extra tokens on a real target;
2. our mock's control plane (``/_mock/v1``), through which the suite creates its own orgs,
   caller, resources and callers without rights, so it never touches seeded data; under
   pytest-xdist each worker first creates an instance of its own (:func:`open_instance`) and
   provisions in there;
3. nothing: the scenarios that need resources are skipped, with the reason in the matrix.

Every resource starts active. The suite restores that state after each test that may change it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

CONTROL_PREFIX = "/_mock/v1"
# The path parameters of each kind; the org is addressed with x-zitadel-orgid only.
KIND_COLLECTIONS = {
    "action": "actions",
    "user": "users",
    "org": "orgs",
    "user_grant": "user_grants",
}
_FILE_KEYS = {"org", "other_org", "actions", "users", "user_grants", "tokens"}
_TOKEN_KEYS = {"no_membership", "no_permission"}


class ResourcesError(ValueError):
    """A resources file or a mock that cannot provide what the suite needs."""


@dataclass(frozen=True)
class Ref:
    """One resource the suite may deactivate and reactivate; it starts (and ends) active."""

    kind: str  # action, user, org, user_grant
    id: str  # the resource's own id (the org id for an org)
    org: str  # the org it lives in, sent as x-zitadel-orgid
    params: dict[str, str] = field(default_factory=dict)  # path parameters

    def __hash__(self) -> int:
        return hash((self.kind, self.id))


@dataclass
class Resources:
    source: str  # said in the report
    org: str | None = None
    other_org: str | None = None
    refs: list[Ref] = field(default_factory=list)
    tokens: dict[str, str] = field(default_factory=dict)
    caller_token: str | None = None  # a caller the mock provisioned
    caller_org: str | None = None  # the caller's own org, when known
    mock: MockControl | None = None
    missing: str | None = None  # why there are none
    instance: MockInstance | None = None  # the mock instance of its own the suite works in
    # Listed in a file, so every session of the run (each xdist worker) gets the same ones.
    shared: bool = False
    notes: list[str] = field(default_factory=list)  # said under the matrix

    def of_kind(self, kind: str) -> list[Ref]:
        return [ref for ref in self.refs if ref.kind == kind]

    def first(self, kind: str) -> Ref | None:
        refs = self.of_kind(kind)
        return refs[0] if refs else None


def _ids(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str | int):
        return [str(value)]
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        return [str(v) for v in value]
    raise ResourcesError(f"{where}: expected an id or a list of ids, got {value!r}")


def load_file(path: Path) -> Resources:
    """Read a resources file; every listed resource must be active and belong to ``org``."""
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ResourcesError(f"cannot read the resources file {path}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ResourcesError(f"{path} is not YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise ResourcesError(f"{path}: the resources file holds a mapping")
    unknown = sorted(set(doc) - _FILE_KEYS)
    if unknown:
        raise ResourcesError(f"{path}: unknown keys {unknown}; known: {sorted(_FILE_KEYS)}")
    org = str(doc["org"]) if doc.get("org") else None
    listed = any(doc.get(k) for k in ("actions", "users", "user_grants"))
    if listed and org is None:
        raise ResourcesError(f"{path}: 'org' (the org the resources live in) is required")
    refs = [Ref("action", a, org, {"id": a}) for a in _ids(doc.get("actions"), "actions")]
    refs += [Ref("user", u, org, {"id": u}) for u in _ids(doc.get("users"), "users")]
    grants = doc.get("user_grants") or []
    if not isinstance(grants, list):
        raise ResourcesError(f"{path}: user_grants is a list of {{user: ..., grant: ...}}")
    for entry in grants:
        if not isinstance(entry, dict) or not entry.get("user") or not entry.get("grant"):
            raise ResourcesError(f"{path}: each user grant needs 'user' and 'grant', got {entry!r}")
        user, grant = str(entry["user"]), str(entry["grant"])
        refs.append(Ref("user_grant", grant, org, {"user_id": user, "grant_id": grant}))
    if org is not None:
        refs.append(Ref("org", org, org))
    tokens = doc.get("tokens") or {}
    if not isinstance(tokens, dict) or set(tokens) - _TOKEN_KEYS:
        raise ResourcesError(f"{path}: tokens may name {sorted(_TOKEN_KEYS)}, got {tokens!r}")
    return Resources(
        source=f"resources file {path}",
        org=org,
        other_org=str(doc["other_org"]) if doc.get("other_org") else None,
        refs=refs,
        tokens={k: str(v) for k, v in tokens.items() if v},
        caller_org=org,
        shared=True,
    )


class ControlPlaneLocked(ResourcesError):
    """Our mock answered, but its control plane wants a token the suite was not given."""


class MockControl:
    """The control plane of our mock, used to provision and to look behind the API.

    ``headers`` go with every call: the control token, and the header that selects the
    instance the calls act on (the mock picks the instance from the host, as ZITADEL does).
    """

    def __init__(
        self,
        root: str,
        info: dict[str, Any],
        client: httpx.Client,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.root = root
        self.info = info
        self.client = client
        self.headers = dict(headers or {})

    @property
    def profile(self) -> str | None:
        return self.info.get("profile")

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        response = self.client.request(
            method, f"{self.root}{CONTROL_PREFIX}{path}", json=body, headers=self.headers
        )
        if response.status_code >= 300:
            raise ResourcesError(
                f"mock control plane {method} {path}: HTTP {response.status_code} {response.text}"
            )
        return response.json() if response.content else None

    def create(self, collection: str, entry: dict[str, Any]) -> dict[str, Any]:
        return self._request("POST", f"/{collection}", entry)

    def get(self, ref: Ref) -> dict[str, Any]:
        return self._request("GET", f"/{KIND_COLLECTIONS[ref.kind]}/{ref.id}")

    def set_state(self, ref: Ref, state: str) -> dict[str, Any]:
        return self._request(
            "PUT", f"/{KIND_COLLECTIONS[ref.kind]}/{ref.id}/state", {"state": state}
        )

    def token_owner(self, token: str) -> dict[str, Any] | None:
        for entry in self.info.get("tokens", []):
            if entry.get("token") == token:
                return entry
        return None


def _control_headers(control_token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {control_token}"} if control_token else {}


def discover_mock(
    root: str, client: httpx.Client, control_token: str | None = None
) -> MockControl | None:
    """Our mock with its control plane at ``root``, or ``None`` for any other target."""
    headers = _control_headers(control_token)
    try:
        response = client.get(f"{root}{CONTROL_PREFIX}/info", headers=headers)
        info = response.json() if response.status_code in (200, 401, 403) else None
    except (httpx.HTTPError, ValueError):
        return None
    if response.status_code != 200:
        # The mock's closed control plane answers in ZITADEL's envelope and says what it wants.
        if isinstance(info, dict) and "control" in str(info.get("message", "")):
            what = "rejects the given token" if control_token else "needs a token"
            raise ControlPlaneLocked(
                f"the mock's control plane at {root} {what}: pass the token it printed at start "
                "(--control-token, --zitadel-control-token or ZITADEL_CONTROL_TOKEN)"
            )
        return None
    if not isinstance(info, dict) or "management_base_path" not in info:
        return None
    return MockControl(root, info, client, headers)


# -- an instance of its own, per xdist worker ---------------------------------------------------


@dataclass
class MockInstance:
    """An instance of our mock created for one session of the suite (one xdist worker)."""

    id: str
    name: str
    headers: dict[str, str]  # select it on every request (x-zitadel-instance-host)
    tokens: dict[str, str]  # its ready principals: instance_owner, org_owner, ...
    all_tokens: list[dict[str, Any]]
    parent: MockControl = field(repr=False)  # where it was created, and is deleted

    def delete(self) -> None:
        self.parent._request("DELETE", f"/instances/{self.id}")


def open_instance(parent: MockControl, name: str) -> tuple[MockControl, MockInstance]:
    """A new instance like the one ``parent`` acts on (seed, profile, read lag), and the
    control plane of the new one. Its world is seeded as the parent's was, with the same
    resource ids, but with tokens of its own."""
    settings = parent._request("GET", "/settings") or {}
    body = {
        "name": name,
        "seed": parent.info.get("seed", 0),
        "read_lag_ms": settings.get("read_lag_ms", 0),
    }
    if parent.profile:
        body["profile"] = parent.profile
    created = parent._request("POST", "/instances", body)
    instance = MockInstance(
        id=str(created["id"]),
        name=str(created["name"]),
        headers=dict(created.get("headers") or {}),
        tokens=dict(created.get("tokens") or {}),
        all_tokens=list(created.get("all_tokens") or []),
        parent=parent,
    )
    control = MockControl(parent.root, {}, parent.client, {**parent.headers, **instance.headers})
    try:
        control.info = control._request("GET", "/info")
        # Only the new instance knows its tokens: a proxy that drops the instance header
        # would leave every call in the parent's world.
        known = {t.get("token") for t in control.info.get("tokens", [])}
        if instance.tokens.get("instance_owner") not in known:
            raise ResourcesError(
                f"the instance header {instance.headers} did not reach the mock: calls with it "
                "still act on another instance"
            )
    except ResourcesError:
        instance.delete()
        raise
    return control, instance


def _seed_value(token: str) -> str:
    """``admin-pat-8dc19f38c338`` -> ``admin-pat``: the seeded token an instance's one copies."""
    head, _, suffix = token.rpartition("-")
    return head if head and suffix and all(c in "0123456789abcdef" for c in suffix) else token


def equivalent_token(
    parent: MockControl, instance: MockInstance, token: str
) -> tuple[str, str | None]:
    """The token of ``instance`` that stands for ``token`` of the parent instance, and a note
    when there is none: the same user (the seeded worlds share their ids), else the principal
    whose seed token ``token`` is (``admin-pat`` or ``admin-pat-<suffix>`` of another
    instance -> ``instance_owner``), else the instance owner."""
    owner = parent.token_owner(token)
    if owner is not None:
        for entry in sorted(
            instance.all_tokens, key=lambda t: t["token"] not in instance.tokens.values()
        ):
            if entry.get("user") == owner.get("user"):
                return str(entry["token"]), None
    for value in instance.tokens.values():
        seed = _seed_value(value)
        if token == seed or token.startswith(f"{seed}-"):
            return value, None
    return instance.tokens["instance_owner"], (
        f"the given token is none of the mock's seeded principals, so in its instance "
        f"{instance.name} the suite called as the instance owner"
    )


def provision_on_mock(control: MockControl, token: str | None) -> Resources:
    """Fresh orgs A and B, a caller owning both, one active resource of each kind in A, and
    callers without rights; the given caller (``token``) is made owner of A and B instead."""
    tag = secrets.token_hex(4)

    def org(name: str) -> str:
        return control.create("orgs", {"name": f"conformance {name} {tag}", "state": "active"})[
            "id"
        ]

    def user(org_id: str, name: str) -> str:
        entry = {"org": org_id, "user_name": f"conformance-{name}-{tag}", "state": "active"}
        return control.create("users", entry)["id"]

    def token_for(user_id: str, name: str) -> str:
        value = f"conformance-{name}-{tag}-{secrets.token_hex(8)}"
        control.create("tokens", {"token": value, "user": user_id, "description": name})
        return value

    def member(user_id: str, org_id: str, roles: list[str]) -> None:
        control.create(
            "memberships", {"user": user_id, "scope": "org", "id": org_id, "roles": roles}
        )

    org_a, org_b = org("A"), org("B")
    caller_token, caller_org = token, None
    if token is None:
        caller = user(org_a, "caller")
        caller_token, caller_org = token_for(caller, "caller"), org_a
    else:
        owner = control.token_owner(token)
        if owner is None:
            raise ResourcesError(
                "the mock does not know the given token, so it cannot be made owner of the "
                "orgs the suite provisions; give no token to let the suite provision a caller"
            )
        caller, caller_org = owner["user"], owner.get("org")
    member(caller, org_a, ["ORG_OWNER"])
    member(caller, org_b, ["ORG_OWNER"])

    action = control.create(
        "actions", {"org": org_a, "name": f"conformance-{tag}", "state": "active"}
    )
    target_user = user(org_a, "user")
    grantee = user(org_a, "grantee")
    project = control.create("projects", {"org": org_a, "name": f"conformance {tag}"})["id"]
    grant = control.create(
        "user_grants",
        {"org": org_a, "user": grantee, "project": project, "roles": [], "state": "active"},
    )["id"]

    no_membership = token_for(user(org_a, "no-membership"), "no-membership")
    no_permission_user = user(org_a, "no-permission")
    # A role of the instance's vocabulary that carries none of the four permissions.
    member(no_permission_user, org_a, ["ORG_USER_SELF_MANAGER"])
    no_permission = token_for(no_permission_user, "no-permission")

    return Resources(
        source="provisioned through the mock's control plane",
        org=org_a,
        other_org=org_b,
        refs=[
            Ref("action", action["id"], org_a, {"id": action["id"]}),
            Ref("user", target_user, org_a, {"id": target_user}),
            Ref("user_grant", grant, org_a, {"user_id": grantee, "grant_id": grant}),
            Ref("org", org_a, org_a),
        ],
        tokens={"no_membership": no_membership, "no_permission": no_permission},
        caller_token=caller_token if token is None else None,
        caller_org=caller_org,
        mock=control,
    )


def none(reason: str) -> Resources:
    return Resources(source="none", missing=reason)
