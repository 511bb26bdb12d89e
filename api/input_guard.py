"""Bad input answered 4xx, never 500: NUL characters, and values the database itself refuses.

Every route bounds its own integers (api.deps.DB_INT_MAX) and parses its own references; two kinds
of bad input reach the database through any text parameter whatever the route, so they are caught
here once:

- A NUL character (%00) in the path or the query string. PostgreSQL text cannot hold NUL and
  psycopg refuses it (DataError), SQLite would store a string that no page can show. No parameter
  of dutyflow has a use for it: refused with 422 before any route runs.
- A value the database refuses as data (SQLSTATE class 22 — NUL inside a JSON body, a number out
  of a column's range, a string longer than its column): sqlalchemy's DataError, answered 422 with
  a Chinese message instead of an internal error. It is logged with its traceback, since a value
  the server made itself would also land here and is a bug to fix.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import unquote_to_bytes

from fastapi import Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.types import ASGIApp, Receive, Scope, Send

log = logging.getLogger(__name__)

NUL_REFUSED = "请求含有空字符（NUL，%00），已拒绝"
DATA_REFUSED = "提交的数据无法保存：含有空字符、超出范围的数字或超长的文本"


class RefuseNulMiddleware:
    """422 for a request whose path or query string carries a NUL character (raw or %00)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            where = _nul_place(scope)
            if where:
                body = json.dumps({"detail": NUL_REFUSED, "problems": [f"{where}: 不允许出现空字符"]},
                                  ensure_ascii=False).encode()
                await send({"type": "http.response.start", "status": 422,
                            "headers": [(b"content-type", b"application/json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _nul_place(scope: Scope) -> str | None:
    path = scope.get("raw_path") or scope.get("path", "").encode("utf-8", "surrogateescape")
    if b"\x00" in unquote_to_bytes(path) or "\x00" in scope.get("path", ""):
        return "路径"
    if b"\x00" in unquote_to_bytes(scope.get("query_string", b"").replace(b"+", b" ")):
        return "查询参数"
    return None


async def data_error_answer(request: Request, exc: DataError) -> JSONResponse:
    """The database refused a value as data: the client's input, answered 422 in Chinese."""
    log.warning("database refused data on %s %s: %s", request.method, request.url.path, exc.orig, exc_info=exc)
    return JSONResponse(status_code=422, content={"detail": DATA_REFUSED, "problems": [
        "请检查提交的文本（不得含空字符）、数字（不得超出范围）和各字段的长度"]})
