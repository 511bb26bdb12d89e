"""The year-end 满意度测评 (satisfaction survey) of an evaluation year.

The `evaluation_survey` process opens a survey (`open_survey`) and closes it (`tally`); in
between each rater fills the standard form once through the API (`cast_ballot`):
- raters: the year's staff and the 领导班子 (`leaders`, staff ids; by default the holders of the
  department's head post); a leader votes in the leaders' group, everyone else in 中层以下;
- the form: every unit of the year (a unit survey) or every person (a staff survey), except the
  rater's own units (every unit where they hold a post, and their unit in the year) or
  themself — the unit being rated does not rate itself;
- one ballot per rater (a unique key; a second is 409), complete (every item, nothing else);
- a ballot is returned to its rater only (`own_ballot`); nobody, the efficiency office included,
  reads another's ballot: the office sees how many have voted (`progress`) and, after the tally,
  the averages entered as scores.

The tally averages each subject's scores per group in SQL (SUM and COUNT of hundredths), exactly
(a Fraction: 250/3 stays 250/3), and enters the leaders' average into `leader_indicator`
(default SATIS.LEADERS, 领导班子评议 40 %) and the others' into `staff_indicator` (SATIS.STAFF,
中层以下人员评议 60 %) through service.enter_scores; a subject without a ballot of either group
is 409, naming it.
"""

from __future__ import annotations

from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from engine.auth import policy
from engine.auth.policy import Action
from engine.auth.roles import Actor
from engine.catalog import service as catalog
from engine.catalog.in_force import catalog_version_id
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.evaluation import scheme, scoring, service
from engine.models.accountability import (
    LEADER,
    OTHER,
    SURVEY_CLOSED,
    SURVEY_OPEN,
    EvaluationBallot,
    EvaluationBallotItem,
    EvaluationSurvey,
)
from engine.models.catalog import CatalogPost, CatalogPostHolder, CatalogStaff
from engine.models.evaluation import SCOPE_DEPARTMENT, SUBJECT_STAFF, SUBJECTS, YEAR_OPEN

GROUP_NAMES = {LEADER: "领导班子", OTHER: "中层以下人员"}


def get_survey(session: Session, survey_id: int) -> EvaluationSurvey:
    survey = session.get(EvaluationSurvey, survey_id)
    if survey is None:
        raise NotFound(f"满意度测评 {survey_id} 不存在", [f"survey_id: {survey_id}"])
    return survey


def open_survey(session: Session, actor: Actor, year_id: int, subject: str, leaders: Any, leader_indicator: str,
                staff_indicator: str, now: datetime, instance_id: int | None = None) -> EvaluationSurvey:
    policy.require(actor, Action.MANAGE_EVALUATION)
    year = service.get_year(session, year_id)
    if year.status != YEAR_OPEN or year.scope_kind != SCOPE_DEPARTMENT:
        raise Conflict(f"{year.scope_name} {year.year} 年度考评不是进行中的部门考评，不能开展满意度测评",
                       [f"status: {year.status}，需要 open；scope: {year.scope_kind}"])
    if subject not in SUBJECTS:
        raise InvalidInput("测评对象应为 unit（单位）或 staff（个人）", [f"subject: {subject!r}"])
    leaves = {node.code: node for node, _ in scheme.leaves(service.tree(session, year_id, subject))}
    problems = [f"{field}: {code} 不是{scheme.SUBJECT_NAMES[subject]}指标体系的主观末级指标"
                for field, code in (("leader_indicator", leader_indicator), ("staff_indicator", staff_indicator))
                if code not in leaves or leaves[code].kind != "subjective"]
    if problems:
        raise InvalidInput("满意度测评的计分指标有误", problems)
    version_id = catalog_version_id(session)
    if isinstance(leaders, str):
        leaders = [c.strip() for c in leaders.replace("，", ",").split(",") if c.strip()]
    if not leaders:
        head = policy.department_head_post(session, year.scope_code)
        leaders = list(session.scalars(
            select(col(CatalogStaff.staff_id))
            .join(CatalogPostHolder, col(CatalogPostHolder.staff_pk) == col(CatalogStaff.id))
            .join(CatalogPost, col(CatalogPost.id) == col(CatalogPostHolder.post_id))
            .where(col(CatalogPost.version_id) == version_id, col(CatalogPost.code) == head)
            .order_by(col(CatalogPostHolder.position)))) if head else []
    leaders = [str(code) for code in leaders]
    if not leaders:
        raise InvalidInput("请列出领导班子成员（人员编号）", ["leaders: 部门未指定负责人岗位，须给出"])
    known = set(session.scalars(select(col(CatalogStaff.staff_id)).where(
        col(CatalogStaff.version_id) == version_id, col(CatalogStaff.staff_id).in_(leaders))))
    unknown = [code for code in leaders if code not in known]
    if unknown:
        raise InvalidInput("领导班子成员不在现行清单中", [f"leaders: {code} 不是清单中的人员" for code in unknown])
    survey = EvaluationSurvey(year_id=year_id, instance_id=instance_id, subject=subject, leaders=leaders,
                              leader_indicator=leader_indicator, staff_indicator=staff_indicator,
                              opened_by=actor.username, opened_at=now)
    session.add(survey)
    session.flush()
    return survey


