"""The implementation under test: the façade the scenarios hold, owning the HTTP session.

Every request the suite makes, generated or scripted, goes through :meth:`Target.send`, past
the guard of :mod:`conformance.safety`, and every answer through :meth:`Target.verify`
(:mod:`conformance.verify`). The generated and stateful phases live in
:mod:`conformance.explore`, the steering of their values in :mod:`conformance.steering`, putting
resources back in :mod:`conformance.restore`. :func:`open_target` finds out what the target is
and provisions what the scenarios need.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

import httpx
import requests
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.core.transport import Response as StResponse

from conformance import matrix, provisioning, spec
from conformance.explore import Explorer
from conformance.model import Request, Response, from_schemathesis
from conformance.reads import Reader
from conformance.restore import Restorer
from conformance.safety import Safety, UnsafeRequest
from conformance.settings import Settings, flag
from conformance.steering import Steering
from conformance.verify import (
    ConformanceFailure,
    FailureLog,
    Verifier,
    Violation,
    builtin_checks,
)

__all__ = [
    "Call",
    "ConformanceFailure",
    "FailureLog",
    "Target",
    "TargetError",
    "UnsafeRequest",
    "Violation",
    "builtin_checks",
    "load_schema",
    "open_target",
    "preflight",
]

REQUEST_TIMEOUT = 10.0
_TOKEN_NEEDED = (
    "a token is needed ({flag}); only our mock with its control plane can provision a caller"
)
USER_AGENT = "zitadel-conformance"
_CALLER = object()


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
        self.api_operations = {
            result.ok().label: result.ok() for result in self.write_schema.get_all_operations()
        }
        read_labels = {read.label: read.rpc for read in spec.reads().values()}
        self._read_operations = {
            read_labels[result.ok().label]: result.ok()
            for result in self.schema.get_all_operations()
            if result.ok().label in read_labels
        }
        self.safety = Safety(settings, resources, self.default_org)
        self.verifier = Verifier(self.schema, self.operations, self.default_org, results)
        self.explorer = Explorer(self)
        self.restorer = Restorer(self)
        self.reads = Reader(self)
        Steering(self.safety, self.operations).install(self.schema)

    # -- what the suite may touch (conformance.safety) -------------------------------------

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
        return self.safety.may_touch_org

    def protected_orgs(self) -> set[str]:
        return self.safety.protected_orgs()

    def touchable_refs(self) -> list[provisioning.Ref]:
        return self.safety.touchable_refs()

    @staticmethod
    def unknown_id() -> str:
        # Shaped like ZITADEL's ids, far from any real one.
        return str(900_000_000_000_000_000 + secrets.randbelow(10**17))

    # -- sending ------------------------------------------------------------------------------

    def authorization(self, token: str | None | object = _CALLER) -> str | None:
        if token is _CALLER:
            token = self.token
        return None if token is None else f"Bearer {token}"

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
        self.safety.guard(self._write_of(case.operation.label), kwargs["headers"])
        kwargs.setdefault("timeout", REQUEST_TIMEOUT)
        kwargs["allow_redirects"] = False
        response = self.session.request(**kwargs)
        return StResponse.from_requests(response, verify=True)

    def operation_of(self, case: Any) -> spec.Operation:
        return self.verifier.operation_of(case)

    def _write_of(self, label: str) -> spec.Operation | None:
        return next((o for o in self.operations.values() if o.label == label), None)

    def api_operation(self, rpc: str) -> Any:
        return self.api_operations[self.operations[rpc].label]

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

    # -- checking (conformance.verify) -------------------------------------------------------

    def verify(
        self,
        case: Any,
        response: StResponse,
        column: str | None = None,
        pair: tuple[Request, Response] | None = None,
    ) -> list[Violation]:
        return self.verifier.verify(case, response, column, pair)

    def verify_read(
        self,
        read: spec.Read,
        case: Any,
        response: StResponse,
        rpc: str | None,
        pair: tuple[Request, Response],
    ) -> list[Violation]:
        return self.verifier.verify_read(read, case, response, rpc, pair)

    def record(
        self, operation: spec.Operation, column: str, violation: Violation | None = None
    ) -> None:
        self.verifier.record(operation, column, violation)

    # -- exploring (conformance.explore) -----------------------------------------------------

    def run_generated(self, rpc: str) -> None:
        __tracebackhide__ = True
        self.explorer.run_generated(rpc)

    def run_links(self) -> None:
        __tracebackhide__ = True
        self.explorer.run_links()

    @property
    def generated_counts(self) -> dict[str, dict[str, int]]:
        return self.explorer.generated_counts

    @property
    def links_steps(self) -> dict[str, int]:
        return self.explorer.links_steps

    @property
    def links_followed(self) -> int:
        return self.explorer.links_followed

    # -- state (conformance.restore) ---------------------------------------------------------

    def snapshot(self, ref: provisioning.Ref) -> dict[str, Any] | None:
        """State, sequence and change date as the target's own Get shows them (any target);
        ``None`` when it cannot be read."""
        return self.reads.observe(ref)

    def ensure_active(self, ref: provisioning.Ref) -> str | None:
        return self.restorer.ensure_active(ref)

    def restore(self) -> list[str]:
        return self.restorer.restore()

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
            f"no resources: pass a resources file ({flag('resources')}), or run against our "
            "mock with its control plane"
        )
    if settings.token is None and resources.caller_token is None:
        raise TargetError(_TOKEN_NEEDED.format(flag=flag("token")))
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
        raise TargetError(_TOKEN_NEEDED.format(flag=flag("token")))


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
