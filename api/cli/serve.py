"""CLI command: serve — run the web server (uvicorn)."""

from __future__ import annotations

import os

import typer

from api.cli.app import app, console


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="监听地址"),
    port: int = typer.Option(8000, help="监听端口"),
    demo: bool = typer.Option(False, "--demo", help="数据库为空时载入并发布演示清单、创建演示用户"),
    workers: int = typer.Option(1, help="uvicorn 进程数（多进程请使用 PostgreSQL）"),
) -> None:
    """启动 Web 服务（API 文档见 /docs）。"""
    import uvicorn

    if demo:
        os.environ["DUTYFLOW_DEMO"] = "1"
    console.print(f"dutyflow 服务启动：http://{host}:{port}/  （API 文档 http://{host}:{port}/docs）")
    uvicorn.run("api.main:create_app", factory=True, host=host, port=port, workers=workers)
