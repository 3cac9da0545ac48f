"""The result matrix: every operation against every check, pass / fail / skipped with why.

Rule checks (the response rules applied to every response) fill their cells as responses are
checked; scenario checks (auth, not found, lifecycle, isolation, links) from their tests. A rule
cell that never saw a response it applies to is reported as skipped with the reason, so a gap in
coverage never reads as a pass.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from typing import Any

# Generated values (ids, numbers, quoted strings) in a failure's summary: failures that differ
# only by them are one failure with a count and one example.
_GENERATED_VALUE = re.compile(r"'[^']*'|\"[^\"]*\"|\b\d+(\.\d+)?\b")


def shape_of(summary: str) -> str:
    """``summary`` with its generated values replaced, the key failures are grouped by."""
    return _GENERATED_VALUE.sub("…", summary)


# Rule columns first (in the order a response is checked), then the scenario columns.
RULE_COLUMNS = ("5xx", "status", "content-type", "schema", "details", "envelope")
SCENARIO_COLUMNS = (
    "links",
    "auth",
    "not_found",
    "lifecycle",
    "isolation",
    "reads",
    "visibility",
)
COLUMNS = RULE_COLUMNS + SCENARIO_COLUMNS

COLUMN_DESCRIPTIONS = {
    "5xx": "no server error (schemathesis not_a_server_error)",
    "status": "documented status; 200 for a success, grpc-gateway's mapping for an error",
    "content-type": "documented content type (schemathesis content_type_conformance)",
    "schema": "body valid against the spec (schemathesis response_schema_conformance)",
    "details": "details: decimal sequence, RFC 3339 UTC date, only the operation's date "
    "field, resourceOwner = org of the call",
    "envelope": "error envelope: integer code, string message, details with @type",
    "links": "the stateful phase through the spec's links",
    "auth": "no / malformed header, unknown token, unknown org, caller without rights",
    "not_found": "unknown ids: 404 code 5",
    "lifecycle": "deactivate, again, reactivate, again on a provisioned resource",
    "isolation": "a resource addressed from another org is not found and unchanged",
    "reads": "the resource's Get and List: schema, details and state of every answer",
    "visibility": "after each transition the Get shows the new state and sequence, the List "
    "includes / excludes it by state",
}

# Schemathesis' own checks and the column they belong to.
SCHEMATHESIS_CHECK_COLUMNS = {
    "not_a_server_error": "5xx",
    "status_code_conformance": "status",
    "content_type_conformance": "content-type",
    "response_schema_conformance": "schema",
}

_REASON_NOTHING_SEEN = {
    "details": "no successful response seen",
    "envelope": "no error response seen",
}


def column_of(rule: str) -> str:
    """The matrix column of a rule id (``details.sequence``) or a schemathesis check name."""
    if rule in SCHEMATHESIS_CHECK_COLUMNS:
        return SCHEMATHESIS_CHECK_COLUMNS[rule]
    prefix = rule.split(".", 1)[0]
    if prefix in COLUMNS:
        return prefix
    return "schema"


@dataclass
class Cell:
    evaluations: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (rule, first summary)
    # How often each failure (by rule and shape of its summary) was seen.
    failure_counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    skips: list[str] = field(default_factory=list)
    not_applicable: str | None = None

    @property
    def state(self) -> str:
        if self.failures:
            return "FAIL"
        if self.errors:
            return "ERROR"
        if self.evaluations:
            return "pass*" if self.skips else "pass"
        if self.skips:
            return "skip"
        if self.not_applicable:
            return "n/a"
        return "-"


class Matrix:
    def __init__(self, operations: list[str]) -> None:
        self.operations = list(operations)
        self.cells: dict[tuple[str, str], Cell] = {
            (op, column): Cell() for op in self.operations for column in COLUMNS
        }
        self.notes: list[str] = []
        # Seconds from a write's answer to the read that first showed it, per operation.
        self.lags: dict[str, list[float]] = {}
        # The first exchange of each failure, by its group key (see failure_key).
        self.examples: dict[str, dict[str, Any]] = {}
        # Per operation, how often each outcome ("200", "404 code 5") was answered.
        self.observed: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def cell(self, operation: str, column: str) -> Cell:
        return self.cells[(operation, column)]

    def passed(self, operation: str, column: str) -> None:
        with self._lock:
            self.cell(operation, column).evaluations += 1

    def failed(
        self,
        operation: str,
        column: str,
        rule: str,
        summary: str,
        example: dict[str, Any] | None = None,
    ) -> None:
        """One failure of ``rule``; ``example`` is its exchange as plain data (the first one
        of its group is kept)."""
        with self._lock:
            cell = self.cell(operation, column)
            cell.evaluations += 1
            self._add_failure(operation, column, cell, rule, summary, 1)
            key = failure_key(operation, column, rule, summary)
            if example is not None and key not in self.examples:
                self.examples[key] = example

    @staticmethod
    def _add_failure(
        operation: str, column: str, cell: Cell, rule: str, summary: str, count: int
    ) -> None:
        shape = f"{rule}\n{shape_of(summary)}"
        if shape not in cell.failure_counts:
            cell.failures.append((rule, summary))
        cell.failure_counts[shape] = cell.failure_counts.get(shape, 0) + count

    def count_of(self, operation: str, column: str, rule: str, summary: str) -> int:
        """How often the failure ``(rule, summary)`` of a cell (or one like it) was seen."""
        return self.cell(operation, column).failure_counts.get(f"{rule}\n{shape_of(summary)}", 1)

    def example(
        self, operation: str, column: str, rule: str, summary: str
    ) -> dict[str, Any] | None:
        return self.examples.get(failure_key(operation, column, rule, summary))

    def observe(self, operation: str, outcome: str) -> None:
        """One answer of ``operation``, as its outcome ("200", "404 code 5")."""
        with self._lock:
            seen = self.observed.setdefault(operation, {})
            seen[outcome] = seen.get(outcome, 0) + 1

    def errored(self, operation: str, column: str, summary: str) -> None:
        with self._lock:
            cell = self.cell(operation, column)
            if summary not in cell.errors:
                cell.errors.append(summary)

    def skipped(self, operation: str, column: str, reason: str) -> None:
        with self._lock:
            cell = self.cell(operation, column)
            if reason not in cell.skips:
                cell.skips.append(reason)

    def not_applicable(self, operation: str, column: str, reason: str) -> None:
        with self._lock:
            self.cell(operation, column).not_applicable = reason

    def state(self, operation: str, column: str) -> str:
        return self.cell(operation, column).state

    def lag(self, operation: str, seconds: float) -> None:
        """One observed read-after-write lag of ``operation`` (see the ``visibility`` row)."""
        with self._lock:
            self.lags.setdefault(operation, []).append(seconds)

    def max_lag(self, operation: str) -> float | None:
        lags = self.lags.get(operation)
        return max(lags) if lags else None

    def to_dict(self) -> dict[str, Any]:
        """Everything recorded so far, as plain data (what an xdist worker sends back)."""
        with self._lock:
            cells = [
                [
                    op,
                    column,
                    c.evaluations,
                    [[rule, summary, self.count_of(op, column, rule, summary)]
                     for rule, summary in c.failures],
                    c.errors,
                    c.skips,
                ]
                for (op, column), c in self.cells.items()
                if c.evaluations or c.failures or c.errors or c.skips
            ]  # fmt: skip
            return {
                "cells": cells,
                "notes": list(self.notes),
                "lags": dict(self.lags),
                "examples": dict(self.examples),
                "observed": {op: dict(seen) for op, seen in self.observed.items()},
            }

    def merge(self, data: dict[str, Any]) -> None:
        """Add what another session recorded (:meth:`to_dict`): counts add up, failures, errors,
        skips and notes are joined without repeats, so the result is the matrix one session
        running every test would have recorded."""
        with self._lock:
            for op, column, evaluations, failures, errors, skips in data["cells"]:
                cell = self.cell(op, column)
                cell.evaluations += evaluations
                for rule, summary, count in failures:
                    self._add_failure(op, column, cell, rule, summary, count)
                cell.errors += [e for e in errors if e not in cell.errors]
                cell.skips += [s for s in skips if s not in cell.skips]
            self.notes += [n for n in data["notes"] if n not in self.notes]
            for op, lags in data["lags"].items():
                self.lags.setdefault(op, []).extend(lags)
            for key, example in data["examples"].items():
                self.examples.setdefault(key, example)
            for op, seen in data["observed"].items():
                mine = self.observed.setdefault(op, {})
                for outcome, count in seen.items():
                    mine[outcome] = mine.get(outcome, 0) + count

    def finalize(self, ran: set[str], hints: dict[tuple[str, str], str] | None = None) -> None:
        """Explain rule cells that stayed empty for operations whose traffic did run."""
        hints = hints or {}
        for op in self.operations:
            if op not in ran:
                continue
            for column in RULE_COLUMNS:
                cell = self.cell(op, column)
                if cell.state == "-":
                    reason = _REASON_NOTHING_SEEN.get(column, "no response checked")
                    hint = hints.get((op, column))
                    cell.skips.append(f"{reason}: {hint}" if hint else reason)

    @property
    def failed_any(self) -> bool:
        return any(cell.state in ("FAIL", "ERROR") for cell in self.cells.values())

    @property
    def skipped_any(self) -> bool:
        return any(cell.state in ("skip", "pass*") for cell in self.cells.values())

    def render(self, title: str = "") -> str:
        short = {op: abbreviate(op) for op in self.operations}
        width = max(len(s) for s in short.values()) + 2
        first = max(len(c) for c in COLUMNS) + 2
        lines = [title] if title else []
        header = "check".ljust(first) + "".join(short[op].ljust(width) for op in self.operations)
        lines.append(header.rstrip())
        for column in COLUMNS:
            row = column.ljust(first)
            row += "".join(self.state(op, column).ljust(width) for op in self.operations)
            lines.append(row.rstrip())
        if self.lags:
            row = "lag".ljust(first)
            for op in self.operations:
                lag = self.max_lag(op)
                row += ("-" if lag is None else _seconds(lag)).ljust(width)
            lines.append(row.rstrip())
        lines.append("")
        legend = [f"{short[op]} = {op}" for op in self.operations]
        lines.append("operations: " + ", ".join(legend[:4]) + ",")
        lines.append("            " + ", ".join(legend[4:]))
        if any(cell.state == "-" for cell in self.cells.values()):
            lines.append("-: not run in this session (deselected)")
        if self.lags:
            count = sum(len(lags) for lags in self.lags.values())
            lines.append(
                f"lag: the longest time a transition took to show in its reads (Get and List), "
                f"over {count} transitions"
            )
        if any(cell.state == "pass*" for cell in self.cells.values()):
            lines.append("pass*: passed, but part of the check was skipped (see below)")
        lines += self._grouped("skipped", lambda c: c.skips if c.state in ("skip", "pass*") else [])
        lines += self._grouped(
            "not applicable", lambda c: [c.not_applicable] if c.state == "n/a" else []
        )
        lines += self._grouped("errors", lambda c: c.errors if c.state == "ERROR" else [])
        lines += self._grouped("failed", self._failure_lines)
        if self.notes:
            lines.append("")
            lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    @staticmethod
    def _failure_lines(cell: Cell) -> list[str]:
        lines = []
        for rule, summary in cell.failures:
            count = cell.failure_counts.get(f"{rule}\n{shape_of(summary)}", 1)
            lines.append(
                f"[{rule}] {summary}" + (f" ({count} times, e.g. this one)" if count > 1 else "")
            )
        return lines

    @property
    def not_run(self) -> list[tuple[str, str]]:
        """The cells no test of this session filled (deselected, or never reached)."""
        return [key for key, cell in self.cells.items() if cell.state == "-"]

    @property
    def skipped_cells(self) -> list[tuple[str, str]]:
        return [key for key, cell in self.cells.items() if cell.state in ("skip", "pass*")]

    def _grouped(self, heading: str, reasons_of) -> list[str]:
        groups: dict[tuple[str, str], list[str]] = {}
        for column in COLUMNS:
            for op in self.operations:
                for reason in reasons_of(self.cell(op, column)):
                    groups.setdefault((column, reason), []).append(op)
        if not groups:
            return []
        lines = ["", f"{heading}:"]
        for (column, reason), ops in groups.items():
            who = "all operations" if len(ops) == len(self.operations) else ", ".join(ops)
            lines.append(f"  {column} ({who}): {reason}")
        return lines


def failure_key(operation: str, column: str, rule: str, summary: str) -> str:
    return f"{operation}\n{column}\n{rule}\n{shape_of(summary)}"


def _seconds(value: float) -> str:
    return f"{value * 1000:.0f}ms" if value < 1 else f"{value:.1f}s"


def abbreviate(rpc: str) -> str:
    """``DeactivateUserGrant`` -> ``DeGrant``: short enough for eight columns in 80 chars."""
    head = "De" if rpc.startswith("Deactivate") else "Re"
    rest = rpc.removeprefix("Deactivate").removeprefix("Reactivate")
    return head + rest.removeprefix("User") if rest == "UserGrant" else head + rest
