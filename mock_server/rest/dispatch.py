"""The REST fast path: the management operations dispatched from a route table compiled once
from the spec, next to the gRPC-web dispatch.

A management request does one lookup (its method's routes, then the first path pattern that
matches) and goes straight to gateway decoding, the service and the encoding. Connexion's
middleware chain matched every such request three times (Swagger UI, routing, the API's own
router), rebuilt its context and ran the error handlers in a thread; here it only sees what
the table does not hold, and answers it as before:

* a path no route matches (404) or a method its routes do not take (405), Swagger UI, the
  control plane and a HEAD on a read route (Starlette's GET routes accept HEAD);
* so the table only claims a request connexion's router would have given the same operation:
  the patterns are Starlette's own (``compile_path``, as connexion's RoutingAPI builds them,
  ``[^/]+`` per parameter on the decoded path), literal paths before parameterised ones, as
  connexion sorts them.

Answers are the ones connexion wrote, byte for byte (tests/test_rest_golden.py): the same
gateway decoding (:mod:`~mock_server.rest.json_body`), body limit, envelope and headers.
"""

from __future__ import annotations

import logging

from starlette.routing import compile_path
from starlette.types import Receive, Scope, Send

from mock_server import contract
from mock_server.bounded import BoundedMemory
from mock_server.domain import errors
from mock_server.domain.service import LifecycleService
from mock_server.http_body import BodyTooLarge, ClientDisconnected, read_body
from mock_server.rest import gateway
from mock_server.rest.management import DROPPED, Route

logger = logging.getLogger(__name__)

JSON_CONTENT_TYPE = (b"content-type", b"application/json")
# What RestDispatch.match remembers: at most this many paths, each at most this long.
_REMEMBERED_PATHS = 4096
_REMEMBERED_PATH_LENGTH = 256


class RestDispatch:
    """The management RPCs by method, each with its compiled path pattern and convertors."""

    def __init__(self, service: LifecycleService, base_path: str) -> None:
        self.prefix = base_path + "/"
        # Literal paths first (/users/_search before /users/{id}), then the spec's order.
        ordered = sorted(
            enumerate(contract.rpcs().values()),
            key=lambda item: (len(item[1].path_fields), item[0]),
        )
        self.routes: dict[str, list] = {}
        for _, rpc in ordered:
            pattern, _, convertors = compile_path(base_path + rpc.path)
            self.routes.setdefault(rpc.method, []).append(
                (pattern.match, convertors, Route(service, rpc))
            )
        self._matched: BoundedMemory[tuple[Route, dict[str, str]]] = BoundedMemory(
            _REMEMBERED_PATHS
        )

    def match_path(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route and path values of a management request, or None for connexion."""
        key = (method, path)
        found = self._matched.get(key)
        if found is not None:
            return found
        found = self._match(*key)
        if found is not None and len(path) <= _REMEMBERED_PATH_LENGTH:
            # A client's paths repeat (one resource toggled, read, toggled).
            self._matched.put(key, found)
        return found

    def _match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        if not path.startswith(self.prefix):
            return None
        for matches, convertors, route in self.routes.get(method, ()):
            found = matches(path)
            if found is not None:
                values = {
                    name: convertors[name].convert(value)
                    for name, value in found.groupdict().items()
                }
                return route, values
        return None

    async def serve(
        self,
        route: Route,
        values: dict[str, str],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        try:
            body = await self._body(route, receive)
            answer = await route.answer(values, body, scope)
        except ClientDisconnected:
            return  # nobody to answer, and the RPC must not run on half a body
        except errors.ZitadelError as error:
            await gateway.send_error(send, error)
            return
        except Exception as exc:  # a bug of the mock: still an envelope, and logged in full
            await gateway.send_unexpected(send, exc)
            return
        if answer is None:
            await send({"type": "http.response.start", "status": DROPPED, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        headers = [JSON_CONTENT_TYPE, (b"content-length", b"%d" % len(answer))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    @staticmethod
    async def _body(route: Route, receive: Receive) -> dict | None:
        """The body as the gateway decodes it; a GET binds none, whatever it holds."""
        if not route.rpc.has_body:
            return None
        try:
            raw = await read_body(receive, gateway.MAX_BODY_BYTES, disconnect_raises=True)
        except BodyTooLarge as exc:
            raise gateway.too_large(exc) from None
        return route.decode_body(raw)
