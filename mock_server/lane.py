"""The lane: plain requests answered from the HTTP/1 parser's own callbacks.

Under uvicorn an ASGI request costs 26 µs of CPU before any app code runs (its cycle, the task
it starts, the events and the per-header checks of the answer: 35 µs per request for an app
that sends fixed bytes, against 9 µs for the same bytes from the parser's callback), about a
quarter of a management call. So the mock's listener (mock_server/one_port.py) offers each
request head here first; the lane takes the plain ones, the management operations the REST
route table holds (:mod:`~mock_server.rest.dispatch`) and gRPC-web calls, and answers them with
the very same parts as the ASGI path: the gateway's decoding, :meth:`Route.result`, the
envelope, gRPC-web's framing (:mod:`~mock_server.grpc_front.web`), CORS, X-Robots-Tag.
Everything else stays on the ASGI path, which is the reference: tests/test_lane.py sends
the same requests down both and compares the bytes.

What the lane leaves to the ASGI path: a request with ``Expect``, a chunked or oversized body,
a path Starlette redirects, gRPC-web outside ``/zitadel.*``, an instance that does not resolve
or that has faults injected (latency, drops and injected errors keep their one implementation;
one injected between a request's head and its body is still waited out, by lane_cycle).
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import httptools

from mock_server import status
from mock_server.domain import errors
from mock_server.domain.service import CallMetadata, LifecycleService, Plan
from mock_server.doors import Door, door_of
from mock_server.faults import ConnectionDropped
from mock_server.grpc_front import codec, web
from mock_server.rest import cors, gateway
from mock_server.rest.dispatch import JSON_CONTENT_TYPE, RestDispatch
from mock_server.rest.management import Route

logger = logging.getLogger(__name__)


class Answer(NamedTuple):
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class _Claimed:
    """What both kinds of call share: the body as the parser brings it, then :meth:`prepare`
    and :meth:`answer`, each failure answered in the call's own wire form (an unexpected one
    logged in full, as the ASGI path logs it)."""

    __slots__ = ("added", "body", "plan")

    def __init__(self, added: tuple[tuple[bytes, bytes], ...]) -> None:
        self.added = added  # CORS, then X-Robots-Tag, as the ASGI layers add them
        self.body = bytearray()
        self.plan: Plan | None = None

    @property
    def delay(self) -> float:
        return self.plan.delay if self.plan is not None else 0.0

    def prepare(self) -> Answer | None:
        """Decode the body and take the call's plan; an answer when that already fails."""
        return self._guarded(self._prepare)

    def answer(self) -> Answer | None:
        """The answer of the prepared call (its latency waited out), or None for an injected
        drop: the connection is to be cut."""
        assert self.plan is not None
        return self._guarded(self._result)

    def _guarded(self, step: Callable[[], Answer | None]) -> Answer | None:
        try:
            return step()
        except ConnectionDropped:
            return None
        except errors.ZitadelError as error:
            return self._failure(error)
        except Exception as exc:  # a bug of the mock: still an answer, and logged in full
            return self._failure(self._unexpected(exc))

    def _prepare(self) -> Answer | None:
        raise NotImplementedError

    def _result(self) -> Answer:
        raise NotImplementedError

    def _failure(self, error: errors.ZitadelError) -> Answer:
        raise NotImplementedError

    def _unexpected(self, exc: Exception) -> errors.ZitadelError:
        raise NotImplementedError


class ManagementCall(_Claimed):
    """One claimed REST request: its route and head, then its body."""

    __slots__ = ("route", "values", "metadata", "fields")

    def __init__(
        self,
        route: Route,
        values: dict[str, str],
        metadata: CallMetadata,
        added: tuple[tuple[bytes, bytes], ...],
    ) -> None:
        super().__init__(added)
        self.route = route
        self.values = values
        self.metadata = metadata
        self.fields: dict = {}

    def _prepare(self) -> None:
        route = self.route
        self.fields = route.fields(self.values, route.decode_body(bytes(self.body)))
        self.plan = route.service.plan(route.rpc.name, self.metadata)

    def _result(self) -> Answer:
        assert self.plan is not None
        payload = self.route.result(self.fields, self.metadata, self.plan)
        headers = [JSON_CONTENT_TYPE, (b"content-length", b"%d" % len(payload)), *self.added]
        return Answer(200, headers, payload)

    def _failure(self, error: errors.ZitadelError) -> Answer:
        body, headers = gateway.error_answer(error)
        # The same headers in the same order as gateway.send_error's, then the layers'.
        return Answer(status.http_status(error), [*headers, *self.added], body)

    def _unexpected(self, exc: Exception) -> errors.ZitadelError:
        gateway.log_unexpected(exc)
        return gateway.UNEXPECTED


