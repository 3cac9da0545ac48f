"""What the spec says about each RPC, read once from ``openapi/management.yaml``.

Routes, permissions, path-parameter rules and the date field of the details all come from the
spec, so the fronts and the domain never restate them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from zitadel_lifecycle_openapi import MANAGEMENT_SPEC


@dataclass(frozen=True)
class FieldRule:
    """A protoc-gen-validate string rule on one request field."""

    name: str  # proto field name, e.g. "user_id"
    min_length: int | None
    max_length: int | None


@dataclass(frozen=True)
class Rpc:
    name: str  # e.g. "ReactivateUser"
    operation_id: str  # e.g. "ManagementService_ReactivateUser"
    method: str
    path: str  # relative to the server base path
    permission: str
    path_fields: tuple[FieldRule, ...]
    # The one date field the details of a lifecycle write fill ("creationDate" or
    # "changeDate"); None for a read, whose details carry whatever its converter fills.
    date_field: str | None
    deprecated: bool
    # Whether the gateway binds a body (body "*"); a GET's body is never read.
    has_body: bool

    @property
    def is_read(self) -> bool:
        return is_read_permission(self.permission)

    @property
    def request_message(self) -> str:
        # ListUserGrants is the one RPC whose messages upstream names in the singular.
        return "ListUserGrantRequest" if self.name == "ListUserGrants" else f"{self.name}Request"


def is_read_permission(permission: str) -> bool:
    """A read (Get*/List*): upstream's auth options name its permission ``*.read``."""
    return permission.endswith(".read")


# libyaml's loader when PyYAML was built with it: the same safe subset, parsed about ten times
# faster than the pure-Python one (the spec took 0.3 s of the mock's start-up).
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_spec(path: Path = MANAGEMENT_SPEC) -> dict[str, Any]:
    """The spec as a new document (the caller may change it)."""
    with open(path, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=SafeLoader)


@functools.cache
def _read_only_spec() -> dict[str, Any]:
    # The base path and the RPC table both come from the spec at start-up: one parse (24 ms)
    # for the two, which only read it.
    return load_spec()


def resolve(spec: dict[str, Any], node: Any) -> Any:
    """Follow local ``$ref`` pointers until a concrete node is reached."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def base_path(spec: dict[str, Any]) -> str:
    return spec["servers"][0]["url"].rstrip("/")


@functools.cache
def management_base_path() -> str:
    """The management API's base path (``/management/v1``), read once."""
    return base_path(_read_only_spec())


def _required_fields(spec: dict[str, Any], schema: Any) -> set[str]:
    schema = resolve(spec, schema)
    required = set(schema.get("required", []))
    for part in schema.get("allOf", []):
        required |= _required_fields(spec, part)
    return required


def _date_field(spec: dict[str, Any], operation: dict[str, Any]) -> str:
    ok = resolve(spec, operation["responses"]["200"])
    response_schema = resolve(spec, ok["content"]["application/json"]["schema"])
    details_schema = response_schema["properties"]["details"]
    required = _required_fields(spec, details_schema)
    fields = required & {"creationDate", "changeDate"}
    if len(fields) != 1:
        raise ValueError(f"{operation['operationId']}: details must require one date field")
    return fields.pop()


def _rpc(spec: dict[str, Any], path: str, method: str, operation: dict[str, Any]) -> Rpc:
    fields = []
    for parameter in operation.get("parameters", []):
        parameter = resolve(spec, parameter)
        if parameter["in"] != "path":
            continue
        schema = resolve(spec, parameter.get("schema", {}))
        fields.append(
            FieldRule(parameter["name"], schema.get("minLength"), schema.get("maxLength"))
        )
    permission = operation["x-zitadel-permission"]
    return Rpc(
        name=operation["x-zitadel-rpc"],
        operation_id=operation["operationId"],
        method=method.upper(),
        path=path,
        permission=permission,
        path_fields=tuple(fields),
        date_field=None if is_read_permission(permission) else _date_field(spec, operation),
        deprecated=bool(operation.get("deprecated", False)),
        has_body="requestBody" in operation,
    )


@functools.cache
def rpcs() -> dict[str, Rpc]:
    """Every RPC of the spec, writes and reads, by RPC name."""
    spec = _read_only_spec()
    table = {}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "operationId" in operation:
                rpc = _rpc(spec, path, method, operation)
                table[rpc.name] = rpc
    return table


def rpc_by_operation_id(operation_id: str) -> Rpc:
    for rpc in rpcs().values():
        if rpc.operation_id == operation_id:
            return rpc
    raise KeyError(operation_id)