def _rater(session: Session, actor: Actor, survey: EvaluationSurvey) -> tuple[str, set[str]]:
    """(group, codes the rater may not rate), or 403 when the actor is not a rater."""
    policy.require_ballot(actor)
    staff_id = str(actor.staff_id)
    subjects = {s.code: s for s in service.subjects(session, survey.year_id, SUBJECT_STAFF)}
    if staff_id not in subjects and staff_id not in survey.leaders:
        raise Forbidden("您不是本次满意度测评的评议人", [f"{actor.username}：不在本年度考评人员和领导班子中"])
    if survey.subject == SUBJECT_STAFF:
        return (LEADER if staff_id in survey.leaders else OTHER), {staff_id}
    version_id = catalog_version_id(session)
    own = {catalog.unit_of_post(session, version_id, post)
           for post in catalog.posts_of_staff(session, version_id, staff_id)} if version_id else set()
    if staff_id in subjects and subjects[staff_id].unit_code:
        own.add(str(subjects[staff_id].unit_code))
    return (LEADER if staff_id in survey.leaders else OTHER), own


def form(session: Session, actor: Actor, survey_id: int) -> dict[str, Any]:
    """The standard form for the rater: what to rate (own unit / oneself left out), and whether
    they have voted. Never another rater's ballot."""
    policy.require_ballot(actor)
    survey = get_survey(session, survey_id)
    group, excluded = _rater(session, actor, survey)
    items = [{"code": s.code, "name": s.name} for s in service.subjects(session, survey.year_id, survey.subject)
             if s.code not in excluded]
    voted = _ballot_of(session, survey.id, str(actor.staff_id)) is not None
    return {"survey": to_json(survey), "group": group, "group_name": GROUP_NAMES[group], "items": items,
            "excluded": sorted(excluded), "voted": voted}


def _ballot_of(session: Session, survey_id: int, staff_id: str) -> EvaluationBallot | None:
    return session.scalars(select(EvaluationBallot).where(col(EvaluationBallot.survey_id) == survey_id,
                                                          col(EvaluationBallot.rater_staff_id) == staff_id)).first()


def cast_ballot(session: Session, actor: Actor, survey_id: int, scores: Any, now: datetime) -> EvaluationBallot:
    """The rater's one ballot: {code: 0–100 with at most two decimals} for every item of the form."""
    policy.require_ballot(actor)
    survey = get_survey(session, survey_id)
    if survey.status != SURVEY_OPEN:
        raise Conflict("满意度测评已经结束，不能再投票", [f"survey {survey_id}: {survey.status}"])
    group, excluded = _rater(session, actor, survey)
    if _ballot_of(session, survey.id, str(actor.staff_id)) is not None:
        raise Conflict("您已经提交过本次满意度测评表，每人只能填写一次", [f"survey {survey_id}: 已投票"])
    if not isinstance(scores, dict):
        raise InvalidInput("测评表应为 {编码: 分数}", ["scores: 应为对象"])
    names = {s.code: s.name for s in service.subjects(session, survey.year_id, survey.subject)}
    problems = []
    own_word = "本人" if survey.subject == SUBJECT_STAFF else "本单位"
    for code in scores:
        if code in excluded:
            problems.append(f"scores.{code}: 不能评议{own_word}")
        elif code not in names:
            problems.append(f"scores.{code}: 不是本年度考评的{'人员' if survey.subject == SUBJECT_STAFF else '单位'}")
    problems += [f"scores.{code}: 未评议{names[code]}" for code in names if code not in excluded and code not in scores]
    values: dict[str, Fraction] = {}
    for code, value in scores.items():
        if code in names and code not in excluded:
            try:
                values[code] = service.parse_score(value, f"scores.{code}")
            except InvalidInput as exc:
                problems += exc.problems
    if problems:
        raise InvalidInput(f"测评表有 {len(problems)} 处问题，未保存", problems)
    ballot = EvaluationBallot(survey_id=survey.id, rater_staff_id=str(actor.staff_id), rater_group=group,
                              submitted_at=now)
    session.add(ballot)
    try:
        session.flush()
    except IntegrityError:  # a second ballot racing the first: the unique key answers
        raise Conflict("您已经提交过本次满意度测评表，每人只能填写一次", [f"survey {survey_id}: 已投票"]) from None
    session.add_all([EvaluationBallotItem(ballot_id=ballot.id, survey_id=survey.id, rater_group=group,
                                          subject_code=code, value_cents=int(value * 100))
                     for code, value in values.items()])
    session.flush()
    return ballot


