"""The suite's options, shared by the pytest plugin and the console script.

Each option has a command-line flag, an environment variable and an ini key; the flag wins over
the environment, the environment over the ini file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROFILES = ("v4", "v3")
DEFAULT_EXAMPLES = 200
# How long the suite waits for a transition to show in the reads. ZITADEL's v1 reads come from
# projections and may lag behind writes (zitadel issue 7543; terraform-provider-zitadel PR 440
# retries for 15 s); 5 s covers a healthy instance.
DEFAULT_READ_TIMEOUT = 5.0


@dataclass(frozen=True)
class Option:
    name: str  # attribute of Settings
    flag: str  # pytest flag
    env: str
    help: str
    is_flag: bool = False
    metavar: str | None = None

    @property
    def ini(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


OPTIONS = (
    Option("url", "--zitadel-url", "ZITADEL_URL", "root URL of the target, e.g. "
           "http://localhost:8080 (the suite is inert without it)", metavar="URL"),
    Option("token", "--zitadel-token", "ZITADEL_TOKEN", "access token or PAT of the caller; "
           "optional against our mock, which provisions its own caller", metavar="TOKEN"),
    Option("control_token", "--zitadel-control-token", "ZITADEL_CONTROL_TOKEN", "the token of "
           "our mock's control plane, when it runs with --control-token or off loopback",
           metavar="TOKEN"),
    Option("org_id", "--zitadel-org-id", "ZITADEL_ORG_ID", "the caller's own org (where a call "
           "without x-zitadel-orgid acts); default: the resources file's org", metavar="ID"),
    Option("resources", "--zitadel-resources", "ZITADEL_RESOURCES", "YAML file naming the orgs, "
           "resources and extra tokens the stateful scenarios may use", metavar="FILE"),
    Option("profile", "--zitadel-profile", "ZITADEL_PROFILE", "ZITADEL release behaviour to "
           "expect: v4 or v3 (default: the mock's profile, else v4)", metavar="v4|v3"),
    Option("examples", "--zitadel-examples", "ZITADEL_EXAMPLES", "generated examples per "
           f"operation, half positive, half negative (default {DEFAULT_EXAMPLES})", metavar="N"),
    Option("read_timeout", "--zitadel-read-timeout", "ZITADEL_READ_TIMEOUT", "seconds to wait "
           "for a transition to show in the resource's Get and List (default "
           f"{DEFAULT_READ_TIMEOUT:g})", metavar="SECONDS"),
    Option("allow_org_deactivation", "--zitadel-allow-org-deactivation",
           "ZITADEL_ALLOW_ORG_DEACTIVATION", "let the suite deactivate (and reactivate) the org "
           "it works in", is_flag=True),
    Option("no_skips", "--zitadel-no-skips", "ZITADEL_NO_SKIPS", "fail the run when a check "
           "was skipped", is_flag=True),
    Option("require_coverage", "--zitadel-require-coverage", "ZITADEL_REQUIRE_COVERAGE",
           "fail the run when a documented status or error code of an operation was never "
           "answered", is_flag=True),
    Option("json_report", "--zitadel-json", "ZITADEL_JSON", "write the machine-readable "
           "report (verdict, matrix, failures with their exchanges) to FILE", metavar="FILE"),
    Option("summary", "--zitadel-summary", "ZITADEL_SUMMARY", "write a Markdown summary to "
           "FILE (default: $GITHUB_STEP_SUMMARY when set)", metavar="FILE"),
    Option("html", "--zitadel-html", "ZITADEL_HTML", "write a self-contained HTML report to "
           "FILE", metavar="FILE"),
    Option("junit", "--zitadel-junit", "ZITADEL_JUNIT", "write a JUnit XML report, one test "
           "case per matrix cell, to FILE", metavar="FILE"),
)  # fmt: skip

# The flags of the console script, for messages printed in a run it started (it sets
# CLI_MARKER for the run); a plain pytest run names the plugin's flags.
CLI_FLAGS = {
    "url": "URL",
    "token": "--token",
    "control_token": "--control-token",
    "org_id": "--org-id",
    "resources": "--resources",
    "profile": "--profile",
    "examples": "--examples",
    "read_timeout": "--read-timeout",
    "allow_org_deactivation": "--allow-org-deactivation",
    "no_skips": "--no-skips",
    "require_coverage": "--require-coverage",
    "json_report": "--json",
    "summary": "--summary",
    "html": "--html",
    "junit": "--junitxml",
}
CLI_MARKER = "ZITADEL_CONFORMANCE_CLI"
# What an API URL may end with; the suite wants the root and takes it off.
API_BASE_PATH = "/management/v1"

_TRUE = {"1", "true", "yes", "on"}
_BY_NAME = {option.name: option for option in OPTIONS}


def flag(name: str) -> str:
    """How the user sets option ``name`` in this run: ``--token or ZITADEL_TOKEN`` from the
    console script, ``--zitadel-token or ZITADEL_TOKEN`` from pytest."""
    option = _BY_NAME[name]
    given = CLI_FLAGS[name] if os.environ.get(CLI_MARKER) else option.flag
    return f"{given} or {option.env}"


class SettingsError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    url: str
    token: str | None = None
    control_token: str | None = None
    org_id: str | None = None
    resources: Path | None = None
    profile: str | None = None  # None: the mock's profile, else v4
    examples: int = DEFAULT_EXAMPLES
    read_timeout: float = DEFAULT_READ_TIMEOUT
    allow_org_deactivation: bool = False
    no_skips: bool = False
    require_coverage: bool = False
    json_report: Path | None = None
    summary: Path | None = None
    html: Path | None = None
    junit: Path | None = None

    @property
    def root(self) -> str:
        """The URL without a trailing ``/management/v1``: the suite adds the API's path."""
        return self.url.rstrip("/").removesuffix(API_BASE_PATH).rstrip("/")


