"""Refuse cross-site form posts: a change made with the session cookie must come from this site.

The pages authenticate with a session cookie, which a browser attaches to any request to this
host. `SameSite=lax` already keeps it off cross-site POSTs in current browsers; this is the second
line (OWASP: verify the origin with standard headers). A POST, PUT, PATCH or DELETE that carries
the session cookie and names an origin (`Origin`, else `Referer`) other than this host — or the
opaque origin `null` — is answered 403 and reaches no route. Requests without the cookie (the API
with a bearer token, which no other site can attach) and requests naming no origin at all
(command-line clients; browsers always send `Origin` on a POST) pass unchanged.

The sign-in form is checked even without the cookie (login CSRF): a foreign page posting its own
account's password to /login would otherwise sign the victim's browser into the attacker's
account, and whatever the victim then enters lands there.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFUSAL = "跨站提交已被拒绝：请在本系统的页面上操作。"
# Paths whose posts are checked whether or not they carry the session cookie.
ALWAYS_CHECKED_PATHS = frozenset({"/login"})


class SameOriginMiddleware:
    def __init__(self, app: ASGIApp, cookie_name: str, trusted_origins: tuple[str, ...] = (),
                 always_checked: frozenset[str] = ALWAYS_CHECKED_PATHS):
        self.app = app
        self.cookie_name = cookie_name
        self.trusted_hosts = frozenset(urlsplit(o).netloc.lower() for o in trusted_origins if o)
        self.always_checked = always_checked

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] == "http" and scope["method"] in UNSAFE_METHODS
                and self._cross_site(scope["path"], Headers(scope=scope))):
            await PlainTextResponse(REFUSAL, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _cross_site(self, path: str, headers: Headers) -> bool:
        checked = path.rstrip("/") in self.always_checked
        if not checked and self.cookie_name not in cookie_parser(headers.get("cookie", "")):
            return False
        origin = headers.get("origin") or headers.get("referer")
        if origin is None:
            return False
        source = urlsplit(origin.strip()).netloc.lower()
        if not source:  # "null" (sandboxed or privacy-stripped) or not a URL: not this site
            return True
        return source != headers.get("host", "").lower() and source not in self.trusted_hosts
