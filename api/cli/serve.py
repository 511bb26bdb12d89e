"""CLI command: serve — run the web server (uvicorn)."""

from __future__ import annotations

import os

import typer
import uvicorn

from api.cli.app import app, console, fail
from api.cli.database import open_database
from engine.application import wire
from engine.config import SettingsError, prepare_secret_key

# The hooks are connected before any command of this module runs (api.cli.app.CommandGroup).
prepare = wire


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
    # Migrate here, once, before uvicorn starts its workers: a database that cannot be reached or
    # migrated is reported one time, and the workers find the schema ready. Their own start-up
    # (demo set-up, processes/) is serialised by the same lock (engine.db.Database.startup_lock),
    # which also covers a second `serve` or a `dutyflow worker` started at the same moment.
    open_database().dispose()
    console.print(f"dutyflow 服务启动：http://{host}:{port}/  （API 文档 http://{host}:{port}/docs）")
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-* from 127.0.0.1; the app
    # believes them only from DUTYFLOW_FORWARDED_ALLOW_IPS (api.main.create_app).
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers, proxy_headers=False)
