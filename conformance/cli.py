"""``zitadel-conformance URL --token T [...]``: the suite as one CI step.

It runs the same pytest suite as ``pytest --pyargs conformance.suite`` and exits 0 only when the
target conforms (the exit codes are in :mod:`conformance.verdict`). Options it does not know are
handed to pytest (``-k auth``, ``-x``, ``-v``). A configuration that cannot work is reported in
one line before pytest starts.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance import verdict
from conformance.settings import (
    CLI_MARKER,
    DEFAULT_EXAMPLES,
    DEFAULT_READ_TIMEOUT,
    PROFILES,
    SettingsError,
    resolve,
)

SUITE = "conformance.suite"


def parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, list[str]]:
    parser = argparse.ArgumentParser(
        prog="zitadel-conformance",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit codes:\n"
        + "\n".join(f"  {code}  {meaning}" for code, meaning in verdict.EXIT_CODES.items()),
        description=(
            "Check an implementation of ZITADEL's Management API v1 lifecycle endpoints (a real "
            "ZITADEL, a proxy, our mock) against the contract. Exit code 0 only if it conforms. "
            "Every option also reads its environment variable (ZITADEL_URL, ZITADEL_TOKEN, ...). "
            "Unknown options are passed to pytest."
        ),
    )
    parser.add_argument(
        "url",
        nargs="?",
        help="root URL of the target, e.g. http://localhost:8080 (a trailing /management/v1 "
        "is taken off)",
    )
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
    parser.add_argument("--no-skips", action="store_true", help="fail when a check was skipped")
    parser.add_argument(
        "--require-coverage",
        action="store_true",
        help="fail when a documented status or error code of an operation was never answered",
    )
    parser.add_argument(
        "--junitxml", metavar="PATH", help="write a JUnit XML report, one test case per cell"
    )
    parser.add_argument(
        "--json", metavar="PATH", help="write the JSON report (verdict, matrix, failures)"
    )
    parser.add_argument(
        "--summary",
        metavar="PATH",
        help="write a Markdown summary (default: $GITHUB_STEP_SUMMARY when set)",
    )
    parser.add_argument("--html", metavar="PATH", help="write a self-contained HTML report")
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
        # The suite reports through its own failures, never bare asserts; rewriting would only
        # warn that the installed packages were imported before pytest could rewrite them.
        "--assert=plain",
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
        "--zitadel-junit": args.junitxml,
        "--zitadel-json": args.json,
        "--zitadel-summary": args.summary,
        "--zitadel-html": args.html,
    }
    for flag, value in options.items():
        if value is not None:
            argv += [flag, value]
    if args.allow_org_deactivation:
        argv.append("--zitadel-allow-org-deactivation")
    if args.no_skips:
        argv.append("--zitadel-no-skips")
    if args.require_coverage:
        argv.append("--zitadel-require-coverage")
    return argv + list(extra)


def check_configuration(args: argparse.Namespace) -> str | None:
    """What would stop the run at once (bad values, unreachable target, no token), as one
    line; ``None`` when the run can start."""
    from conformance.target import TargetError, preflight

    flags = {
        "url": args.url,
        "token": args.token,
        "control_token": args.control_token,
        "org_id": args.org_id,
        "resources": args.resources,
        "profile": args.profile,
        "examples": args.examples,
        "read_timeout": args.read_timeout,
    }
    try:
        settings = resolve(flags)
        assert settings is not None  # main checked the URL
        preflight(settings)
    except (SettingsError, TargetError) as exc:
        return str(exc)
    return None


def main(argv: Sequence[str] | None = None, plugins: Sequence[object] = ()) -> int:
    import pytest

    args, extra = parse_args(argv)
    if not args.url and not os.environ.get("ZITADEL_URL"):
        print("zitadel-conformance: give the target URL (or set ZITADEL_URL)", file=sys.stderr)
        return verdict.EXIT_USAGE
    # Messages of this run name this command's flags (--token), not the plugin's.
    previous = dict(os.environ)
    os.environ[CLI_MARKER] = "1"
    # Hypothesis keeps caches (unicode tables, constants) in ./.hypothesis; a CI step must
    # leave the working directory as it found it, so they go to the user's cache.
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(cache_directory() / "hypothesis"))
    try:
        problem = check_configuration(args)
        if problem:
            print(f"zitadel-conformance: {problem}", file=sys.stderr)
            return verdict.EXIT_CONFIGURATION
        return int(pytest.main(pytest_args(args, extra), plugins=list(plugins)))
    finally:
        for name in (CLI_MARKER, "HYPOTHESIS_STORAGE_DIRECTORY"):
            if name in previous:
                os.environ[name] = previous[name]
            else:
                os.environ.pop(name, None)


def cache_directory() -> Path:
    """``$XDG_CACHE_HOME/zitadel-conformance`` (``~/.cache/...`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zitadel-conformance"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
