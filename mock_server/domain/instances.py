"""Instances: isolated worlds on one mock, chosen by the request's host, as ZITADEL's are.

ZITADEL serves many virtual instances from one process and picks the instance of each request
from its host (docs/zitadel-instance-facts.md). Here each instance owns a :class:`World` and a
profile; :class:`Instances` is the only place that creates, finds, evicts and deletes them, under
a lock of its own (each world keeps its own lock for the calls on it). The default instance is
the world the mock started with: requests whose host names no instance go there, unless the
registry is strict, which answers them as ZITADEL answers an unknown instance.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from mock_server.domain import errors
from mock_server.domain.commands import PROFILES, Profile
from mock_server.domain.world import World
from mock_server.faults import Faults
from mock_server.journal import DEFAULT_JOURNAL_SIZE, Journal

DEFAULT_MAX_INSTANCES = 1000
DEFAULT_IDLE_TIMEOUT = 30 * 60.0
# The instance host a name gets: *.localhost resolves to loopback in browsers and curl.
HOST_SUFFIX = ".localhost"
_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# How often a lookup may also look for idle instances to drop.
_EVICTION_INTERVAL = 5.0

# builds a world: (seed, fixture document or None, extend the seeded world) -> World
WorldFactory = Callable[[int, dict[str, Any] | None, bool], World]


@dataclass(eq=False)
class Instance:
    """One virtual instance: its world, how it behaves, and how to build it anew; its journal
    of calls and its injected faults, which a reset of the world leaves as they are."""

    id: str
    name: str
    host: str
    world: World
    profile: Profile
    rebuild: Callable[[], World]
    is_default: bool = False
    last_used: float = field(default=0.0, repr=False)
    journal: Journal = field(default_factory=Journal, repr=False)
    faults: Faults = field(default_factory=Faults, repr=False)

    def tokens(self) -> list[dict[str, str]]:
        """Every token of the instance, with its user and org."""
        with self.world.lock:
            return [
                {
                    "token": token.value,
                    "user": token.user_id,
                    "org": self.world.users[token.user_id].org_id,
                    "description": token.description,
                }
                for token in self.world.tokens.values()
                if not token.revoked
            ]

    def reset(self) -> None:
        """Back to the world the instance started with, in place, so every holder sees it."""
        fresh = self.rebuild()
        with self.world.lock:
            for name, value in vars(fresh).items():
                if name != "lock":
                    setattr(self.world, name, value)


def normalize_host(host: str | None) -> str:
    """The host as ZITADEL looks its instance up: without the port (``strings.Split(host,
    ":")[0]``), otherwise as sent: the domain column is compared exactly."""
    if not host:
        return ""
    host = host.strip()
    if host.startswith("["):  # an IPv6 literal, "[::1]:8080"
        return host.split("]", 1)[0] + "]"
    return host.split(":", 1)[0]


# cmd/defaults.yaml ExternalDomain: the domain of the first instance.
EXTERNAL_DOMAIN = "localhost"


def instance_not_found(host: str) -> errors.ZitadelError:
    """What ZITADEL's instance interceptor answers for a host no instance has: NotFound from a
    plain status.Error, so without an ErrorDetail, wrapping InstanceByHost's QUERY-1kIjX."""
    return errors.not_found(
        f"unable to set instance using origin &{{{host}  http}} (ExternalDomain is "
        f"{EXTERNAL_DOMAIN}): ID=QUERY-1kIjX Message=Instance not found. Make sure you got the "
        "domain right. Check out https://zitadel.com/docs/apis/introduction#domains "
        f"Parent=(unable to get instance by host: instanceHost {host}, publicHost : "
        "ID=QUERY-1kIjX Message=Errors.IAM.NotFound)"
    )


