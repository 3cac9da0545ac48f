"""The OpenAPI documents of the project, shipped as package data.

Installed under the import name ``zitadel_lifecycle_openapi`` (see pyproject.toml), so that the
mock server and the conformance suite read the very files kept in ``openapi/``.
"""

from pathlib import Path

HERE = Path(__file__).resolve().parent
MANAGEMENT_SPEC = HERE / "management.yaml"
CONTROL_SPEC = HERE / "control.yaml"
