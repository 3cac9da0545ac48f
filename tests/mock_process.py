"""``python -m mock_server --port 0`` as a real process: start it, read the ports it bound from
its banner, signal it, and collect how it ended."""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

MANAGEMENT = re.compile(r"^  Management API  http://([^/]+)/management/v1$")
OWN_PORT = re.compile(r"^  gRPC own port\s+(\S+)$")
CONTROL = re.compile(r"^  Control plane   (\S+)")


@dataclass
class MockProcess:
    process: subprocess.Popen
    banner: list[str] = field(default_factory=list)
    stderr: str = ""

    @property
    def address(self) -> str:
        return next(m.group(1) for line in self.banner if (m := MANAGEMENT.match(line)))

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1])

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    @property
    def grpc_own_port(self) -> int:
        target = next(m.group(1) for line in self.banner if (m := OWN_PORT.match(line)))
        return int(target.rsplit(":", 1)[1])

    def signal(self, signum: int = signal.SIGTERM) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float) -> int:
        """The exit status; the process is killed (and the test fails) if it outlives timeout."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"the mock did not exit within {timeout} s") from None
        self.stderr = self.process.stderr.read()
        return code


def start_mock(
    *args: str, timeout: float = 30, command: Sequence[str] = (sys.executable, "-m", "mock_server")
) -> MockProcess:
    """Start the mock on free ports and return once its banner is printed and it serves;
    ``command`` is how to run it (another environment's ``zitadel-mock``, say)."""
    process = subprocess.Popen(
        [*command, "--port", "0", "--log-level", "warning", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in process.stdout:
            lines.put(line.rstrip("\n"))
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    mock = MockProcess(process)
    deadline = time.monotonic() + timeout
    in_resources = False
    while True:
        try:
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            process.kill()
            raise AssertionError("the mock printed no banner") from None
        if line is None:
            raise AssertionError(f"the mock stopped: {process.communicate()[1]}")
        mock.banner.append(line)
        if line == "Resources:":
            in_resources = True
        elif in_resources and line == "":
            return mock
