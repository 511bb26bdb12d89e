"""Bad values in the 录入评分 form and the score API answer a Chinese 4xx and store nothing.

Two values got through before:
- a score in exponent notation past Decimal's precision (`1e400`, `9E+99`): `parse_score` rounded it
  to hundredths before checking the range, `Decimal.quantize` raised InvalidOperation, and the form,
  `POST /api/evaluation/years/{id}/scores` and every 满意度测评 ballot answered 500;
- a note with a NUL character: stored as is on SQLite (a note no page shows whole), refused by the
  database only on PostgreSQL.
Both are the engine's rule now (engine.evaluation.service), so the page, the API and the CLI refuse
them alike, naming the field. The year is 市民政局 2026, opened, nothing scored yet. Both backends.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from engine.errors import InvalidInput
from engine.evaluation import service
from tests.auth_helpers import bearer_headers
from tests.browser_helpers import sign_in
from tests.evaluation_helpers import no_score_stored, open_demo_year

SCORE = {"subject": "unit", "code": "MZ-SHJZ", "indicator": "MGMT.LAW", "value": "90", "note": "依据年度报告"}
HUGE = ["1e400", "9E+99", "1E+999999", "0.5e-999999", "-1e400"]


@pytest.fixture
def year_id(client, database, clock) -> int:
    return open_demo_year(database, clock)


@pytest.mark.parametrize("value", HUGE)
def test_a_score_in_exponent_notation_is_refused_by_the_form(client, database, year_id, value):
    sign_in(client, "s090")  # 彭亮, 效能办
    refused = client.post(f"/evaluation/{year_id}/scores", data=SCORE | {"value": value}, follow_redirects=False)
    assert refused.status_code == 422, refused.text[:300]
    assert "分数应为 0–100 的数，最多两位小数" in refused.text and f"分数：填写的是「{value}」" in refused.text
    assert no_score_stored(database)


def test_a_score_in_exponent_notation_is_refused_by_the_api(client, database, clock, settings, year_id):
    office = bearer_headers(database, clock, settings, "xnb", ["efficiency_office"])
    for value in HUGE:
        refused = client.post(f"/api/evaluation/years/{year_id}/scores", headers=office,
                              json={"scores": [SCORE | {"value": value}]})
        assert refused.status_code == 422, (value, refused.text)
        assert "不是 0–100 的数（最多两位小数）" in refused.text
    # The engine rule itself, as the CLI and the survey's ballots call it.
    for value in HUGE:
        with pytest.raises(InvalidInput):
            service.parse_score(value, "分数")
    assert service.parse_score("99.50", "分数") == Fraction(199, 2)  # 99.5 = 199/2, exactly
    assert no_score_stored(database)


def test_a_note_with_a_nul_character_is_refused_on_both_backends(client, database, clock, settings, year_id):
    sign_in(client, "s090")
    refused = client.post(f"/evaluation/{year_id}/scores", data=SCORE | {"note": "依据\x00年度报告"},
                          follow_redirects=False)
    assert refused.status_code == 422, refused.text[:300]
    assert "说明或依据：不能含空字符（NUL）" in refused.text
    office = bearer_headers(database, clock, settings, "xnb", ["efficiency_office"])
    api = client.post(f"/api/evaluation/years/{year_id}/scores", headers=office,
                      json={"scores": [SCORE | {"note": "依据\x00年度报告"}]})
    assert api.status_code == 422 and "不能含空字符" in api.text
    sanction = client.post(f"/api/evaluation/years/{year_id}/sanctions", headers=office,
                           json={"kind": "punished", "code": "S005", "reason": "违纪\x00"})
    assert sanction.status_code == 422, sanction.text
    assert no_score_stored(database)
