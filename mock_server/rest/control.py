"""The control plane's connexion handlers (JSON in, one WorldAdmin, InstanceAdmin, journal or
faults call, JSON out); the guard in front of it is :mod:`mock_server.rest.control_guard`."""

from __future__ import annotations

import json
from collections.abc import Callable

from connexion import request
from connexion.lifecycle import ConnexionResponse

from mock_server import fixtures
from mock_server.admin import InstanceAdmin, WorldAdmin
from mock_server.domain import errors
from mock_server.domain.instances import Instance, Instances
from mock_server.grpc_front import codec
from mock_server.rest.control_guard import CONTROL_BASE_PATH, ControlPlaneGuard, is_control_path

__all__ = ["CONTROL_BASE_PATH", "ControlPlaneGuard", "handlers", "is_control_path"]


async def _json_body() -> object:
    raw = await request.body()
    try:
        return json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise errors.invalid_argument(f"the body is not JSON: {exc}") from None


def _base() -> tuple[str, str, int]:
    """How this request reached the mock: scheme, the address it was sent to, the port."""
    server = request.scope.get("server") or ("127.0.0.1", 80)
    return request.url.scheme, str(server[0]), int(server[1] or 80)


def handlers(instances: Instances, default_admin: WorldAdmin) -> dict[str, Callable]:
    """The control plane's handlers; each world call acts on the instance the host selects,
    with the default instance's limits."""
    instance_admin = InstanceAdmin(instances)

    def current() -> tuple[Instance, WorldAdmin]:
        host = codec.metadata_from_pairs(request.headers.items()).host
        instance = instances.resolve(host)
        if instance.is_default:
            return instance, default_admin
        limit = default_admin.max_resources
        return instance, WorldAdmin(instance.world, instance.rebuild, max_resources=limit)

    def admin() -> WorldAdmin:
        return current()[1]

    async def info():
        instance, world_admin = current()
        return world_admin.info(instance.profile.name), 200

    async def export_world(format: str = "json"):
        if format == "yaml":
            body = fixtures.dump_yaml(admin().export()).encode()
            return ConnexionResponse(200, body=body, content_type="application/yaml")
        # Two media types are documented, so connexion needs to be told which one this is.
        body = json.dumps(admin().export()).encode()
        return ConnexionResponse(200, body=body, content_type="application/json")

    async def reset_world():
        admin().reset()
        return ConnexionResponse(204, body=b"")

    async def get_settings():
        return admin().settings(), 200

    async def set_settings():
        return admin().set_settings(await _json_body()), 200

    async def create_resource(kind: str):
        return admin().create(kind, await _json_body()), 201

    async def get_resource(kind: str, id: str):
        return admin().get(kind, id), 200

    async def set_resource_state(kind: str, id: str):
        body = await _json_body()
        state = body.get("state") if isinstance(body, dict) else None
        return admin().set_state(kind, id, state), 200

    async def list_calls(
        rpc: str | None = None,
        outcome: str | None = None,
        since: str | None = None,
        transport: str | None = None,
    ):
        filters = {"rpc": rpc, "outcome": outcome, "since": since, "transport": transport}
        given = {name: value for name, value in filters.items() if value}
        try:
            found = current()[0].journal.calls(**given)
        except ValueError as exc:
            raise errors.invalid_argument(str(exc)) from None
        return {"calls": [call.to_json() for call in found]}, 200

    async def clear_calls():
        current()[0].journal.clear()
        return ConnexionResponse(204, body=b"")

    async def create_fault():
        try:
            fault = current()[0].faults.add(await _json_body())
        except ValueError as exc:
            raise errors.invalid_argument(str(exc)) from None
        return fault.to_json(), 201

    async def list_faults():
        return {"faults": current()[0].faults.to_json()}, 200

    async def clear_faults():
        current()[0].faults.clear()
        return ConnexionResponse(204, body=b"")

    async def delete_fault(id: str):
        if not current()[0].faults.remove(id):
            raise errors.not_found(f"fault {id!r} not found")
        return ConnexionResponse(204, body=b"")

    async def create_instance():
        return instance_admin.create(await _json_body(), _base()), 201

    async def list_instances():
        return instance_admin.list(_base()), 200

    async def get_instance(id: str):
        return instance_admin.get(id, _base()), 200

    async def delete_instance(id: str):
        instance_admin.delete(id)
        return ConnexionResponse(204, body=b"")

    return {
        "list_calls": list_calls,
        "clear_calls": clear_calls,
        "create_fault": create_fault,
        "list_faults": list_faults,
        "clear_faults": clear_faults,
        "delete_fault": delete_fault,
        "create_instance": create_instance,
        "list_instances": list_instances,
        "get_instance": get_instance,
        "delete_instance": delete_instance,
        "info": info,
        "export_world": export_world,
        "reset_world": reset_world,
        "get_settings": get_settings,
        "set_settings": set_settings,
        "create_resource": create_resource,
        "get_resource": get_resource,
        "set_resource_state": set_resource_state,
    }
