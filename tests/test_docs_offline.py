"""Issue 13, item 4: the API's description (/docs) works on an intranet with no way out — the page,
its bundle, stylesheet, start-up script and favicon all come from this server, nothing it references
(src, href, CSS url()) points at another host, and a real browser opening it asks no other host for
anything. /redoc (ReDoc fetches its vendor's logo from the internet) leads to /docs instead; the
favicon browsers ask for at /favicon.ico exists.
"""

from __future__ import annotations

import re
import secrets
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*)\1\s*\)""", re.I)
CONTENT_TYPES = {".css": ("text/css",), ".js": ("text/javascript", "application/javascript"),
                 ".svg": ("image/svg+xml",), ".ico": ("image/vnd.microsoft.icon", "image/x-icon")}


class References(HTMLParser):
    """Every address a page makes the browser load or follow: src, href, data-*-url, and CSS url()."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        self.in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name in ("src", "href", "action", "poster", "srcset") or (name.startswith("data-") and name.endswith("-url")):
                self.urls.append(value)
            if name == "style":
                self.urls.extend(match[1] for match in CSS_URL.findall(value))

    def handle_data(self, data):
        if self.in_style:
            self.urls.extend(match[1] for match in CSS_URL.findall(data))


def references(html: str) -> list[str]:
    parser = References()
    parser.feed(html)
    return parser.urls


def same_origin(url: str) -> bool:
    """A path on this server ("/x", "x"), never "//host/x" or "http(s)://other/x"."""
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc


def assert_type(response, path: str) -> None:
    for suffix, types in CONTENT_TYPES.items():
        if urlsplit(path).path.endswith(suffix):
            assert response.headers["content-type"].split(";")[0] in types, (path, response.headers["content-type"])


def test_docs_and_everything_it_references_come_from_this_server(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    urls = references(page.text)
    # The page itself: the bundle, its stylesheet, the start-up script, the favicon and the description.
    assert {urlsplit(url).path for url in urls} == {
        "/docs/assets/swagger-ui.css", "/docs/assets/swagger-ui-bundle.js", "/static/docs.js", "/static/docs.css",
        "/static/favicon.svg", "/openapi.json"}
    assert [url for url in urls if not same_origin(url)] == []
    assert "<script>" not in page.text  # no inline script: the page policy would refuse it
    for url in urls:
        asset = client.get(urljoin("/docs", url))
        assert asset.status_code == 200, url
        assert_type(asset, url)
        if url.endswith(".css"):  # a stylesheet can pull in fonts and images of its own
            inside = [match[1] for match in CSS_URL.findall(asset.text)]
            assert [ref for ref in inside if not ref.startswith("data:") and not same_origin(ref)] == [], url
            assert "@import" not in asset.text
    # docs.js turns Swagger UI's online validator (a badge fetched from the internet) off.
    assert "validatorUrl: null" in client.get("/static/docs.js").text


def test_the_description_still_lists_the_api(client):
    description = client.get("/openapi.json")
    assert description.status_code == 200
    spec = description.json()
    assert spec["info"]["title"] == "dutyflow 权责清单与效能工作流"
    assert "/api/public/versions" in spec["paths"]
    assert "/docs" not in spec["paths"] and "/favicon.ico" not in spec["paths"]


def test_redoc_leads_to_docs(client):
    """ReDoc is not served (its menu loads the Redocly logo from cdn.redoc.ly); old links still land."""
    moved = client.get("/redoc", follow_redirects=False)
    assert moved.status_code == 308 and moved.headers["location"] == "/docs"
    landed = client.get("/redoc")
    assert landed.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in landed.text


def test_docs_honours_a_proxy_prefix(app):
    """Behind a proxy mounting the app under /dutyflow, every address the page names carries it."""
    from fastapi.testclient import TestClient

    with TestClient(app, root_path="/dutyflow") as prefixed:
        page = prefixed.get("/docs")
    assert page.status_code == 200
    assert all(urlsplit(url).path.startswith("/dutyflow/") for url in references(page.text))


def test_favicon_is_served_and_linked_from_every_page(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/vnd.microsoft.icon"
    assert icon.content[:4] == b"\x00\x00\x01\x00"  # an ICO directory
    assert int.from_bytes(icon.content[4:6], "little") >= 1  # with at least one image
    page = client.get("/login")
    assert page.status_code == 200
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page.text
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert [url for url in references(page.text) if not same_origin(url)] == []


@pytest.mark.browser
def test_a_browser_renders_docs_without_asking_another_host(tmp_path):
    """Chromium opens /docs (and /redoc, /login): Swagger UI renders the operations, runs one call
    with "Try it out", and every request any of these pages makes goes to this server."""
    from playwright.sync_api import sync_playwright

    from api.main import create_app
    from engine.config import Settings
    from engine.db import Database
    from engine.migrate import upgrade
    from tests.browser_helpers import LiveServer, launch_chromium, screenshot

    url = f"sqlite:///{tmp_path / 'dutyflow.db'}"
    database = Database(url)
    upgrade(database)
    settings = Settings(database_url=url, diagrams_dir=tmp_path / "diagrams", embedded_worker="off",
                        secret_key=secrets.token_urlsafe(32))
    app = create_app(settings=settings, database=database, migrate=False)
    requests: list[str] = []
    failures: list[str] = []
    console: list[str] = []
    with LiveServer(app) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context()
        # On the context, so requests from workers and every page are seen, not only the first tab's.
        context.on("request", lambda request: requests.append(request.url))
        context.on("requestfailed", lambda request: failures.append(f"{request.url} {request.failure}"))
        page = context.new_page()
        page.on("console", lambda message: console.append(message.text) if message.type == "error" else None)
        page.goto(f"{server.url}/docs")
        page.get_by_role("heading", name="catalog 权责清单").wait_for()
        operation = page.locator(".opblock", has_text="/api/public/versions").first
        operation.locator(".opblock-summary").click()
        operation.get_by_role("button", name="Try it out").click()
        operation.get_by_role("button", name="Execute").click()
        # The call went to this server and its answer is shown (no published version yet: an empty list).
        operation.locator(".live-responses-table .response-col_status", has_text="200").wait_for()
        screenshot(page, "docs-offline")
        page.goto(f"{server.url}/redoc")
        page.get_by_role("heading", name="catalog 权责清单").wait_for()
        assert page.url == f"{server.url}/docs"
        page.goto(f"{server.url}/login")
        page.wait_for_load_state("networkidle")
        # The icon as the browser resolves it (a headless browser asks for none): this server's.
        icon = page.evaluate("document.querySelector('link[rel=icon]').href")
        browser.close()
    database.dispose()
    origin = urlsplit(server.url)
    elsewhere = [seen for seen in requests
                 if urlsplit(seen.removeprefix("blob:")).netloc != origin.netloc and not seen.startswith("data:")]
    assert elsewhere == []
    assert f"{server.url}/docs/assets/swagger-ui-bundle.js" in requests
    assert f"{server.url}/api/public/versions" in requests
    assert icon == f"{server.url}/static/favicon.svg"
    assert failures == [] and console == []
