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
from mock_server.domain.queries import QUERIES
from mock_server.domain.validation import validate
from mock_server.domain.world import World


@dataclass(frozen=True)
class CallMetadata:
    """What the transport carries besides the message: ``authorization`` and ``x-zitadel-orgid``."""

    authorization: str | None = None
    org_id: str | None = None


class LifecycleService:
    def __init__(self, world: World, profile: str | Profile = DEFAULT_PROFILE) -> None:
        self.world = world
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile

    def call(self, rpc_name: str, fields: Mapping[str, Any], metadata: CallMetadata) -> Any:
        """Run one RPC: a write returns its :class:`Details`, a read the view of
        :mod:`~mock_server.domain.queries` it asks for."""
        rpc = contract.rpcs().get(rpc_name)
        if rpc is None:
            raise errors.ZitadelError(
                errors.Code.UNIMPLEMENTED,
                f"unknown method {rpc_name} for service zitadel.management.v1.ManagementService",
            )
        with self.world.lock:
            caller = authorize(
                self.world, metadata.authorization, metadata.org_id or None, rpc.permission
            )
            validate(rpc.request_message, rpc.path_fields, fields)
            if rpc.is_read:
                return QUERIES[rpc.name](self.world, caller, fields)
            return COMMANDS[rpc.name](self.world, caller, dict(fields), self.profile)
