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
    """Every lifecycle operation of the spec, by RPC name, in the spec's order."""
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
