"""The one entry point every wire front calls: one RPC, with ZITADEL's interceptor order.

Authorization comes before validation, validation before the command (internal/api/grpc/server:
... Authorization -> Translation -> ... -> Validation -> handler). The whole call runs under the
world lock, so a call is atomic with respect to every other call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mock_server import contract
from mock_server.domain import errors
from mock_server.domain.auth import authorize
from mock_server.domain.commands import COMMANDS, DEFAULT_PROFILE, PROFILES, Profile
from mock_server.domain.instances import Instances
from mock_server.domain.queries import QUERIES
from mock_server.domain.validation import validate
from mock_server.domain.world import World


@dataclass(frozen=True)
class CallMetadata:
    """What the transport carries besides the message: ``authorization``, ``x-zitadel-orgid``
    and the host that selects the instance."""

    authorization: str | None = None
    org_id: str | None = None
    host: str | None = None


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

    def call(self, rpc_name: str, fields: Mapping[str, Any], metadata: CallMetadata) -> Any:
        """Run one RPC: a write returns its :class:`Details`, a read the view of
        :mod:`~mock_server.domain.queries` it asks for."""
        rpc = contract.rpcs().get(rpc_name)
        if rpc is None:
            raise errors.ZitadelError(
                errors.Code.UNIMPLEMENTED,
                f"unknown method {rpc_name} for service zitadel.management.v1.ManagementService",
            )
        # The instance interceptor runs before authentication.
        instance = self.instances.resolve(metadata.host)
        world = instance.world
        with world.lock:
            caller = authorize(
                world, metadata.authorization, metadata.org_id or None, rpc.permission
            )
            validate(rpc.request_message, rpc.path_fields, fields)
            if rpc.is_read:
                return QUERIES[rpc.name](world, caller, fields)
            return COMMANDS[rpc.name](world, caller, dict(fields), instance.profile)
