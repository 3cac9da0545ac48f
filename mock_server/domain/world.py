"""The in-memory world: one instance with its orgs, users, projects, actions and user grants.

Like ZITADEL's event store, every change is an event on one aggregate. Each aggregate keeps its
own sequence (the ``sequence`` of ObjectDetails is the sequence of the object's own latest
event), the date of its first and latest event, and its resource owner (the owning org).

All reads and writes go through :attr:`World.lock`, a re-entrant lock held for the whole of a
command, so concurrent requests on one aggregate can neither lose a transition nor repeat a
sequence.
"""

from __future__ import annotations

import enum
import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar


def now() -> datetime:
    return datetime.now(UTC)


class OrgState(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    REMOVED = "removed"


class UserState(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    INITIAL = "initial"
    LOCKED = "locked"
    DELETED = "deleted"


class ActionState(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    REMOVED = "removed"


class GrantState(enum.Enum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    REMOVED = "removed"


@dataclass(frozen=True)
class Event:
    aggregate_type: str
    aggregate_id: str
    type: str
    sequence: int
    created_at: datetime
    resource_owner: str


@dataclass(frozen=True)
class Details:
    """What a successful command reports: the object's latest event."""

    sequence: int
    event_date: datetime
    resource_owner: str


@dataclass(kw_only=True)
class Aggregate:
    aggregate_type: ClassVar[str] = ""

    id: str
    resource_owner: str
    sequence: int = 0
    creation_date: datetime | None = None
    change_date: datetime | None = None

    def details(self) -> Details:
        assert self.change_date is not None, "an aggregate without events has no details"
        return Details(self.sequence, self.change_date, self.resource_owner)


@dataclass(kw_only=True)
class Org(Aggregate):
    aggregate_type: ClassVar[str] = "org"

    name: str
    state: OrgState = OrgState.ACTIVE
    primary_domain: str = ""


@dataclass(kw_only=True)
class User(Aggregate):
    aggregate_type: ClassVar[str] = "user"

    user_name: str
    state: UserState = UserState.ACTIVE
    kind: str = "human"  # "human" or "machine"
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    preferred_language: str = "en"

    @property
    def org_id(self) -> str:
        return self.resource_owner


@dataclass(kw_only=True)
class Project(Aggregate):
    aggregate_type: ClassVar[str] = "project"

    name: str


@dataclass(kw_only=True)
class Action(Aggregate):
    aggregate_type: ClassVar[str] = "action"

    name: str
    script: str = ""
    state: ActionState = ActionState.ACTIVE


@dataclass(kw_only=True)
class UserGrant(Aggregate):
    aggregate_type: ClassVar[str] = "usergrant"

    user_id: str
    project_id: str
    roles: list[str] = field(default_factory=list)
    state: GrantState = GrantState.ACTIVE


@dataclass
class Membership:
    """Roles of a user on the instance, an org or a project (ZITADEL's members)."""

    user_id: str
    scope: str  # "instance", "org" or "project"
    roles: list[str]
    scope_id: str = ""  # the org or project id; empty for the instance


@dataclass
class Token:
    """An access token or PAT; ZITADEL deletes them when their user is deactivated or locked."""

    value: str
    user_id: str
    description: str = ""
    revoked: bool = False


class World:
    """The whole state of the mock. Mutate it only while holding :attr:`lock`."""

    def __init__(self, seed: int = 0, instance_name: str = "Mock Instance") -> None:
        self.lock = threading.RLock()
        self.seed = seed
        # Its own stream, so ids of resources created at run time never follow the fixtures'.
        self._ids = random.Random(f"zitadel-mock-ids-{seed}")
        self._issued_ids: set[str] = set()
        self.instance_id = self.new_id()
        self.instance_name = instance_name
        self.orgs: dict[str, Org] = {}
        self.users: dict[str, User] = {}
        self.projects: dict[str, Project] = {}
        self.actions: dict[str, Action] = {}
        self.user_grants: dict[str, UserGrant] = {}
        self.memberships: list[Membership] = []
        self.tokens: dict[str, Token] = {}
        self.events: list[Event] = []

    def new_id(self) -> str:
        """A ZITADEL-style id: 18 decimal digits, as sonyflake ids are today."""
        while True:
            candidate = str(self._ids.randrange(10**17, 4 * 10**17))
            if candidate not in self._issued_ids:
                self._issued_ids.add(candidate)
                return candidate

    def claim_id(self, value: str) -> None:
        """Reserve an id that came from outside, so :meth:`new_id` never hands it out."""
        self._issued_ids.add(value)

    def push(self, aggregate: Aggregate, event_type: str, at: datetime | None = None) -> Event:
        """Record an event on ``aggregate`` and advance its sequence."""
        at = at or now()
        # The clock must never go backwards within one aggregate, or "a later change has a
        # later date" would not hold for clients comparing details.
        if aggregate.change_date is not None and at < aggregate.change_date:
            at = aggregate.change_date
        aggregate.sequence += 1
        if aggregate.creation_date is None:
            aggregate.creation_date = at
        aggregate.change_date = at
        event = Event(
            aggregate.aggregate_type,
            aggregate.id,
            event_type,
            aggregate.sequence,
            at,
            aggregate.resource_owner,
        )
        self.events.append(event)
        return event

    def collection(self, kind: str) -> dict[str, Aggregate]:
        collections: dict[str, dict] = {
            "orgs": self.orgs,
            "users": self.users,
            "projects": self.projects,
            "actions": self.actions,
            "user_grants": self.user_grants,
        }
        return collections[kind]

    def org_exists(self, org_id: str) -> bool:
        # ZITADEL's ExistsOrg counts events and ignores state: inactive and removed orgs exist.
        return org_id in self.orgs

    def memberships_of(self, user_id: str) -> list[Membership]:
        return [m for m in self.memberships if m.user_id == user_id]

    def revoke_tokens_of(self, user_id: str) -> None:
        for token in self.tokens.values():
            if token.user_id == user_id:
                token.revoked = True
