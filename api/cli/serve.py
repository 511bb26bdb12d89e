"""CLI command: serve — run the web server (uvicorn).

The settings and the secret key are checked before anything heavy is loaded: the database layer
and the engine's hooks (`engine.application`: the whole engine) come in only once they pass
(`load`, api.cli.app), so a refused start answers at once (~2 s of CPU less) and names its
variable. The hooks are connected before the database is opened, as the other commands' `prepare`
does before they run."""

from __future__ import annotations

import os
import socket
import sys

import typer
import uvicorn
from uvicorn.supervisors import Multiprocess

from api.cli.app import app, console, fail, load
from engine.config import SettingsError, prepare_secret_key

# uvicorn's own exit status when the server did not start (uvicorn.main.STARTUP_FAILURE).
STARTUP_FAILURE = 3


class TcpConfig(uvicorn.Config):
    """uvicorn's settings, with a listening socket that says it is TCP.

    With `--workers` above 1 uvicorn binds the socket itself (`Config.bind_socket`) and leaves its
    protocol number at 0. Accepted connections inherit it, and asyncio turns on TCP_NODELAY only
    for sockets that report IPPROTO_TCP, so Nagle's algorithm stayed on: the response body waited
    for the client's delayed ACK, ~40 ms on every keep-alive request after the first (uvicorn
    issue #3149, open in 0.54). Measured here with `serve --workers 2`: GET /favicon.ico on a
    kept-alive connection 44 ms, on a new one 1.7 ms, with one worker 1.0 ms. The same descriptor,
    re-wrapped with the protocol named, is what the workers inherit."""

    def bind_socket(self) -> socket.socket:
        sock = super().bind_socket()
        if sock.family not in (socket.AF_INET, socket.AF_INET6) or sock.proto == socket.IPPROTO_TCP:
            return sock
        tcp = socket.socket(sock.family, socket.SOCK_STREAM, socket.IPPROTO_TCP, fileno=sock.detach())
        tcp.set_inheritable(True)
        return tcp


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="监听地址"),
    port: int = typer.Option(8000, help="监听端口"),
    demo: bool = typer.Option(False, "--demo", help="数据库为空时载入并发布演示清单、创建演示用户"),
    workers: int = typer.Option(1, min=1, help="uvicorn 进程数（多进程请使用 PostgreSQL）"),
) -> None:
    """启动 Web 服务（API 文档见 /docs）。"""
    if demo:
        os.environ["DUTYFLOW_DEMO"] = "1"
    try:
        # Every setting checked, and the secret key found (or, for the demo on a loopback address,
        # made) before any worker starts: a bad or missing one stops here with its variable named.
        prepare_secret_key(host, demo)
    except SettingsError as exc:
        fail(exc.message, exc.problems)
    load("engine.application").wire()
    # Migrate here, once, before uvicorn starts its workers: a database that cannot be reached or
    # migrated is reported one time, and the workers find the schema ready. Their own start-up
    # (demo set-up, processes/) is serialised by the same lock (engine.db.Database.startup_lock),
    # which also covers a second `serve` or a `dutyflow worker` started at the same moment.
    load("api.cli.database").open_database().dispose()
    console.print(f"dutyflow 服务启动：http://{host}:{port}/  （API 文档 http://{host}:{port}/docs）")
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-* from 127.0.0.1; the app
    # believes them only from DUTYFLOW_FORWARDED_ALLOW_IPS (api.main.create_app).
    config = TcpConfig("api.main:create_app", factory=True, host=host, port=port, workers=workers, proxy_headers=False)
    server = uvicorn.Server(config)
    try:
        if config.workers > 1:
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
    except KeyboardInterrupt:
        pass
    if config.workers == 1 and not server.started:
        sys.exit(STARTUP_FAILURE)
