"""Raw bytes over a socket to a running mock, for the tests that send what no HTTP client
would (pipelined heads, broken requests) and read the server's bytes as they are."""

from __future__ import annotations

import socket


def exchange(port: int, data: bytes, *, quiet: float | None = None, timeout: float = 15) -> bytes:
    """Send ``data`` and return what comes back until the server closes the connection or,
    with ``quiet``, until it has sent nothing for that many seconds (a connection it keeps
    alive). A server that answers and closes before reading all of ``data`` is no error."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before reading it all (431, 400)
        if quiet is not None:
            sock.settimeout(quiet)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:
            if quiet is None:
                raise
        return received
