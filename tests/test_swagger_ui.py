"""The Swagger UI a newcomer opens first: reachable from ``/``, its spec served whole, the
Try-it-out body and the 200 examples as ZITADEL answers, and the tokens to paste named."""

from __future__ import annotations

import html
import re
import shutil
import subprocess

import httpx
import pytest
from zitadel_lifecycle_openapi import MANAGEMENT_SPEC

from mock_server.fixtures import SEED_TOKENS

UI = "/management/v1/ui/"
ACTION_OPERATIONS = ("ManagementService_DeactivateAction", "ManagementService_ReactivateAction")


def _spec(url: str) -> dict:
    response = httpx.get(f"{url}/management/v1/openapi.json", timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_the_root_leads_to_the_ui_and_api_paths_keep_zitadels_404(live_server) -> None:
    response = httpx.get(live_server.url + "/", timeout=10)
    assert response.status_code in (302, 307)
    assert response.headers["location"].endswith(UI)
    ui = httpx.get(live_server.url + "/", follow_redirects=True, timeout=10)
    assert ui.status_code == 200 and "swagger-ui" in ui.text
    # Only the exact GET: a POST to / and an unknown API path answer as ZITADEL does.
    assert httpx.post(live_server.url + "/", content=b"{}", timeout=10).status_code == 404
    unknown = httpx.get(live_server.url + "/management/v1/nothing", timeout=10)
    assert (unknown.status_code, unknown.json()["code"]) == (404, 5)


def test_both_specs_are_served_as_json(live_server) -> None:
    # connexion's inlined spec of the recursive list queries was a cycle: a 500 for the UI.
    spec = _spec(live_server.url)
    assert spec["paths"]["/actions/{id}/_deactivate"]["post"]["operationId"] == ACTION_OPERATIONS[0]
    control = httpx.get(f"{live_server.url}/_mock/v1/openapi.json", timeout=10)
    assert control.status_code == 200 and control.json()["openapi"].startswith("3.")
    assert httpx.get(f"{live_server.url}/_mock/v1/ui/", timeout=10).status_code == 200


def test_empty_request_bodies_propose_an_empty_object(live_server) -> None:
    spec = _spec(live_server.url)
    checked = 0
    for path, item in spec["paths"].items():
        operation = item.get("post")
        if operation is None or not path.rsplit("/", 1)[-1].startswith(("_deactivate", "_react")):
            continue
        media = _resolve(spec, operation["requestBody"])["content"]["application/json"]
        # Swagger UI makes {"additionalProp1": {}} of additionalProperties without an example.
        assert media.get("example") == {}, path
        checked += 1
    assert checked == 8
    # The spec file itself has none: schemathesis would send that one body over and over.
    assert "example: {}" not in MANAGEMENT_SPEC.read_text(encoding="utf-8")


def test_the_action_examples_carry_no_change_date(live_server) -> None:
    spec = _spec(live_server.url)
    for path in ("/actions/{id}/_deactivate", "/actions/{id}/_reactivate"):
        response = spec["paths"][path]["post"]["responses"]["200"]
        schema = _resolve(spec, response["content"]["application/json"]["schema"])
        details = _resolve(spec, schema["properties"]["details"])
        assert set(details["example"]) == {"sequence", "creationDate", "resourceOwner"}


def test_the_authorize_dialog_names_the_format_and_the_worlds_tokens(live_server) -> None:
    scheme = _spec(live_server.url)["components"]["securitySchemes"]["bearerAuth"]
    # In a code span, so Swagger UI's Markdown does not take <token> for an HTML tag.
    assert "`Authorization: Bearer <token>`" in scheme["description"]
    listed = re.findall(r"^- `([^`]+)`: (.+)$", scheme["description"], re.M)
    world = live_server.mock.world
    assert {value for value, _ in listed} == {
        t.value for t in world.tokens.values() if not t.revoked
    }
    admin = dict(listed)[SEED_TOKENS.instance_owner]
    assert admin == "zitadel-admin, IAM_OWNER on instance"


def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    pytest.fail("no Chromium to render the UI with (the Makefile's setup installs it)")


@pytest.mark.slow
def test_the_rendered_ui_shows_the_examples(live_server) -> None:
    """What a person sees: the operation opened by its deep link, rendered by a real browser."""
    page = f"{live_server.url}{UI}#/Actions/{ACTION_OPERATIONS[0]}"
    result = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=15000",
            "--dump-dom",
            page,
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    blocks = [
        html.unescape(re.sub(r"<[^>]+>", "", block))
        for block in re.findall(r"<pre[^>]*>(.*?)</pre>", result.stdout, re.S)
    ]
    assert "{}" in blocks, blocks
    (example,) = [b for b in blocks if '"details"' in b and '"sequence"' in b]
    assert '"creationDate"' in example and "changeDate" not in example
