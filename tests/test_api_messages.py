"""Refusals speak Chinese and name the field by its label; every answer carries a stable `code`
(issue 13 item 2). pydantic's English (`Field required`, `Input should be a valid integer`,
`JSON decode error`, `String should have at most 200 characters`) never reaches a person."""

from __future__ import annotations

import re

from api.messages import readable_problem
from engine.auth.service import create_user
from tests.auth_helpers import issue_token

ENGLISH = re.compile(r"\b(?!JSON\b)[A-Za-z]{4,}")  # an English word; JSON is the format's name


def no_english(body: dict) -> bool:
    return not ENGLISH.search(body["detail"] + " ".join(body["problems"]))


def test_query_parameters_are_refused_in_chinese(client):
    not_a_number = client.get("/api/public/duties", params={"offset": "abc"})
    assert not_a_number.status_code == 422
    body = not_a_number.json()
    assert body["code"] == "invalid_input" and body["problems"] == ["起始位置：应为整数"] and no_english(body)
    too_big = client.get("/api/public/duties", params={"offset": "-1"}).json()
    assert too_big["problems"] == ["起始位置：应不小于 0"] and no_english(too_big)


def test_a_page_names_the_field_too(client):
    page = client.get("/catalog", params={"q": "低" * 201})
    assert page.status_code == 422
    assert "查询词：最多 200 个字符" in page.text and "String should" not in page.text


def test_bodies_missing_fields_and_broken_json_are_refused_in_chinese(client, settings, database, clock):
    with database.session() as session:
        create_user(session, "admin", "secret-pass-1", clock.now(), roles=["admin"])
    headers = {"Authorization": f"Bearer {issue_token(settings, 'admin')}"}
    missing = client.post("/api/instances/1/clock/pause", json={}, headers=headers)
    assert missing.status_code == 422
    assert missing.json()["problems"] == ["理由：必填"] and no_english(missing.json())
    broken = client.post("/api/instances/1/clock/pause", content=b"{not json", headers={
        **headers, "Content-Type": "application/json"})
    assert broken.status_code == 422
    assert any("不是有效的 JSON" in p for p in broken.json()["problems"]) and no_english(broken.json())


def test_domain_refusals_carry_a_stable_code(client):
    missing = client.get("/api/public/duties/NO-SUCH-DUTY")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_the_engines_field_keys_become_labels():
    # The engine words a problem "field: what is wrong"; people read the field's label.
    assert readable_problem("reason：不能为空") == "理由：不能为空"
    assert readable_problem("data.decision: 必填项「受理决定」未填写") == "必填项「受理决定」未填写"
    assert readable_problem("start: 年份应在 2000 至 2100 之间") == "开始时间：年份应在 2000 至 2100 之间"
    # A place in a file, or a key without a known label, is left as written.
    assert readable_problem("CSV 第2行 事项类型: x") == "CSV 第2行 事项类型: x"
    assert readable_problem("departments.MZ.head_post: 未指定") == "departments.MZ.head_post: 未指定"


def test_a_path_no_route_serves_is_answered_in_chinese(client):
    """The framework's own 404 and 405 said `{"detail": "Not Found"}` / `Method Not Allowed`: a
    clerk who follows a mistyped link sees a Chinese page, a client gets Chinese with a code."""
    api = client.get("/api/no-such-thing")
    assert api.status_code == 404
    assert api.json() == {"detail": "找不到这个地址：页面或接口不存在，请检查链接", "code": "not_found"}
    page = client.get("/evaluation/1/units/", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "找不到这个地址" in page.text and "Not Found" not in page.text
    wrong_method = client.delete("/api/public/duties")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed" and "请求方式" in wrong_method.json()["detail"]
    assert "allow" in {name.lower() for name in wrong_method.headers}  # the allowed methods still named


def test_a_sign_in_refusal_keeps_its_chinese_words_and_header(client):
    refused = client.get("/api/me")
    assert refused.status_code == 401
    assert refused.json() == {"detail": "请先登录", "code": "unauthorized"}
    assert refused.headers["www-authenticate"] == "Bearer"
