"""CLI commands: worker — the timer worker (`dutyflow worker`) and a look at its queue."""

from __future__ import annotations

import logging
import signal
import threading

import typer

from api.cli.app import app, console, fail
from api.cli.database import open_database
from engine.application import wire
from engine.clock import SystemClock
from engine.runtime.worker import Worker

# The hooks are connected before any command of this module runs (api.cli.app.CommandGroup).
prepare = wire


@app.command("worker")
def worker(
    worker_id: str = typer.Option(None, "--id", help="worker 标识（缺省为 主机名:进程号:随机串）"),
    lease: float = typer.Option(60.0, "--lease", help="领取后的租约秒数；worker 中途退出时，租约过后由其他 worker 接手"),
    batch: int = typer.Option(20, "--batch", help="每次领取的到期定时器行数"),
    max_sleep: float = typer.Option(1.0, "--max-sleep", help="两次查询之间最长等待秒数"),
    once: bool = typer.Option(False, "--once", help="触发当前所有已到期的定时器、封存待封存的防篡改记录后退出"),
) -> None:
    """运行定时器 worker：唤醒到期的 BPMN 定时器和黄牌/红牌预警，并每 2 秒把待封存的防篡改记录链入哈希链（PostgreSQL 上可并行运行多个）。"""
    if batch < 1 or lease <= 0 or max_sleep <= 0:
        fail("参数无效", ["--batch 必须 ≥ 1，--lease 和 --max-sleep 必须大于 0"])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    database = open_database()
    runner = Worker(database, SystemClock(), worker_id=worker_id, lease_seconds=lease, batch=batch, max_sleep=max_sleep)
    if once:
        fired = runner.run_until_idle()
        sealed = runner.seal_audit()
        console.print(f"已触发 {fired} 个定时器/预警，封存 {sealed} 条防篡改记录（worker {runner.worker_id}）",
                      highlight=False, markup=False)
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    console.print(f"定时器 worker {runner.worker_id} 已启动（Ctrl+C 停止）", highlight=False, markup=False)
    runner.run_forever(stop)
    stats = runner.stats
    console.print(
        f"worker 已停止：触发 {stats.fired}，无需触发 {stats.noop}，被他人接手 {stats.lost}，待重试 {stats.retried}",
        highlight=False, markup=False,
    )
