"""The 录入评分 form of /evaluation/{id} (issue 12/13): a score is the efficiency office's to enter.

Each test is one attack on `POST /evaluation/{year_id}/scores`, on both backends, and checks that
nothing was stored: a staff member posting a score for their own unit from this site (the policy's
`enter_evaluation_scores`, answered with the 403 page in Chinese); the office's own session posted
from another site (the same-origin rule of every page form, 403 before any route); the public (to
the sign-in page). The year is 市民政局 2026, opened, nothing scored yet.
"""

from __future__ import annotations

import pytest

from tests.browser_helpers import sign_in
from tests.evaluation_helpers import no_score_stored, open_demo_year

SCORE = {"subject": "unit", "code": "MZ-SHJZ", "indicator": "MGMT.LAW", "value": "100", "note": "自评满分"}


@pytest.fixture
def year_id(client, database, clock) -> int:
    return open_demo_year(database, clock)


def test_a_staff_member_cannot_post_a_score(client, database, year_id):
    sign_in(client, "s003")  # 陈静, 社会救助科 低保审核岗: scoring her own unit
    for headers in ({}, {"origin": "http://testserver"}, {"referer": f"http://testserver/evaluation/{year_id}"}):
        refused = client.post(f"/evaluation/{year_id}/scores", data=SCORE, headers=headers, follow_redirects=False)
        assert refused.status_code == 403, refused.text
        assert "只有效能办或系统管理员可以录入绩效考评评分" in refused.text
        assert 'class="score-form"' not in refused.text
    # Nor through the API with her session, nor as a person: the same policy.
    api = client.post(f"/api/evaluation/years/{year_id}/scores", json={"scores": [SCORE]})
    assert api.status_code == 403
    assert no_score_stored(database)


def test_a_unit_head_cannot_post_a_score_for_their_own_unit(client, database, year_id):
    sign_in(client, "s001")  # 王芳, head of 办公室: may read her unit's evaluation, not score it
    refused = client.post(f"/evaluation/{year_id}/scores", data=SCORE | {"code": "MZ-BGS"})
    assert refused.status_code == 403 and "录入绩效考评评分" in refused.text
    assert no_score_stored(database)


@pytest.mark.parametrize("headers", [
    {"origin": "https://evil.example"},
    {"referer": "https://evil.example/evaluation"},
    {"origin": "null"},
])
def test_the_offices_session_posted_from_another_site_is_refused(client, database, year_id, headers):
    sign_in(client, "s090")  # 彭亮, 效能办: the session a forged form would ride on
    forged = client.post(f"/evaluation/{year_id}/scores", data=SCORE, headers=headers, follow_redirects=False)
    assert forged.status_code == 403 and "跨站提交已被拒绝" in forged.text
    assert no_score_stored(database)


def test_the_public_is_sent_to_sign_in(client, database, year_id):
    anonymous = client.post(f"/evaluation/{year_id}/scores", data=SCORE, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")
    assert no_score_stored(database)
