"""``zitadel-mock``: run the mock and print what a frontend developer needs to copy."""

from __future__ import annotations

import argparse
import contextlib
import errno
import ipaddress
import itertools
import secrets
import socket
import sys
import warnings
from collections.abc import Sequence

from zitadel_lifecycle_openapi import package_version

from mock_server import serving
from mock_server.admin import DEFAULT_MAX_RESOURCES, MAX_READ_LAG_MS
from mock_server.connection import listen
from mock_server.domain.commands import DEFAULT_PROFILE, PROFILES
from mock_server.domain.instances import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_INSTANCES
from mock_server.domain.world import World
from mock_server.faults import parse_fail_option, parse_latency_option
from mock_server.fixtures import DEFAULT_SEED, FixtureError
from mock_server.grpc_front.address import DEFAULT_GRPC_PORT, grpc_address
from mock_server.journal import DEFAULT_JOURNAL_SIZE, MAX_JOURNAL_SIZE

# connexion's Swagger UI of the control plane's own spec (openapi/control.yaml).
CONTROL_UI_PATH = "/_mock/v1/ui/"


class _VersionAction(argparse.Action):
    """argparse's --version, with the version looked up only when asked for: reading the
    installed distribution's metadata costs every start ~20 ms."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS) -> None:
        super().__init__(
            option_strings,
            dest,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show program's version number and exit",
        )

    def __call__(self, parser, namespace, values, option_string=None):  # type: ignore[no-untyped-def]
        print(f"{parser.prog} {package_version()}")
        parser.exit()


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="zitadel-mock",
        description="A stateful mock of ZITADEL's Management API v1 lifecycle endpoints.",
    )
    parser.add_argument("--version", action=_VersionAction)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    parser.add_argument(
        "--port",
        type=int,
        default=8080,
        help="the port of every protocol: REST, gRPC-web, native gRPC and the control plane; "
        "0 for any free one (default %(default)s)",
    )
    parser.add_argument(
        "--grpc-port",
        type=int,
        metavar="PORT",
        help="an extra port for native gRPC only, 0 for any free one "
        f"(default {DEFAULT_GRPC_PORT}, skipped when busy)",
    )
    parser.add_argument(
        "--no-grpc", action="store_true", help="serve no native gRPC (gRPC-web stays on)"
    )
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
        "--control-token",
        metavar="TOKEN",
        help="require 'Authorization: Bearer TOKEN' on the control plane; when --host is not "
        "a loopback address a token is generated and printed unless this is given",
    )
    parser.add_argument(
        "--max-resources",
        type=int,
        default=DEFAULT_MAX_RESOURCES,
        metavar="N",
        help="cap on the resources a world may hold before the control plane refuses to "
        "create more (default %(default)s)",
    )
    parser.add_argument(
        "--strict-instances",
        action="store_true",
        help="answer hosts that name no instance as ZITADEL answers an unknown instance "
        "(default: they reach the default instance)",
    )
    parser.add_argument(
        "--max-instances",
        type=int,
        default=DEFAULT_MAX_INSTANCES,
        metavar="N",
        help="instances the control plane may create (default %(default)s)",
    )
    parser.add_argument(
        "--instance-idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT,
        metavar="SECONDS",
        help="drop an instance unused for this long (default %(default)g)",
    )
    parser.add_argument(
        "--latency",
        type=_option(parse_latency_option),
        metavar="MS",
        help="delay every call by this long, fixed (200ms) or drawn from a range (100-300ms)",
    )
    parser.add_argument(
        "--fail",
        type=_option(parse_fail_option),
        action="append",
        default=[],
        metavar="RPC=CODE[:FRACTION]",
        help="fail calls of RPC (or * for all) with a gRPC code, by name or number, on every "
        "call or on a fraction of them (seeded: the same calls fail on every run), e.g. "
        "DeactivateUser=unavailable:0.1; repeatable",
    )
    parser.add_argument(
        "--journal-size",
        type=_journal_size,
        default=DEFAULT_JOURNAL_SIZE,
        metavar="N",
        help="calls each instance's journal keeps, the latest (default %(default)s)",
    )
    parser.add_argument(
        "--shutdown-grace",
        type=float,
        default=serving.DEFAULT_SHUTDOWN_GRACE,
        metavar="SECONDS",
        help="on SIGTERM or Ctrl-C, how long calls in flight may take before every "
        "connection is closed (default %(default)s)",
    )
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=serving.DEFAULT_READ_TIMEOUT,
        metavar="SECONDS",
        help="a request's head and body must arrive within this time, else the connection "
        "is closed; 0 for no limit (default %(default)s)",
    )
    parser.add_argument(
        "--keep-alive",
        type=int,
        default=serving.DEFAULT_KEEP_ALIVE,
        metavar="SECONDS",
        help="close an idle keep-alive connection after this time (default %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug"],
        help="server log level (default %(default)s)",
    )
    parser.add_argument(
        "--access-log",
        action="store_true",
        help="log every request (off by default: a line per request costs more than the "
        "request itself)",
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


def _option(parse):
    """An argparse type from one of mock_server.faults' parsers (which raise ValueError)."""

    def convert(text: str):
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    convert.__name__ = parse.__name__
    return convert


