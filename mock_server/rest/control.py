"""Connexion handlers of the control plane: JSON in, one WorldAdmin call, JSON out."""

from __future__ import annotations

import json
from collections.abc import Callable

from connexion import request
from connexion.lifecycle import ConnexionResponse

from mock_server import fixtures
from mock_server.admin import WorldAdmin
from mock_server.domain import errors


async def _json_body() -> object:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise errors.invalid_argument(f"the body is not JSON: {exc}") from None


def handlers(admin: WorldAdmin, profile: str) -> dict[str, Callable]:
    async def info():
        return admin.info(profile), 200

    async def export_world(format: str = "json"):
        if format == "yaml":
            body = fixtures.dump_yaml(admin.export()).encode()
            return ConnexionResponse(200, body=body, content_type="application/yaml")
        # Two media types are documented, so connexion needs to be told which one this is.
        body = json.dumps(admin.export()).encode()
        return ConnexionResponse(200, body=body, content_type="application/json")

    async def reset_world():
        admin.reset()
        return ConnexionResponse(204, body=b"")

    async def get_settings():
        return admin.settings(), 200

    async def set_settings():
        return admin.set_settings(await _json_body()), 200

    async def create_resource(kind: str):
        return admin.create(kind, await _json_body()), 201

    async def get_resource(kind: str, id: str):
        return admin.get(kind, id), 200

    async def set_resource_state(kind: str, id: str):
        body = await _json_body()
        state = body.get("state") if isinstance(body, dict) else None
        return admin.set_state(kind, id, state), 200

    return {
        "info": info,
        "export_world": export_world,
        "reset_world": reset_world,
        "get_settings": get_settings,
        "set_settings": set_settings,
        "create_resource": create_resource,
        "get_resource": get_resource,
        "set_resource_state": set_resource_state,
    }
