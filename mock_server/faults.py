"""Injected behaviour: make one instance fail, slow down or drop calls on purpose.

A :class:`Fault` names an RPC (or ``*`` for all) and what happens to the calls it picks:

* ``code`` (a gRPC code, by name such as ``unavailable`` or by number) with an optional
  ``message`` and ``error_id``: the call fails with that status, rendered by
  :mod:`mock_server.status` exactly as ZITADEL renders its errors on each front (with an
  ``error_id`` a ``zitadel.v1.ErrorDetail`` is attached, as ZITADEL's zerrors are; without it
  there are no details, like a plain gRPC status);
* ``latency_ms``, fixed or a ``[min, max]`` range: the call waits first (every front
  ``await`` s it, so the event loop serves other calls meanwhile);
* ``drop``: the connection is cut (native gRPC: the call ends CANCELLED, its connection
  stays; REST and gRPC-web: the TCP connection is aborted).

Latency composes with a failure (``latency_ms`` and ``code`` together: slow, then failing), and
faults stack: every fault that picks a call adds its latency, the first failing one decides the
outcome. ``times`` limits a fault to its next N picks (it is gone after them), ``fraction``
picks that share of the calls from a seeded random stream of the fault's own, so a test run
is reproducible. An injected failure is decided before the call reaches the world, so it
changes no state. The table of behaviours by name is :data:`CODES` (the gRPC code names).
"""

from __future__ import annotations

import difflib
import random
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from mock_server import contract
from mock_server.domain.errors import Code, ZitadelError

ALL = "*"
# Every gRPC code a fault can fail with, by its lower-case name (google.rpc.Code).
CODES: dict[str, Code] = {code.name.lower(): code for code in Code if code is not Code.OK}
MAX_LATENCY_MS = 600_000
FIELDS = ("rpc", "code", "message", "error_id", "latency_ms", "drop", "times", "fraction", "seed")
_ERROR_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class ConnectionDropped(ZitadelError):
    """An injected drop. The fronts cut the connection instead of answering; one that has no
    connection to cut answers :meth:`undeliverable` instead."""

    def __init__(self, fault_id: str) -> None:
        super().__init__(Code.UNAVAILABLE, f"injected fault {fault_id}: connection dropped")
        self.fault_id = fault_id

    def undeliverable(self) -> ZitadelError:
        """The status for a client without a connection of its own (Starlette's TestClient,
        httpx's ASGITransport): there is nothing to cut, so it is told so."""
        return ZitadelError(
            self.code,
            f"{self.text} (an in-process client has no connection to cut, so it gets this "
            "status instead)",
        )


