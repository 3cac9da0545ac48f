"""The request journal: what every call to one instance asked for and what it was answered.

:meth:`LifecycleService.call <mock_server.domain.service.LifecycleService.call>` writes one
frozen :class:`Call` per call that reaches it, on every front (REST, gRPC-web, native gRPC) and
for reads and writes alike; the instance's :class:`Journal` keeps the latest ``size`` of them
(a ring buffer, so a long-running mock stays bounded). Tests ask it through
:meth:`Journal.calls`, :meth:`Journal.assert_called` and :meth:`Journal.assert_not_called`,
whose failures list the calls that *were* made, as pytest-httpserver's ``format_matchers``
does; the control plane serves the same records as JSON (``GET /_mock/v1/journal``).

Web-free: no front is imported here, and the records hold plain values only.
"""

from __future__ import annotations

import collections
import dataclasses
import difflib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from mock_server import contract
from mock_server.domain.errors import Code

DEFAULT_JOURNAL_SIZE = 10_000
MAX_JOURNAL_SIZE = 10_000_000
TRANSPORTS = ("rest", "grpc-web", "grpc", "direct")
# How many calls an assertion's failure message lists (the latest ones).
_SHOWN = 50


@dataclass(frozen=True)
class Call:
    """One call as the mock saw it.

    ``caller`` is the user id the token belongs to and ``token`` that token's description
    (never its value); both are None when the token is missing or unknown. ``org`` is the org
    the call acts in (``x-zitadel-orgid`` or the caller's own). ``fields`` are the request
    fields by proto name. ``code`` is the gRPC code answered (0 on success), ``http_status``
    what the gateway makes of it. ``sequence`` is the details sequence of a successful write.
    ``injected`` marks a failure an injected fault decided (the call changed nothing);
    ``delay_ms`` is injected latency, included in ``duration_ms``.
    """

    index: int  # position in the instance's journal, from 1, never reused
    time: datetime
    transport: str
    rpc: str
    caller: str | None
    token: str | None
    org: str | None
    fields: Mapping[str, Any]
    code: int
    http_status: int
    error_id: str | None = None
    message: str = ""
    sequence: int | None = None
    injected: bool = False
    delay_ms: float = 0.0
    duration_ms: float = 0.0
    fault: str | None = field(default=None)  # id of the fault that failed the call

    @property
    def ok(self) -> bool:
        return self.code == 0

    @property
    def code_name(self) -> str:
        return Code(self.code).name

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "time": self.time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
            "transport": self.transport,
            "rpc": self.rpc,
            "caller": self.caller,
            "token": self.token,
            "org": self.org,
            "fields": dict(self.fields),
            "code": self.code,
            "code_name": self.code_name,
            "http_status": self.http_status,
            "error_id": self.error_id,
            "message": self.message,
            "sequence": self.sequence,
            "injected": self.injected,
            "fault": self.fault,
            "delay_ms": round(self.delay_ms, 3),
            "duration_ms": round(self.duration_ms, 3),
        }

    def describe(self) -> str:
        """One line: ``#3 rest DeactivateUser(id='1') -> FAILED_PRECONDITION 400 '...'``."""
        arguments = ", ".join(f"{name}={value!r}" for name, value in self.fields.items())
        line = f"#{self.index} {self.transport} {self.rpc}({arguments}) -> "
        if self.ok:
            line += "OK"
            if self.sequence is not None:
                line += f" sequence {self.sequence}"
        else:
            line += f"{self.code_name} {self.http_status} {self.message!r}"
        if self.injected:
            line += f" [injected by fault {self.fault}]"
        return line


