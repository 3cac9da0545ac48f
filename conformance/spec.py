"""The operations under test, as the spec in ``openapi/management.yaml`` describes them.

Everything the checks know about an operation (its path, the date field of its details, the
permission it needs, its counterpart) is read from the spec through :mod:`mock_server.contract`,
so the suite never restates the contract.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from zitadel_lifecycle_openapi import MANAGEMENT_SPEC

from mock_server import contract

SPEC_PATH = MANAGEMENT_SPEC
ORG_HEADER = "x-zitadel-orgid"


@dataclass(frozen=True)
class Operation:
    rpc: str  # e.g. "DeactivateUserGrant"
    operation_id: str
    method: str
    path: str  # template relative to the base path, e.g. "/users/{id}/_deactivate"
    base_path: str  # "/management/v1"
    permission: str
    date_field: str  # "creationDate" or "changeDate"
    path_params: tuple[str, ...]

    @property
    def transition(self) -> str:
        """``deactivate`` or ``reactivate``."""
        return "deactivate" if self.rpc.startswith("Deactivate") else "reactivate"

    @property
    def kind(self) -> str:
        """The resource kind: ``action``, ``user``, ``org`` or ``user_grant``."""
        name = self.rpc.removeprefix("Deactivate").removeprefix("Reactivate")
        return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()

    @property
    def counterpart(self) -> str:
        """The RPC that undoes this one."""
        if self.transition == "deactivate":
            return "Reactivate" + self.rpc.removeprefix("Deactivate")
        return "Deactivate" + self.rpc.removeprefix("Reactivate")

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def url(self, base_url: str, params: dict[str, str]) -> str:
        """``base_url`` is the target's root, e.g. ``http://host:8080``."""
        path = self.path
        for name in self.path_params:
            path = path.replace("{" + name + "}", quote(str(params[name]), safe=""))
        return base_url.rstrip("/") + self.base_path + path

    @functools.cached_property
    def _pattern(self) -> re.Pattern[str]:
        regex = re.escape(self.base_path + self.path)
        for name in self.path_params:
            regex = regex.replace(re.escape("{" + name + "}"), f"(?P<{name}>[^/]*)")
        return re.compile(f"^{regex}$")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """The path parameters when ``method`` and ``path`` address this operation."""
        if method.upper() != self.method:
            return None
        found = self._pattern.match(path)
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items()}


@functools.cache
def operations() -> dict[str, Operation]:
    """Every lifecycle write of the spec, by RPC name, in the spec's order; see :func:`reads`."""
    base = contract.base_path(contract.load_spec())
    return {
        rpc.name: Operation(
            rpc=rpc.name,
            operation_id=rpc.operation_id,
            method=rpc.method,
            path=rpc.path,
            base_path=base,
            permission=rpc.permission,
            date_field=rpc.date_field,
            path_params=tuple(field.name for field in rpc.path_fields),
        )
        for rpc in contract.rpcs().values()
        if not rpc.is_read
    }


@dataclass(frozen=True)
class Read:
    """A read of one lifecycle kind: its Get (one resource) or its List (a search)."""

    rpc: str  # e.g. "GetUserByID", "ListUsers"
    operation_id: str
    method: str
    path: str
    base_path: str
    kind: str  # action, user, org, user_grant: the kind whose writes it reads back
    path_params: tuple[str, ...]
    # Where the answer carries the resource: "user", "org", "action", "userGrant" for a Get;
    # "result" (an array) for a List. Read from the required property of the 200 schema.
    item_key: str
    active: str  # the enum names of the two lifecycle states, e.g. "USER_STATE_ACTIVE"
    inactive: str
    # The date fields the resource's read details carry (actions: changeDate only).
    date_fields: tuple[str, ...]

    @property
    def is_list(self) -> bool:
        return self.item_key == "result"

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def state_name(self, state: str) -> str:
        """``active``/``inactive`` -> the enum name this read answers with."""
        return {"active": self.active, "inactive": self.inactive}[state]

    def url(self, base_url: str, params: dict[str, str]) -> str:
        path = self.path
        for name in self.path_params:
            path = path.replace("{" + name + "}", quote(str(params[name]), safe=""))
        return base_url.rstrip("/") + self.base_path + path

    def match(self, method: str, url: str) -> dict[str, str] | None:
        """The path parameters when ``method`` and ``url`` address this read (any prefix)."""
        if method.upper() != self.method:
            return None
        path = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
        prefix_at = path.find(self.base_path + "/")
        if prefix_at < 0:
            return None
        regex = re.escape(self.base_path + self.path)
        for name in self.path_params:
            regex = regex.replace(re.escape("{" + name + "}"), f"(?P<{name}>[^/]*)")
        found = re.match(f"^{regex}$", path[prefix_at:])
        if found is None:
            return None
        return {name: unquote(value) for name, value in found.groupdict().items()}


