"""``zitadel-mock``: run the mock and print what a frontend developer needs to copy."""

from __future__ import annotations

import argparse
import contextlib
import errno
import ipaddress
import secrets
import socket
import sys
import warnings
from collections.abc import Sequence

from zitadel_lifecycle_openapi import package_version

from mock_server import serving
from mock_server.admin import DEFAULT_MAX_RESOURCES, MAX_READ_LAG_MS
from mock_server.banner import describe
from mock_server.connection import listen
from mock_server.domain.commands import DEFAULT_PROFILE, PROFILES
from mock_server.domain.instances import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_INSTANCES
from mock_server.faults import parse_fail_option, parse_latency_option
from mock_server.fixtures import DEFAULT_SEED, FixtureError
from mock_server.grpc_front.address import DEFAULT_GRPC_PORT, grpc_address
from mock_server.journal import DEFAULT_JOURNAL_SIZE, MAX_JOURNAL_SIZE


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


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


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
