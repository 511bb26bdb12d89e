"""Issue 10, finding 5 (headers): every response carries a Content-Security-Policy that allows no
inline script, refuses framing, forbids content sniffing and keeps URLs from other sites — pages,
API answers, refusals and SVG diagrams alike; and the templates hold nothing the policy would
have to allow (inline scripts, event handlers, javascript: links, style attributes).
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from pathlib import Path

import pytest

from api.security_headers import PAGE_POLICY
from tests.auth_helpers import bearer_headers
from tests.browser_helpers import load_demo

TEMPLATES = Path(__file__).resolve().parents[2] / "api" / "templates"


def directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            found[words[0]] = words[1:]
    return found


def assert_common(response) -> dict[str, list[str]]:
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    policy = directives(response.headers["content-security-policy"])
    assert policy["frame-ancestors"] == ["'none'"]
    script = policy.get("script-src", policy["default-src"])
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script and "*" not in script
    return policy


@pytest.fixture
def demo(database, clock):
    load_demo(database, clock)


def test_pages_allow_only_scripts_and_styles_of_this_site(client, demo):
    for path in ("/catalog", "/catalog/MZ-GF-001", "/login", "/catalog/NOPE"):
        response = client.get(path)
        assert response.status_code in (200, 404), path
        policy = assert_common(response)
        assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"], path
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
        assert policy["form-action"] == ["'self'"]


def test_api_answers_and_refusals_may_load_nothing(client, demo):
    for path, status in (("/api/public/duties", 200), ("/api/versions", 401), ("/api/public/duties/NOPE", 404),
                         ("/api/public/duties?offset=99999999999999999999", 422)):
        response = client.get(path)
        assert response.status_code == status, path
        policy = assert_common(response)
        assert policy["default-src"] == ["'none'"] and "sandbox" in policy, path


def test_svg_diagrams_forbid_scripts_and_are_sandboxed(client, database, clock, settings, demo):
    headers = bearer_headers(database, clock, settings, "bb", ["establishment_office"])
    for path in ("/api/diagrams/overlaps.svg", "/api/definitions/time_limited_case/diagram.svg"):
        response = client.get(path, headers=headers)
        if response.status_code == 404 and "definitions" in path:  # no process deployed in this database
            continue
        assert response.status_code == 200, path
        policy = assert_common(response)
        assert policy["default-src"] == ["'none'"] and "script-src" not in policy and "sandbox" in policy


def test_static_files_are_served_with_nosniff(client):
    response = client.get("/static/app.js")
    assert response.status_code == 200
    assert_common(response)


def test_the_api_docs_get_the_page_policy_and_no_policy_names_another_host(client, demo):
    """Issue 13, item 4: /docs is served whole by this app (api.offline_docs), so it gets the pages'
    policy — scripts and styles from this site only, no inline script, no hash — and no answer's
    policy lets anything load from another host (a CDN would leave an intranet page blank)."""
    page = client.get("/docs")
    assert page.status_code == 200
    policy = assert_common(page)
    assert page.headers["content-security-policy"] == PAGE_POLICY
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", page.text) == []  # nothing the policy would refuse
    for path in ("/docs", "/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css", "/static/docs.js",
                 "/openapi.json", "/favicon.ico", "/static/favicon.svg", "/redoc", "/catalog", "/login",
                 "/api/public/duties"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code in (200, 308), path
        assert_common(response)
        sources = response.headers["content-security-policy"].replace(";", " ").split()
        hosts = [word for word in sources
                 if "." in word or "://" in word or "*" in word or (word.endswith(":") and word != "data:")]
        assert hosts == [], (path, hosts)


def test_templates_hold_no_inline_script_handler_javascript_link_or_style():
    """What the page policy refuses must not be in a template (else a page silently breaks)."""
    offenders = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        text = template.read_text(encoding="utf-8")
        for pattern, what in ((r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", "inline script"),
                              (r"\son[a-z]+\s*=", "event handler"),
                              (r"javascript:", "javascript: link"),
                              (r"\sstyle\s*=", "style attribute"),
                              (r"<style", "style element")):
            if re.search(pattern, text, re.I):
                offenders.append(f"{template.relative_to(TEMPLATES)}: {what}")
    assert offenders == []


@pytest.mark.browser
def test_a_browser_applies_the_policy_and_the_pages_break_nothing(tmp_path):
    """Chromium reports every CSP refusal on the console: the pages a coordinator and the public
    use must cause none, and app.js (the only script allowed) must still run."""
    from playwright.sync_api import sync_playwright

    from api.main import create_app
    from engine.clock import BEIJING, ControlledClock
    from engine.config import Settings
    from engine.db import Database
    from engine.migrate import upgrade
    from tests.browser_helpers import LiveServer, launch_chromium, sign_in_page

    url = f"sqlite:///{tmp_path / 'dutyflow.db'}"
    database = Database(url)
    upgrade(database)
    clock = ControlledClock(datetime(2026, 9, 30, 9, 0, tzinfo=BEIJING))
    load_demo(database, clock)
    settings = Settings(database_url=url, diagrams_dir=tmp_path / "diagrams", embedded_worker="off",
                        secret_key=secrets.token_urlsafe(32))
    app = create_app(settings=settings, database=database, clock=clock, migrate=False)
    refusals: list[str] = []
    with LiveServer(app) as server, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        page.on("console", lambda message: refusals.append(message.text)
                if "Content Security Policy" in message.text else None)
        for path in ("/catalog", "/catalog/MZ-GF-001", "/catalog/versions"):
            page.goto(f"{server.url}{path}")
        sign_in_page(page, server.url, "s071")  # /login, its form and the page it leads to
        page.goto(f"{server.url}/dashboard")
        assert page.locator("#overlap-graph svg").count() == 1
        page.goto(f"{server.url}/catalog/NOPE")
        page.click("a:has-text('返回上一页')")  # app.js's back link, not a javascript: URL
        page.wait_for_url(f"{server.url}/dashboard")
        page.goto(f"{server.url}/docs")  # Swagger UI runs under the pages' policy, started by /static/docs.js
        page.get_by_role("heading", name="catalog 权责清单").wait_for()
        browser.close()
    database.dispose()
    assert refusals == []


HUGE = "99999999999999999999"


def test_integers_past_the_database_range_are_a_422_not_a_500(client, database, clock, settings, demo):
    """Finding 10 on the catalog, diagram and page routes: an integer past the database's INTEGER
    is refused naming the parameter (the public ones anonymously)."""
    legal = bearer_headers(database, clock, settings, "fzb", ["legal_office"])
    coordinator = bearer_headers(database, clock, settings, "bb", ["establishment_office"])
    for path, headers in ((f"/api/public/duties?offset={HUGE}", {}), (f"/api/duties?offset={HUGE}", legal),
                          (f"/api/instances/{HUGE}/diagram.svg", coordinator), (f"/catalog?page={HUGE}", {}),
                          (f"/catalog/versions?old={HUGE}&new=1", {}), (f"/catalog/MZ-GF-001?version={HUGE}", {}),
                          (f"/legal?diff={HUGE}", legal)):
        response = client.get(path, headers=headers)
        assert response.status_code == 422, (path, response.status_code)
    refused = client.post(f"/dashboard/alerts/{HUGE}/acknowledge", headers=coordinator, follow_redirects=False)
    assert refused.status_code == 303  # a refused page post goes back with the reason
    assert "提交的内容不完整或格式不对" in client.get("/dashboard", headers=coordinator).text