def _kind_of_read(rpc: str) -> str:
    # GetUserByID, ListUsers, GetMyOrg, GetUserGrantByID, ListUserGrants, GetAction, ListActions
    name = rpc.removeprefix("Get").removeprefix("List").removeprefix("My")
    name = name.removesuffix("ByID").removesuffix("s")
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def _read_shape(document: dict, rpc: contract.Rpc) -> tuple[str, str, str, tuple[str, ...]]:
    """(item key, active name, inactive name, date fields) from the 200 answer's schema."""
    operation = document["paths"][rpc.path][rpc.method.lower()]
    ok = contract.resolve(document, operation["responses"]["200"])
    answer = contract.resolve(document, ok["content"]["application/json"]["schema"])
    keys = [key for key in answer.get("required", []) if key != "details"]
    item_key = keys[0] if keys else "result"
    item = contract.resolve(document, answer["properties"][item_key])
    if item_key == "result":
        item = contract.resolve(document, item["items"])
    state = contract.resolve(document, item["properties"]["state"])
    active = next(name for name in state["enum"] if name.endswith("_STATE_ACTIVE"))
    inactive = next(name for name in state["enum"] if name.endswith("_STATE_INACTIVE"))
    details = contract.resolve(document, item["properties"]["details"])
    required: set[str] = set()
    for part in [details, *details.get("allOf", [])]:
        required |= set(contract.resolve(document, part).get("required", []))
    dates = tuple(name for name in ("creationDate", "changeDate") if name in required)
    return item_key, active, inactive, dates


@functools.cache
def reads() -> dict[str, Read]:
    """Every read of the spec (Get*/List*), by RPC name, in the spec's order."""
    document = contract.load_spec()
    base = contract.base_path(document)
    table = {}
    for rpc in contract.rpcs().values():
        if not rpc.is_read:
            continue
        item_key, active, inactive, dates = _read_shape(document, rpc)
        table[rpc.name] = Read(
            rpc=rpc.name,
            operation_id=rpc.operation_id,
            method=rpc.method,
            path=rpc.path,
            base_path=base,
            kind=_kind_of_read(rpc.name),
            path_params=tuple(field.name for field in rpc.path_fields),
            item_key=item_key,
            active=active,
            inactive=inactive,
            date_fields=dates,
        )
    return table


def reads_of(kind: str) -> tuple[Read, Read | None]:
    """``(get, list)`` of a kind; the org has no List in the Management API."""
    found = [read for read in reads().values() if read.kind == kind]
    get = next(read for read in found if not read.is_list)
    return get, next((read for read in found if read.is_list), None)


def read_for(method: str, url: str) -> Read | None:
    """The read a request addresses (as :func:`operation_for` does for the writes)."""
    return next((read for read in reads().values() if read.match(method, url) is not None), None)


def operation_for(method: str, url: str) -> Operation | None:
    """The operation a request addresses, from its method and URL (or path).

    A gateway may sit under a prefix (a proxy); the path is matched on its suffix.
    """
    path = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
    for operation in operations().values():
        prefix_at = path.find(operation.base_path + "/")
        if prefix_at < 0:
            continue
        if operation.match(method, path[prefix_at:]) is not None:
            return operation
    return None


def by_operation_id(operation_id: str) -> Operation:
    for operation in operations().values():
        if operation.operation_id == operation_id:
            return operation
    raise KeyError(operation_id)


def kinds() -> dict[str, tuple[Operation, Operation]]:
    """``kind -> (deactivate, reactivate)``."""
    table: dict[str, list[Operation]] = {}
    for operation in operations().values():
        table.setdefault(operation.kind, []).append(operation)
    return {
        kind: (
            next(o for o in ops if o.transition == "deactivate"),
            next(o for o in ops if o.transition == "reactivate"),
        )
        for kind, ops in table.items()
    }
