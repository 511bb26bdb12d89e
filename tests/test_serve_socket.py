"""`dutyflow serve --workers N` answers kept-alive connections without Nagle's delay.

uvicorn binds the listening socket itself for several workers and leaves its protocol number at 0;
asyncio then never sets TCP_NODELAY on the accepted connections, and every request after the first
on a kept-alive connection waited ~40 ms for the client's delayed ACK (api/cli/serve.py explains).
What a clerk's browser or an office's client feels: each click 40 ms slower. Checked on the socket
itself, not by timing: the accepted connection must carry TCP_NODELAY.
"""

from __future__ import annotations

import asyncio
import socket

from api.cli.serve import TcpConfig


def accepted_nodelay(listener: socket.socket) -> int:
    """TCP_NODELAY of a connection accepted by an asyncio server on `listener`, as uvicorn's are."""

    async def run() -> int:
        seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport) -> None:
                sock = transport.get_extra_info("socket")
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        port = listener.getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(seen, 10)
        finally:
            writer.close()
            server.close()

    return asyncio.run(run())


def test_the_workers_listening_socket_is_tcp_and_connections_skip_nagle():
    config = TcpConfig("api.main:create_app", factory=True, host="127.0.0.1", port=0, workers=2)
    listener = config.bind_socket()
    assert (listener.family, listener.proto) == (socket.AF_INET, socket.IPPROTO_TCP)
    assert listener.get_inheritable()  # the workers inherit it
    listener.listen()
    assert accepted_nodelay(listener) == 1