class Lane:
    """Claims the management requests the ASGI path would answer from the REST route table,
    and the gRPC-web calls."""

    def __init__(
        self, service: LifecycleService, dispatch: RestDispatch, grpc_web: web.GrpcWebApp
    ) -> None:
        self.service = service
        self.dispatch = dispatch
        self.grpc_web = grpc_web
        self.methods = {method.encode("ascii") for method in dispatch.routes} | {b"POST"}

    def claim(
        self, method: bytes, url: bytes, headers: Iterable[tuple[bytes, bytes]]
    ) -> LaneCall | None:
        if method not in self.methods:
            return None
        origin = content_type = encoding = None
        length = 0
        for name, value in headers:
            if name == b"content-length":
                if not value.isdigit() or len(value) > 12:
                    return None  # uvicorn says what it makes of it
                length = int(value)
            elif name in (b"transfer-encoding", b"expect"):
                return None
            elif name == b"origin":
                if origin is None:
                    origin = value
            elif name == b"content-type":
                if content_type is None:
                    content_type = value.decode("latin-1")
            elif name == b"grpc-encoding" and encoding is None:
                encoding = value.decode("latin-1")
        try:
            path = httptools.parse_url(url).path.decode("ascii")
        except (httptools.HttpParserInvalidURLError, UnicodeDecodeError):
            return None
        if "%" in path:
            path = urllib.parse.unquote(path)
        text_method = method.decode("ascii")
        door, found = door_of(text_method, path, content_type, self.dispatch)
        if door is Door.GRPC_WEB:
            # ZITADEL's routeGRPCWeb takes every such POST; the lane the ones to its services.
            if length > web.MAX_BODY_BYTES or not path.startswith(web.GRPC_WEB_PATH_PREFIX):
                return None
            metadata = codec.metadata_from_asgi(headers, transport="grpc-web")
            if not self._plain_instance(metadata):
                return None
            added = (*cors.response_headers(text_method, origin), gateway.ROBOTS_TAG)
            wire = web.wire_of(content_type or "")
            return WebCall(self.grpc_web, path, metadata, encoding, wire, added)
        if found is None or length > gateway.MAX_BODY_BYTES:
            return None
        metadata = codec.metadata_from_asgi(headers, transport="rest")
        if not self._plain_instance(metadata):
            return None
        route, values = found
        if length and not route.rpc.has_body:
            return None  # the gateway answers a GET without waiting for the body it announces
        added = (*cors.response_headers(text_method, origin), gateway.ROBOTS_TAG)
        return ManagementCall(route, values, metadata, added)

    def _plain_instance(self, metadata: CallMetadata) -> bool:
        """Whether the call's instance resolves and has no faults injected."""
        try:
            instance = self.service.instances.resolve(metadata.host)
        except errors.ZitadelError:
            return False
        return not len(instance.faults)


class WebCall(_Claimed):
    """One claimed gRPC-web call: its head, then its body."""

    __slots__ = ("app", "path", "metadata", "encoding", "wire", "call")

    def __init__(
        self,
        app: web.GrpcWebApp,
        path: str,
        metadata: CallMetadata,
        encoding: str | None,
        wire: Any,
        added: tuple[tuple[bytes, bytes], ...],
    ) -> None:
        super().__init__(added)
        self.app = app
        self.path = path
        self.metadata = metadata
        self.encoding = encoding
        self.wire = wire
        self.call: web.WebCall | None = None

    def _prepare(self) -> None:
        self.call = self.app.prepare(
            self.path, self.metadata, self.encoding, self.wire, bytes(self.body)
        )
        self.plan = self.call.plan

    def _result(self) -> Answer:
        assert self.call is not None
        return self._wire_answer(self.call.invoke(self.app.service), None)

    def _failure(self, error: errors.ZitadelError) -> Answer:
        return self._wire_answer(None, error)

    def _unexpected(self, exc: Exception) -> errors.ZitadelError:
        web.logger.error("gRPC-web call %s failed", self.path, exc_info=exc)
        return web.UNEXPECTED

    def _wire_answer(self, response: Any, error: errors.ZitadelError | None) -> Answer:
        headers, payload = web.answer(self.wire, response, error)
        return Answer(200, [*headers, *self.added], payload)


# What the lane's protocol side (lane_cycle) holds: either kind of call.
LaneCall = ManagementCall | WebCall