def _outcome_matcher(outcome: str | int) -> Any:
    """``ok``, ``error``, a gRPC code name (``unavailable``), a gRPC code (0-16) or an HTTP
    status (100 and up: the two number ranges do not overlap)."""
    if isinstance(outcome, bool):
        raise ValueError(f"outcome {outcome!r} is no outcome")
    if isinstance(outcome, str):
        text = outcome.strip()
        if text.isdigit():
            outcome = int(text)
        elif text.lower() == "ok":
            return lambda call: call.code == 0
        elif text.lower() == "error":
            return lambda call: call.code != 0
        else:
            code = Code.__members__.get(text.upper())
            if code is None:
                raise ValueError(
                    f"outcome {outcome!r} is none of ok, error, a gRPC code name such as "
                    "unavailable, a gRPC code (0-16) or an HTTP status"
                )
            return lambda call: call.code == code
    if isinstance(outcome, int) and 0 <= outcome <= max(Code):
        return lambda call: call.code == outcome
    if isinstance(outcome, int) and 100 <= outcome <= 599:
        return lambda call: call.http_status == outcome
    raise ValueError(f"outcome {outcome!r} is no gRPC code (0-16) and no HTTP status (100-599)")


def _since_matcher(since: datetime | int | str | Call) -> Any:
    """Calls after ``since``: a :class:`Call` or journal index (exclusive: what came after
    it), or a time (inclusive): an aware datetime or an RFC 3339 text."""
    if isinstance(since, Call):
        since = since.index
    if isinstance(since, str):
        text = since.strip()
        if text.isdigit():
            since = int(text)
        else:
            try:
                since = datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                raise ValueError(
                    f"since {text!r} is neither a journal index nor an RFC 3339 time such as "
                    "2024-05-01T12:00:00Z"
                ) from None
    if isinstance(since, bool):
        raise ValueError(f"since {since!r} is no index and no time")
    if isinstance(since, int):
        index = since
        return lambda call: call.index > index
    if isinstance(since, datetime):
        moment = since if since.tzinfo else since.replace(tzinfo=UTC)
        return lambda call: call.time >= moment
    raise ValueError(f"since {since!r} is no index and no time")