@dataclass(frozen=True)
class Fault:
    """One injected behaviour; see the module docstring. ``id`` is given by :class:`Faults`."""

    id: str
    rpc: str = ALL
    code: Code | None = None
    message: str | None = None
    error_id: str | None = None
    latency_ms: tuple[float, float] | None = None  # (min, max); equal for a fixed latency
    drop: bool = False
    times: int | None = None
    fraction: float | None = None
    seed: int = 0

    @property
    def fails(self) -> bool:
        return self.code is not None or self.drop

    def error(self) -> ZitadelError:
        """A fresh error per call: exceptions carry their traceback, so none is shared."""
        if self.drop:
            return ConnectionDropped(self.id)
        assert self.code is not None
        text = self.message or f"injected fault {self.id}: {self.code.name}"
        return ZitadelError(self.code, text, self.error_id)

    def to_json(self) -> dict[str, Any]:
        latency: Any = None
        if self.latency_ms is not None:
            low, high = self.latency_ms
            latency = _number(low) if low == high else [_number(low), _number(high)]
        return {
            "id": self.id,
            "rpc": self.rpc,
            "code": None if self.code is None else int(self.code),
            "code_name": None if self.code is None else self.code.name,
            "message": self.message,
            "error_id": self.error_id,
            "latency_ms": latency,
            "drop": self.drop,
            "times": self.times,
            "fraction": self.fraction,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class Effect:
    """What the faults decided for one call: wait ``delay`` seconds, then fail with ``error``
    (an injected status or :class:`ConnectionDropped`) unless it is None."""

    delay: float = 0.0
    error: ZitadelError | None = None
    fault: str | None = None  # the id of the fault that failed the call

    @property
    def drop(self) -> bool:
        return isinstance(self.error, ConnectionDropped)


NO_EFFECT = Effect()


class _Active:
    """A fault in force: how many picks it has left and its own random stream."""

    __slots__ = ("fault", "remaining", "random", "picked")

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.remaining = fault.times
        self.random = random.Random(f"zitadel-mock-fault-{fault.seed}")
        self.picked = 0


class Faults:
    """The faults of one instance, in the order they were added; safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: dict[str, _Active] = {}
        self._next = 1

    def add(self, spec: Mapping[str, Any]) -> Fault:
        """A fault from its JSON form (the control plane's body); raises ValueError."""
        fault = parse_fault(spec)
        with self._lock:
            fault = replace(fault, id=str(self._next))
            self._next += 1
            self._active[fault.id] = _Active(fault)
        return fault

    def remove(self, fault_id: str) -> bool:
        with self._lock:
            return self._active.pop(fault_id, None) is not None

    def clear(self) -> None:
        with self._lock:
            self._active.clear()

    def to_json(self) -> list[dict[str, Any]]:
        """The faults in force, in the order they apply, with their state."""
        with self._lock:
            return [_described(active) for active in self._active.values()]

    def __len__(self) -> int:
        return len(self._active)

    def take(self, rpc: str) -> Effect:
        """Decide, atomically, what happens to one call of ``rpc``; a fault's ``times`` are
        consumed here, so two concurrent calls never both get a fault meant for one."""
        if not self._active:  # the common case, without the lock
            return NO_EFFECT
        delay = 0.0
        error: ZitadelError | None = None
        failed_by: str | None = None
        with self._lock:
            for active in list(self._active.values()):
                fault = active.fault
                if fault.rpc not in (ALL, rpc):
                    continue
                if fault.fails and error is not None:
                    continue  # the outcome is decided; this one keeps its picks
                if fault.fraction is not None and active.random.random() >= fault.fraction:
                    continue
                active.picked += 1
                if active.remaining is not None:
                    active.remaining -= 1
                    if active.remaining <= 0:
                        del self._active[fault.id]
                if fault.latency_ms is not None:
                    low, high = fault.latency_ms
                    delay += (low if low == high else active.random.uniform(low, high)) / 1000
                if fault.fails:
                    error, failed_by = fault.error(), fault.id
        if not delay and error is None:
            return NO_EFFECT
        return Effect(delay, error, failed_by)


def _described(active: _Active) -> dict[str, Any]:
    return {**active.fault.to_json(), "remaining": active.remaining, "picked": active.picked}


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_code(value: object) -> Code:
    """A gRPC code from its name (``unavailable``, ``UNAVAILABLE``, ``not-found``) or number."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if 1 <= value <= max(Code):
            return Code(value)
        raise ValueError(f"code {value} is no gRPC error code (1-16)")
    if isinstance(value, str):
        code = CODES.get(value.strip().lower().replace("-", "_"))
        if code is not None:
            return code
        close = difflib.get_close_matches(value.strip().lower(), list(CODES), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"code {value!r} is no gRPC code name{hint}")
    raise ValueError(f"code must be a gRPC code name or number, not {value!r}")


def parse_latency(value: object) -> tuple[float, float]:
    """Milliseconds: a number, ``[min, max]``, or a text ``200ms`` / ``100-300ms``."""
    if isinstance(value, str):
        text = value.strip().lower().removesuffix("ms").strip()
        low, dash, high = text.partition("-")
        try:
            value = [float(low), float(high)] if dash else float(low)
        except ValueError:
            raise ValueError(
                f"latency {value!r} is no duration such as 200ms or 100-300ms"
            ) from None
    if _is_number(value):
        value = [value, value]
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(_is_number(v) for v in value)
    ):
        raise ValueError(
            f"latency_ms must be milliseconds or a [min, max] pair of them, not {value!r}"
        )
    low, high = float(value[0]), float(value[1])
    if not 0 <= low <= high <= MAX_LATENCY_MS:
        raise ValueError(
            f"latency_ms must satisfy 0 <= min <= max <= {MAX_LATENCY_MS}, not {list(value)}"
        )
    return low, high


def parse_fault(spec: Mapping[str, Any]) -> Fault:
    """Check a fault's JSON form field by field; every mistake is a ValueError that says what
    was expected, so the control plane answers 400 and never 500."""
    if not isinstance(spec, Mapping):
        raise ValueError('a fault is a JSON object, e.g. {"rpc": "DeactivateUser", "code": 14}')
    unknown = sorted(set(spec) - set(FIELDS))
    if unknown:
        raise ValueError(f"unknown fields {unknown}; a fault takes {list(FIELDS)}")
    rpc = spec.get("rpc", ALL)
    if rpc is None:
        rpc = ALL
    if not isinstance(rpc, str) or (rpc != ALL and rpc not in contract.rpcs()):
        names = sorted(contract.rpcs())
        close = difflib.get_close_matches(str(rpc), names, n=1) if isinstance(rpc, str) else []
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"rpc {rpc!r} is no RPC of the mock (nor * for all){hint}")
    code = None if spec.get("code") is None else parse_code(spec["code"])
    message = spec.get("message")
    if message is not None and (not isinstance(message, str) or not message):
        raise ValueError(f"message must be a non-empty text, not {message!r}")
    error_id = spec.get("error_id")
    if error_id is not None and (not isinstance(error_id, str) or not _ERROR_ID.match(error_id)):
        raise ValueError(
            f"error_id must look like ZITADEL's (COMMAND-ke0fw: letters, digits, - _ .), "
            f"not {error_id!r}"
        )
    drop = spec.get("drop", False)
    if drop is None:
        drop = False
    if not isinstance(drop, bool):
        raise ValueError(f"drop must be true or false, not {drop!r}")
    if (message is not None or error_id is not None) and code is None:
        raise ValueError("message and error_id describe an error: give its code too")
    if drop and code is not None:
        raise ValueError("a fault either fails with a code or drops the connection, not both")
    latency = None if spec.get("latency_ms") is None else parse_latency(spec["latency_ms"])
    if code is None and not drop and latency is None:
        raise ValueError("a fault needs code, latency_ms or drop")
    times = spec.get("times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 1):
        raise ValueError(f"times must be a whole number of at least 1, not {times!r}")
    fraction = spec.get("fraction")
    if fraction is not None:
        if not _is_number(fraction) or not 0 < fraction <= 1:
            raise ValueError(f"fraction must be a number above 0 and at most 1, not {fraction!r}")
        fraction = float(fraction)
    seed = spec.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be a whole number, not {seed!r}")
    return Fault(
        id="",
        rpc=rpc,
        code=code,
        message=message,
        error_id=error_id,
        latency_ms=latency,
        drop=drop,
        times=times,
        fraction=fraction,
        seed=seed,
    )


def parse_fail_option(text: str) -> dict[str, Any]:
    """``--fail RPC=CODE[:FRACTION]`` as a fault's JSON form; RPC may be ``*``."""
    rpc, equals, rest = text.partition("=")
    if not equals or not rpc.strip() or not rest.strip():
        raise ValueError(
            f"{text!r} is not RPC=CODE[:FRACTION], e.g. DeactivateUser=unavailable:0.1"
        )
    code, colon, fraction = rest.partition(":")
    spec: dict[str, Any] = {"rpc": rpc.strip(), "code": code.strip()}
    if colon:
        try:
            spec["fraction"] = float(fraction)
        except ValueError:
            raise ValueError(f"{fraction!r} in {text!r} is no fraction such as 0.1") from None
    parse_fault(spec)  # fail now, at the command line, not at start
    return spec


def parse_latency_option(text: str) -> dict[str, Any]:
    """``--latency 200ms`` / ``100-300ms`` as a fault on every RPC."""
    low, high = parse_latency(text)
    return {"rpc": ALL, "latency_ms": [low, high]}
