"""Catalog look-ups the processes need: a duty's posts and limit, the head post of a department,
and the posts whose duties match a matter described in plain words (首问负责's proposal).

Plain functions of (session, version_id, …) returning JSON-ready values, so they can be tested
without an engine and stored in task data as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlmodel import Session, col

from engine.catalog import service as catalog
from engine.catalog.cells import format_limit_cell
from engine.catalog.in_force import published_answer
from engine.errors import InvalidInput, NotFound
from engine.models.catalog import (
    CatalogDepartment,
    CatalogDuty,
    CatalogDutyPost,
    CatalogObject,
    CatalogPost,
    CatalogUnit,
)


def duty_info(session: Session, version_id: int, code: str) -> dict:
    """What a case of the duty needs: names, A/B posts, the limit text and the stages."""
    try:
        duty = catalog.get_duty(session, version_id, code)
    except NotFound:
        raise InvalidInput(f"权责清单中没有事项 '{code}'", [f"duty_code: 未知事项编码 '{code}'"]) from None
    a_posts = [p.post for p in duty.posts if p.role == "A"]
    b_posts = [p.post for p in duty.posts if p.role == "B"]
    if not a_posts + b_posts:
        raise InvalidInput(f"事项 '{code}' 没有承办岗位，无法办理",
                           [f"duty_code: 事项 '{code}'（{duty.name}）在清单中没有 posts"])
    limit = duty.committed_limit or duty.statutory_limit
    return {
        "code": duty.code,
        "name": duty.name,
        "department": duty.department,
        "units": list(duty.units),
        "a_posts": a_posts,
        "b_posts": b_posts,
        # As the clocks read it back: `即办`, `无`, `20个工作日`, `1个月`, a note in brackets.
        "limit": format_limit_cell(limit),
        "stages": [{"stage": s.stage, "text": s.text} for s in duty.stages],
        "phone": duty.phone,
    }


def head_post(session: Session, version_id: int, department: str, unit: str | None = None) -> str:
    """The post that answers for a unit or department, as the catalog names it: a post marked
    `head` in the unit, else the department's `head_post`, else a post marked `head` in the
    department. None named → InvalidInput: a decision or an approval must never fall to whichever
    post happens to be listed first (a clerk would decide or approve their own case).
    A published version's answer is kept (`in_force.published_answer`)."""
    return published_answer(session, version_id, "head_post", (department, unit),
                            lambda: _read_head_post(session, version_id, department, unit))


def _read_head_post(session: Session, version_id: int, department: str, unit: str | None) -> str:
    if unit is not None:
        marked = _posts(session, version_id, col(CatalogUnit.code) == unit, col(CatalogPost.head).is_(True))
        if marked:
            return marked[0]
    named = catalog.named_department_head(session, version_id, department)
    if named:
        return named
    marked = _posts(session, version_id, col(CatalogDepartment.code) == department, col(CatalogPost.head).is_(True))
    if marked:
        return marked[0]
    where = f"内设机构 '{unit}' 和部门 '{department}'" if unit else f"部门 '{department}'"
    raise InvalidInput(f"权责清单没有为{where}指定负责人岗位，无法确定由谁决定",
                       [f"department: 清单未给{where}指定负责人岗位（head_post 或 head: true）"])


def department_head(session: Session, version_id: int, department: str) -> str:
    """Head post of a department given by code; unknown code → InvalidInput naming it."""
    if not catalog_has_department(session, version_id, department):
        raise InvalidInput(f"权责清单中没有部门 '{department}'", [f"department: 未知部门编码 '{department}'"])
    return head_post(session, version_id, department)


def catalog_has_department(session: Session, version_id: int, code: str) -> bool:
    return session.scalars(
        select(col(CatalogDepartment.id)).where(col(CatalogDepartment.version_id) == version_id, col(CatalogDepartment.code) == code)
    ).first() is not None


def check_post(session: Session, version_id: int, code: str, field: str = "post") -> str:
    """The post code when it exists in the version, else InvalidInput naming the field."""
    try:
        catalog.unit_of_post(session, version_id, code)
    except NotFound:
        raise InvalidInput(f"权责清单中没有岗位 '{code}'", [f"{field}: 未知岗位编码 '{code}'"]) from None
    return code


def _posts(session: Session, version_id: int, *conditions) -> list[str]:
    query = (
        select(col(CatalogPost.code))
        .join(CatalogUnit, col(CatalogUnit.id) == col(CatalogPost.unit_id))
        .join(CatalogDepartment, col(CatalogDepartment.id) == col(CatalogUnit.department_id))
        .where(col(CatalogPost.version_id) == version_id, *conditions)
        .order_by(col(CatalogDepartment.position), col(CatalogUnit.position), col(CatalogPost.position))
    )
    return list(session.scalars(query))


# ------------------------------------------------------------------ matching a matter to duties
@dataclass(frozen=True)
class Match:
    duty: str
    duty_name: str
    department: str
    post: str
    score: float

    def as_dict(self) -> dict:
        return {"duty": self.duty, "duty_name": self.duty_name, "department": self.department,
                "post": self.post, "score": round(self.score, 3)}


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if not c.isspace()]
    return {a + b for a, b in zip(chars, chars[1:], strict=False)}


def name_score(matter: str, duty_name: str) -> float:
    """Share of the duty name's character pairs found in the matter (0..1). Chinese names carry
    their meaning in two-character words, so pairs beat single characters and need no segmenter."""
    pairs = _bigrams(duty_name)
    if not pairs:
        return 0.0
    return len(pairs & _bigrams(matter)) / len(pairs)


