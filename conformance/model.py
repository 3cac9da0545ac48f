"""A request/response pair in plain terms, so the checks work with any HTTP client.

Adapters build it from an ``httpx.Response``, a ``requests.Response`` or a schemathesis
``Response`` (each of which knows the request that produced it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.spec import Operation, operation_for

_NOT_JSON = object()


def _headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    # Lower-cased names; repeated headers joined as HTTP allows.
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        key = name.lower()
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def _text(body: bytes | str | None) -> bytes:
    if body is None:
        return b""
    return body.encode() if isinstance(body, str) else bytes(body)


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())
        object.__setattr__(self, "headers", _headers(self.headers))
        object.__setattr__(self, "body", _text(self.body))

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def operation(self) -> Operation | None:
        return operation_for(self.method, self.url)


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", _headers(self.headers))
        object.__setattr__(self, "body", _text(self.body))

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def media_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def json(self, default: Any = _NOT_JSON) -> Any:
        """The decoded body; ``default`` (when given) instead of raising on a non-JSON body."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            if default is _NOT_JSON:
                raise
            return default


def from_httpx(response: Any) -> tuple[Request, Response]:
    """The pair of an ``httpx.Response``."""
    request = response.request
    try:
        body = request.content
    except Exception:  # a streamed request body that was not read
        body = b""
    return (
        Request(request.method, str(request.url), dict(request.headers.multi_items()), body),
        Response(response.status_code, dict(response.headers.multi_items()), response.content),
    )


def from_requests(response: Any) -> tuple[Request, Response]:
    """The pair of a ``requests.Response``."""
    prepared = response.request
    return (
        _from_prepared(prepared),
        Response(response.status_code, dict(response.headers), response.content),
    )


def from_schemathesis(response: Any) -> tuple[Request, Response]:
    """The pair of a schemathesis ``Response`` (its headers are lists of values)."""
    headers = [(name, value) for name, values in response.headers.items() for value in values]
    return _from_prepared(response.request), Response(
        response.status_code, headers, response.content
    )


def _from_prepared(prepared: Any) -> Request:
    body = prepared.body
    if body is not None and not isinstance(body, (bytes, str)):
        body = b""  # a streamed body
    return Request(prepared.method or "GET", prepared.url or "", dict(prepared.headers), body)