class Instances:
    """The instances of one mock, by host and by id."""

    def __init__(
        self,
        default: World,
        profile: Profile,
        rebuild_default: Callable[[], World],
        factory: WorldFactory,
        *,
        default_hosts: Iterable[str] = ("localhost", "127.0.0.1", "[::1]"),
        strict: bool = False,
        max_instances: int = DEFAULT_MAX_INSTANCES,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        clock: Callable[[], float] = time.monotonic,
        journal_size: int = DEFAULT_JOURNAL_SIZE,
    ) -> None:
        self._lock = threading.Lock()
        Journal(journal_size)  # refuse a bad size now, not at the first new instance
        self.journal_size = journal_size
        self._factory = factory
        self._clock = clock
        self.strict = strict
        self.max_instances = max_instances
        self.idle_timeout = idle_timeout
        self.default = Instance(
            id=default.instance_id,
            name="default",
            host="localhost",
            world=default,
            profile=profile,
            rebuild=rebuild_default,
            is_default=True,
            journal=Journal(journal_size),
        )
        self._default_hosts = {normalize_host(h) for h in default_hosts}
        self._by_host: dict[str, Instance] = {}
        self._by_id: dict[str, Instance] = {}
        self._last_eviction = clock()

    # --- lookups ------------------------------------------------------------------------

    def resolve(self, host: str | None) -> Instance:
        """The instance a request's host selects; the default one for hosts no instance has."""
        key = normalize_host(host)
        instance = self._by_host.get(key)
        if instance is None:
            # No host at all is a call from a hand-built client (an ASGI scope without
            # Host): it may well have meant a default host.
            if self.strict and key and key not in self._default_hosts:
                raise instance_not_found(host or "")
            instance = self.default
        now = self._clock()
        instance.last_used = now
        if now - self._last_eviction > _EVICTION_INTERVAL:
            self.evict_idle()
        return instance

    def get(self, key: str) -> Instance:
        """An instance by id or name (the default one is ``default``)."""
        if key in ("default", self.default.id):
            return self.default
        with self._lock:
            instance = self._by_id.get(key) or self._by_host.get(f"{key}{HOST_SUFFIX}")
        if instance is None:
            raise errors.not_found(f"instance {key!r} not found")
        return instance

    def all(self) -> list[Instance]:
        with self._lock:
            return [self.default, *self._by_id.values()]

    def __len__(self) -> int:
        return len(self._by_id)

    # --- life cycle -----------------------------------------------------------------------

    def create(
        self,
        *,
        name: str | None = None,
        seed: int = 0,
        document: dict[str, Any] | None = None,
        extend: bool = False,
        profile: str | None = None,
        read_lag: float = 0.0,
    ) -> Instance:
        """A new instance from a seed or a fixture document, with tokens of its own."""
        chosen = self.default.profile if profile is None else PROFILES.get(profile)
        if chosen is None:
            raise errors.invalid_argument(f"profile must be one of {', '.join(PROFILES)}")
        if name is not None and (not isinstance(name, str) or not _NAME.match(name)):
            raise errors.invalid_argument(
                f"name {name!r} is not a DNS label (a-z, 0-9 and -, at most 63)"
            )
        self.evict_idle()

        # ZITADEL's PATs are random per instance: every token the seed made gets a random
        # suffix, the same on each rebuild, so no two instances share one. Tokens a fixture
        # document names are kept as written.
        suffix = secrets.token_hex(6)
        kept = {
            str(entry.get("token"))
            for entry in (document or {}).get("tokens") or []
            if isinstance(entry, dict)
        }

        own_id: list[str] = []  # set below when the world's own instance id is taken

        def build() -> World:
            world = self._factory(seed, document, extend)
            world.read_lag = read_lag
            _suffix_tokens(world, suffix, kept)
            if own_id:  # a rebuild (reset) keeps the id the instance was given
                world.claim_id(own_id[0])
                world.instance_id = own_id[0]
            return world

        world = build()
        with self._lock:
            if len(self._by_id) >= self.max_instances:
                raise errors.ZitadelError(
                    errors.Code.RESOURCE_EXHAUSTED,
                    f"the mock holds its maximum of {self.max_instances} instances; delete one "
                    "(DELETE /_mock/v1/instances/{id}) or start it with a higher --max-instances",
                )
            # Worlds of one seed (or one exported document) share their instance id: draw
            # another, outside the world's id stream so that a reset rebuilds the same world.
            instance_id = world.instance_id
            while instance_id in self._by_id or instance_id == self.default.id:
                instance_id = str(secrets.randbelow(3 * 10**17) + 10**17)
            if instance_id != world.instance_id:
                own_id.append(instance_id)
                world.claim_id(instance_id)
                world.instance_id = instance_id
            name = name or f"i{instance_id}"
            host = f"{name}{HOST_SUFFIX}"
            if host in self._by_host or name == "default":
                raise errors.ZitadelError(
                    errors.Code.ALREADY_EXISTS, f"an instance named {name!r} exists"
                )
            instance = Instance(
                id=instance_id,
                name=name,
                host=host,
                world=world,
                profile=chosen,
                rebuild=build,
                last_used=self._clock(),
                journal=Journal(self.journal_size),
            )
            self._by_id[instance.id] = instance
            self._by_host[host] = instance
        return instance

    def delete(self, key: str) -> Instance:
        instance = self.get(key)
        if instance.is_default:
            raise errors.invalid_argument("the default instance cannot be deleted")
        with self._lock:
            self._by_id.pop(instance.id, None)
            self._by_host.pop(instance.host, None)
        return instance

    def evict_idle(self) -> list[Instance]:
        """Drop the instances unused for longer than the idle time-out."""
        now = self._clock()
        with self._lock:
            self._last_eviction = now
            idle = [i for i in self._by_id.values() if now - i.last_used > self.idle_timeout]
            for instance in idle:
                del self._by_id[instance.id]
                del self._by_host[instance.host]
        return idle


def _suffix_tokens(world: World, suffix: str, kept: set[str]) -> None:
    renamed = {}
    for value, token in world.tokens.items():
        if value not in kept:
            token.value = f"{value}-{suffix}"
        renamed[token.value] = token
    world.tokens = renamed