def _taxonomy(session: Session, version_id: int) -> tuple[dict[str, str], dict[str, str | None]]:
    """(every object name and alias → the object's name, object → its parent)."""
    names: dict[str, str] = {}
    parents: dict[str, str | None] = {}
    for row in session.scalars(select(CatalogObject).where(col(CatalogObject.version_id) == version_id)):
        names[row.name] = row.name
        parents[row.name] = row.parent
        for alias in row.aliases:
            names[alias] = row.name
    return names, parents


def _ancestors(obj: str, parents: dict[str, str | None]) -> list[str]:
    chain, seen = [], {obj}
    parent = parents.get(obj)
    while parent and parent not in seen:
        obj = parent
        seen.add(obj)
        chain.append(obj)
        parent = parents.get(obj)
    return chain


def _object_score(duty_object: str | None, excludes: list[str], mentioned: set[str],
                  parents: dict[str, str | None]) -> float:
    """0.5 when the duty's object is named in the matter; 0.3 when it is a broader object of a named
    one (非煤矿山 for 石膏矿) and the duty does not carve the named object (or a step on the way) out."""
    if not duty_object:
        return 0.0
    if duty_object in mentioned:
        return 0.5
    for obj in mentioned:
        chain = [obj, *_ancestors(obj, parents)]
        if duty_object in chain:
            below = chain[:chain.index(duty_object)]
            if not set(below) & set(excludes):
                return 0.3
    return 0.0


# Character pairs of the matter per candidate statement (one LIKE each): a long matter is looked
# up in several statements rather than one unbounded one.
_PAIRS_PER_STATEMENT = 300
_POSTS_PER_STATEMENT = 500


def _candidates(session: Session, version_id: int, matter: str, objects: set[str]) -> dict[int, tuple]:
    """The duties that can score at all, as light rows (id → code, name, object, action, excludes,
    department): those whose name shares a character pair with the matter, or whose object is
    named or broader than one named. Any other duty scores 0, so the database leaves it out: an
    inquiry never reads a province's whole catalog."""
    duty, department = CatalogDuty, CatalogDepartment
    columns = (col(duty.id), col(duty.code), col(duty.name), col(duty.object), col(duty.action),
               col(duty.excludes), col(department.code))
    base = (select(*columns).join(department, col(department.id) == col(duty.department_id))
            .where(col(duty.version_id) == version_id))
    found: dict[int, tuple] = {}
    pairs = sorted(_bigrams(matter))
    conditions: list = [col(duty.object).in_(sorted(objects))] if objects else []
    for start in range(0, max(len(pairs), 1), _PAIRS_PER_STATEMENT):
        chunk = [col(duty.name).contains(pair, autoescape=True) for pair in pairs[start:start + _PAIRS_PER_STATEMENT]]
        if not chunk and not conditions:
            break
        for row in session.execute(base.where(or_(*chunk, *conditions))):
            found[row[0]] = tuple(row[1:])
        conditions = []  # the objects are asked once
    return found


def _first_posts(session: Session, duty_ids: list[int]) -> dict[int, str]:
    """Each duty's proposed post: its first A post, else its first post (catalog order)."""
    chosen: dict[int, tuple[bool, str]] = {}
    for start in range(0, len(duty_ids), _POSTS_PER_STATEMENT):
        rows = session.execute(
            select(col(CatalogDutyPost.duty_id), col(CatalogDutyPost.role), col(CatalogPost.code))
            .join(CatalogPost, col(CatalogPost.id) == col(CatalogDutyPost.post_id))
            .where(col(CatalogDutyPost.duty_id).in_(duty_ids[start:start + _POSTS_PER_STATEMENT]))
            .order_by(col(CatalogDutyPost.duty_id), col(CatalogDutyPost.position), col(CatalogDutyPost.id))
        )
        for duty_id, role, post in rows:
            known = chosen.get(duty_id)
            if known is None or (role == "A" and not known[0]):
                chosen[duty_id] = (role == "A", post)
    return {duty_id: post for duty_id, (_, post) in chosen.items()}


def match_duties(session: Session, version_id: int, matter: str, limit: int = 3,
                 threshold: float = 0.3) -> list[Match]:
    """Duties of the version whose object (or a broader object in the taxonomy) is named in the
    matter or whose name resembles it, best first, one entry per duty with its A post (B post when
    it has no A); duties without a post are not proposed."""
    matter = (matter or "").strip()
    if not matter:
        return []
    names, parents = _taxonomy(session, version_id)
    mentioned = {canonical for name, canonical in names.items() if name in matter}
    related = set(mentioned)
    for obj in mentioned:
        related.update(_ancestors(obj, parents))
    scored: list[tuple[float, int, str, str, str]] = []
    for duty_id, (code, name, obj, action, excludes, department) in _candidates(
            session, version_id, matter, related).items():
        score = name_score(matter, name) + _object_score(obj, excludes or [], mentioned, parents)
        if action and action in matter:
            score += 0.2
        if score >= threshold:
            scored.append((score, duty_id, code, name, department))
    posts = _first_posts(session, [duty_id for _, duty_id, _, _, _ in scored])
    matches = [Match(code, name, department, posts[duty_id], min(score, 1.0))
               for score, duty_id, code, name, department in scored if duty_id in posts]
    matches.sort(key=lambda m: (-m.score, m.duty))
    return matches[:limit]


def post_carries(session: Session, version_id: int, post: str, matter: str) -> bool:
    """Whether one of the duties the post carries (as A or B) matches the matter."""
    carried = {d.code for d in catalog.duties_of_post(session, version_id, post)}
    return any(m.duty in carried for m in match_duties(session, version_id, matter, limit=50))
