"""Public pages (no sign-in), sign-in, redirects of private pages and the 403 page."""

from __future__ import annotations

import pytest

from tests.browser_helpers import load_demo, sign_in

# A page module: SQLite, and PostgreSQL for the tests marked so (tests/conftest.py says why).
pytestmark = pytest.mark.backends("sqlite")


@pytest.fixture
def demo(database, clock):
    return load_demo(database, clock)


def test_public_search_finds_a_duty_by_text(client, demo):
    page = client.get("/catalog", params={"q": "婚姻登记"})
    assert page.status_code == 200
    assert "内地居民婚姻登记" in page.text
    assert 'href="/catalog/MZ-QR-001"' in page.text
    assert "最低生活保障审批" not in page.text


# On PostgreSQL too: the published regions, asked only by the public catalog.
@pytest.mark.backends("sqlite", "postgresql")
def test_public_search_filters_by_department_and_category(client, demo):
    page = client.get("/catalog", params={"department": "MZ", "category": "行政给付"})
    assert "最低生活保障审批" in page.text
    assert "内地居民婚姻登记" not in page.text
    empty = client.get("/catalog", params={"q": "不存在的事项名称"})
    assert "没有找到符合条件的事项" in empty.text


def test_duty_page_shows_basis_stages_accountability_limits_fee_phone_and_posts(client, demo):
    page = client.get("/catalog/MZ-QR-001")
    assert page.status_code == 200
    for text in ("《婚姻登记条例》第七条", "受理责任", "对不符合条件的予以登记的", "1个工作日", "0000-12345",
                 "市民政局", "婚姻登记处", "登记受理岗", "A角（主责）"):
        assert text in page.text, text


def test_unknown_duty_is_a_404_page(client, demo):
    page = client.get("/catalog/NO-SUCH-CODE")
    assert page.status_code == 404
    assert "找不到事项" in page.text and "NO-SUCH-CODE" in page.text
    assert page.headers["content-type"].startswith("text/html")


def test_drafts_are_not_public(client, database, clock):
    load_demo(database, clock, publish=False)
    page = client.get("/catalog", params={"q": "婚姻"})
    assert "尚未发布权责清单" in page.text
    assert "内地居民婚姻登记" not in page.text


@pytest.mark.parametrize("path", ["/inbox", "/dashboard", "/legal"])
def test_private_pages_redirect_to_login(client, demo, path):
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


def test_sign_in_goes_back_to_the_page_asked_for(client, demo):
    response = client.post("/login", data={"username": "s090", "password": "dutyflow-demo", "next": "/dashboard"},
                           follow_redirects=False)
    assert response.headers["location"] == "/dashboard"
    assert client.get("/dashboard").status_code == 200


def test_wrong_password_is_refused(client, demo):
    response = client.post("/login", data={"username": "s003", "password": "wrong-password"})
    assert response.status_code == 401
    assert "用户名或密码错误" in response.text
    assert client.get("/inbox", follow_redirects=False).status_code == 303


def test_sign_in_never_redirects_off_site(client, demo):
    response = client.post("/login", data={"username": "s003", "password": "dutyflow-demo",
                                           "next": "//evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/inbox"


def test_wrong_role_gets_a_403_page(client, demo):
    sign_in(client, "s003")  # 陈静, 低保审核岗: staff only
    # The permission policy's refusal, naming who may (docs/permissions.md: read_alerts, import_catalog).
    for path, refusal in (("/dashboard", "只有编办、效能办或系统管理员可以查看职责交叉与空缺预警"),
                          ("/legal", "只有法制办或系统管理员可以导入清单草稿")):
        page = client.get(path)
        assert page.status_code == 403, path
        assert refusal in page.text
    refused = client.post("/dashboard/alerts/1/dispute", follow_redirects=False)
    assert refused.status_code == 303  # back to the form with the problem flashed, nothing done
    assert "只有编办、效能办或系统管理员可以处理预警" in client.get("/catalog").text


def test_home_sends_each_role_to_its_page(client, demo):
    assert client.get("/", follow_redirects=False).headers["location"] == "/catalog"
    sign_in(client, "s003")
    assert client.get("/", follow_redirects=False).headers["location"] == "/inbox"
    client.post("/logout")
    sign_in(client, "s071")  # 编办
    assert client.get("/", follow_redirects=False).headers["location"] == "/dashboard"
    client.post("/logout")
    sign_in(client, "s081")  # 法制办
    assert client.get("/", follow_redirects=False).headers["location"] == "/legal"


def test_menu_follows_the_roles(client, demo):
    assert "我的待办" not in client.get("/catalog").text
    sign_in(client, "s080")
    text = client.get("/catalog").text
    assert "我的待办" in text and "清单管理" in text and "监督看板" not in text


def publish_changed_version(database, clock) -> int:
    """Version 2026.2 of the demo catalog with another supervision phone for 婚姻登记, published."""
    from engine.catalog import service as catalog
    from engine.catalog.io import read_catalog
    from tests.browser_helpers import DEMO_CATALOG

    document = read_catalog(DEMO_CATALOG, overrides={"version": "2026.2"})
    next(d for d in document.duties if d.code == "MZ-QR-001").phone = "0000-99999"
    clock.advance(days=1)
    with database.session() as session:
        version = catalog.import_catalog(session, document, "test", clock.now())
        catalog.publish_version(session, version.id, "test", clock.now())
        return version.id


def test_versions_page_shows_history_diff_and_downloads(client, demo, database, clock):
    newer = publish_changed_version(database, clock)
    page = client.get("/catalog/versions")
    assert page.status_code == 200
    assert "2026.1" in page.text and "2026.2" in page.text
    diff = page.text.split('id="diff-result"')[1]
    assert "变更 1 项" in diff and "监督电话" in diff and "0000-12345" in diff and "0000-99999" in diff
    link = f"/api/public/export?version={newer}&amp;format=xlsx"
    assert link in page.text
    download = client.get(link.replace("&amp;", "&"))
    assert download.status_code == 200
    assert download.content[:2] == b"PK"  # an .xlsx workbook
    assert client.get("/catalog/MZ-QR-001").text.count("0000-99999") >= 1  # the newest published version


def test_versions_diff_between_chosen_versions(client, demo, database, clock):
    newer = publish_changed_version(database, clock)
    page = client.get("/catalog/versions", params={"old": newer, "new": demo})
    assert "2026.2 → 2026.1" in page.text
    draft_refused = client.get("/catalog/versions", params={"old": 999, "new": demo})
    assert draft_refused.status_code == 404