class Journal:
    """The latest ``size`` calls of one instance, oldest first; safe to use from any thread.

    A reset of the instance's world leaves the journal as it is (it records what clients
    sent, not the world); :meth:`clear` empties it.
    """

    def __init__(self, size: int = DEFAULT_JOURNAL_SIZE) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size:
            raise ValueError(f"the journal size must be a whole number of at least 1: {size!r}")
        self._lock = threading.Lock()
        # Each call as a tuple of its fields' values (fields as items), made a Call when
        # read: a tuple of strings, numbers and dates is one the collector stops tracking, so
        # a full journal adds nothing to its passes; 10,000 Calls (each with its __dict__ and
        # mapping proxy) made its full passes several times longer under load.
        self._calls: collections.deque[tuple] = collections.deque(maxlen=size)
        self._next = 1

    @property
    def size(self) -> int:
        return self._calls.maxlen or 0

    def record(self, call: Call) -> Call:
        """Append ``call`` with the next index (whatever index it carried) and return it."""
        return _as_call(self.append(call.__dict__))

    def append(self, values: Mapping[str, Any]) -> tuple:
        """Append the call of ``values`` (every field of a :class:`Call`) with the next index,
        whatever index they carry; returns the entry :meth:`all` makes a Call of."""
        entry = [values[name] for name in _CALL_FIELDS]
        # A copy (the caller's mapping may change later), as items: a dict would keep the
        # tuple tracked.
        entry[_FIELDS_AT] = tuple(values["fields"].items())
        with self._lock:
            entry[_INDEX_AT] = self._next
            self._next += 1
            recorded = tuple(entry)
            self._calls.append(recorded)
        return recorded

    def clear(self) -> None:
        """Forget every call; indexes keep counting, so ``since=<index>`` stays valid."""
        with self._lock:
            self._calls.clear()

    def __len__(self) -> int:
        return len(self._calls)

    def all(self) -> list[Call]:
        with self._lock:
            entries = list(self._calls)
        return [_as_call(entry) for entry in entries]

    def calls(
        self,
        rpc: str | None = None,
        *,
        outcome: str | int | None = None,
        since: datetime | int | str | Call | None = None,
        transport: str | None = None,
        injected: bool | None = None,
        **fields: Any,
    ) -> list[Call]:
        """The calls matching every filter given, oldest first.

        ``rpc`` is an RPC name; ``outcome`` is ``ok``, ``error``, a gRPC code name or number or
        an HTTP status; ``since`` a call, an index (calls after it) or a time (calls at or
        after it); ``transport`` one of rest, grpc-web, grpc; ``injected`` selects calls an
        injected fault failed (or those it did not); any other keyword matches a request field
        by proto name (``id="..."``, ``grant_id="..."``).
        """
        recorded = self.all()
        matchers = []
        if rpc is not None:
            self._check_rpc(rpc, recorded)
            matchers.append(lambda call: call.rpc == rpc)
        if outcome is not None:
            matchers.append(_outcome_matcher(outcome))
        if since is not None:
            matchers.append(_since_matcher(since))
        if transport is not None:
            if transport not in TRANSPORTS:
                raise ValueError(f"transport {transport!r} is none of {', '.join(TRANSPORTS)}")
            matchers.append(lambda call: call.transport == transport)
        if injected is not None:
            matchers.append(lambda call: call.injected is bool(injected))
        for name, value in fields.items():
            matchers.append(
                lambda call, name=name, value=value: (
                    name in call.fields and call.fields[name] == value
                )
            )
        return [call for call in recorded if all(match(call) for match in matchers)]

    def assert_called(self, rpc: str, times: int | None = None, **fields: Any) -> list[Call]:
        """Raise AssertionError unless ``rpc`` was called (exactly ``times`` times, when given)
        with these request fields; returns the matching calls."""
        found = self.calls(rpc, **fields)
        if (times is None and found) or (times is not None and len(found) == times):
            return found
        wanted = "at least once" if times is None else _times(times)
        raise AssertionError(
            f"expected {_signature(rpc, fields)} to be called {wanted}, "
            f"it was called {_times(len(found))}; {self._listing()}"
        )

    def assert_not_called(self, rpc: str, **fields: Any) -> None:
        """Raise AssertionError if ``rpc`` was called (with these request fields)."""
        found = self.calls(rpc, **fields)
        if found:
            raise AssertionError(
                f"expected {_signature(rpc, fields)} not to be called, it was called "
                f"{_times(len(found))}; {self._listing()}"
            )

    def _listing(self) -> str:
        recorded = self.all()
        if not recorded:
            return "the journal is empty"
        shown = recorded[-_SHOWN:]
        lines = [f"the journal holds {_count(len(recorded))}:"]
        if len(recorded) > len(shown):
            lines.append(f"  ... {_count(len(recorded) - len(shown))} before these")
        lines += [f"  {call.describe()}" for call in shown]
        return "\n".join(lines)

    def _check_rpc(self, rpc: str, recorded: Iterable[Call]) -> None:
        """A misspelt RPC name would make assert_not_called pass for ever: refuse names that
        are neither served nor were ever called."""
        known = set(contract.rpcs())
        if rpc in known or any(call.rpc == rpc for call in recorded):
            return
        close = difflib.get_close_matches(rpc, sorted(known), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"{rpc!r} is no RPC of the mock and was never called{hint}")


_CALL_FIELDS = tuple(field.name for field in dataclasses.fields(Call))
_INDEX_AT = _CALL_FIELDS.index("index")
_FIELDS_AT = _CALL_FIELDS.index("fields")


def _as_call(entry: tuple) -> Call:
    # Without the frozen __init__ (a guarded setattr per field): reading a full journal
    # builds 10,000 of them.
    call = object.__new__(Call)
    call.__dict__.update(zip(_CALL_FIELDS, entry, strict=True))
    call.__dict__["fields"] = MappingProxyType(dict(entry[_FIELDS_AT]))
    return call


def _signature(rpc: str, fields: Mapping[str, Any]) -> str:
    return f"{rpc}({', '.join(f'{name}={value!r}' for name, value in fields.items())})"


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _count(n: int) -> str:
    return "1 call" if n == 1 else f"{n} calls"
