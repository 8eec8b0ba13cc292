"""``geosite serve``'s listening sockets: bound by the supervisor, listened on by the workers."""

from __future__ import annotations

import socket

import pytest

from geosite.cli.serve import _bind


def test_the_ports_refuse_connections_until_a_worker_serves_them() -> None:
    """The supervisor binds the ports first (a busy port stops the start at once), but only
    the workers' servers listen, once they can answer: until then a connection is refused, so
    a balancer sends the request to another machine at once instead of holding it through the
    start (a restarted machine behind nginx, tests/e2e/test_failover.py)."""
    sock = _bind("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN) == 0
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        sock.close()
