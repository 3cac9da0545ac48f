"""The mock inside a Python process: ``with ZitadelMock() as mock:`` and the test talks to it.

It binds its socket on port 0 first and hands it to the server, so parallel test processes
(pytest-xdist) never race for a port, and serves REST, gRPC-web and native gRPC on that one
port from a background thread, as the command line does. Without :meth:`ZitadelMock.start`,
:attr:`ZitadelMock.app` is the ASGI app for ``httpx.ASGITransport``: no socket at all.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mock_server.admin import describe_instance, principal_tokens
from mock_server.domain.errors import ZitadelError
from mock_server.domain.instances import Instance
from mock_server.domain.world import World
from mock_server.faults import Fault
from mock_server.fixtures import DEFAULT_SEED
from mock_server.journal import Call, Journal

if TYPE_CHECKING:
    import httpx

    from mock_server.app import MockServer

_STARTUP_TIMEOUT = 20.0


@dataclass(eq=False)
class MockInstance:
    """One instance of a running (or in-process) mock: where it is and how to call it."""

    instance: Instance
    _mock: ZitadelMock

    @property
    def id(self) -> str:
        return self.instance.id

    @property
    def name(self) -> str:
        return self.instance.name

    @property
    def host(self) -> str:
        return "localhost" if self.instance.is_default else self.instance.host

    @property
    def headers(self) -> dict[str, str]:
        """What selects this instance from any host (or as gRPC metadata)."""
        return {} if self.instance.is_default else {"x-zitadel-instance-host": self.instance.host}

    @property
    def url(self) -> str:
        """``http://<name>.localhost:<port>``, which browsers and curl resolve to loopback;
        Python's resolver does not, so Python clients use :meth:`client` or :attr:`headers`."""
        return describe_instance(self.instance, self._mock._base())["base_url"]

    @property
    def grpc_target(self) -> str:
        """Where native gRPC answers; send :attr:`headers` as metadata to reach this instance."""
        return self._mock.grpc_target

    @property
    def grpc_metadata(self) -> tuple[tuple[str, str], ...]:
        return tuple(self.headers.items())

    @property
    def tokens(self) -> dict[str, str]:
        """The token of each ready principal: instance_owner, org_owner, user_manager, ..."""
        return principal_tokens(self.instance)

    @property
    def world(self) -> World:
        """The instance's state; read it under ``world.lock`` while calls may run."""
        return self.instance.world

    def reset(self) -> None:
        self.instance.reset()

    def client(self, **options: Any) -> httpx.Client:
        """An httpx client for this instance's REST API and control plane."""
        import httpx

        headers = {**self.headers, **options.pop("headers", {})}
        # httpx builds and loads a new TLS context per client (about 50 ms) although the mock
        # speaks plain HTTP; one shared context keeps a client per test cheap.
        options.setdefault("verify", self._mock._tls_context())
        return httpx.Client(base_url=self._mock.url, headers=headers, **options)

    def delete(self) -> None:
        """Drop the instance; once it is gone (deleted, or dropped when idle) a no-op, so the
        ``zitadel_instance`` fixture's teardown never fails on a test that deleted it itself."""
        if self.instance.is_default:
            return
        with contextlib.suppress(ZitadelError):
            self._mock.server.instances.delete(self.instance.id)

    # --- the journal and injected faults (mock_server.journal, mock_server.faults) ------------

    @property
    def journal(self) -> Journal:
        return self.instance.journal

    def calls(self, rpc: str | None = None, **filters: Any) -> list[Call]:
        """The calls this instance was sent, oldest first: ``rpc``, ``outcome`` (``ok``,
        ``error``, a gRPC code name or number, an HTTP status), ``since`` (a call, an index or
        a time), ``transport``, ``injected``, and request fields by proto name (``id=...``)."""
        return self.instance.journal.calls(rpc, **filters)

    def assert_called(self, rpc: str, times: int | None = None, **fields: Any) -> list[Call]:
        """AssertionError, listing the calls made, unless ``rpc`` was called (``times``
        times) with these request fields; returns the matching calls."""
        return self.instance.journal.assert_called(rpc, times, **fields)

    def assert_not_called(self, rpc: str, **fields: Any) -> None:
        self.instance.journal.assert_not_called(rpc, **fields)

    def clear_journal(self) -> None:
        self.instance.journal.clear()

    @contextlib.contextmanager
    def inject(
        self,
        rpc: str = "*",
        *,
        code: int | str | None = None,
        message: str | None = None,
        error_id: str | None = None,
        latency: float | tuple[float, float] | str | None = None,
        drop: bool = False,
        times: int | None = None,
        fraction: float | None = None,
        seed: int = 0,
    ) -> Iterator[Fault]:
        """A fault on this instance while the block runs: fail with ``code`` (a gRPC code
        name or number; ``message``, ``error_id`` for an ErrorDetail), wait ``latency`` ms
        (or a ``(min, max)`` range), or ``drop`` the connection; for the next ``times`` calls
        or a seeded ``fraction`` of them. Raises ValueError for a fault that makes no sense."""
        spec = {
            "rpc": rpc,
            "code": code,
            "message": message,
            "error_id": error_id,
            "latency_ms": list(latency) if isinstance(latency, tuple) else latency,
            "drop": drop,
            "times": times,
            "fraction": fraction,
            "seed": seed,
        }
        fault = self.instance.faults.add({k: v for k, v in spec.items() if v is not None})
        try:
            yield fault
        finally:
            self.instance.faults.remove(fault.id)

    def clear_faults(self) -> None:
        self.instance.faults.clear()


