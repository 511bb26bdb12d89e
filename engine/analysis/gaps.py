"""Gaps (职责空缺): mandates nobody carries, duties without unit or post, vacant posts, posts
without a backup (B角), and units or departments over their staffing quota (超编)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from engine.analysis.overlaps import canonical_action, duty_object
from engine.catalog.document import CatalogDocument, Department, Duty, Mandate, Unit
from engine.catalog.taxonomy import Taxonomy

MANDATE_UNCOVERED = "mandate_uncovered"
DUTY_WITHOUT_UNIT = "duty_without_unit"
DUTY_WITHOUT_POST = "duty_without_post"
POST_VACANT = "post_vacant"
POST_WITHOUT_BACKUP = "post_without_backup"
OVER_QUOTA = "over_quota"
# A catalog where no duty names a unit or a post has no 三定 decomposition at all (a published
# table): one finding per department with its count, not "no unit" and "no post" for every row.
NO_SANDING = "no_sanding"
GAP_KINDS = (
    MANDATE_UNCOVERED, DUTY_WITHOUT_UNIT, DUTY_WITHOUT_POST, POST_VACANT, POST_WITHOUT_BACKUP, OVER_QUOTA, NO_SANDING,
)


@dataclass(frozen=True)
class Gap:
    kind: str
    ref: str  # code of the mandate, duty, post, unit or department
    count: int | None = None  # duties concerned, for a department-level gap (no_sanding)

    def to_json_dict(self) -> dict:
        data: dict[str, str | int] = {"kind": self.kind, "ref": self.ref}
        if self.count is not None:
            data["count"] = self.count
        return data


def _covers(duty: Duty, duty_obj: str, mandate_obj: str, taxonomy: Taxonomy) -> bool:
    """The duty's object is the mandate's object or one of its ancestors, and is not carved out."""
    if duty_obj != mandate_obj and not taxonomy.is_ancestor(duty_obj, mandate_obj):
        return False
    if not duty.excludes:
        return True
    carved = {taxonomy.canonical(name) or name.strip() for name in duty.excludes}
    if mandate_obj in carved:
        return False
    return not any(node in carved for node in taxonomy.path_between(duty_obj, mandate_obj))


def uncovered_mandates(document: CatalogDocument, taxonomy: Taxonomy) -> list[Gap]:
    by_action: dict[str, list[tuple[Duty, str]]] = defaultdict(list)
    for duty in document.duties:
        action = canonical_action(duty.action, document.action_synonyms)
        obj = duty_object(duty, taxonomy)
        if action and obj:
            by_action[action].append((duty, obj))
    gaps = []
    for mandate in document.mandates:
        if not _mandate_covered(mandate, by_action, document, taxonomy):
            gaps.append(Gap(MANDATE_UNCOVERED, mandate.code))
    return gaps


def _mandate_covered(mandate: Mandate, by_action, document: CatalogDocument, taxonomy: Taxonomy) -> bool:
    action = canonical_action(mandate.action, document.action_synonyms)
    mandate_obj = taxonomy.canonical(mandate.object) or mandate.object.strip()
    return any(_covers(duty, obj, mandate_obj, taxonomy) for duty, obj in by_action.get(action, ()))


def has_sanding(document: CatalogDocument) -> bool:
    """Some duty of the catalog is decomposed to a unit or a post."""
    return any(duty.units or duty.posts for duty in document.duties)


def unstaffed_duties(document: CatalogDocument) -> list[Gap]:
    if not has_sanding(document):
        counts: dict[str, int] = defaultdict(int)
        for duty in document.duties:
            counts[duty.department] += 1
        return [Gap(NO_SANDING, department, count) for department, count in counts.items()]
    gaps = []
    for duty in document.duties:
        if not duty.units:
            gaps.append(Gap(DUTY_WITHOUT_UNIT, duty.code))
        if not duty.posts:
            gaps.append(Gap(DUTY_WITHOUT_POST, duty.code))
    return gaps


def post_gaps(document: CatalogDocument) -> list[Gap]:
    gaps = []
    for post in document.posts_by_code().values():
        if not post.holders:
            gaps.append(Gap(POST_VACANT, post.code))
        if not post.backup:
            gaps.append(Gap(POST_WITHOUT_BACKUP, post.code))
    return gaps


def _holders(unit: Unit) -> set[str]:
    # A person holding two posts of a unit takes one place of its quota, not two.
    return {holder.id for post in unit.posts for holder in post.holders}


def _department_holders(department: Department) -> set[str]:
    return set().union(*(_holders(unit) for unit in department.units)) if department.units else set()


def over_quota(document: CatalogDocument) -> list[Gap]:
    gaps = []
    for department in document.departments:
        if department.staffing_quota is not None and len(_department_holders(department)) > department.staffing_quota:
            gaps.append(Gap(OVER_QUOTA, department.code))
        for unit in department.units:
            if unit.staffing_quota is not None and len(_holders(unit)) > unit.staffing_quota:
                gaps.append(Gap(OVER_QUOTA, unit.code))
    return gaps


def find_gaps(document: CatalogDocument, taxonomy: Taxonomy | None = None) -> list[Gap]:
    """Every gap of the catalog, sorted by kind then reference."""
    taxonomy = taxonomy or Taxonomy(document.objects)
    gaps = [
        *uncovered_mandates(document, taxonomy),
        *unstaffed_duties(document),
        *post_gaps(document),
        *over_quota(document),
    ]
    return sorted(set(gaps), key=lambda g: (g.kind, g.ref))