def own_ballot(session: Session, actor: Actor, survey_id: int) -> dict[str, Any]:
    """The rater's own ballot, and only theirs."""
    policy.require_ballot(actor)
    survey = get_survey(session, survey_id)
    _rater(session, actor, survey)
    ballot = _ballot_of(session, survey.id, str(actor.staff_id))
    if ballot is None:
        raise NotFound("您还没有提交本次满意度测评表", [f"survey {survey_id}"])
    items = session.execute(select(col(EvaluationBallotItem.subject_code), col(EvaluationBallotItem.value_cents))
                            .where(col(EvaluationBallotItem.ballot_id) == ballot.id)
                            .order_by(col(EvaluationBallotItem.id)))
    return {"survey_id": survey.id, "group": ballot.rater_group, "submitted_at": ballot.submitted_at.isoformat(),
            "scores": {code: scoring.display(Fraction(cents, 100)) for code, cents in items}}


def progress(session: Session, actor: Actor, survey_id: int) -> dict[str, Any]:
    """How many have voted, per group (no ballot content): the efficiency office's view."""
    policy.require(actor, Action.READ_EVALUATION)
    survey = get_survey(session, survey_id)
    counts = dict(session.execute(select(col(EvaluationBallot.rater_group), func.count())
                                  .where(col(EvaluationBallot.survey_id) == survey.id)
                                  .group_by(col(EvaluationBallot.rater_group))).all())
    return {"survey": to_json(survey), "ballots": {group: int(counts.get(group, 0)) for group in (LEADER, OTHER)}}


def tally(session: Session, actor: Actor, survey_id: int, now: datetime) -> dict[str, Any]:
    """Average per subject and group in SQL, enter the averages as scores, close the survey."""
    survey = get_survey(session, survey_id)
    if survey.status != SURVEY_OPEN:
        raise Conflict("满意度测评已经结束", [f"survey {survey_id}: {survey.status}"])
    sums = session.execute(
        select(col(EvaluationBallotItem.subject_code), col(EvaluationBallotItem.rater_group),
               func.sum(col(EvaluationBallotItem.value_cents)), func.count())
        .where(col(EvaluationBallotItem.survey_id) == survey.id)
        .group_by(col(EvaluationBallotItem.subject_code), col(EvaluationBallotItem.rater_group))).all()
    averages = {(code, group): (Fraction(int(total), 100 * int(count)), int(count)) for code, group, total, count in sums}
    names = {s.code: s.name for s in service.subjects(session, survey.year_id, survey.subject)}
    missing = [f"{name}：没有{GROUP_NAMES[group]}的测评票" for code, name in names.items()
               for group in (LEADER, OTHER) if (code, group) not in averages]
    if missing:
        raise Conflict(f"有 {len(missing)} 项没有测评票，不能计分", missing)
    entries = []
    result: dict[str, Any] = {}
    for code in names:
        for group, indicator in ((LEADER, survey.leader_indicator), (OTHER, survey.staff_indicator)):
            value, count = averages[(code, group)]
            entries.append(service.ScoreEntry(survey.subject, code, indicator, value,
                                              f"满意度测评（{GROUP_NAMES[group]} {count} 票平均）"))
            result.setdefault(code, {})[group] = {"average": scoring.display(value),
                                                  "exact": str(value), "ballots": count}
    service.enter_scores(session, actor, survey.year_id, entries, now)
    survey.status, survey.closed_at = SURVEY_CLOSED, now
    session.flush()
    return result


def to_json(survey: EvaluationSurvey) -> dict[str, Any]:
    return {"id": survey.id, "year_id": survey.year_id, "instance_id": survey.instance_id, "subject": survey.subject,
            "leader_indicator": survey.leader_indicator, "staff_indicator": survey.staff_indicator,
            "status": survey.status, "opened_at": survey.opened_at.isoformat(),
            "closed_at": survey.closed_at.isoformat() if survey.closed_at else None}

