"""The one error type of the domain.

ZITADEL's zerrors carry a kind, an error id such as ``COMMAND-6M0sf`` and a message. Native gRPC
statuses (the missing auth header, protoc-gen-validate failures, decoder errors) have no id and
travel without details. Both shapes are one class here; how it leaves on a wire is decided in
:mod:`mock_server.status` alone.
"""

from __future__ import annotations

import enum


class Code(enum.IntEnum):
    """Canonical gRPC status codes (google.rpc.Code)."""

    OK = 0
    CANCELLED = 1
    UNKNOWN = 2
    INVALID_ARGUMENT = 3
    DEADLINE_EXCEEDED = 4
    NOT_FOUND = 5
    ALREADY_EXISTS = 6
    PERMISSION_DENIED = 7
    RESOURCE_EXHAUSTED = 8
    FAILED_PRECONDITION = 9
    ABORTED = 10
    OUT_OF_RANGE = 11
    UNIMPLEMENTED = 12
    INTERNAL = 13
    UNAVAILABLE = 14
    DATA_LOSS = 15
    UNAUTHENTICATED = 16


class ZitadelError(Exception):
    """A failed call, as ZITADEL reports it.

    ``error_id`` is ZITADEL's error id; when it is set the status message reads
    ``"<text> (<id>)"`` and one ``zitadel.v1.ErrorDetail`` is attached. Without it the text is
    the whole message and there are no details, like a native gRPC status.
    """

    def __init__(self, code: Code, text: str, error_id: str | None = None) -> None:
        super().__init__(text if error_id is None else f"{text} ({error_id})")
        self.code = code
        self.text = text
        self.error_id = error_id

    @property
    def message(self) -> str:
        return str(self)

    def __repr__(self) -> str:
        return f"ZitadelError({self.code.name}, {self.message!r})"


def not_found(text: str, error_id: str | None = None) -> ZitadelError:
    return ZitadelError(Code.NOT_FOUND, text, error_id)


def precondition(text: str, error_id: str) -> ZitadelError:
    return ZitadelError(Code.FAILED_PRECONDITION, text, error_id)


def invalid_argument(text: str, error_id: str | None = None) -> ZitadelError:
    return ZitadelError(Code.INVALID_ARGUMENT, text, error_id)


def permission_denied(text: str, error_id: str | None = None) -> ZitadelError:
    return ZitadelError(Code.PERMISSION_DENIED, text, error_id)


def unauthenticated(text: str, error_id: str | None = None) -> ZitadelError:
    return ZitadelError(Code.UNAUTHENTICATED, text, error_id)