def truthy(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def resolve(flags: dict[str, object], ini: dict[str, object] | None = None) -> Settings | None:
    """Settings from flag values (``None`` when not given), the environment and ini values.

    ``None`` when no target URL is configured anywhere: the suite then stays inert.
    """
    ini = ini or {}
    raw: dict[str, object] = {}
    for option in OPTIONS:
        value = flags.get(option.name)
        if value in (None, False, ""):
            value = os.environ.get(option.env) or ini.get(option.name) or None
        raw[option.name] = value
    if not raw["url"]:
        return None
    url = str(raw["url"])
    if not url.startswith(("http://", "https://")):
        raise SettingsError(f"the target URL must start with http:// or https://, got {url!r}")
    profile = str(raw["profile"]).lower() if raw["profile"] else None
    if profile is not None and profile not in PROFILES:
        raise SettingsError(f"the profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    try:
        examples = int(raw["examples"]) if raw["examples"] else DEFAULT_EXAMPLES
    except (TypeError, ValueError):
        raise SettingsError(f"examples must be a number, got {raw['examples']!r}") from None
    if examples < 2:
        raise SettingsError("examples must be at least 2 (one positive, one negative)")
    try:
        read_timeout = float(raw["read_timeout"]) if raw["read_timeout"] else DEFAULT_READ_TIMEOUT
    except (TypeError, ValueError):
        raise SettingsError(
            f"the read timeout must be a number of seconds, got {raw['read_timeout']!r}"
        ) from None
    if not 0 <= read_timeout <= 600:
        raise SettingsError(f"the read timeout must be 0 to 600 seconds, got {read_timeout:g}")
    resources = Path(str(raw["resources"])) if raw["resources"] else None
    paths = {
        name: Path(str(raw[name])) if raw[name] else None
        for name in ("json_report", "summary", "html", "junit")
    }
    return Settings(
        url=url,
        token=str(raw["token"]) if raw["token"] else None,
        control_token=str(raw["control_token"]) if raw["control_token"] else None,
        org_id=str(raw["org_id"]) if raw["org_id"] else None,
        resources=resources,
        profile=profile,
        examples=examples,
        read_timeout=read_timeout,
        allow_org_deactivation=truthy(raw["allow_org_deactivation"] or False),
        no_skips=truthy(raw["no_skips"] or False),
        require_coverage=truthy(raw["require_coverage"] or False),
        **paths,
    )
