"""The control plane: a guard in front of it, and its connexion handlers (JSON in, one
WorldAdmin, InstanceAdmin, journal or faults call, JSON out)."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable

from connexion import request
from connexion.lifecycle import ConnexionResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server import fixtures
from mock_server.admin import InstanceAdmin, WorldAdmin
from mock_server.domain import errors
from mock_server.domain.instances import Instance, Instances
from mock_server.grpc_front import codec
from mock_server.http_body import BodyTooLarge, ClientDisconnected, read_body
from mock_server.rest import gateway
from mock_server.rest.json_body import GoSyntaxError, read_first_value

CONTROL_BASE_PATH = "/_mock/v1"
# Far deeper than any fixture entry, shallow enough for Python's recursive json.loads.
MAX_DEPTH = 64
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def is_control_path(path: str) -> bool:
    return path == CONTROL_BASE_PATH or path.startswith(CONTROL_BASE_PATH + "/")


class ControlPlaneGuard:
    """Everything under /_mock/v1 passes here before connexion sees it.

    The control plane mints IAM_OWNER tokens and lists them, so it is closed to browsers and,
    when a token is set, to anyone without it:

    * ``Authorization: Bearer <control token>`` when the mock has one (401 otherwise);
    * a body only as ``application/json`` (or without Content-Type): text/plain and the form
      types are what a web page may send cross-origin without a preflight, so they get 415
      and CORS is not answered here at all (see app.py);
    * the management API's body limit, and JSON nested at most MAX_DEPTH levels.

    Connexion then gets the body with a plain ``application/json``, so its own body parsing
    never meets a form, a missing boundary or a header that is no UTF-8.
    """

    def __init__(self, app: ASGIApp, token: str | None = None) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_control_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])  # raw bytes: never decoded, never a UnicodeError
        if self._expected is not None:
            given = headers.get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                error = errors.ZitadelError(
                    errors.Code.UNAUTHENTICATED,
                    "the control plane needs 'Authorization: Bearer <control token>'; "
                    "the mock printed the token when it started",
                )
                await gateway.send_error(send, error)
                return
        if scope["method"] not in _BODY_METHODS:
            # No body is read here, whatever the request says it carries.
            scope = gateway.with_json_content_type(scope, 0)
            await self.app(scope, gateway.replay(b"", receive), send)
            return
        content_type = headers.get(b"content-type")
        if content_type is not None:
            media = content_type.split(b";", 1)[0].strip().lower()
            if media != b"application/json":
                shown = content_type.decode("latin-1")
                error = errors.invalid_argument(
                    f"the control plane takes application/json bodies, not {shown!r}"
                )
                await gateway.send_error(send, error, http_status=415)
                return
        try:
            raw = await read_body(receive, gateway.MAX_BODY_BYTES, disconnect_raises=True)
        except ClientDisconnected:
            return
        except BodyTooLarge as exc:
            error = errors.ZitadelError(
                errors.Code.RESOURCE_EXHAUSTED, f"the body is larger than {exc.limit} bytes"
            )
            await gateway.send_error(send, error, http_status=413)
            return
        try:
            read_first_value(raw, max_depth=MAX_DEPTH)
        except GoSyntaxError as exc:
            if "exceeded max depth" in str(exc):
                exc = GoSyntaxError(f"nested deeper than {MAX_DEPTH} levels")
            error = errors.invalid_argument(f"the body is not JSON: {exc}")
            await gateway.send_error(send, error)
            return
        scope = gateway.with_json_content_type(scope, len(raw))
        await self.app(scope, gateway.replay(raw, receive), send)


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
