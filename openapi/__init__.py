"""The OpenAPI documents of the project, shipped as package data, and the project's version.

Installed under the import name ``zitadel_lifecycle_openapi`` (see pyproject.toml), so that the
mock server and the conformance suite read the very files kept in ``openapi/``; both CLIs take
their ``--version`` from here, the one package they share.
"""

from __future__ import annotations

from pathlib import Path

DISTRIBUTION = "zitadel-lifecycle-contract"

HERE = Path(__file__).resolve().parent
MANAGEMENT_SPEC = HERE / "management.yaml"
CONTROL_SPEC = HERE / "control.yaml"


def package_version() -> str:
    """The installed distribution's version, the one ``pip show`` reports."""
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"
