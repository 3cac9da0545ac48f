"""``zitadel-mock``: run the mock and print what a frontend developer needs to copy."""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

from mock_server.admin import MAX_READ_LAG_MS
from mock_server.domain.commands import DEFAULT_PROFILE, PROFILES
from mock_server.domain.world import World
from mock_server.fixtures import DEFAULT_SEED, FixtureError
from mock_server.grpc_front.server import DEFAULT_GRPC_PORT, create_grpc_server, grpc_address


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="zitadel-mock",
        description="A stateful mock of ZITADEL's Management API v1 lifecycle endpoints.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--port",
        type=int,
        default=8080,
        help="HTTP port: REST, gRPC-web and the control plane (default %(default)s)",
    )
    parser.add_argument(
        "--grpc-port",
        type=int,
        metavar="PORT",
        help=f"native gRPC (HTTP/2) port, 0 for any free one (default {DEFAULT_GRPC_PORT})",
    )
    parser.add_argument("--no-grpc", action="store_true", help="do not start native gRPC")
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help="seed of the generated world (default %(default)s)",
    )
    parser.add_argument(
        "--fixtures",
        metavar="FILE",
        help="YAML fixture file; replaces the seeded world unless it says 'extend: true'",
    )
    parser.add_argument(
        "--profile",
        choices=sorted(PROFILES),
        default=DEFAULT_PROFILE,
        help="ZITADEL release behaviour to reproduce (default %(default)s)",
    )
    parser.add_argument(
        "--read-lag",
        type=_milliseconds,
        default=0,
        metavar="MS",
        help="how long the reads trail the writes, as ZITADEL's projections can (default 0)",
    )
    parser.add_argument(
        "--no-control",
        action="store_true",
        help="switch off the control plane under /_mock/v1",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (default %(default)s)",
    )
    return parser.parse_args(argv)


def _milliseconds(text: str) -> int:
    try:
        value = int(text.removesuffix("ms"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a whole number of milliseconds"
        ) from None
    if not 0 <= value <= MAX_READ_LAG_MS:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0 and {MAX_READ_LAG_MS} ms")
    return value


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    return "\n".join(lines)


def describe(
    world: World, base_url: str, profile: str, control: bool, grpc_target: str | None = None
) -> str:
    """The banner printed on start: where things are, the tokens, the seeded resources."""
    with world.lock:
        org_names = {o.id: o.name for o in world.orgs.values()}
        roles: dict[str, list[str]] = {}
        for m in world.memberships:
            where = "instance" if m.scope == "instance" else f"{m.scope} {m.scope_id}"
            roles.setdefault(m.user_id, []).append(f"{'/'.join(m.roles)} on {where}")
        token_rows = [
            [
                t.value,
                world.users[t.user_id].user_name,
                t.user_id,
                world.users[t.user_id].org_id,
                "; ".join(roles.get(t.user_id, ["no membership"])),
            ]
            for t in world.tokens.values()
        ]
        resource_rows = [["org", o.id, o.state.value, o.id, o.name] for o in world.orgs.values()]
        resource_rows += [
            ["user", u.id, u.state.value, u.org_id, u.user_name] for u in world.users.values()
        ]
        resource_rows += [
            ["action", a.id, a.state.value, a.resource_owner, a.name]
            for a in world.actions.values()
        ]
        resource_rows += [
            ["user_grant", g.id, g.state.value, g.resource_owner, f"user {g.user_id}"]
            for g in world.user_grants.values()
        ]
    for row in resource_rows:
        row[3] = f"{row[3]} ({org_names.get(row[3], '?')})"
    parts = [
        f"ZITADEL lifecycle mock, profile {profile}, seed {world.seed}",
        f"  Management API  {base_url}/management/v1",
        f"  gRPC-web        {base_url}",
        f"  gRPC (HTTP/2)   {grpc_target or 'off'}",
        f"  Swagger UI      {base_url}/ui",
        f"  Control plane   {base_url}/_mock/v1" if control else "  Control plane   off",
        f"  Read lag        {round(world.read_lag * 1000)} ms (reads trail writes)"
        if world.read_lag
        else "  Read lag        none (reads follow writes at once)",
        "",
        "Tokens (send as 'Authorization: Bearer <token>'; the org defaults to the user's own,",
        "choose another with the x-zitadel-orgid header):",
        _table(token_rows, ["token", "user", "user id", "org", "roles"]),
        "",
        "Resources:",
        _table(resource_rows, ["kind", "id", "state", "org", "name"]),
        "",
    ]
    return "\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # connexion imports Starlette's test client, which warns about httpx on every start.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    import uvicorn

    from mock_server.app import create_mock

    try:
        mock = create_mock(
            seed=args.seed,
            fixtures=args.fixtures,
            profile=args.profile,
            control=not args.no_control,
            read_lag=args.read_lag / 1000,
        )
    except (FixtureError, OSError) as exc:
        print(f"zitadel-mock: cannot load fixtures: {exc}", file=sys.stderr)
        return 2
    grpc_server, grpc_target = None, None
    if not args.no_grpc:
        port = DEFAULT_GRPC_PORT if args.grpc_port is None else args.grpc_port
        try:
            grpc_server, bound = create_grpc_server(mock.service, args.host, port)
        except RuntimeError as exc:
            if args.grpc_port is not None:
                print(f"zitadel-mock: cannot serve gRPC: {exc}", file=sys.stderr)
                return 2
            # Only the default port was busy (another mock, say): REST still serves.
            print(
                f"zitadel-mock: gRPC not started, port {port} is busy; "
                "choose one with --grpc-port or pass --no-grpc",
                file=sys.stderr,
            )
        else:
            grpc_server.start()
            grpc_target = grpc_address(args.host, bound)
    base_url = f"http://{args.host}:{args.port}"
    print(
        describe(mock.world, base_url, args.profile, not args.no_control, grpc_target),
        flush=True,
    )
    try:
        uvicorn.run(mock.app, host=args.host, port=args.port, log_level=args.log_level)
    finally:
        if grpc_server is not None:
            grpc_server.stop(grace=1)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