def _journal_size(text: str) -> int:
    try:
        size = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= size <= MAX_JOURNAL_SIZE:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 1 and {MAX_JOURNAL_SIZE}")
    return size


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    return "\n".join(lines)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


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


def _listen_error(host: str, port: int, exc: OSError, option: str) -> str:
    """One line a person can act on, not the socket module's wording."""
    if exc.errno == errno.EADDRINUSE:
        return f"zitadel-mock: port {port} is in use; use {option} (0 picks any free one)"
    if exc.errno == errno.EACCES:
        return f"zitadel-mock: no permission to listen on port {port}; use {option}"
    return f"zitadel-mock: cannot listen on {host}:{port}: {exc.strerror or exc}"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    # The ports first: a busy one is a one-line answer, before the fixtures load and the banner.
    try:
        sock = listen(args.host, args.port)
    except OSError as exc:
        print(_listen_error(args.host, args.port, exc, "--port"), file=sys.stderr)
        return 2
    with contextlib.ExitStack() as stack:
        stack.callback(sock.close)
        grpc_sock, grpc_extra = None, None
        if not args.no_grpc:
            try:
                grpc_sock, grpc_extra = _grpc_port(args)
            except OSError as exc:
                print(_listen_error(args.host, args.grpc_port, exc, "--grpc-port"), file=sys.stderr)
                return 2
            if grpc_sock is not None:
                stack.callback(grpc_sock.close)
        return _run(args, sock, grpc_sock, grpc_extra)


def _run(
    args: argparse.Namespace,
    sock: socket.socket,
    grpc_sock: socket.socket | None,
    grpc_extra: str | None,
) -> int:
    # connexion imports Starlette's test client, which warns about httpx on every start.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from mock_server.app import create_mock

    control = not args.no_control
    control_token = args.control_token
    if control and control_token is None and not is_loopback(args.host):
        # Beyond loopback anyone on the network could mint IAM_OWNER tokens otherwise.
        control_token = secrets.token_urlsafe(18)
    try:
        mock = create_mock(
            seed=args.seed,
            fixtures=args.fixtures,
            profile=args.profile,
            control=control,
            control_token=control_token,
            max_resources=args.max_resources,
            strict_instances=args.strict_instances,
            max_instances=args.max_instances,
            instance_idle_timeout=args.instance_idle_timeout,
            read_lag=args.read_lag / 1000,
            journal_size=args.journal_size,
            faults=[*([args.latency] if args.latency else []), *args.fail],
        )
    except (FixtureError, OSError) as exc:
        print(f"zitadel-mock: cannot load fixtures: {exc}", file=sys.stderr)
        return 2
    grpc_front, grpc_target = None, None
    http_port = sock.getsockname()[1]
    if not args.no_grpc:
        from mock_server.grpc_front.server import GrpcFront

        grpc_front = GrpcFront(mock.service, [] if grpc_sock is None else [grpc_sock])
        grpc_target = grpc_address(args.host, http_port)
    base_url = f"http://{grpc_address(args.host, http_port)}"
    banner = describe(
        mock.world,
        base_url,
        args.profile,
        control,
        grpc_target,
        grpc_extra=grpc_extra,
        control_token=control_token,
        faults=mock.instances.default.faults.to_json(),
        fixtures=args.fixtures,
    )
    print(banner, flush=True)
    serving.serve(
        mock.app,
        sock,
        grpc_front=grpc_front,
        lane=mock.lane,
        grace=args.shutdown_grace,
        read_timeout=args.read_timeout or None,
        keep_alive=args.keep_alive,
        log_level=args.log_level,
        access_log=args.access_log,
    )
    return 0


def _grpc_port(args: argparse.Namespace) -> tuple[socket.socket | None, str | None]:
    """gRPC's own port, listened here and served by the native gRPC front, or None when only
    the default port is busy; an explicit busy port raises OSError."""
    port = DEFAULT_GRPC_PORT if args.grpc_port is None else args.grpc_port
    try:
        sock = listen(args.host, port)
    except OSError as exc:
        if args.grpc_port is not None:
            raise
        # Only the default extra port was busy (another mock, say): the HTTP port serves gRPC.
        print(
            f"zitadel-mock: gRPC has no port of its own, port {port} is busy ({exc}); "
            "native gRPC is served on the HTTP port",
            file=sys.stderr,
        )
        return None, None
    return sock, grpc_address(args.host, sock.getsockname()[1])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
