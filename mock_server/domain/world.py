"""The in-memory world: one instance with its orgs, users, projects, actions and user grants.

Like ZITADEL's event store, every change is an event on one aggregate. Each aggregate keeps its
own sequence (the ``sequence`` of ObjectDetails is the sequence of the object's own latest
event), the date of its first and latest event, and its resource owner (the owning org).

All reads and writes go through :attr:`World.lock`, a re-entrant lock held for the whole of a
command, so concurrent requests on one aggregate can neither lose a transition nor repeat a
sequence.

ZITADEL's v1 reads come from projections that may lag behind the event store. With a
:attr:`World.read_lag`, :meth:`World.push` also keeps a short history of each aggregate's
states, so the query layer can show an aggregate as it was ``read_lag`` seconds ago.
"""

from __future__ import annotations

import copy
import enum
import random
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, NamedTuple

# States kept per aggregate for lagging reads: far more than a lag of seconds ever needs.
HISTORY_PER_AGGREGATE = 16
# Events kept per world (about 360 bytes each).
EVENT_LOG_LIMIT = 10_000


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


class Event(NamedTuple):
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
    # A human's profile, email and phone (zitadel.user.v1.Human).
    first_name: str = ""
    last_name: str = ""
    nick_name: str = ""
    # ZITADEL fills "first last" at write time when none is given.
    display_name: str = ""
    preferred_language: str = "en"  # a BCP 47 tag; "" reads as "und"
    gender: str = "unspecified"  # unspecified, female, male or diverse
    email: str = ""
    email_verified: bool = False
    phone: str = ""
    phone_verified: bool = False
    password_changed: datetime | None = None
    # A machine's (zitadel.user.v1.Machine); its name is what a console shows.
    machine_name: str = ""
    description: str = ""
    has_secret: bool = False
    access_token_type: str = "bearer"  # bearer or jwt

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
    timeout_seconds: float = 0.0  # 0 means ZITADEL's maximum, 20 s
    allowed_to_fail: bool = False


@dataclass(kw_only=True)
class UserGrant(Aggregate):
    aggregate_type: ClassVar[str] = "usergrant"

    user_id: str
    project_id: str
    roles: list[str] = field(default_factory=list)
    state: GrantState = GrantState.ACTIVE
    project_grant_id: str = ""  # set for grants on a project granted to the org


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
        # Every authenticated call looks its caller's memberships up: by user, not by scan.
        self._memberships_by_user: dict[str, list[Membership]] = {}
        self.tokens: dict[str, Token] = {}
        # The latest events only: the history a client can observe lives in each aggregate's
        # sequence and dates, so a long-running mock must not grow by every transition.
        # Plain tuples, which the collector stops tracking (a NamedTuple it never does): the
        # log's 10,000 events add nothing to its full passes.
        self._event_log: deque[tuple] = deque(maxlen=EVENT_LOG_LIMIT)
        # Seconds the reads trail the writes by (ZITADEL's projections); 0 reads the present.
        self._read_lag = 0.0
        self._history: dict[tuple[str, str], deque[tuple[datetime, Aggregate]]] = {}

    @property
    def events(self) -> list[Event]:
        """The latest events (at most EVENT_LOG_LIMIT), oldest first: a snapshot."""
        # tuple() copies the deque in one step the interpreter does not interrupt, so a call
        # pushing an event on another thread meanwhile cannot break the copy.
        return [Event._make(entry) for entry in tuple(self._event_log)]

    @property
    def read_lag(self) -> float:
        return self._read_lag

    @read_lag.setter
    def read_lag(self, seconds: float) -> None:
        with self.lock:
            if seconds > 0 and self._read_lag <= 0:
                # push only keeps states while lagging, and callers change an aggregate before
                # they push: without this, the first write after the lag is switched on would
                # have no previous state to show, and the reads would show it at once.
                self._history = {}
                for kind in ("orgs", "users", "projects", "actions", "user_grants"):
                    for aggregate in self.collection(kind).values():
                        if aggregate.change_date is not None:
                            self._remember(aggregate, aggregate.change_date)
            self._read_lag = seconds

    def _remember(self, aggregate: Aggregate, at: datetime) -> None:
        # Its state from ``at`` on, for lagging reads.
        key = (aggregate.aggregate_type, aggregate.id)
        history = self._history.get(key)
        if history is None:
            history = self._history[key] = deque(maxlen=HISTORY_PER_AGGREGATE)
        history.append((at, copy.copy(aggregate)))

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
        entry = (
            aggregate.aggregate_type,
            aggregate.id,
            event_type,
            aggregate.sequence,
            at,
            aggregate.resource_owner,
        )
        self._event_log.append(entry)
        if self._read_lag > 0:
            # Callers change the aggregate before they push, so this is its state from ``at``.
            self._remember(aggregate, at)
        return Event._make(entry)

    def as_of(self, aggregate: Aggregate, instant: datetime) -> Aggregate | None:
        """``aggregate`` as a projection that has processed the events up to ``instant`` shows
        it, or None when it did not exist yet."""
        if aggregate.change_date is None or aggregate.change_date <= instant:
            return aggregate
        history = self._history.get((aggregate.aggregate_type, aggregate.id), ())
        for at, state in reversed(history):
            if at <= instant:
                return state
        if aggregate.creation_date is not None and aggregate.creation_date <= instant:
            # Older than the history keeps: the oldest state known is the best guess.
            return history[0][1] if history else aggregate
        return None

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
        return self._memberships_by_user.get(user_id, [])

    def add_membership(self, membership: Membership) -> None:
        self.memberships.append(membership)
        self._memberships_by_user.setdefault(membership.user_id, []).append(membership)

    def revoke_tokens_of(self, user_id: str) -> None:
        for token in self.tokens.values():
            if token.user_id == user_id:
                token.revoked = True
