"""``zitadel-conformance URL --token T [...]``: the suite as one CI step.

It runs the same pytest suite as ``pytest --pyargs conformance.suite`` and exits 0 only when the
target conforms. Options it does not know are handed to pytest (``-k auth``, ``-x``, ``-v``).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from conformance.settings import DEFAULT_EXAMPLES, DEFAULT_READ_TIMEOUT, PROFILES

SUITE = "conformance.suite"


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="zitadel-conformance",
        description=(
            "Check an implementation of ZITADEL's Management API v1 lifecycle endpoints (a real "
            "ZITADEL, a proxy, our mock) against the contract. Exit code 0 only if it conforms. "
            "Every option also reads its environment variable (ZITADEL_URL, ZITADEL_TOKEN, ...). "
            "Unknown options are passed to pytest."
        ),
    )
    parser.add_argument("url", nargs="?", help="root URL of the target, e.g. http://localhost:8080")
    parser.add_argument("--token", help="access token or PAT of the caller (ZITADEL_TOKEN)")
    parser.add_argument(
        "--control-token",
        help="token of our mock's control plane, if it needs one (ZITADEL_CONTROL_TOKEN)",
    )
    parser.add_argument("--org-id", help="the caller's own org id (ZITADEL_ORG_ID)")
    parser.add_argument("--resources", metavar="FILE", help="resources file (ZITADEL_RESOURCES)")
    parser.add_argument("--profile", choices=PROFILES, help="v4 or v3 behaviour (ZITADEL_PROFILE)")
    parser.add_argument(
        "--examples",
        type=int,
        help=f"generated examples per operation (default {DEFAULT_EXAMPLES})",
    )
    parser.add_argument(
        "--read-timeout",
        type=float,
        metavar="SECONDS",
        help="how long to wait for a transition to show in the reads "
        f"(default {DEFAULT_READ_TIMEOUT:g})",
    )
    parser.add_argument(
        "--allow-org-deactivation",
        action="store_true",
        help="let the suite deactivate and reactivate the org it works in",
    )
    parser.add_argument(
        "--no-skips", action="store_true", help="fail when a check had to be skipped"
    )
    parser.add_argument("--junitxml", metavar="PATH", help="write a JUnit XML report")
    return parser.parse_known_args(argv)


def pytest_args(args: argparse.Namespace, extra: Sequence[str]) -> list[str]:
    """The pytest command line equivalent to ``args``."""
    argv = [
        "--pyargs",
        SUITE,
        "-p",
        "no:cacheprovider",
        # The caller's own pytest configuration is for their tests, not for this run.
        "-o",
        "addopts=",
        "--tb=short",
        "-q",
    ]
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        argv += ["-p", "conformance.plugin"]
    options = {
        "--zitadel-url": args.url,
        "--zitadel-token": args.token,
        "--zitadel-control-token": args.control_token,
        "--zitadel-org-id": args.org_id,
        "--zitadel-resources": args.resources,
        "--zitadel-profile": args.profile,
        "--zitadel-examples": None if args.examples is None else str(args.examples),
        "--zitadel-read-timeout": None if args.read_timeout is None else str(args.read_timeout),
        "--junitxml": args.junitxml,
    }
    for flag, value in options.items():
        if value is not None:
            argv += [flag, value]
    if args.allow_org_deactivation:
        argv.append("--zitadel-allow-org-deactivation")
    if args.no_skips:
        argv.append("--zitadel-no-skips")
    return argv + list(extra)


def main(argv: Sequence[str] | None = None, plugins: Sequence[object] = ()) -> int:
    import pytest

    args, extra = parse_args(argv)
    if not args.url and not os.environ.get("ZITADEL_URL"):
        print("zitadel-conformance: give the target URL (or set ZITADEL_URL)", file=sys.stderr)
        return 2
    return int(pytest.main(pytest_args(args, extra), plugins=list(plugins)))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
