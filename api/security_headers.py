"""Security headers on every response: a Content-Security-Policy fitted to what the response is,
no framing, no content sniffing, no full URLs leaked to other sites.

- Pages (HTML) run only scripts and styles from this origin: no inline script, no inline event
  handler, no `javascript:` link, no inline style attribute — the templates keep none (app.js
  carries every behaviour). A name that slipped past escaping could at most be text.
- SVG diagrams forbid everything but their own inline presentation, and are sandboxed: an SVG
  opened on its own cannot run a script even if one got into it.
- Everything else (JSON, files) may load nothing at all.
- /docs (Swagger UI) is a page like the others: the app serves its bundle, stylesheet and start-up
  script itself (api.offline_docs), so it needs no inline script and no other host. No policy
  names any host but this one: a page that tried to reach the internet would break on an intranet
  and leak who reads what.

`frame-ancestors 'none'` and `X-Frame-Options: DENY` (for browsers without CSP level 2) keep every
response out of frames (clickjacking); `nosniff` makes browsers honour the declared type;
`Referrer-Policy: same-origin` sends no URL (task ids, search terms) to other sites.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"
OTHER_POLICY = "default-src 'none'; frame-ancestors 'none'; sandbox"

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

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                content_type = MutableHeaders(scope=message).get("content-type", "")
                _set_headers(message, policy_for(content_type))
            await send(message)

        await self.app(scope, receive, send_with_headers)