class ZitadelMock:
    """A mock of ZITADEL's lifecycle API in this process, on free ports.

    Options are those of ``zitadel-mock``: ``seed``, ``profile``, ``fixtures`` (a file or an
    already loaded fixture document), ``read_lag`` (seconds), ``strict_instances``,
    ``max_instances``. Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        *,
        seed: int = DEFAULT_SEED,
        profile: str = "v4",
        fixtures: str | Path | dict | None = None,
        read_lag: float = 0.0,
        host: str = "127.0.0.1",
        grpc: bool = True,
        **options: Any,
    ) -> None:
        with warnings.catch_warnings():
            # connexion's imports warn about its own dependencies (Starlette's test client on
            # httpx, jsonschema's RefResolver): nothing a user of the mock can act on, so
            # none of it may reach the user's test run.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
            from mock_server.app import create_mock

            self.server: MockServer = create_mock(
                seed=seed, fixtures=fixtures, profile=profile, read_lag=read_lag, **options
            )
        self._host = host
        self._grpc = grpc
        self._port: int | None = None
        self._stack: contextlib.ExitStack | None = None
        self._thread: threading.Thread | None = None
        self._http: Any = None
        self._tls: ssl.SSLContext | None = None
        self.default = MockInstance(self.server.instances.default, self)

    # --- what a test reads ----------------------------------------------------------------

    @property
    def app(self):
        """The ASGI app (REST, gRPC-web, control plane), for ``httpx.ASGITransport``."""
        return self.server.app

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the mock is not started: use it as `with ZitadelMock() as mock`")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self._address()}:{self.port}"

    @property
    def grpc_target(self) -> str:
        if not self._grpc:
            raise RuntimeError("the mock was started with grpc=False")
        return f"{self._address()}:{self.port}"

    @property
    def tokens(self) -> dict[str, str]:
        return self.default.tokens

    @property
    def world(self) -> World:
        return self.default.world

    def reset(self) -> None:
        """The default instance back to its starting world."""
        self.default.reset()

    def client(self, **options: Any) -> httpx.Client:
        return self.default.client(**options)

    def new_instance(self, **options: Any) -> MockInstance:
        """An isolated instance: ``name``, ``seed``, ``document`` (a fixture document),
        ``extend``, ``profile``, ``read_lag``; its tokens are its own."""
        return MockInstance(self.server.instances.create(**options), self)

    # --- the default instance's journal and faults (see MockInstance) ----------------------

    def calls(self, rpc: str | None = None, **filters: Any) -> list[Call]:
        return self.default.calls(rpc, **filters)

    def assert_called(self, rpc: str, times: int | None = None, **fields: Any) -> list[Call]:
        return self.default.assert_called(rpc, times, **fields)

    def assert_not_called(self, rpc: str, **fields: Any) -> None:
        self.default.assert_not_called(rpc, **fields)

    def clear_journal(self) -> None:
        self.default.clear_journal()

    def inject(self, rpc: str = "*", **fault: Any) -> contextlib.AbstractContextManager[Fault]:
        """A fault on the default instance while the block runs; see MockInstance.inject."""
        return self.default.inject(rpc, **fault)

    def clear_faults(self) -> None:
        self.default.clear_faults()

    # --- running ------------------------------------------------------------------------

    def start(self) -> ZitadelMock:
        if self._stack is not None:
            raise RuntimeError("the mock is already started")
        import uvicorn

        from mock_server import one_port, serving

        stack = contextlib.ExitStack()
        try:
            sock = socket.create_server((self._host, 0))
            stack.callback(sock.close)
            self._port = sock.getsockname()[1]
            front, grpc_servers = None, []
            if self._grpc:
                from mock_server.grpc_front.server import GrpcFront

                front = GrpcFront(self.server.service)
                grpc_servers.append(front)
            config = uvicorn.Config(
                self.server.app,
                http=one_port.OnePortProtocol.configured(front, None, self.server.lane),
                log_level="warning",
                lifespan="off",
            )
            self._http = serving.MockServer(config, grpc_servers, grace=1.0)
            self._thread = threading.Thread(
                target=self._http.run,
                kwargs={"sockets": [sock]},
                name="zitadel-mock",
                daemon=True,
            )
            self._thread.start()
            deadline = time.monotonic() + _STARTUP_TIMEOUT
            while not self._http.started:
                if not self._thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the mock's HTTP server did not start")
                time.sleep(0.005)
        except BaseException:
            stack.close()
            self._port = None
            raise
        self._stack = stack
        return self

    def stop(self) -> None:
        if self._stack is None:
            return
        self._http.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._stack.close()
        self._stack = None
        self._thread = None

    def __enter__(self) -> ZitadelMock:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            self._tls = ssl.create_default_context()
        return self._tls

    def _address(self) -> str:
        return f"[{self._host}]" if ":" in self._host else self._host

    def _base(self) -> tuple[str, str, int]:
        return "http", self._address(), self._port or 80
