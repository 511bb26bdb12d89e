"""Overlaps (职责交叉): duties of different departments on the same canonical action whose objects
are equal or related in the taxonomy, per the spec's "What the analysis must find".

Duties are indexed by (canonical action, canonical object), so each duty only meets the duties on
its own object and on its ancestors: the cost follows the number of overlaps found, not n².
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from engine.catalog.document import CatalogDocument, Duty, DutyRole
from engine.catalog.taxonomy import Taxonomy

SAME_OBJECT = "same_object"
TAXONOMY = "taxonomy"
TWO_LEADS = "two_leads"


@dataclass(frozen=True)
class Overlap:
    kind: str
    object: str  # the narrower object (the one both duties cover)
    action: str  # canonical action
    duties: tuple[str, str]  # sorted duty codes
    departments: tuple[str, ...]  # sorted department codes

    def to_json_dict(self) -> dict:
        return {
            "kind": self.kind,
            "object": self.object,
            "action": self.action,
            "duties": list(self.duties),
            "departments": list(self.departments),
        }


def canonical_action(action: str | None, synonyms: Mapping[str, str]) -> str | None:
    """The canonical form of an action (安全监督管理 -> 安全监管); None when absent.

    Synonym chains (a -> b -> c) are followed, guarding against loops in user data.
    """
    if action is None or not action.strip():
        return None
    current = action.strip()
    seen = {current}
    while current in synonyms:
        current = synonyms[current].strip()
        if current in seen:
            break
        seen.add(current)
    return current


def duty_object(duty: Duty, taxonomy: Taxonomy) -> str | None:
    """The duty's object in canonical form: taxonomy name, or the stripped free text."""
    if duty.object is None or not duty.object.strip():
        return None
    return taxonomy.canonical(duty.object) or duty.object.strip()


def is_arranged(first: Duty, second: Duty) -> bool:
    """A lead/partner arrangement counts only when reciprocal: each names the other's department."""
    roles = {first.role, second.role}
    return (
        roles == {DutyRole.lead, DutyRole.partner}
        and second.department in first.partners
        and first.department in second.partners
    )


def _share_a_lead(first: Duty, second: Duty, candidates: list[Duty]) -> bool:
    """Two partners of one lead (each reciprocally arranged with it) belong to the same arrangement.

    The spec names only lead/partner pairs; without this, every lead with two partners would
    raise a partner-vs-partner overlap, which the arrangement itself already settles.
    """
    if first.role != DutyRole.partner or second.role != DutyRole.partner:
        return False
    return any(c.role == DutyRole.lead and is_arranged(c, first) and is_arranged(c, second) for c in candidates)


def _excluded(broad: Duty, narrow_object: str, taxonomy: Taxonomy) -> bool:
    """The broader duty carves out the narrower object or one of its ancestors below the broad object."""
    if not broad.excludes:
        return False
    carved = {taxonomy.canonical(name) or name.strip() for name in broad.excludes}
    return any(node in carved for node in taxonomy.path_between(broad.object, narrow_object))


def _classify(broad: Duty, narrow: Duty, same: bool) -> str:
    if same and broad.role == DutyRole.lead and narrow.role == DutyRole.lead:
        return TWO_LEADS
    return SAME_OBJECT if same else TAXONOMY


def find_overlaps(document: CatalogDocument, taxonomy: Taxonomy | None = None) -> list[Overlap]:
    """Every overlapping pair of duties, sorted by duty codes."""
    taxonomy = taxonomy or Taxonomy(document.objects)
    synonyms = document.action_synonyms
    index: dict[tuple[str, str], list[Duty]] = defaultdict(list)
    keyed: list[tuple[Duty, str, str]] = []
    for duty in document.duties:
        action = canonical_action(duty.action, synonyms)
        obj = duty_object(duty, taxonomy)
        if action is None or obj is None:
            continue
        index[(action, obj)].append(duty)
        keyed.append((duty, action, obj))

    found: dict[tuple[str, str], Overlap] = {}
    for narrow, action, obj in keyed:
        # The duty's own object first, then each ancestor (broader objects) in the taxonomy.
        for level, broader_object in enumerate((obj, *taxonomy.ancestors(obj))):
            same = level == 0
            for broad in index.get((action, broader_object), ()):
                if broad.department == narrow.department or is_arranged(broad, narrow):
                    continue
                # The leads are gathered only for two partners (the only case _share_a_lead can hold):
                # on a big catalog the lists behind one object and action are long.
                if (
                    broad.role == DutyRole.partner
                    and narrow.role == DutyRole.partner
                    and _share_a_lead(
                        broad, narrow, [*index[(action, obj)], *index.get((action, broader_object), ())]
                    )
                ):
                    continue
                if not same and _excluded(broad, obj, taxonomy):
                    continue
                first, second = sorted((broad.code, narrow.code))
                pair = (first, second)
                if pair in found:
                    continue
                found[pair] = Overlap(
                    kind=_classify(broad, narrow, same),
                    object=obj,
                    action=action,
                    duties=pair,
                    departments=tuple(sorted({broad.department, narrow.department})),
                )
    return sorted(found.values(), key=lambda o: (o.duties, o.kind))
