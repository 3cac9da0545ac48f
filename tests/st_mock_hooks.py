"""Schemathesis hooks for ``schemathesis run`` against the mock (see test_schemathesis_run.py).

Loaded through SCHEMATHESIS_HOOKS in the schemathesis process, with ZITADEL_MOCK_URL set to the
running mock. Two things:

* Path parameters are sometimes drawn from the mock's real resources, so generated requests
  reach the commands and their 200s get checked too, not only 404s for made-up ids.
* Two built-in checks expect what ZITADEL does not do; each is replaced by a narrower check
  that keeps everything else the built-in one demands.
"""

from __future__ import annotations

import functools
import json
import os
import urllib.request
from typing import Any

import schemathesis
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import positive_data_acceptance, unsupported_method


@functools.cache
def _known_ids() -> dict[str, list[dict[str, str]]]:
    url = os.environ["ZITADEL_MOCK_URL"].rstrip("/")
    with urllib.request.urlopen(f"{url}/_mock/v1/world", timeout=10) as response:
        world = json.load(response)
    with urllib.request.urlopen(f"{url}/_mock/v1/info", timeout=10) as response:
        info = json.load(response)
    admin = next(t for t in info["tokens"] if t["token"] == "admin-pat")
    org = admin["org"]
    # Users holding a token stay out: deactivating one would only make later requests 401.
    callers = {t["user"] for t in info["tokens"]}
    return {
        "id_action": [{"id": a["id"]} for a in world["actions"] if a["org"] == org],
        "id_user": [
            {"id": u["id"]} for u in world["users"] if u["org"] == org and u["id"] not in callers
        ],
        "grant": [
            {"user_id": g["user"], "grant_id": g["id"]}
            for g in world["user_grants"]
            if g["org"] == org
        ],
    }


def _known_for(path: str) -> list[dict[str, str]]:
    if "/grants/" in path:
        return _known_ids()["grant"]
    if path.startswith("/actions/"):
        return _known_ids()["id_action"]
    if path.startswith("/users/"):
        return _known_ids()["id_user"]
    return []


@schemathesis.hook
def flatmap_path_parameters(ctx: Any, path_parameters: dict[str, Any]) -> Any:
    known = _known_for(ctx.operation.path) if ctx.operation is not None else []
    if not known or not isinstance(path_parameters, dict):
        return st.just(path_parameters)
    return st.one_of(
        st.just(path_parameters),
        st.sampled_from(known).map(lambda ids: {**path_parameters, **ids}),
    )


def _status_body(response: Any) -> dict[str, Any]:
    try:
        body = json.loads(response.content)
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


@schemathesis.check
def zitadel_positive_data_acceptance(ctx: Any, response: Any, case: Any) -> bool | None:
    """positive_data_acceptance, accepting a state precondition failure.

    ZITADEL maps FailedPrecondition (code 9: "Action is not active", "Organisation is already
    active", ...) to HTTP 400, so a schema-valid request on a resource in the wrong state is
    rightly refused with 400. Any other 400 still fails.
    """
    if response.status_code == 400 and _status_body(response).get("code") == 9:
        return None
    return positive_data_acceptance(ctx, response, case)


@schemathesis.check
def zitadel_unsupported_method(ctx: Any, response: Any, case: Any) -> bool | None:
    """unsupported_method, without RFC 9110's Allow header on 405.

    ZITADEL's gateway answers an undeclared method with its routing error handler: 405 and
    {"code": 12, "message": "Method Not Allowed"}, and no Allow header. That exact body is
    demanded instead; the status checks of the built-in check still apply.
    """
    if response.status_code == 405 and not response.headers.get("allow"):
        body = _status_body(response)
        if body != {"code": 12, "message": "Method Not Allowed"}:
            raise AssertionError(f"405 without ZITADEL's routing error body: {body}")
        return None
    return unsupported_method(ctx, response, case)
