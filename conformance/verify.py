"""Checking and recording: every answer against schemathesis' checks and the suite's rules.

:meth:`Verifier.verify` runs schemathesis' own response checks (no server error, documented
status, content type and schema) plus the rules of :mod:`conformance.checks` on one answer and
records each outcome in the matrix; :meth:`Verifier.verify_read` does the same for a read, with
the rules of :mod:`conformance.read_checks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import schemathesis
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.transport import Response as StResponse

from conformance import checks, matrix, read_checks, spec
from conformance.model import Request, Response, from_schemathesis
from conformance.report import describe_exchange, exchange_data, outcome_of
from conformance.rule_primitives import RuleViolation

_MESSAGE_LINES = 6


def builtin_checks() -> list[Any]:
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    return [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]


@dataclass
class Violation:
    rule: str
    message: str
    rpc: str
    request: Request
    response: Response | None

    def headline(self) -> str:
        lines = self.message.strip().splitlines()
        if len(lines) > _MESSAGE_LINES:
            lines = lines[:_MESSAGE_LINES] + ["    ..."]
        return f"[{self.rule}] {self.rpc}: " + "\n    ".join(line for line in lines if line.strip())

    def render(self) -> str:
        return f"{self.headline()}\n{describe_exchange(self.request, self.response)}"

    def example(self) -> dict[str, object]:
        """The violation as the reports keep it: message, request and response."""
        return {"message": self.message.strip(), **exchange_data(self.request, self.response)}


class ConformanceFailure(AssertionError):
    """A test's failures, each with what was sent, what came back and which rule it broke."""

    def __init__(self, headline: str, violations: list[Violation], counts: dict[str, int]) -> None:
        self.violations = violations
        self.rule = violations[0].rule if violations else ""
        parts = [headline]
        # Rules broken by the same exchange are listed together above it.
        groups: list[tuple[Violation, list[str]]] = []
        for violation in violations:
            seen = counts.get(violation.rule, 1)
            line = violation.headline() + (f"  (seen {seen} times)" if seen > 1 else "")
            for first, lines in groups:
                if first.request is violation.request and first.response is violation.response:
                    lines.append(line)
                    break
            else:
                groups.append((violation, [line]))
        for first, lines in groups:
            parts += lines
            parts.append(describe_exchange(first.request, first.response))
        super().__init__("\n".join(parts))


@dataclass
class FailureLog:
    """The first violation of each rule, and how often each rule broke."""

    violations: list[Violation] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, violations: list[Violation]) -> None:
        for violation in violations:
            if violation.rule not in self.counts:
                self.violations.append(violation)
            self.counts[violation.rule] = self.counts.get(violation.rule, 0) + 1

    def raise_if_any(self, headline: str) -> None:
        __tracebackhide__ = True
        if self.violations:
            raise ConformanceFailure(headline, self.violations, self.counts)


class Verifier:
    def __init__(
        self,
        schema: Any,
        operations: dict[str, spec.Operation],
        default_org: str | None,
        results: matrix.Matrix | None,
    ) -> None:
        self.schema = schema
        self.operations = operations
        self.default_org = default_org
        self.matrix = results
        self._check_contexts: dict[str, Any] = {}
        self._builtins = builtin_checks()

    def operation_of(self, case: Any) -> spec.Operation:
        return next(o for o in self.operations.values() if o.label == case.operation.label)

    def _check_context(self, api_operation: Any) -> Any:
        label = api_operation.label
        if label not in self._check_contexts:
            self._check_contexts[label] = schemathesis.CheckContext(
                override=None,
                auth=None,
                headers=None,
                config=self.schema.config.checks_config_for(operation=api_operation, phase=None),
                transport_kwargs=None,
                response_checks=None,
            )
        return self._check_contexts[label]

    def verify(
        self,
        case: Any,
        response: StResponse,
        column: str | None = None,
        pair: tuple[Request, Response] | None = None,
    ) -> list[Violation]:
        """Every response rule on one answer; records each outcome (and ``column``'s)."""
        operation = self.operation_of(case)
        request, reply = pair or from_schemathesis(response)
        self.observe(operation.rpc, reply)
        violations: list[Violation] = []
        for name, failures in self.run_builtins(case, response):
            if not failures:
                self.record(operation, matrix.column_of(name))
            for failure in failures:
                violations.append(violation_of(name, failure, operation.rpc, request, reply))
        own = (
            checks.check_status,
            checks.check_envelope,
            lambda q, r: checks.check_details(q, r, default_org=self.default_org),
        )
        for check in own:
            try:
                applied = check(request, reply)
            except RuleViolation as exc:
                violations.append(Violation(exc.rule, exc.message, operation.rpc, request, reply))
            else:
                if applied:
                    self.record(operation, _own_column(check))
        for violation in violations:
            self.record(operation, matrix.column_of(violation.rule), violation)
        if column is not None:
            for violation in violations:
                self.record(operation, column, violation)
            if not violations:
                self.record(operation, column)
        return violations

    def run_builtins(self, case: Any, response: StResponse) -> list[tuple[str, list[Any]]]:
        """Schemathesis' own checks on one answer: (check name, its failures) each."""
        ctx = self._check_context(case.operation)
        outcomes = []
        for check in self._builtins:
            failures: list[Any] = []
            try:
                check(ctx, response, case)
            except FailureGroup as group:
                failures = list(group.exceptions)
            except (Failure, AssertionError) as failure:
                failures = [failure]
            outcomes.append((check.__name__, failures))
        return outcomes

    def verify_read(
        self,
        read: spec.Read,
        case: Any,
        response: StResponse,
        rpc: str | None,
        pair: tuple[Request, Response],
    ) -> list[Violation]:
        """Every response rule and the read rules on a read's answer, recorded in the ``reads``
        row of ``rpc`` (the write whose effect was read; nothing is recorded without one)."""
        request, reply = pair
        self.observe(read.rpc, reply)
        violations: list[Violation] = []
        for name, failures in self.run_builtins(case, response):
            for failure in failures:
                violations.append(violation_of(name, failure, read.rpc, request, reply))
        own = (
            checks.check_status,
            checks.check_envelope,
            lambda q, r: read_checks.check_read(q, r, default_org=self.default_org, read=read),
        )
        for check in own:
            try:
                check(request, reply)
            except RuleViolation as exc:
                violations.append(Violation(exc.rule, exc.message, read.rpc, request, reply))
        if rpc is not None:
            operation = self.operations[rpc]
            for violation in violations:
                self.record(operation, "reads", violation)
            if not violations:
                self.record(operation, "reads")
        return violations

    def observe(self, rpc: str, reply: Response) -> None:
        if self.matrix is not None:
            self.matrix.observe(rpc, outcome_of(reply))

    def record(
        self, operation: spec.Operation, column: str, violation: Violation | None = None
    ) -> None:
        if self.matrix is None:
            return
        if violation is None:
            self.matrix.passed(operation.rpc, column)
        else:
            summary = violation.message.strip().splitlines()[0]
            example = violation.example()
            self.matrix.failed(operation.rpc, column, violation.rule, summary, example)


def violation_of(
    name: str, failure: BaseException, rpc: str, request: Request, reply: Response
) -> Violation:
    """A schemathesis check's failure as a violation of the rule named after the check."""
    if isinstance(failure, Failure):
        message = f"{failure.title}: {failure.message}" if failure.message else failure.title
    else:
        message = str(failure) or type(failure).__name__
    return Violation(name, message, rpc, request, reply)


def _own_column(check: Any) -> str:
    if check is checks.check_status:
        return "status"
    if check is checks.check_envelope:
        return "envelope"
    return "details"
