"""Worlds from a seed, from a fixture document, and back to a document.

The fixture format is plain YAML (JSON works too). Each resource names its org, its state and,
optionally, ``sequence``, ``creation_date`` and ``change_date``; without them the loader records
the events that lead to the state, so sequences always match the history. An exported world
loads back into an identical one.
"""

from __future__ import annotations

import functools
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from faker import Faker

from mock_server.domain.auth import KNOWN_ROLES
from mock_server.domain.world import (
    Action,
    ActionState,
    Aggregate,
    GrantState,
    Membership,
    Org,
    OrgState,
    Project,
    Token,
    User,
    UserGrant,
    UserState,
    World,
    now,
)

DEFAULT_SEED = 0
# Seeded events are dated from here on, so a seed gives the same export every time.
SEED_EPOCH = datetime(2025, 1, 6, 9, 0, 0, tzinfo=UTC)


class FixtureError(ValueError):
    """A fixture document that does not describe a consistent world."""


# The events that lead from creation to a state; each one advances the aggregate's sequence.
_STATE_EVENTS: dict[str, dict[str, list[str]]] = {
    "orgs": {
        "active": ["org.added"],
        "inactive": ["org.added", "org.deactivated"],
        "removed": ["org.added", "org.removed"],
    },
    "users": {
        "active": ["user.human.added"],
        "initial": ["user.human.added", "user.human.initialization.code.added"],
        "inactive": ["user.human.added", "user.deactivated"],
        "locked": ["user.human.added", "user.locked"],
        "deleted": ["user.human.added", "user.removed"],
    },
    "projects": {"active": ["project.added"]},
    "actions": {
        "active": ["action.added"],
        "inactive": ["action.added", "action.deactivated"],
        "removed": ["action.added", "action.removed"],
    },
    "user_grants": {
        "active": ["user.grant.added"],
        "inactive": ["user.grant.added", "user.grant.deactivated"],
        "removed": ["user.grant.added", "user.grant.removed"],
    },
}

STATE_ENUMS = {
    "orgs": OrgState,
    "users": UserState,
    "actions": ActionState,
    "user_grants": GrantState,
}
KINDS = ("orgs", "users", "projects", "actions", "user_grants")


@dataclass(frozen=True)
class SeedTokens:
    """The well-known tokens of a seeded world, one per kind of caller."""

    instance_owner: str = "admin-pat"
    org_owner: str = "org-owner-pat"
    user_manager: str = "user-manager-pat"
    project_owner: str = "project-owner-pat"
    no_membership: str = "no-membership-pat"
    second_org_owner: str = "second-org-owner-pat"
    inactive_org_owner: str = "inactive-org-owner-pat"


SEED_TOKENS = SeedTokens()


