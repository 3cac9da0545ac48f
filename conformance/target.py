"""The implementation under test: how the suite calls it, checks every answer and restores it.

Every request the suite makes, generated or scripted, goes through :meth:`Target.send`, and every
answer through :meth:`Target.verify`: schemathesis' own response checks (no server error,
documented status, content type and schema) plus the rules of :mod:`conformance.checks`. The
results land in the matrix.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import hypothesis
import hypothesis.errors
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.transport import Response as StResponse

from conformance import checks, matrix, provisioning, spec
from conformance.model import Request, Response, from_schemathesis
from conformance.reads import Reader
from conformance.report import describe_exchange
from conformance.settings import Settings

REQUEST_TIMEOUT = 10.0
USER_AGENT = "zitadel-conformance"
# How much of the generated traffic is steered to the provisioned resources and orgs; the rest
# keeps schemathesis' own values (unknown ids, odd header values).
_KNOWN_ID_WEIGHT = 2
_CALLER = object()


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


def load_schema() -> Any:
    """The spec as schemathesis sees it, with this suite's own configuration.

    A config is always passed so that a schemathesis.toml in the working directory cannot change
    what the suite does. Security parameters are not generated: the suite sends the caller's
    token itself, and the auth scenarios cover missing and broken credentials.
    """
    config = SchemathesisConfig.from_dict(
        {"generation": {"mode": "all", "with-security-parameters": False}}
    )
    return schemathesis.openapi.from_path(spec.SPEC_PATH, config=config)


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


_MESSAGE_LINES = 6


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


class UnsafeRequest(RuntimeError):
    """A request the suite refuses to send: it could deactivate an org it may not touch."""


@dataclass
class Call:
    """One scripted call and what came of it."""

    operation: spec.Operation
    request: Request
    response: Response
    violations: list[Violation]
    answered_at: float = 0.0  # time.monotonic() when the answer arrived

    @property
    def status(self) -> int:
        return self.response.status

    @property
    def body(self) -> Any:
        return self.response.json(default=None)

    @property
    def code(self) -> int | None:
        body = self.body
        return body.get("code") if isinstance(body, dict) else None

    @property
    def details(self) -> dict[str, Any]:
        body = self.body
        details = body.get("details") if isinstance(body, dict) else None
        return details if isinstance(details, dict) else {}


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


class Target:
    def __init__(
        self,
        settings: Settings,
        resources: provisioning.Resources,
        results: matrix.Matrix | None = None,
        detected_profile: str | None = None,
        worker: str | None = None,
    ) -> None:
        self.settings = settings
        self.worker = worker
        self.root = settings.root
        self.resources = resources
        self.matrix = results
        # A caller the suite provisioned, or the given token's counterpart in an instance of
        # the suite's own; else the given token.
        self.token = resources.caller_token or settings.token
        self.default_org = settings.org_id or resources.caller_org
        self.profile = settings.profile or detected_profile or "v4"
        self.session = requests.Session()
        # Says in the target's logs who called, and which xdist worker.
        self.session.headers["User-Agent"] = USER_AGENT + (f" ({worker})" if worker else "")
        if resources.instance is not None:
            # Every request, generated or scripted, goes to the instance the suite works in.
            self.session.headers.update(resources.instance.headers)
        self.schema = load_schema()
        self.operations = spec.operations()
        # The generated and stateful phases fuzz the writes; the reads are asked by the
        # scenarios (:mod:`conformance.reads`), which check every answer they get.
        self.write_schema = self.schema.include(
            operation_id=[o.operation_id for o in self.operations.values()]
        )
        self._api_operations = {
            result.ok().label: result.ok() for result in self.write_schema.get_all_operations()
        }
        read_labels = {read.label: read.rpc for read in spec.reads().values()}
        self._read_operations = {
            read_labels[result.ok().label]: result.ok()
            for result in self.schema.get_all_operations()
            if result.ok().label in read_labels
        }
        self.reads = Reader(self)
        self._check_contexts: dict[str, Any] = {}
        self._builtins = builtin_checks()
        self.generated_counts: dict[str, dict[str, int]] = {}
        self.links_steps: dict[str, int] = {}
        self.links_followed = 0
        self._install_steering()

    # -- what the suite may touch -------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.root + spec.operations()["DeactivateAction"].base_path

    @property
    def org(self) -> str | None:
        """Org A: where the provisioned resources live."""
        return self.resources.org

    @property
    def other_org(self) -> str | None:
        return self.resources.other_org

    @property
    def may_touch_org(self) -> bool:
        return self.settings.allow_org_deactivation and self.org is not None

    def protected_orgs(self) -> set[str]:
        orgs = {self.org, self.other_org, self.default_org, self.resources.caller_org}
        return {o for o in orgs if o}

    def touchable_refs(self) -> list[provisioning.Ref]:
        return [r for r in self.resources.refs if r.kind != "org" or self.may_touch_org]

    @staticmethod
    def unknown_id() -> str:
        # Shaped like ZITADEL's ids, far from any real one.
        return str(900_000_000_000_000_000 + secrets.randbelow(10**17))

    # -- sending ------------------------------------------------------------------------------

    def authorization(self, token: str | None | object = _CALLER) -> str | None:
        if token is _CALLER:
            token = self.token
        return None if token is None else f"Bearer {token}"

    def _guard(self, operation: spec.Operation | None, headers: dict[str, Any]) -> None:
        if operation is None or operation.kind != "org":
            return  # a read, or a write that cannot touch an org
        value = next((v for k, v in headers.items() if k.lower() == spec.ORG_HEADER), None)
        value = str(value).strip() if value is not None else ""
        if value and value not in self.protected_orgs():
            return
        if value and self.may_touch_org and value == self.org:
            return
        raise UnsafeRequest(
            f"refusing to send {operation.rpc} with x-zitadel-orgid {value or '(none)'}: it "
            "could deactivate an org the suite may not change"
        )

    def send(self, case: Any, authorization: str | None | object = _CALLER) -> StResponse:
        """Send a schemathesis case as the caller (or with the given Authorization value)."""
        if authorization is _CALLER:
            authorization = self.authorization()
        extra = {"Authorization": authorization} if authorization is not None else None
        kwargs = case.as_transport_kwargs(base_url=self.base_url, headers=extra)
        kwargs["headers"]["User-Agent"] = self.session.headers["User-Agent"]
        if authorization is None:
            kwargs["headers"] = {
                k: v for k, v in kwargs["headers"].items() if k.lower() != "authorization"
            }
        self._guard(self._write_of(case.operation.label), kwargs["headers"])
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        kwargs["allow_redirects"] = False
        response = self.session.request(**kwargs)
        return StResponse.from_requests(response, verify=True)

    def operation_of(self, case: Any) -> spec.Operation:
        return next(o for o in self.operations.values() if o.label == case.operation.label)

    def _write_of(self, label: str) -> spec.Operation | None:
        return next((o for o in self.operations.values() if o.label == label), None)

    def api_operation(self, rpc: str) -> Any:
        return self._api_operations[self.operations[rpc].label]

    def read_operation(self, rpc: str) -> Any:
        return self._read_operations[rpc]

    def call(
        self,
        rpc: str,
        params: dict[str, str] | None = None,
        *,
        org: str | None = None,
        token: str | None | object = _CALLER,
        authorization: str | None | object = _CALLER,
        body: Any = None,
    ) -> Call:
        """One scripted call, checked against every response rule."""
        operation = self.operations[rpc]
        headers = {spec.ORG_HEADER: org} if org is not None else {}
        case = self.api_operation(rpc).Case(
            path_parameters=dict(params or {}),
            headers=headers,
            body={} if body is None else body,
            media_type="application/json",
        )
        if authorization is _CALLER:
            authorization = self.authorization(token)
        response = self.send(case, authorization)
        answered_at = time.monotonic()
        request, reply = from_schemathesis(response)
        violations = self.verify(case, response, pair=(request, reply))
        return Call(operation, request, reply, violations, answered_at)

    # -- checking -----------------------------------------------------------------------------

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
        violations: list[Violation] = []
        for name, failures in self._run_builtins(case, response):
            if not failures:
                self._record(operation, matrix.column_of(name))
            for failure in failures:
                violations.append(self._violation(name, failure, operation.rpc, request, reply))
        own = (
            checks.check_status,
            checks.check_envelope,
            lambda q, r: checks.check_details(q, r, default_org=self.default_org),
        )
        for check in own:
            try:
                applied = check(request, reply)
            except checks.RuleViolation as exc:
                violations.append(Violation(exc.rule, exc.message, operation.rpc, request, reply))
            else:
                if applied:
                    self._record(operation, _own_column(check))
        for violation in violations:
            self._record(operation, matrix.column_of(violation.rule), violation)
        if column is not None:
            for violation in violations:
                self._record(operation, column, violation)
            if not violations:
                self._record(operation, column)
        return violations

    def _run_builtins(self, case: Any, response: StResponse) -> list[tuple[str, list[Any]]]:
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
        violations: list[Violation] = []
        for name, failures in self._run_builtins(case, response):
            for failure in failures:
                violations.append(self._violation(name, failure, read.rpc, request, reply))
        own = (
            checks.check_status,
            checks.check_envelope,
            lambda q, r: checks.check_read(q, r, default_org=self.default_org, read=read),
        )
        for check in own:
            try:
                check(request, reply)
            except checks.RuleViolation as exc:
                violations.append(Violation(exc.rule, exc.message, read.rpc, request, reply))
        if rpc is not None:
            operation = self.operations[rpc]
            for violation in violations:
                self._record(operation, "reads", violation)
            if not violations:
                self._record(operation, "reads")
        return violations

    @staticmethod
    def _violation(
        name: str,
        failure: BaseException,
        rpc: str,
        request: Request,
        reply: Response,
    ) -> Violation:
        if isinstance(failure, Failure):
            message = f"{failure.title}: {failure.message}" if failure.message else failure.title
        else:
            message = str(failure) or type(failure).__name__
        return Violation(name, message, rpc, request, reply)

    def _record(
        self, operation: spec.Operation, column: str, violation: Violation | None = None
    ) -> None:
        if self.matrix is None:
            return
        if violation is None:
            self.matrix.passed(operation.rpc, column)
        else:
            summary = violation.message.strip().splitlines()[0]
            self.matrix.failed(operation.rpc, column, violation.rule, summary)

    # -- generated traffic --------------------------------------------------------------------

    def _install_steering(self) -> None:
        """Steer part of the generated traffic to the provisioned resources and orgs.

        Without it nearly every generated request would address an unknown id or org, and the
        rules on successful responses would never be exercised. Hooks act on single parameter
        locations, so values that the stateful phase takes from links still win.
        """
        target = self

        def flatmap_path_parameters(context: Any, params: dict[str, Any]) -> Any:
            operation = target.operation_of_api(context.operation)
            if not operation.path_params:
                return st.just(params)
            params = dict(params or {})
            choices: list[dict[str, str] | None] = [None]
            for ref in target.resources.of_kind(operation.kind):
                choices += [dict(ref.params)] * _KNOWN_ID_WEIGHT
                if ref.kind == "user_grant":
                    # ZITADEL ignores user_id; only the grant id and the org select.
                    choices.append({"grant_id": ref.params["grant_id"]})
            return st.sampled_from(choices).map(lambda c: params if c is None else {**params, **c})

        def flatmap_headers(context: Any, headers: dict[str, Any] | None) -> Any:
            operation = target.operation_of_api(context.operation)
            headers = dict(headers or {})
            if operation.kind == "org":
                choices = ["unknown", "generated"]
                if target.may_touch_org:
                    choices += ["own"] * _KNOWN_ID_WEIGHT
            else:
                choices = ["generated", "absent", "own", "own", "other"]
            return st.tuples(st.sampled_from(choices), st.integers(0, 10**17 - 1)).map(
                lambda pick: target._steer_header(operation, headers, *pick)
            )

        self.schema.hooks.register_hook_with_name(
            flatmap_path_parameters, "flatmap_path_parameters"
        )
        self.schema.hooks.register_hook_with_name(flatmap_headers, "flatmap_headers")

    def operation_of_api(self, api_operation: Any) -> spec.Operation:
        return next(o for o in self.operations.values() if o.label == api_operation.label)

    def _steer_header(
        self, operation: spec.Operation, headers: dict[str, Any], choice: str, number: int
    ) -> dict[str, Any]:
        generated = next((v for k, v in headers.items() if k.lower() == spec.ORG_HEADER), None)
        headers = {k: v for k, v in headers.items() if k.lower() != spec.ORG_HEADER}
        unknown = str(900_000_000_000_000_000 + number)
        if operation.kind == "org":
            value = str(generated).strip() if generated is not None else ""
            if choice == "own" and self.may_touch_org:
                headers[spec.ORG_HEADER] = self.org
            elif choice == "generated" and value and value not in self.protected_orgs():
                headers[spec.ORG_HEADER] = generated
            else:
                headers[spec.ORG_HEADER] = unknown
            return headers
        if choice == "generated" and generated is not None:
            headers[spec.ORG_HEADER] = generated
        elif choice == "own" and self.org:
            headers[spec.ORG_HEADER] = self.org
        elif choice == "other" and self.other_org:
            headers[spec.ORG_HEADER] = self.other_org
        return headers

    def run_generated(self, rpc: str) -> None:
        """Positive and negative generated traffic against one operation."""
        __tracebackhide__ = True
        api_operation = self.api_operation(rpc)
        negative = self.settings.examples // 2
        budget = {GenerationMode.POSITIVE: self.settings.examples - negative}
        budget[GenerationMode.NEGATIVE] = negative
        log = FailureLog()
        self.generated_counts[rpc] = {"positive": 0, "negative": 0}
        for mode, examples in budget.items():
            self._explore(rpc, api_operation.as_strategy(generation_mode=mode), examples, mode, log)
        counts = self.generated_counts[rpc]
        log.raise_if_any(
            f"{rpc}: generated traffic broke {len(log.violations)} rule(s) "
            f"({counts['positive']} positive, {counts['negative']} negative examples)"
        )

    def _explore(
        self, rpc: str, strategy: Any, examples: int, mode: GenerationMode, log: FailureLog
    ) -> None:
        counts = self.generated_counts[rpc]

        # Shrinking replays requests against a server whose state the first run changed, so it
        # would chase states rather than inputs: every failure is kept as it was found.
        @hypothesis.settings(
            max_examples=examples,
            phases=[hypothesis.Phase.generate],
            database=None,
            deadline=None,  # each request is bounded by REQUEST_TIMEOUT instead
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        @hypothesis.given(case=strategy)
        def explore(case: Any) -> None:
            response = self.send(case)
            counts[mode.value] += 1
            log.add(self.verify(case, response))

        explore()

    def run_links(self) -> None:
        """Schemathesis' stateful phase, following the spec's links between the operations."""
        __tracebackhide__ = True
        target = self
        log = FailureLog()
        base = self._state_machine_with_all_roots()

        class Workflow(base):  # type: ignore[misc, valid-type]
            def step(self, input: Any) -> Any:
                if input.transition is not None:
                    target.links_followed += 1
                return super().step(input)

            def call(self, case: Any, **kwargs: Any) -> StResponse:
                return target.send(case)

            def validate_response(
                self, response: Any, case: Any, *args: Any, **kwargs: Any
            ) -> None:
                rpc = target.operation_of(case).rpc
                target.links_steps[rpc] = target.links_steps.get(rpc, 0) + 1
                log.add(target.verify(case, response, column="links"))

            def teardown(self) -> None:
                # Every scenario starts from the same states, so that Hypothesis sees the same
                # answers to the same choices as far as the server allows.
                target.restore()
                super().teardown()

        scenarios = max(5, self.settings.examples // 4)
        wanted_steps = scenarios * 2
        # Hypothesis may end a run early (see below) or leave an operation unvisited in a small
        # budget; further runs go on until every operation was reached and links followed.
        for _attempt in range(6):
            try:
                Workflow.run(settings=self._links_settings(scenarios))
            except hypothesis.errors.Flaky:
                # A stateful server can answer a replayed choice differently (a sequence moved
                # on, a resource changed state). That ends this run, not the phase; what was
                # checked so far stands, as in schemathesis' own engine.
                pass
            reached = set(self.links_steps) >= set(self.operations)
            if reached and self.links_followed and sum(self.links_steps.values()) >= wanted_steps:
                break
        log.raise_if_any(
            f"the stateful phase broke {len(log.violations)} rule(s) "
            f"({sum(self.links_steps.values())} steps, {self.links_followed} through a link)"
        )

    def _state_machine_with_all_roots(self) -> type:
        """The spec's state machine, where every operation may start a scenario.

        Schemathesis only starts scenarios at operations it expects to succeed with generated
        data, which here are the two org operations alone: an id in a path looks like a
        reference to a resource nothing in the spec creates. With the generated ids steered to
        provisioned resources, every operation can start a chain that its link continues.
        Schemathesis has no public switch for this, so the rules are added the way its own
        state machine factory adds them.
        """
        from hypothesis.stateful import Bundle
        from schemathesis.generation.feedback import NO_FEEDBACK
        from schemathesis.specs.openapi import stateful as openapi_stateful

        base = self.write_schema.as_state_machine()
        missing = [
            api for label, api in self._api_operations.items() if label not in base._root_labels
        ]
        rules: dict[str, Any] = {}
        modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
        for api in missing:
            name = openapi_stateful.normalize_name(f"RANDOM -> {api.label}")
            strategy = openapi_stateful._step_case_strategy(api, modes, feedback=NO_FEEDBACK)
            rules[name] = openapi_stateful.transition(
                name=name,
                target=Bundle("catch_all"),
                precondition=openapi_stateful.is_root_allowed(api.label),
                input=strategy.map(openapi_stateful.StepInput.initial),
            )
        return type(
            "AllRootsWorkflow",
            (base,),
            {
                **rules,
                "root_rules": frozenset(base.root_rules | set(rules)),
                "_root_labels": frozenset(base._root_labels | {api.label for api in missing}),
            },
        )

    @staticmethod
    def _links_settings(scenarios: int) -> hypothesis.settings:
        return hypothesis.settings(
            max_examples=scenarios,
            stateful_step_count=6,
            phases=[hypothesis.Phase.generate],
            database=None,
            deadline=None,
            suppress_health_check=list(hypothesis.HealthCheck),
        )

    # -- state ------------------------------------------------------------------------------

    def snapshot(self, ref: provisioning.Ref) -> dict[str, Any] | None:
        """State, sequence and change date as the target's own Get shows them (any target);
        ``None`` when it cannot be read."""
        return self.reads.observe(ref)

    def ensure_active(self, ref: provisioning.Ref) -> str | None:
        """Put ``ref`` back to active; the reason when that failed."""
        mock = self.resources.mock
        if mock is not None:
            try:
                if mock.get(ref).get("state") != "active":
                    mock.set_state(ref, "active")
            except provisioning.ResourcesError as exc:
                return str(exc)
            return None
        # A real target: reactivate through the API; "already active" is fine too.
        _, reactivate = spec.kinds()[ref.kind]
        try:
            response = self.session.post(
                reactivate.url(self.root, ref.params),
                json={},
                headers={"Authorization": self.authorization() or "", spec.ORG_HEADER: ref.org},
                timeout=REQUEST_TIMEOUT,
            )
        except requests.RequestException as exc:
            return f"{reactivate.rpc} {ref.id}: {exc}"
        body = Response(response.status_code, dict(response.headers), response.content).json(None)
        code = body.get("code") if isinstance(body, dict) else None
        if response.status_code == 200 or (response.status_code == 400 and code == 9):
            return None
        return (
            f"{reactivate.rpc} {ref.id} answered HTTP {response.status_code}: {response.text[:200]}"
        )

    def restore(self) -> list[str]:
        """Every resource the suite may have changed back to active; the problems found."""
        return [problem for ref in self.touchable_refs() if (problem := self.ensure_active(ref))]

    def close(self) -> list[str]:
        """Drop what the suite made for itself alone (its mock instance); the problems found."""
        instance = self.resources.instance
        self.session.close()
        if instance is None:
            return []
        try:
            instance.delete()
        except (provisioning.ResourcesError, httpx.HTTPError) as exc:
            return [f"deleting instance {instance.name}: {exc}"]
        return []


def _own_column(check: Any) -> str:
    if check is checks.check_status:
        return "status"
    if check is checks.check_envelope:
        return "envelope"
    return "details"


class TargetError(RuntimeError):
    """The suite cannot run against the target as configured."""


def open_target(
    settings: Settings, results: matrix.Matrix | None = None, worker: str | None = None
) -> Target:
    """Find out what the target is, provision what the scenarios need, and connect.

    ``worker`` is the pytest-xdist worker this session is (``gw0``, ...): on our mock each
    worker then works in an instance of its own, so that no two workers share a world.
    """
    client = httpx.Client(timeout=REQUEST_TIMEOUT)
    check_reachable(settings, client)
    try:
        mock = provisioning.discover_mock(settings.root, client, settings.control_token)
    except provisioning.ControlPlaneLocked as exc:
        raise TargetError(str(exc)) from None
    detected = mock.profile if mock is not None else None
    if settings.resources is not None:
        try:
            resources = provisioning.load_file(settings.resources)
        except provisioning.ResourcesError as exc:
            raise TargetError(str(exc)) from None
    elif mock is not None:
        resources = _provision(mock, settings.token, worker)
    else:
        resources = provisioning.none(
            "no resources: pass a resources file (--zitadel-resources), or run against our "
            "mock with its control plane"
        )
    if settings.token is None and resources.caller_token is None:
        raise TargetError(
            "a token is needed (--zitadel-token or ZITADEL_TOKEN); only our mock with its "
            "control plane can provision a caller"
        )
    if results is not None:
        results.notes += [n for n in resources.notes if n not in results.notes]
    return Target(settings, resources, results, detected_profile=detected, worker=worker)


def check_reachable(settings: Settings, client: httpx.Client | None = None) -> None:
    """Any answer will do; only an unreachable target is worth stopping for."""
    own = client is None
    client = client or httpx.Client(timeout=REQUEST_TIMEOUT)
    try:
        client.get(settings.root + spec.operations()["DeactivateOrg"].base_path)
    except httpx.HTTPError as exc:
        raise TargetError(f"cannot reach {settings.root}: {exc}") from None
    finally:
        if own:
            client.close()


def preflight(settings: Settings) -> None:
    """What :func:`open_target` would refuse, checked without provisioning anything: for the
    xdist controller, which has to stop a run before its workers start."""
    with httpx.Client(timeout=REQUEST_TIMEOUT) as client:
        check_reachable(settings, client)
        try:
            mock = provisioning.discover_mock(settings.root, client, settings.control_token)
        except provisioning.ControlPlaneLocked as exc:
            raise TargetError(str(exc)) from None
    if settings.resources is not None:
        try:
            provisioning.load_file(settings.resources)
        except provisioning.ResourcesError as exc:
            raise TargetError(str(exc)) from None
    elif mock is None and settings.token is None:
        raise TargetError(
            "a token is needed (--zitadel-token or ZITADEL_TOKEN); only our mock with its "
            "control plane can provision a caller"
        )


def _provision(
    mock: provisioning.MockControl, token: str | None, worker: str | None
) -> provisioning.Resources:
    control, instance, caller, note = mock, None, token, None
    if worker is not None:
        try:
            control, instance = provisioning.open_instance(
                mock, f"conformance-{worker.lower()}-{secrets.token_hex(4)}"
            )
        except provisioning.ResourcesError as exc:
            # Still apart from the other workers: every session provisions orgs of its own.
            note = (
                f"worker {worker} could not create a mock instance of its own ({exc}); it "
                "provisioned its resources in the instance the URL selects"
            )
        else:
            if token is not None:
                caller, note = provisioning.equivalent_token(mock, instance, token)
    try:
        resources = provisioning.provision_on_mock(control, caller)
    except provisioning.ResourcesError as exc:
        if instance is not None:
            with contextlib.suppress(provisioning.ResourcesError, httpx.HTTPError):
                instance.delete()
        resources = provisioning.none(f"provisioning on the mock failed: {exc}")
        instance = None
    if instance is not None:
        resources.instance = instance
        resources.source += ", in an instance of its own per worker"
        if token is not None:
            resources.caller_token = caller  # the given token is unknown in the new instance
    if note:
        resources.notes.append(note)
    return resources
