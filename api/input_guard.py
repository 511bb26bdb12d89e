"""Bad input answered 4xx, never 500: NUL characters, and values the database itself refuses.

Every route bounds its own integers (api.deps.DB_INT_MAX) and parses its own references; two kinds
of bad input reach the database through any text parameter whatever the route, so they are caught
here once:

- A NUL character (%00) in the path or the query string. PostgreSQL text cannot hold NUL and
  psycopg refuses it (DataError), SQLite would store a string that no page can show. No parameter
  of dutyflow has a use for it: refused with 422 before any route runs.
- A body larger than the request needs (`BodyLimitMiddleware`): start data, form posts and JSON
  commands are small, so anything over MAX_BODY_BYTES is refused with 413 before the route parses
  it. The file uploads have their own, larger caps (`api.uploads.UploadRoute`, the BPMN
  upload's definition check) and are left to them.
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
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


# Start data, completion forms and commands are a few KB (the runtime refuses data over 64 KB
# anyway); 1 MB leaves room for long comments while a client can no longer make the server parse
# and hold hundreds of megabytes of JSON before any check runs.
MAX_BODY_BYTES = 1024 * 1024
# Routes that take files and enforce their own, larger caps with their own messages.
OWN_CAP_PATHS = ("/api/import", "/legal/import", "/api/definitions")
BODY_REFUSED = "请求内容过大：超过 1 MB（上传清单请用导入功能）"


def _refusal(status: int, detail: str, problem: str) -> tuple[dict, dict]:
    body = json.dumps({"detail": detail, "problems": [problem]}, ensure_ascii=False).encode()
    start = {"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]}
    return start, {"type": "http.response.body", "body": body}


class BodyLimitMiddleware:
    """413 for a request body over MAX_BODY_BYTES on every route but the file uploads.

    A declared Content-Length over the cap is refused before a byte is read. A body sent without
    one (chunked) is read here up to the cap and then handed on as received, so the refusal can
    still be a clean 413 rather than an error raised inside a route that is half-way through
    parsing; at most MAX_BODY_BYTES are ever held."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(OWN_CAP_PATHS):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None:
            if length.isdigit() and int(length) > self.limit:
                await self._refuse(send, f"Content-Length: {length.decode()} 字节")
                return
            await self.app(scope, receive, send)  # the server stops reading at the declared length
            return
        if scope.get("method") in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            if size > self.limit:
                await self._refuse(send, f"已超过 {self.limit} 字节")
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, problem: str) -> None:
        start, body = _refusal(413, BODY_REFUSED, f"body: {problem}")
        await send(start)
        await send(body)
