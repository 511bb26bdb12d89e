"""Rows ⇄ document: writing a whole CatalogDocument into a version's rows and reading it back.

Kept apart from the service so the service reads as the catalog's rules (drafts, publication,
look-ups) and this module as plain persistence. Order is kept through `position` columns.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select
from sqlmodel import Session, col

from engine.catalog import document as doc
from engine.models.catalog import (
    CatalogActionSynonym,
    CatalogDepartment,
    CatalogDuty,
    CatalogDutyPost,
    CatalogDutyUnit,
    CatalogMandate,
    CatalogObject,
    CatalogPost,
    CatalogPostHolder,
    CatalogRoleBinding,
    CatalogStaff,
    CatalogUnit,
)


def delete_contents(session: Session, version_id: int) -> None:
    """Remove every row of a version (children first, so foreign keys hold on both backends)."""
    duty_ids = select(col(CatalogDuty.id)).where(col(CatalogDuty.version_id) == version_id)
    session.execute(delete(CatalogDutyPost).where(col(CatalogDutyPost.duty_id).in_(duty_ids)))
    session.execute(delete(CatalogDutyUnit).where(col(CatalogDutyUnit.duty_id).in_(duty_ids)))
    session.execute(delete(CatalogDuty).where(col(CatalogDuty.version_id) == version_id))
    session.execute(delete(CatalogPostHolder).where(col(CatalogPostHolder.version_id) == version_id))
    session.execute(delete(CatalogStaff).where(col(CatalogStaff.version_id) == version_id))
    session.execute(delete(CatalogPost).where(col(CatalogPost.version_id) == version_id))
    session.execute(delete(CatalogUnit).where(col(CatalogUnit.version_id) == version_id))
    session.execute(delete(CatalogDepartment).where(col(CatalogDepartment.version_id) == version_id))
    session.execute(delete(CatalogObject).where(col(CatalogObject.version_id) == version_id))
    session.execute(delete(CatalogActionSynonym).where(col(CatalogActionSynonym.version_id) == version_id))
    session.execute(delete(CatalogMandate).where(col(CatalogMandate.version_id) == version_id))
    session.execute(delete(CatalogRoleBinding).where(col(CatalogRoleBinding.version_id) == version_id))
    session.flush()


def store_document(session: Session, version_id: int, document: doc.CatalogDocument) -> None:
    """Insert the rows of a validated document under `version_id`."""
    unit_ids, post_ids, department_ids = _store_organisation(session, version_id, document)
    _store_reference_data(session, version_id, document)
    _store_duties(session, version_id, document, department_ids, unit_ids, post_ids)
    session.flush()


def _store_organisation(session: Session, version_id: int, document: doc.CatalogDocument):
    # One flush per level: SQLAlchemy batches each level's INSERTs and fills in the ids.
    departments = [
        CatalogDepartment(version_id=version_id, position=i, code=d.code, name=d.name, kind=d.kind,
                          staffing_quota=d.staffing_quota, head_post=d.head_post)
        for i, d in enumerate(document.departments)
    ]
    session.add_all(departments)
    session.flush()
    units = [
        (unit, CatalogUnit(version_id=version_id, department_id=row.id, position=j, code=unit.code, name=unit.name,
                           staffing_quota=unit.staffing_quota))
        for department, row in zip(document.departments, departments, strict=True)
        for j, unit in enumerate(department.units)
    ]
    session.add_all(row for _, row in units)
    session.flush()
    posts = [
        (post, CatalogPost(version_id=version_id, unit_id=row.id, position=k, code=post.code, name=post.name,
                           backup=post.backup, head=post.head))
        for unit, row in units
        for k, post in enumerate(unit.posts)
    ]
    session.add_all(row for _, row in posts)
    staff: dict[str, CatalogStaff] = {}
    for post, _ in posts:
        for holder in post.holders:
            staff.setdefault(holder.id, CatalogStaff(version_id=version_id, staff_id=holder.id, name=holder.name))
    session.add_all(staff.values())
    session.flush()
    session.add_all(
        CatalogPostHolder(version_id=version_id, post_id=row.id, staff_pk=staff[holder.id].id, position=h)
        for post, row in posts
        for h, holder in enumerate(post.holders)
    )
    unit_ids = {row.code: row.id for _, row in units}
    post_ids = {row.code: row.id for _, row in posts}
    department_ids = {row.code: row.id for row in departments}
    return unit_ids, post_ids, department_ids


def _store_reference_data(session: Session, version_id: int, document: doc.CatalogDocument) -> None:
    session.add_all(
        CatalogObject(version_id=version_id, position=i, name=o.name, parent=o.parent, aliases=list(o.aliases))
        for i, o in enumerate(document.objects)
    )
    session.add_all(
        CatalogActionSynonym(version_id=version_id, position=i, variant=variant, canonical=canonical)
        for i, (variant, canonical) in enumerate(document.action_synonyms.items())
    )
    session.add_all(
        CatalogMandate(version_id=version_id, position=i, code=m.code, object=m.object, action=m.action,
                       basis=list(m.basis))
        for i, m in enumerate(document.mandates)
    )
    position = 0
    for role, targets in document.roles.items():
        for target in targets:
            session.add(CatalogRoleBinding(version_id=version_id, position=position, role=role, target=target))
            position += 1


def _store_duties(session, version_id, document, department_ids, unit_ids, post_ids) -> None:
    rows = [
        CatalogDuty(
            version_id=version_id, department_id=department_ids[duty.department], position=i,
            code=duty.code, name=duty.name, category=duty.category, role=duty.role.value,
            object=duty.object, action=duty.action, partners=list(duty.partners),
            excludes=list(duty.excludes), basis=list(duty.basis),
            stages=[{"stage": s.stage, "text": s.text} for s in duty.stages],
            accountability=list(duty.accountability),
            statutory_limit_value=duty.statutory_limit.value if duty.statutory_limit else None,
            statutory_limit_unit=duty.statutory_limit.unit.value if duty.statutory_limit else None,
            committed_limit_value=duty.committed_limit.value if duty.committed_limit else None,
            committed_limit_unit=duty.committed_limit.unit.value if duty.committed_limit else None,
            statutory_limit_note=duty.statutory_limit.note if duty.statutory_limit else None,
            committed_limit_note=duty.committed_limit.note if duty.committed_limit else None,
            notice_limit_value=duty.notice_limit.value if duty.notice_limit else None,
            notice_limit_unit=duty.notice_limit.unit.value if duty.notice_limit else None,
            extension_limit_value=duty.extension_limit.value if duty.extension_limit else None,
            extension_limit_unit=duty.extension_limit.unit.value if duty.extension_limit else None,
            fee=duty.fee, phone=duty.phone, process=duty.process,
        )
        for i, duty in enumerate(document.duties)
    ]
    session.add_all(rows)
    session.flush()
    for duty, row in zip(document.duties, rows, strict=True):
        session.add_all(
            CatalogDutyUnit(duty_id=row.id, unit_id=unit_ids[code], position=j) for j, code in enumerate(duty.units)
        )
        session.add_all(
            CatalogDutyPost(duty_id=row.id, post_id=post_ids[a.post], role=a.role, position=j)
            for j, a in enumerate(duty.posts)
        )


# ---------------------------------------------------------------- reading back


def load_departments(session: Session, version_id: int) -> list[doc.Department]:
    """The organisation of a version: departments → units → posts → holders, in document order."""
    departments = session.scalars(
        select(CatalogDepartment).where(col(CatalogDepartment.version_id) == version_id).order_by(col(CatalogDepartment.position))
    ).all()
    units = session.scalars(
        select(CatalogUnit).where(col(CatalogUnit.version_id) == version_id).order_by(col(CatalogUnit.position))
    ).all()
    posts = session.scalars(
        select(CatalogPost).where(col(CatalogPost.version_id) == version_id).order_by(col(CatalogPost.position))
    ).all()
    holder_rows = session.execute(
        select(col(CatalogPostHolder.post_id), col(CatalogStaff.staff_id), col(CatalogStaff.name))
        .join(CatalogStaff, col(CatalogStaff.id) == col(CatalogPostHolder.staff_pk))
        .where(col(CatalogPostHolder.version_id) == version_id)
        .order_by(col(CatalogPostHolder.post_id), col(CatalogPostHolder.position))
    ).all()
    holders: dict[int, list[doc.Holder]] = defaultdict(list)
    for post_id, staff_id, name in holder_rows:
        holders[post_id].append(doc.Holder(id=staff_id, name=name))
    posts_of_unit: dict[int, list[doc.Post]] = defaultdict(list)
    for post in posts:
        posts_of_unit[post.unit_id].append(
            doc.Post(code=post.code, name=post.name, holders=holders[post.id], backup=post.backup, head=post.head)
        )
    units_of_department: dict[int, list[doc.Unit]] = defaultdict(list)
    for unit in units:
        units_of_department[unit.department_id].append(
            doc.Unit(code=unit.code, name=unit.name, staffing_quota=unit.staffing_quota, posts=posts_of_unit[unit.id])
        )
    return [
        doc.Department(code=d.code, name=d.name, kind=d.kind, staffing_quota=d.staffing_quota,
                       units=units_of_department[d.id], head_post=d.head_post)
        for d in departments
    ]


def duty_documents(session: Session, rows: list[CatalogDuty]) -> list[doc.Duty]:
    """Duty documents for the given rows (their units, posts and department codes fetched in batch)."""
    if not rows:
        return []
    ids = [row.id for row in rows]
    department_codes = dict(
        session.execute(
            select(col(CatalogDepartment.id), col(CatalogDepartment.code)).where(
                col(CatalogDepartment.id).in_({row.department_id for row in rows})
            )
        ).all()
    )
    units: dict[int, list[str]] = defaultdict(list)
    for duty_id, code in session.execute(
        select(col(CatalogDutyUnit.duty_id), col(CatalogUnit.code))
        .join(CatalogUnit, col(CatalogUnit.id) == col(CatalogDutyUnit.unit_id))
        .where(col(CatalogDutyUnit.duty_id).in_(ids))
        .order_by(col(CatalogDutyUnit.duty_id), col(CatalogDutyUnit.position))
    ).all():
        units[duty_id].append(code)
    posts: dict[int, list[doc.PostAssignment]] = defaultdict(list)
    for duty_id, code, role in session.execute(
        select(col(CatalogDutyPost.duty_id), col(CatalogPost.code), col(CatalogDutyPost.role))
        .join(CatalogPost, col(CatalogPost.id) == col(CatalogDutyPost.post_id))
        .where(col(CatalogDutyPost.duty_id).in_(ids))
        .order_by(col(CatalogDutyPost.duty_id), col(CatalogDutyPost.position))
    ).all():
        posts[duty_id].append(doc.PostAssignment(post=code, role=role))
    return [_duty_document(row, department_codes[row.department_id], units[row.id], posts[row.id]) for row in rows]


def _limit(value: int | None, unit: str | None, note: str | None) -> doc.TimeLimit | None:
    # The unit says whether a limit was recorded: 即办 and 无 are stored without a value.
    return doc.TimeLimit(value=value, unit=doc.LimitUnit(unit), note=note) if unit else None


def _duty_document(row: CatalogDuty, department: str, units: list[str], posts: list[doc.PostAssignment]) -> doc.Duty:
    return doc.Duty(
        code=row.code, name=row.name, category=row.category, department=department, role=doc.DutyRole(row.role),
        partners=list(row.partners), object=row.object, action=row.action, excludes=list(row.excludes),
        basis=list(row.basis), units=units, posts=posts,
        stages=[doc.StageText(**s) for s in row.stages], accountability=list(row.accountability),
        statutory_limit=_limit(row.statutory_limit_value, row.statutory_limit_unit, row.statutory_limit_note),
        committed_limit=_limit(row.committed_limit_value, row.committed_limit_unit, row.committed_limit_note),
        notice_limit=_limit(row.notice_limit_value, row.notice_limit_unit, None),
        extension_limit=_limit(row.extension_limit_value, row.extension_limit_unit, None),
        fee=row.fee, phone=row.phone, process=row.process,
    )


def load_duties(session: Session, version_id: int) -> list[doc.Duty]:
    rows = session.scalars(
        select(CatalogDuty).where(col(CatalogDuty.version_id) == version_id).order_by(col(CatalogDuty.position))
    ).all()
    return duty_documents(session, list(rows))


def load_reference_data(session: Session, version_id: int):
    """(objects, action_synonyms, mandates, roles) of a version, in document order."""
    objects = [
        doc.TaxonomyObject(name=o.name, parent=o.parent, aliases=list(o.aliases))
        for o in session.scalars(
            select(CatalogObject).where(col(CatalogObject.version_id) == version_id).order_by(col(CatalogObject.position))
        )
    ]
    synonyms = {
        s.variant: s.canonical
        for s in session.scalars(
            select(CatalogActionSynonym)
            .where(col(CatalogActionSynonym.version_id) == version_id)
            .order_by(col(CatalogActionSynonym.position))
        )
    }
    mandates = [
        doc.Mandate(code=m.code, object=m.object, action=m.action, basis=list(m.basis))
        for m in session.scalars(
            select(CatalogMandate).where(col(CatalogMandate.version_id) == version_id).order_by(col(CatalogMandate.position))
        )
    ]
    roles: dict[str, list[str]] = {}
    for binding in session.scalars(
        select(CatalogRoleBinding)
        .where(col(CatalogRoleBinding.version_id) == version_id)
        .order_by(col(CatalogRoleBinding.position))
    ):
        roles.setdefault(binding.role, []).append(binding.target)
    return objects, synonyms, mandates, roles
