"""The guard in front of the control plane, which runs before connexion (and without it)."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server.domain import errors
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