def _date(value: Any, where: str = "date") -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise FixtureError(f"{where}: {value!r} is not an RFC 3339 date") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int(value: Any, where: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise FixtureError(f"{where}: {value!r} is not an integer") from None


GENDERS = ("unspecified", "female", "male", "diverse")


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    text = str(value).lower()
    if text not in allowed:
        raise FixtureError(f"{where}: {value!r} is not one of {', '.join(allowed)}")
    return text


def _seconds(value: Any, where: str) -> float:
    """A duration in seconds; CreateAction allows 0 to 20 (0 reads as ZITADEL's maximum)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise FixtureError(f"{where}: {value!r} is not a number of seconds") from None
    if not 0 <= seconds <= 20:
        raise FixtureError(f"{where}: {value!r} is not between 0 and 20 seconds")
    return seconds


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


class _Loader:
    """Adds one document's resources to a world, checking references as it goes."""

    def __init__(self, world: World, clock: datetime | None) -> None:
        self.world = world
        # A fixed clock makes loaded worlds reproducible; without one, events happen now.
        self.clock = clock

    def tick(self) -> datetime:
        if self.clock is None:
            return now()
        self.clock += timedelta(seconds=1, milliseconds=137)
        return self.clock

    def _require(self, collection: dict, key: Any, what: str, owner: str) -> Any:
        if key not in collection:
            raise FixtureError(f"{owner}: unknown {what} {key!r}")
        return collection[key]

    def _state(self, kind: str, entry: dict, default: str = "active") -> str:
        state = str(entry.get("state", default)).lower()
        if state not in _STATE_EVENTS[kind]:
            allowed = ", ".join(_STATE_EVENTS[kind])
            raise FixtureError(
                f"{kind} {entry.get('id')!r}: state {state!r} is not one of {allowed}"
            )
        return state

    def _record(self, kind: str, aggregate: Aggregate, entry: dict, state: str) -> None:
        collection = self.world.collection(kind)
        if aggregate.id in collection:
            # A second entry would silently replace the first and share its events.
            raise FixtureError(f"{kind}: duplicate id {aggregate.id!r}")
        if "sequence" in entry:
            aggregate.sequence = _int(entry["sequence"], f"{kind} {aggregate.id!r}: sequence")
            aggregate.creation_date = (
                _date(entry.get("creation_date"), f"{kind} {aggregate.id!r}: creation_date")
                or self.tick()
            )
            aggregate.change_date = (
                _date(entry.get("change_date"), f"{kind} {aggregate.id!r}: change_date")
                or aggregate.creation_date
            )
        else:
            for event_type in _STATE_EVENTS[kind][state]:
                self.world.push(aggregate, event_type, at=self.tick())
        collection[aggregate.id] = aggregate

    def _id(self, entry: dict) -> str:
        if entry.get("id"):
            self.world.claim_id(str(entry["id"]))
            return str(entry["id"])
        return self.world.new_id()

    def org(self, entry: dict) -> Org:
        state = self._state("orgs", entry)
        org_id = self._id(entry)
        name = str(entry.get("name") or f"Org {org_id}")
        org = Org(
            id=org_id,
            resource_owner=org_id,
            name=name,
            state=OrgState(state),
            primary_domain=str(entry.get("primary_domain") or _domain_of(name)),
        )
        self._record("orgs", org, entry, state)
        return org

    def user(self, entry: dict) -> User:
        state = self._state("users", entry)
        org = self._require(
            self.world.orgs, str(entry.get("org")), "org", f"user {entry.get('id')}"
        )
        user_id = self._id(entry)
        where = f"user {user_id!r}"
        kind = _choice(entry.get("kind", "human"), ("human", "machine"), f"{where}: kind")
        first, last = str(entry.get("first_name", "")), str(entry.get("last_name", ""))
        user_name = str(entry.get("user_name") or f"user-{user_id}")
        # ZITADEL computes "first last" at write time when no display name is given.
        display = f"{first} {last}".strip() if kind == "human" else ""
        user = User(
            id=user_id,
            resource_owner=org.id,
            user_name=user_name,
            state=UserState(state),
            kind=kind,
            first_name=first,
            last_name=last,
            nick_name=str(entry.get("nick_name", "")),
            display_name=str(entry.get("display_name") or display),
            preferred_language=str(entry.get("preferred_language", "en")),
            gender=_choice(entry.get("gender", "unspecified"), GENDERS, f"{where}: gender"),
            email=str(entry.get("email", "")),
            email_verified=bool(entry.get("email_verified", False)),
            phone=str(entry.get("phone", "")),
            phone_verified=bool(entry.get("phone_verified", False)),
            password_changed=_date(entry.get("password_changed"), f"{where}: password_changed"),
            machine_name=str(entry.get("machine_name") or (user_name if kind == "machine" else "")),
            description=str(entry.get("description", "")),
            has_secret=bool(entry.get("has_secret", False)),
            access_token_type=_choice(
                entry.get("access_token_type", "bearer"), ("bearer", "jwt"), f"{where}: token type"
            ),
        )
        self._record("users", user, entry, state)
        return user

    def project(self, entry: dict) -> Project:
        org = self._require(
            self.world.orgs, str(entry.get("org")), "org", f"project {entry.get('id')}"
        )
        project_id = self._id(entry)
        project = Project(
            id=project_id, resource_owner=org.id, name=str(entry.get("name") or project_id)
        )
        self._record("projects", project, entry, "active")
        return project

    def action(self, entry: dict) -> Action:
        state = self._state("actions", entry)
        org = self._require(
            self.world.orgs, str(entry.get("org")), "org", f"action {entry.get('id')}"
        )
        action_id = self._id(entry)
        action = Action(
            id=action_id,
            resource_owner=org.id,
            name=str(entry.get("name") or f"action-{action_id}"),
            script=str(entry.get("script", "")),
            state=ActionState(state),
            timeout_seconds=_seconds(entry.get("timeout", 0), f"action {action_id!r}: timeout"),
            allowed_to_fail=bool(entry.get("allowed_to_fail", False)),
        )
        self._record("actions", action, entry, state)
        return action

    def user_grant(self, entry: dict) -> UserGrant:
        state = self._state("user_grants", entry)
        where = f"user grant {entry.get('id')}"
        org = self._require(self.world.orgs, str(entry.get("org")), "org", where)
        user = self._require(self.world.users, str(entry.get("user")), "user", where)
        project = self._require(self.world.projects, str(entry.get("project")), "project", where)
        grant_id = self._id(entry)
        grant = UserGrant(
            id=grant_id,
            resource_owner=org.id,
            user_id=user.id,
            project_id=project.id,
            roles=[str(r) for r in entry.get("roles", [])],
            state=GrantState(state),
        )
        self._record("user_grants", grant, entry, state)
        return grant

    def membership(self, entry: dict) -> Membership:
        where = f"membership of {entry.get('user')}"
        user = self._require(self.world.users, str(entry.get("user")), "user", where)
        scope = str(entry.get("scope", ""))
        scope_id = str(entry.get("id", "")) if scope != "instance" else ""
        if scope == "org":
            self._require(self.world.orgs, scope_id, "org", where)
        elif scope == "project":
            self._require(self.world.projects, scope_id, "project", where)
        elif scope != "instance":
            raise FixtureError(f"{where}: scope must be instance, org or project, not {scope!r}")
        roles = [str(r) for r in entry.get("roles", [])]
        unknown = sorted(set(roles) - KNOWN_ROLES)
        if unknown:
            raise FixtureError(f"{where}: unknown roles {unknown}")
        membership = Membership(user.id, scope, roles, scope_id)
        self.world.add_membership(membership)
        return membership

    def token(self, entry: dict) -> Token:
        value = str(entry.get("token", ""))
        if not value:
            raise FixtureError("a token needs a non-empty 'token'")
        if value in self.world.tokens:
            raise FixtureError(f"tokens: duplicate token {value!r}")
        user = self._require(self.world.users, str(entry.get("user")), "user", f"token {value}")
        token = Token(
            value, user.id, str(entry.get("description", "")), bool(entry.get("revoked", False))
        )
        self.world.tokens[value] = token
        return token

    def document(self, doc: dict) -> None:
        for section in (*KINDS, "memberships", "tokens"):
            # An empty YAML section ("users:") reads as null and means none.
            entries = doc.get(section) or []
            if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
                raise FixtureError(f"{section}: a list of mappings, one per resource")
        for entry in doc.get("orgs") or []:
            self.org(entry)
        for entry in doc.get("users") or []:
            self.user(entry)
        for entry in doc.get("projects") or []:
            self.project(entry)
        for entry in doc.get("actions") or []:
            self.action(entry)
        for entry in doc.get("user_grants") or []:
            self.user_grant(entry)
        for entry in doc.get("memberships") or []:
            self.membership(entry)
        for entry in doc.get("tokens") or []:
            self.token(entry)


def loader_for(world: World) -> _Loader:
    """A loader that adds single resources to a running world, dated now."""
    return _Loader(world, None)


def _domain_of(name: str) -> str:
    slug = "".join(ch for ch in name.lower() if ch.isalnum()) or "org"
    return f"{slug}.localhost"


def load_document(doc: dict, world: World | None = None) -> World:
    """Add ``doc``'s resources to ``world`` (a new, empty world when omitted)."""
    if not isinstance(doc, dict):
        raise FixtureError("a fixture document is a mapping")
    if world is None:
        world = World(seed=_int(doc.get("seed", DEFAULT_SEED), "seed"))
        instance = doc.get("instance") or {}
        if not isinstance(instance, dict):
            raise FixtureError("instance: a mapping with id and name")
        if instance.get("id"):
            world.instance_id = str(instance["id"])
        world.instance_name = str(instance.get("name", world.instance_name))
    with world.lock:
        latest = max((e.created_at for e in world.events), default=SEED_EPOCH)
        _Loader(world, latest).document(doc)
    return world


def read_fixture_file(path: str | Path) -> dict:
    with open(path, encoding="utf-8") as handle:
        try:
            text = handle.read()
            # A JSON document (YAML's subset) reads at C speed with json; YAML with libyaml's
            # loader when PyYAML has it: 100,000 resources load in seconds, not a minute.
            doc = _json_document(text)
            if doc is None:
                doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            doc = doc or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raise FixtureError(f"{path}: not a YAML document: {exc}") from None
    if not isinstance(doc, dict):
        raise FixtureError(f"{path}: a fixture file holds a mapping")
    return doc


def _json_document(text: str) -> Any:
    if not text.lstrip().startswith("{"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None  # YAML's flow style, say: the YAML loader judges it


def build_world(seed: int = DEFAULT_SEED, fixtures: str | Path | dict | None = None) -> World:
    """The world the server starts with: the seed, replaced or extended by a fixture file (or
    an already read fixture document).

    A fixture document replaces the seeded world unless it says ``extend: true``.
    """
    if fixtures is None:
        return seeded_world(seed)
    doc = fixtures if isinstance(fixtures, dict) else read_fixture_file(fixtures)
    return world_factory(seed, doc, bool(doc.get("extend")))


def seeded_world(seed: int = DEFAULT_SEED) -> World:
    # The loader only reads the document, so every world of a seed shares one.
    return load_document(_seed_document(seed), World(seed=seed))


def world_factory(seed: int, document: dict | None, extend: bool) -> World:
    """The world of a new instance: a seed, a fixture document, or the seed extended by one."""
    if document is None:
        return seeded_world(seed)
    if extend:
        return load_document(document, seeded_world(seed))
    return load_document(document)


@functools.lru_cache(maxsize=16)
def _seed_document(seed: int) -> dict:
    return seed_document(seed)


def seed_document(seed: int = DEFAULT_SEED) -> dict:
    """A reproducible, realistic world: three orgs (one inactive), users in every state, actions,
    projects and grants both active and inactive, and one token per kind of caller."""
    fake = Faker()
    fake.seed_instance(seed)
    ids = random.Random(seed)
    # Profile details come from a stream of their own, so the names and ids of a seed stay
    # what they were before the reads needed them.
    extra = Faker()
    extra.seed_instance(f"{seed}-profiles")

    def new_id() -> str:
        return str(ids.randrange(10**17, 4 * 10**17))

    doc: dict[str, list] = {k: [] for k in (*KINDS, "memberships", "tokens")}

    def org(state: str) -> str:
        org_id = new_id()
        doc["orgs"].append({"id": org_id, "name": fake.company(), "state": state})
        return org_id

    def user(org_id: str, state: str, kind: str = "human", label: str = "") -> str:
        user_id = new_id()
        first, last = fake.first_name(), fake.last_name()
        name = label or f"{first}.{last}".lower()
        doc["users"].append(
            {
                "id": user_id,
                "org": org_id,
                "user_name": name if kind == "human" else f"{name}-service",
                "kind": kind,
                "first_name": first if kind == "human" else "",
                "last_name": last if kind == "human" else "",
                "email": f"{name}@{fake.free_email_domain()}" if kind == "human" else "",
                "state": state,
                **(_seed_human(extra, first) if kind == "human" else _seed_machine(extra, name)),
            }
        )
        return user_id

    def caller(org_id: str, token: str, label: str, scope: str, scope_id: str, roles: list[str]):
        user_id = user(org_id, "active", label=label)
        doc["memberships"].append({"user": user_id, "scope": scope, "id": scope_id, "roles": roles})
        doc["tokens"].append({"token": token, "user": user_id, "description": label})
        return user_id

    def project(org_id: str) -> str:
        project_id = new_id()
        doc["projects"].append(
            {"id": project_id, "org": org_id, "name": fake.catch_phrase().title()}
        )
        return project_id

    def action(org_id: str, state: str) -> None:
        name = fake.word() + "-" + fake.word()
        doc["actions"].append(
            {
                "id": new_id(),
                "org": org_id,
                "name": name,
                "script": f"function {name.replace('-', '_')}(ctx, api) {{}}",
                "state": state,
                "timeout": extra.random_element([0, 5, 10, 1.5]),
                "allowed_to_fail": extra.boolean(),
            }
        )

    def grant(org_id: str, user_id: str, project_id: str, state: str) -> None:
        doc["user_grants"].append(
            {
                "id": new_id(),
                "org": org_id,
                "user": user_id,
                "project": project_id,
                "roles": [fake.random_element(["reader", "editor", "admin"])],
                "state": state,
            }
        )

    main, second, dormant = org("active"), org("active"), org("inactive")
    main_projects = [project(main), project(main)]
    second_project = project(second)

    tokens = SEED_TOKENS
    caller(main, tokens.instance_owner, "zitadel-admin", "instance", "", ["IAM_OWNER"])
    caller(main, tokens.org_owner, "org-owner", "org", main, ["ORG_OWNER"])
    caller(main, tokens.user_manager, "user-manager", "org", main, ["ORG_USER_MANAGER"])
    caller(
        main, tokens.project_owner, "project-owner", "project", main_projects[0], ["PROJECT_OWNER"]
    )
    no_rights = user(main, "active", label="no-membership")
    doc["tokens"].append(
        {"token": tokens.no_membership, "user": no_rights, "description": "no-membership"}
    )
    caller(second, tokens.second_org_owner, "second-org-owner", "org", second, ["ORG_OWNER"])
    caller(dormant, tokens.inactive_org_owner, "dormant-org-owner", "org", dormant, ["ORG_OWNER"])

    for org_id, org_projects in ((main, main_projects), (second, [second_project])):
        members = [user(org_id, s) for s in ("active", "active", "active", "inactive", "inactive")]
        user(org_id, "initial")
        user(org_id, "locked")
        user(org_id, "active", kind="machine")
        for state in ("active", "active", "inactive"):
            action(org_id, state)
        for project_id in org_projects:
            grant(org_id, members[0], project_id, "active")
            grant(org_id, members[1], project_id, "active")
            grant(org_id, members[3], project_id, "inactive")
    user(dormant, "active")
    action(dormant, "active")
    return doc


def _seed_human(fake: Faker, first: str) -> dict:
    """What a human registered through ZITADEL's console has besides its name and email."""
    verified_phone = fake.boolean(chance_of_getting_true=40)
    return {
        "nick_name": first.lower() if fake.boolean(chance_of_getting_true=30) else "",
        "preferred_language": fake.random_element(["en", "de", "fr", "it", "ja"]),
        "gender": fake.random_element(GENDERS),
        "email_verified": fake.boolean(chance_of_getting_true=80),
        "phone": fake.numerify("+41 7# ### ## ##") if verified_phone else "",
        "phone_verified": verified_phone,
        "password_changed": _iso(
            SEED_EPOCH - timedelta(days=fake.random_int(1, 400), seconds=fake.random_int(0, 86399))
        ),
    }


def _seed_machine(fake: Faker, name: str) -> dict:
    return {
        "machine_name": name.replace(".", " ").title(),
        "description": fake.sentence(nb_words=6),
        "has_secret": fake.boolean(),
        "access_token_type": fake.random_element(["bearer", "jwt"]),
    }


def _common(aggregate: Aggregate) -> dict:
    return {
        "sequence": aggregate.sequence,
        "creation_date": _iso(aggregate.creation_date),
        "change_date": _iso(aggregate.change_date),
    }


def export_entry(kind: str, aggregate: Aggregate) -> dict:
    """One resource as the fixture entry that recreates it."""
    if isinstance(aggregate, Org):
        entry = {
            "id": aggregate.id,
            "name": aggregate.name,
            "state": aggregate.state.value,
            "primary_domain": aggregate.primary_domain,
        }
    elif isinstance(aggregate, User):
        entry = {
            "id": aggregate.id,
            "org": aggregate.resource_owner,
            "user_name": aggregate.user_name,
            "kind": aggregate.kind,
            "first_name": aggregate.first_name,
            "last_name": aggregate.last_name,
            "nick_name": aggregate.nick_name,
            "display_name": aggregate.display_name,
            "preferred_language": aggregate.preferred_language,
            "gender": aggregate.gender,
            "email": aggregate.email,
            "email_verified": aggregate.email_verified,
            "phone": aggregate.phone,
            "phone_verified": aggregate.phone_verified,
            "password_changed": _iso(aggregate.password_changed),
            "machine_name": aggregate.machine_name,
            "description": aggregate.description,
            "has_secret": aggregate.has_secret,
            "access_token_type": aggregate.access_token_type,
            "state": aggregate.state.value,
        }
    elif isinstance(aggregate, Project):
        entry = {"id": aggregate.id, "org": aggregate.resource_owner, "name": aggregate.name}
    elif isinstance(aggregate, Action):
        entry = {
            "id": aggregate.id,
            "org": aggregate.resource_owner,
            "name": aggregate.name,
            "script": aggregate.script,
            "timeout": aggregate.timeout_seconds,
            "allowed_to_fail": aggregate.allowed_to_fail,
            "state": aggregate.state.value,
        }
    elif isinstance(aggregate, UserGrant):
        entry = {
            "id": aggregate.id,
            "org": aggregate.resource_owner,
            "user": aggregate.user_id,
            "project": aggregate.project_id,
            "roles": list(aggregate.roles),
            "state": aggregate.state.value,
        }
    else:  # pragma: no cover - every aggregate kind is listed above
        raise TypeError(f"cannot export {kind}")
    return {**entry, **_common(aggregate)}


def export_membership(membership: Membership) -> dict:
    return {
        "user": membership.user_id,
        "scope": membership.scope,
        "id": membership.scope_id,
        "roles": list(membership.roles),
    }


def export_token(token: Token) -> dict:
    return {
        "token": token.value,
        "user": token.user_id,
        "description": token.description,
        "revoked": token.revoked,
    }


def export_document(world: World) -> dict:
    """The world as a fixture document that :func:`load_document` reads back."""
    with world.lock:
        doc: dict = {
            "seed": world.seed,
            "instance": {"id": world.instance_id, "name": world.instance_name},
        }
        for kind in KINDS:
            doc[kind] = [export_entry(kind, a) for a in world.collection(kind).values()]
        doc["memberships"] = [export_membership(m) for m in world.memberships]
        doc["tokens"] = [export_token(t) for t in world.tokens.values()]
        return doc


def dump_yaml(doc: dict) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
