"""The one entry point every wire front calls: one RPC, with ZITADEL's interceptor order.

Authorization comes before validation, validation before the command (internal/api/grpc/server:
... Authorization -> Translation -> ... -> Validation -> handler). The whole call runs under the
world lock, so a call is atomic with respect to every other call.

Around that sit the test controls of the instance: :meth:`LifecycleService.plan` takes what
its injected faults decide for the call (latency, a failure), so that an async front can await
the latency before :meth:`LifecycleService.call`, which then fails injected calls before they
touch the world and writes every call, whatever its outcome, to the instance's journal.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, NamedTuple

from mock_server import contract, status
from mock_server.domain import errors
from mock_server.domain.auth import authorize, bearer_token
from mock_server.domain.commands import COMMANDS, DEFAULT_PROFILE, PROFILES, Profile
from mock_server.domain.instances import Instance, Instances
from mock_server.domain.queries import QUERIES
from mock_server.domain.validation import validate
from mock_server.domain.world import Details, World
from mock_server.faults import NO_EFFECT, Effect


class CallMetadata(NamedTuple):
    """What the transport carries besides the message: ``authorization``, ``x-zitadel-orgid``
    and the host that selects the instance; ``transport`` is the front the call came by
    (rest, grpc-web, grpc; direct for a call on the service itself), for the journal."""

    # Tuples rather than frozen dataclasses: built on every call, at a third of the cost.
    authorization: str | None = None
    org_id: str | None = None
    host: str | None = None
    transport: str = "direct"


class Plan(NamedTuple):
    """One call before it runs: its instance (None for an RPC the mock does not serve on a
    host no instance has), what the instance's faults decided for it, and when it came."""

    instance: Instance | None
    effect: Effect
    at: datetime
    started: float

    @classmethod
    def now(cls, instance: Instance | None, effect: Effect = NO_EFFECT) -> Plan:
        return cls(instance, effect, datetime.now(UTC), time.monotonic())

    @property
    def delay(self) -> float:
        """Seconds to wait before :meth:`LifecycleService.call`: the front awaits them."""
        return self.effect.delay


def _single_world(world: World) -> World:
    raise errors.ZitadelError(
        errors.Code.UNIMPLEMENTED, "this service was built around one world: no instances"
    )


class LifecycleService:
    """Every RPC of every instance. Built around one :class:`World` it serves that world alone;
    built around :class:`Instances` it first picks the instance of the call's host."""

    def __init__(self, target: World | Instances, profile: str | Profile = DEFAULT_PROFILE) -> None:
        if isinstance(target, World):
            chosen = PROFILES[profile] if isinstance(profile, str) else profile
            target = Instances(
                target, chosen, rebuild_default=lambda: target, factory=_single_world
            )
        self.instances = target

    @property
    def world(self) -> World:
        """The default instance's world."""
        return self.instances.default.world

    @property
    def profile(self) -> Profile:
        return self.instances.default.profile

    def plan(self, rpc_name: str, metadata: CallMetadata) -> Plan:
        """The instance of a call and what its faults decide, consumed now (a fault meant for
        one call is taken by one call). Raises the instance interceptor's errors."""
        if rpc_name not in contract.rpcs():
            # grpc-go answers an unknown method before any interceptor: no instance is
            # needed, though the call is journaled on the one the host names, if any.
            try:
                return Plan.now(self.instances.resolve(metadata.host))
            except errors.ZitadelError:
                return Plan.now(None)
        # The instance interceptor runs before authentication.
        instance = self.instances.resolve(metadata.host)
        return Plan.now(instance, instance.faults.take(rpc_name))

    def call(
        self,
        rpc_name: str,
        fields: Mapping[str, Any],
        metadata: CallMetadata,
        plan: Plan | None = None,
    ) -> Any:
        """Run one RPC: a write returns its :class:`Details`, a read the view of
        :mod:`~mock_server.domain.queries` it asks for.

        Without a ``plan`` the call takes its own and sleeps its injected latency in this
        thread (right for native gRPC's worker threads); async fronts pass the plan whose
        delay they have awaited. An injected drop raises
        :class:`~mock_server.faults.ConnectionDropped`, which the fronts turn into a cut
        connection."""
        if plan is None:
            plan = self.plan(rpc_name, metadata)
            if plan.delay:
                time.sleep(plan.delay)
        result: Any = None
        failure: errors.ZitadelError | None = None
        try:
            result = self._run(rpc_name, fields, metadata, plan)
            return result
        except errors.ZitadelError as error:
            failure = error
            raise
        except Exception:
            failure = errors.ZitadelError(errors.Code.INTERNAL, "Internal")
            raise
        finally:
            if plan.instance is not None:
                self._record(plan, rpc_name, fields, metadata, result, failure)

    def _run(
        self, rpc_name: str, fields: Mapping[str, Any], metadata: CallMetadata, plan: Plan
    ) -> Any:
        rpc = contract.rpcs().get(rpc_name)
        if rpc is None:
            raise errors.ZitadelError(
                errors.Code.UNIMPLEMENTED,
                f"unknown method {rpc_name} for service zitadel.management.v1.ManagementService",
            )
        if plan.effect.error is not None:
            # Before authorization and the world lock: an injected failure changes nothing.
            raise plan.effect.error
        instance = plan.instance
        assert instance is not None
        world = instance.world
        with world.lock:
            caller = authorize(
                world, metadata.authorization, metadata.org_id or None, rpc.permission
            )
            validate(rpc.request_message, rpc.path_fields, fields)
            if rpc.is_read:
                return QUERIES[rpc.name](world, caller, fields)
            return COMMANDS[rpc.name](world, caller, dict(fields), instance.profile)

    def _record(
        self,
        plan: Plan,
        rpc_name: str,
        fields: Mapping[str, Any],
        metadata: CallMetadata,
        result: Any,
        failure: errors.ZitadelError | None,
    ) -> None:
        instance = plan.instance
        assert instance is not None
        caller, token, org = _identify(instance.world, metadata)
        code = errors.Code.OK if failure is None else failure.code
        injected = failure is not None and failure is plan.effect.error
        instance.journal.append(
            {
                "index": 0,
                "time": plan.at,
                "transport": metadata.transport,
                "rpc": rpc_name,
                "caller": caller,
                "token": token,
                "org": org,
                "fields": fields,
                "code": int(code),
                "http_status": status.HTTP_STATUS_BY_CODE[code],
                "error_id": None if failure is None else failure.error_id,
                "message": "" if failure is None else failure.message,
                "sequence": result.sequence if isinstance(result, Details) else None,
                "injected": injected,
                "delay_ms": plan.delay * 1000,
                "duration_ms": (time.monotonic() - plan.started) * 1000,
                "fault": plan.effect.fault if injected else None,
            }
        )


def _identify(world: World, metadata: CallMetadata) -> tuple[str | None, str | None, str | None]:
    """Who called and in which org, as far as the token tells, whether or not the call was
    allowed: (user id, token description, org). A revoked token still names its user."""
    org = metadata.org_id or None
    try:
        value = bearer_token(metadata.authorization)
    except errors.ZitadelError:
        return None, None, org
    with world.lock:
        token = world.tokens.get(value)
        user = world.users.get(token.user_id) if token is not None else None
        if token is None or user is None:
            return None, None, org
        return user.id, token.description or None, org or user.org_id
