"""Security headers on every response: a Content-Security-Policy fitted to what the response is,
no framing, no content sniffing, no full URLs leaked to other sites.

- Pages (HTML) run only scripts and styles from this origin: no inline script, no inline event
  handler, no `javascript:` link, no inline style attribute — the templates keep none (app.js
  carries every behaviour). A name that slipped past escaping could at most be text.
- SVG diagrams forbid everything but their own inline presentation, and are sandboxed: an SVG
  opened on its own cannot run a script even if one got into it.
- Everything else (JSON, files) may load nothing at all.
- /docs and /redoc (FastAPI's Swagger UI and ReDoc) load their bundles from the CDN FastAPI names
  and start them with an inline script: that script is allowed by its SHA-256 hash, computed on
  the page as it is sent, and the CDN hosts by name. They show only this API's own description.

`frame-ancestors 'none'` and `X-Frame-Options: DENY` (for browsers without CSP level 2) keep every
response out of frames (clickjacking); `nosniff` makes browsers honour the declared type;
`Referrer-Policy: same-origin` sends no URL (task ids, search terms) to other sites.
"""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"

DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")
# What fastapi.openapi.docs pages load: the Swagger UI / ReDoc bundles from jsDelivr, ReDoc's
# Google fonts, FastAPI's favicon, Swagger UI's validator badge; ReDoc styles itself inline and
# runs a worker from a blob.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' https://cdn.jsdelivr.net{hashes}; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; "
    "img-src 'self' data: https://fastapi.tiangolo.com https://cdn.jsdelivr.net https://validator.swagger.io; "
    "worker-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)

FIXED_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def policy_for(content_type: str) -> str:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "text/html":
        return PAGE_POLICY
    if media_type == "image/svg+xml":
        return SVG_POLICY
    return OTHER_POLICY


def docs_policy(body: bytes) -> str:
    """The docs page's policy, allowing exactly the inline scripts this body holds by their hashes."""
    hashes = "".join(
        f" 'sha256-{base64.b64encode(hashlib.sha256(script).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(body)
    )
    return DOCS_POLICY.format(hashes=hashes)


def _set_headers(message: Message, policy: str) -> None:
    headers = MutableHeaders(scope=message)
    headers["Content-Security-Policy"] = policy
    for name, value in FIXED_HEADERS.items():
        headers[name] = value


class SecurityHeadersMiddleware:
    """Pure ASGI middleware (it leaves streaming and background tasks as they are)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] in DOCS_PATHS:
            await self._docs(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                content_type = MutableHeaders(scope=message).get("content-type", "")
                _set_headers(message, policy_for(content_type))
            await send(message)

        await self.app(scope, receive, send_with_headers)

    async def _docs(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The docs pages are small and generated: held whole, so their inline scripts can be hashed."""
        start: Message | None = None
        body = bytearray()

        async def hold(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body", False):
                return
            _set_headers(start, docs_policy(bytes(body)))
            await send(start)
            await send({"type": "http.response.body", "body": bytes(body), "more_body": False})

        await self.app(scope, receive, hold)
