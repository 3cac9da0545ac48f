"""Operations of the control plane: on one instance's world (reset, export, create, read, set
state, settings) and on the instances themselves (create, list, get, delete).

Plain Python like the domain; the REST control plane only translates. A state set here is an
event like any other (the sequence advances), so details stay consistent with the history.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from mock_server import fixtures
from mock_server.domain import errors
from mock_server.domain.instances import Instance, Instances
from mock_server.domain.world import Aggregate, UserState, World

# The event ZITADEL records when an aggregate enters a state.
_STATE_EVENT_TYPES: dict[str, dict[str, str]] = {
    "orgs": {"active": "org.reactivated", "inactive": "org.deactivated", "removed": "org.removed"},
    "users": {
        "active": "user.reactivated",
        "inactive": "user.deactivated",
        "initial": "user.human.initialization.code.added",
        "locked": "user.locked",
        "deleted": "user.removed",
    },
    "actions": {
        "active": "action.reactivated",
        "inactive": "action.deactivated",
        "removed": "action.removed",
    },
    "user_grants": {
        "active": "user.grant.reactivated",
        "inactive": "user.grant.deactivated",
        "removed": "user.grant.removed",
    },
}
# ZITADEL's token projection deletes a user's tokens on these user states.
_TOKEN_KILLING_USER_STATES = {UserState.INACTIVE, UserState.LOCKED, UserState.DELETED}

CREATABLE = (*fixtures.KINDS, "memberships", "tokens")
# The cap on what the control plane may add to one world: a loop creating orgs would otherwise
# grow the mock until the machine swaps (650k orgs in 8 minutes, about 400 B each).
DEFAULT_MAX_RESOURCES = 100_000
MAX_READ_LAG_MS = 600_000


def read_lag_seconds(milliseconds: object) -> float:
    lag = milliseconds
    if isinstance(lag, bool) or not isinstance(lag, int) or not 0 <= lag <= MAX_READ_LAG_MS:
        raise errors.invalid_argument(
            f"read_lag_ms must be a whole number from 0 to {MAX_READ_LAG_MS}, not {lag!r}"
        )
    return lag / 1000


class WorldAdmin:
    def __init__(
        self,
        world: World,
        initial_world: Callable[[], World],
        *,
        max_resources: int = DEFAULT_MAX_RESOURCES,
    ) -> None:
        self.world = world
        self._initial_world = initial_world
        self.max_resources = max_resources

    def resource_count(self) -> int:
        """Every resource, membership and token the world holds (caller holds the lock)."""
        world = self.world
        kinds = sum(len(world.collection(kind)) for kind in fixtures.KINDS)
        return kinds + len(world.memberships) + len(world.tokens)

    def reset(self) -> None:
        """Put the world back to how the server started, in place, so every front sees it."""
        fresh = self._initial_world()
        with self.world.lock:
            for name, value in vars(fresh).items():
                if name != "lock":
                    setattr(self.world, name, value)

    def export(self) -> dict:
        return fixtures.export_document(self.world)

    def create(self, kind: str, entry: object) -> dict:
        if kind not in CREATABLE:
            raise errors.not_found(f"unknown resource kind {kind!r}")
        if not isinstance(entry, dict):
            raise errors.invalid_argument("the body must be a JSON object")
        with self.world.lock:
            if self.resource_count() >= self.max_resources:
                raise errors.ZitadelError(
                    errors.Code.RESOURCE_EXHAUSTED,
                    f"the world holds {self.max_resources} resources, the cap "
                    "(--max-resources); reset it or start the mock with a higher cap",
                )
            loader = fixtures.loader_for(self.world)
            try:
                # As strict as a fixture file: a misspelt key would otherwise be dropped.
                fixtures.check_keys(entry, kind, (kind,))
                if kind == "memberships":
                    return fixtures.export_membership(loader.membership(entry))
                if kind == "tokens":
                    if str(entry.get("token", "")) in self.world.tokens:
                        raise errors.ZitadelError(
                            errors.Code.ALREADY_EXISTS, "a token with this value exists"
                        )
                    return fixtures.export_token(loader.token(entry))
                if entry.get("id") and str(entry["id"]) in self.world.collection(kind):
                    raise errors.ZitadelError(
                        errors.Code.ALREADY_EXISTS, f"{kind} {entry['id']} exists"
                    )
                creators = {
                    "orgs": loader.org,
                    "users": loader.user,
                    "projects": loader.project,
                    "actions": loader.action,
                    "user_grants": loader.user_grant,
                }
                return fixtures.export_entry(kind, creators[kind](entry))
            except (fixtures.FixtureError, ValueError, TypeError) as exc:
                raise errors.invalid_argument(str(exc)) from None

    def _aggregate(self, kind: str, resource_id: str) -> Aggregate:
        if kind not in fixtures.KINDS:
            raise errors.not_found(f"unknown resource kind {kind!r}")
        aggregate = self.world.collection(kind).get(resource_id)
        if aggregate is None:
            raise errors.not_found(f"{kind} {resource_id} not found")
        return aggregate

    def get(self, kind: str, resource_id: str) -> dict:
        with self.world.lock:
            return fixtures.export_entry(kind, self._aggregate(kind, resource_id))

    def set_state(self, kind: str, resource_id: str, state: object) -> dict:
        with self.world.lock:
            aggregate = self._aggregate(kind, resource_id)
            events = _STATE_EVENT_TYPES.get(kind)
            if events is None:
                raise errors.invalid_argument(f"{kind} have no state")
            if not isinstance(state, str) or state.lower() not in events:
                allowed = ", ".join(events)
                raise errors.invalid_argument(f"state must be one of {allowed}, not {state!r}")
            new_state = type(aggregate.state)(state.lower())  # type: ignore[attr-defined]
            if aggregate.state is not new_state:  # type: ignore[attr-defined]
                aggregate.state = new_state  # type: ignore[attr-defined]
                self.world.push(aggregate, events[new_state.value])
                if kind == "users" and new_state in _TOKEN_KILLING_USER_STATES:
                    self.world.revoke_tokens_of(aggregate.id)
            return fixtures.export_entry(kind, aggregate)

    def settings(self) -> dict:
        with self.world.lock:
            return {"read_lag_ms": round(self.world.read_lag * 1000)}

    def set_settings(self, settings: object) -> dict:
        if not isinstance(settings, dict):
            raise errors.invalid_argument("the body must be a JSON object")
        if "read_lag_ms" in settings:
            self.world.read_lag = read_lag_seconds(settings["read_lag_ms"])
        return self.settings()

    def info(self, profile: str) -> dict:
        with self.world.lock:
            return {
                "profile": profile,
                "seed": self.world.seed,
                "management_base_path": "/management/v1",
                "tokens": [
                    {
                        "token": t.value,
                        "user": t.user_id,
                        "org": self.world.users[t.user_id].org_id,
                        "description": t.description,
                        "revoked": t.revoked,
                    }
                    for t in self.world.tokens.values()
                ],
            }


# The ready principals of a seeded instance, by the seed token each one's token starts with.
PRINCIPALS: dict[str, str] = dataclasses.asdict(fixtures.SEED_TOKENS)
_CREATE_FIELDS = {"name", "seed", "fixtures", "profile", "read_lag_ms"}


class InstanceAdmin:
    """Instances through the control plane; ``base`` is how the caller reached the mock."""

    def __init__(self, instances: Instances) -> None:
        self.instances = instances

    def create(self, body: object, base: tuple[str, str, int]) -> dict[str, Any]:
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise errors.invalid_argument("the body must be a JSON object")
        unknown = sorted(set(body) - _CREATE_FIELDS)
        if unknown:
            raise errors.invalid_argument(
                f"unknown fields {unknown}; an instance takes {sorted(_CREATE_FIELDS)}"
            )
        seed = body.get("seed", fixtures.DEFAULT_SEED)
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise errors.invalid_argument(f"seed must be a whole number, not {seed!r}")
        document = body.get("fixtures")
        if document is not None and not isinstance(document, dict):
            raise errors.invalid_argument("fixtures must be a fixture document (a JSON object)")
        try:
            instance = self.instances.create(
                name=body.get("name"),
                seed=seed,
                document=document,
                extend=bool(document and document.get("extend")),
                profile=body.get("profile"),
                read_lag=read_lag_seconds(body.get("read_lag_ms", 0)),
            )
        except (fixtures.FixtureError, ValueError, TypeError) as exc:
            raise errors.invalid_argument(f"fixtures: {exc}") from None
        return describe_instance(instance, base, with_world=True)

    def list(self, base: tuple[str, str, int]) -> dict[str, Any]:
        return {"instances": [describe_instance(i, base) for i in self.instances.all()]}

    def get(self, key: str, base: tuple[str, str, int]) -> dict[str, Any]:
        return describe_instance(self.instances.get(key), base, with_world=True)

    def delete(self, key: str) -> None:
        self.instances.delete(key)


def principal_tokens(instance: Instance) -> dict[str, str]:
    """The token of each ready principal (instance_owner, org_owner, ...) the instance has."""
    found = {}
    for token in instance.tokens():
        for principal, seed_value in PRINCIPALS.items():
            value = token["token"]
            if value == seed_value or value.startswith(f"{seed_value}-"):
                found.setdefault(principal, value)
    return found


def describe_instance(
    instance: Instance, base: tuple[str, str, int], *, with_world: bool = False
) -> dict[str, Any]:
    """Where an instance is and how to call it. ``base`` is (scheme, address, port) of the
    request: the URL names the instance's host; gRPC gets the address and the header, since a
    dial target of the instance's host (its :authority, which selects it too) needs that name
    to resolve on the client's machine."""
    scheme, address, port = base
    host = "localhost" if instance.is_default else instance.host
    described: dict[str, Any] = {
        "id": instance.id,
        "name": instance.name,
        "host": host,
        "default": instance.is_default,
        "base_url": f"{scheme}://{host}:{port}",
        "grpc_target": f"{address}:{port}",
        "headers": {} if instance.is_default else {"x-zitadel-instance-host": instance.host},
        "profile": instance.profile.name,
        "read_lag_ms": round(instance.world.read_lag * 1000),
        "tokens": principal_tokens(instance),
    }
    if with_world:
        described["all_tokens"] = instance.tokens()
        described["world"] = fixtures.export_document(instance.world)
    return described
