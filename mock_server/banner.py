"""The banner ``zitadel-mock`` prints on start: the URLs, the tokens and the seeded resources a
frontend developer copies from it.

Its own module because it reads the world and lays out text; the command line parses options,
listens and serves, and only hands the banner what it started.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from mock_server.domain.world import World

# connexion's Swagger UI of the control plane's own spec (openapi/control.yaml).
CONTROL_UI_PATH = "/_mock/v1/ui/"

# The seeded world has about 60 resources: all of them fit, a large fixture file's do not.
BANNER_RESOURCE_ROWS = 100
BANNER_KINDS = ("orgs", "users", "projects", "actions", "user_grants")


def describe(
    world: World,
    base_url: str,
    profile: str,
    control: bool,
    grpc_target: str | None = None,
    *,
    grpc_extra: str | None = None,
    control_token: str | None = None,
    faults: Sequence[dict] = (),
    fixtures: str | None = None,
) -> str:
    """The banner printed on start: where things are, the tokens, the seeded resources.

    ``fixtures`` is the fixture file the world was loaded from, if any.
    """
    with world.lock:
        tokens = list(itertools.islice(world.tokens.values(), BANNER_RESOURCE_ROWS))
        hidden_tokens = len(world.tokens) - len(tokens)
        token_rows = [
            [
                t.value,
                world.users[t.user_id].user_name,
                t.user_id,
                world.users[t.user_id].org_id,
                "; ".join(_roles(world, t.user_id) or ["no membership"]),
            ]
            for t in tokens
        ]
        # Projects have no lifecycle here, but grants and project memberships name them.
        every_row = itertools.chain(
            (["org", o.id, o.state.value, o.id, o.name] for o in world.orgs.values()),
            (["user", u.id, u.state.value, u.org_id, u.user_name] for u in world.users.values()),
            (["project", p.id, "-", p.resource_owner, p.name] for p in world.projects.values()),
            (
                ["action", a.id, a.state.value, a.resource_owner, a.name]
                for a in world.actions.values()
            ),
            (
                ["user_grant", g.id, g.state.value, g.resource_owner, f"user {g.user_id}"]
                for g in world.user_grants.values()
            ),
        )
        # A fixture file of 100,000 resources would print for longer than the mock takes to
        # load it: past a screenful the banner says how many more there are and where.
        resource_rows = list(itertools.islice(every_row, BANNER_RESOURCE_ROWS))
        total = sum(len(world.collection(kind)) for kind in BANNER_KINDS)
        hidden = total - len(resource_rows)
        for row in resource_rows:
            org = world.orgs.get(row[3])
            row[3] = f"{row[3]} ({org.name if org else '?'})"
    parts = [
        f"ZITADEL lifecycle mock, profile {profile}, seed {world.seed}",
        f"  World           {_world_origin(world, fixtures)}",
        f"  Management API  {base_url}/management/v1",
        f"  gRPC-web        {base_url}",
        f"  gRPC (HTTP/2)   {grpc_target or 'off'}",
        f"  gRPC own port   {grpc_extra or 'off'}",
        f"  Swagger UI      {base_url}/ui",
        _control_line(base_url, control, control_token),
        f"  Control UI      {base_url}{CONTROL_UI_PATH}" if control else "  Control UI      off",
        f"  Instances       {base_url}/_mock/v1/instances (POST one per test; "
        "each answers on http://<name>.localhost:<port>)"
        if control
        else "  Instances       the default one only (no control plane)",
        f"  Read lag        {round(world.read_lag * 1000)} ms (reads trail writes)"
        if world.read_lag
        else "  Read lag        none (reads follow writes at once)",
        f"  Faults          {'; '.join(_fault_text(f) for f in faults)}"
        if faults
        else "  Faults          none (--latency, --fail or POST /_mock/v1/faults inject some)",
        f"  Journal         {base_url}/_mock/v1/journal (every call, per instance)"
        if control
        else "  Journal         kept, but without control plane only in-process",
        "",
        "Tokens (send as 'Authorization: Bearer <token>'; the org defaults to the user's own,",
        "choose another with the x-zitadel-orgid header):",
        _table(token_rows, ["token", "user", "user id", "org", "roles"]),
        *([_more("tokens", hidden_tokens, base_url, control)] if hidden_tokens else []),
        "",
        "Resources:",
        _table(resource_rows, ["kind", "id", "state", "org", "name"]),
        *([_more("resources", hidden, base_url, control)] if hidden else []),
        "",
    ]
    return "\n".join(parts)


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    return "\n".join(lines)


def _more(what: str, hidden: int, base_url: str, control: bool) -> str:
    where = f"GET {base_url}/_mock/v1/world lists them all" if control else "control plane off"
    return f"... and {hidden:,} more {what} ({where})"


def _roles(world: World, user_id: str) -> list[str]:
    roles = []
    for m in world.memberships_of(user_id):
        where = "instance" if m.scope == "instance" else f"{m.scope} {m.scope_id}"
        roles.append(f"{'/'.join(m.roles)} on {where}")
    return roles


def _world_origin(world: World, fixtures: str | None) -> str:
    counts = f"{len(world.orgs)} orgs, {len(world.users)} users, {len(world.projects)} projects"
    if fixtures is None:
        return f"generated from seed {world.seed} ({counts}; --fixtures FILE loads your own)"
    return f"fixtures file {fixtures} ({counts})"


def _fault_text(fault: dict) -> str:
    """``latency 100-300 ms on every RPC``, ``DeactivateUser fails UNAVAILABLE on 10%``."""
    where = "every RPC" if fault["rpc"] == "*" else fault["rpc"]
    parts = []
    latency = fault.get("latency_ms")
    if latency is not None:
        low, high = latency if isinstance(latency, list) else (latency, latency)
        span = f"{low:g}" if low == high else f"{low:g}-{high:g}"
        parts.append(f"latency {span} ms on {where}")
    if fault.get("code_name"):
        share = f"{fault['fraction']:.0%} of calls" if fault.get("fraction") else "every call"
        parts.append(f"{where} fails {fault['code_name']} on {share}")
    return ", ".join(parts)


def _control_line(base_url: str, control: bool, token: str | None) -> str:
    if not control:
        return "  Control plane   off"
    if token is None:
        return f"  Control plane   {base_url}/_mock/v1"
    return f"  Control plane   {base_url}/_mock/v1 (needs 'Authorization: Bearer {token}')"
