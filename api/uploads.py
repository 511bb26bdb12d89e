"""Catalog file uploads (the API's import route and the legal office's upload page): the body is
capped at MAX_UPLOAD_BYTES and refused with 413 and a Chinese message naming the limit.

A module of its own because both the API routes (api.routes.catalog) and the pages
(api.pages.legal) take uploads, and the pages may not import the routes (the routes assemble the
pages: api.routes.pages).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.routing import APIRoute
from starlette.types import Message, Receive

from engine.catalog.limits import MAX_UPLOAD_BYTES, mb

UPLOAD_TOO_LARGE = f"上传内容过大：清单文件不能超过 {mb(MAX_UPLOAD_BYTES)}"


class UploadTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(status_code=413, detail=UPLOAD_TOO_LARGE)


def _counting(receive: Receive) -> Receive:
    """`receive` that refuses the body as soon as more than MAX_UPLOAD_BYTES have arrived."""
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > MAX_UPLOAD_BYTES:
                raise UploadTooLarge()
        return message

    return counted


def declares_too_much(request: Request) -> bool:
    """The request's Content-Length says it is over MAX_UPLOAD_BYTES."""
    length = request.headers.get("content-length", "")
    return length.isascii() and length.isdigit() and int(length) > MAX_UPLOAD_BYTES


class UploadRoute(APIRoute):
    """A route taking a catalog file: its body is capped at MAX_UPLOAD_BYTES, answered 413 with a
    Chinese message naming the limit.

    A declared Content-Length over the limit is refused before a byte is read; a body sent without
    one is counted as it arrives and refused the moment it passes the limit, so nothing over the
    limit is ever spooled. (FastAPI's own `max_body_size` does the same but answers a fixed
    English "Content Too Large" that a route cannot replace.)
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def upload_handler(request: Request) -> Response:
            if declares_too_much(request):
                raise UploadTooLarge()
            return await handler(Request(request.scope, _counting(request.receive)))

        return upload_handler
