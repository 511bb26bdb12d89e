"""The full analysis of one catalog and its report (spec: "Analysis report")."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from engine.analysis.clusters import Pair, cluster_pairs
from engine.analysis.gaps import Gap, find_gaps
from engine.analysis.names import NameParts, main_code, parse_name
from engine.analysis.overlaps import Overlap, canonical_action, find_overlaps, is_arranged
from engine.analysis.similarity import DEFAULT_THRESHOLD, Progress, name_vectors, similar_pairs
from engine.catalog.document import CatalogDocument, Duty
from engine.catalog.taxonomy import Taxonomy

APPROVAL_SUPERVISION_BOUNDARY = "approval_supervision_boundary"
# A shared main item code (主项编码) makes two items candidates; it is raised when the names also
# share this much (on the real rows: same main code, same matter ≥ 0.3; a catch-all main code
# such as 民政's 511A00450 pairs 墓地 with 社会团体 at ≤ 0.15). See docs/analysis.md.
MAIN_CODE_FLOOR = 0.3
# Same action on nested objects: a modifier in front (水利工程建设项目招标投标活动投诉 inside
# 工程建设项目招标投标活动投诉, head-final) needs a shorter object of 4 characters; a tail
# behind (互联网上网服务营业场所经营单位营业场所地址 + 计算机数量…) one of 8, as short heads such as
# 建设工程 begin very different matters.
MIN_NESTED_OBJECT = 4
MIN_PREFIX_OBJECT = 8
# Main-code groups larger than this are platform catch-alls, not one matter: not paired.
MAX_MAIN_CODE_GROUP = 200
# A nested-object block (duties on a broader object × duties on a narrower one) with more pairs
# than this is a template, not a matter: skipped, as frequent n-grams are in the name search.
MAX_NESTED_BLOCK = 10_000
# Departments whose name says they are the approval bureau (相对集中行政许可权改革).
APPROVAL_BUREAU_WORDS = ("行政审批", "审批服务", "审批局")
# Sub-item stages that belong to supervision after the licence, not to issuing it.
SUPERVISION_STAGES = frozenset({"校验"})


@dataclass(frozen=True)
class SuspectedOverlap:
    """A cluster of duties of different departments that seem to do the same thing, and why."""

    duties: tuple[str, ...]  # sorted duty codes
    departments: tuple[str, ...]
    score: float  # the highest name similarity of its pairs
    reasons: tuple[str, ...] = ()
    pairs: tuple[Pair, ...] = ()

    def to_json_dict(self) -> dict:
        data = {"duties": list(self.duties), "departments": list(self.departments), "score": round(self.score, 2)}
        if self.reasons:
            data["reasons"] = list(self.reasons)
        if len(self.pairs) > 1:
            data["pairs"] = [p.to_json_dict() for p in self.pairs]
        return data


@dataclass(frozen=True)
class Boundary:
    """审管衔接: one licence split by stage between the approval bureau and a sector bureau."""

    duties: tuple[str, ...]
    departments: tuple[str, ...]
    score: float
    reasons: tuple[str, ...] = ()
    pairs: tuple[Pair, ...] = ()
    kind: str = APPROVAL_SUPERVISION_BOUNDARY

    def to_json_dict(self) -> dict:
        return {
            "kind": self.kind,
            "duties": list(self.duties),
            "departments": list(self.departments),
            "score": round(self.score, 2),
            "reasons": list(self.reasons),
            "pairs": [p.to_json_dict() for p in self.pairs],
        }


@dataclass
class AnalysisReport:
    region: str
    version: str
    overlaps: list[Overlap] = field(default_factory=list)
    suspected_overlaps: list[SuspectedOverlap] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    threshold: float = DEFAULT_THRESHOLD
    boundaries: list[Boundary] = field(default_factory=list)

    def to_json_dict(self) -> dict:
        """The spec's JSON report; every list sorted for stable output. The 审管衔接 list is added
        only when there is one, so a catalog without it keeps exactly the spec's four keys."""
        data = {
            "catalog": {"region": self.region, "version": self.version},
            "overlaps": [o.to_json_dict() for o in self.overlaps],
            "suspected_overlaps": [s.to_json_dict() for s in self.suspected_overlaps],
            "gaps": [g.to_json_dict() for g in self.gaps],
        }
        if self.boundaries:
            data["approval_supervision_boundaries"] = [b.to_json_dict() for b in self.boundaries]
        return data


def _undecidable(duty: Duty, document: CatalogDocument, taxonomy: Taxonomy) -> bool:
    """The overlap rule cannot judge this duty: no object, no action, or an object outside the taxonomy."""
    return (
        canonical_action(duty.action, document.action_synonyms) is None
        or duty.object is None
        or taxonomy.canonical(duty.object) is None
    )


def duty_parts(duty: Duty, document: CatalogDocument) -> NameParts:
    """What the duty's name says, with the catalog's own object and action where it has them."""
    parts = parse_name(duty.name, duty.category)
    action = canonical_action(duty.action, document.action_synonyms)
    obj = duty.object.strip() if duty.object else ""
    if obj or action:
        # Built directly rather than with dataclasses.replace: ~3x cheaper, once per duty.
        parts = NameParts(parts.text, obj or parts.object, action or parts.action, parts.verb, parts.qualifiers,
                          parts.details)
    return parts


def similarity_text(parts: NameParts) -> str:
    """What names are compared on: object, details and the canonical action (审批 = 许可), without
    qualifiers, levels, citations and templates ("对…的", "…许可证核发"). Details stay apart
    (a space ends an n-gram), so 企业投资项目备案 / …（技术改造） share every n-gram of the first."""
    return " ".join((parts.object + (parts.action or ""), *parts.details))


def is_approval_bureau(name: str) -> bool:
    return any(word in name for word in APPROVAL_BUREAU_WORDS)


def _nested(first: str, second: str) -> str | None:
    """The broader of two objects when one is the other with a modifier in front or a tail behind."""
    short, long = sorted((first, second), key=len)
    if short == long:
        return None
    if len(short) >= MIN_NESTED_OBJECT and long.endswith(short):
        return short
    if len(short) >= MIN_PREFIX_OBJECT and long.startswith(short):
        return short
    return None


def _same_head(first: NameParts, second: NameParts) -> bool:
    """Same act on objects with the same head noun (…公共墓地 / …公益性墓地, …转让信息 / 资产资源信息)."""
    return bool(first.action) and first.action == second.action and first.object[-2:] == second.object[-2:]


def _stage_split(first: NameParts, second: NameParts) -> bool:
    """Different parts of one licence (one main item or one object): different acts (许可 / 备案),
    or different sub-item stages (校验 / 新办, 书面报告 of changes / 备案). The same act at the
    same stage (both 变更, or both the whole licence) is a duplicate, not a split."""
    if first.action and second.action and first.action != second.action:
        return True
    return set(first.qualifiers) != set(second.qualifiers)


def _candidates(
    duties: list[Duty], parts: list[NameParts], mains: list[str | None], allowed, similar: dict
) -> set[tuple[int, int]]:
    """Pairs worth scoring: similar names (found by the blocked search, which also finds equal
    objects under one action), one main item code, nested objects under one action. Every block
    is keyed on something rare and capped, so the work follows the candidates, not n²."""
    found = set(similar)
    by_main: dict[str, list[int]] = defaultdict(list)
    by_object: dict[tuple[str | None, str], list[int]] = defaultdict(list)
    for index, main in enumerate(mains):
        if main is not None:
            by_main[main].append(index)
        by_object[(parts[index].action, parts[index].object)].append(index)
    for members in by_main.values():
        if 1 < len(members) <= MAX_MAIN_CODE_GROUP:
            found.update((a, b) for i, a in enumerate(members) for b in members[i + 1 :] if allowed(a, b))
    for (action, obj), members in by_object.items():
        if action is None:
            continue
        # Equal objects under one action are scored by the similarity search already; nested ones
        # are looked up by each suffix and prefix of the longer object (its length, not n, bounds
        # the work).
        shorter = [obj[start:] for start in range(1, len(obj) - MIN_NESTED_OBJECT + 1)]
        shorter += [obj[:end] for end in range(MIN_PREFIX_OBJECT, len(obj))]
        for part in shorter:
            broader = by_object.get((action, part))
            if broader and len(broader) * len(members) <= MAX_NESTED_BLOCK:
                found.update(
                    (min(a, b), max(a, b)) for a in members for b in broader if allowed(min(a, b), max(a, b))
                )
    return found


def find_name_findings(
    document: CatalogDocument,
    overlaps: list[Overlap],
    taxonomy: Taxonomy,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Progress | None = None,
) -> tuple[list[SuspectedOverlap], list[Boundary]]:
    """Suspected overlaps and 审管衔接 boundaries from what names and item codes say, as clusters.

    Only pairs the overlap rule could not decide (a duty without object/action in the taxonomy),
    of different departments, not already an overlap and not an arranged lead/partner pair.
    A pair is raised for any of: name similarity ≥ threshold; one main item code and (similarity
    ≥ MAIN_CODE_FLOOR or the same act on the same head noun); the same action on nested objects.
    Between the approval bureau and another department, a pair at different parts of one licence
    (one main code or one object) is a 审管衔接 boundary, not an overlap. docs/analysis.md.
    """
    duties = document.duties
    undecidable = [_undecidable(duty, document, taxonomy) for duty in duties]
    reported = {o.duties for o in overlaps}
    department_names = {d.code: d.name for d in document.departments}

    departments = [d.department for d in duties]
    codes = [d.code for d in duties]
    # Only duties with a role or partners can be arranged: most published rows cannot.
    arranged = [bool(d.partners) for d in duties]

    def allowed(first: int, second: int) -> bool:
        if departments[first] == departments[second] or not (undecidable[first] or undecidable[second]):
            return False
        if reported and tuple(sorted((codes[first], codes[second]))) in reported:
            return False
        return not (arranged[first] and arranged[second] and is_arranged(duties[first], duties[second]))

    parts = [duty_parts(duty, document) for duty in duties]
    texts = [similarity_text(p) for p in parts]
    vectors = name_vectors(texts)
    groups = departments
    similar = {
        (p.first, p.second): p.score
        for p in similar_pairs(
            texts, groups, threshold, skip=lambda a, b: not allowed(a, b), progress=progress, prepared=vectors,
            open_names=undecidable,
        )
    }
    mains = [main_code(d.code) for d in duties]
    overlap_pairs: list[Pair] = []
    boundary_pairs: list[Pair] = []
    candidates = sorted(_candidates(duties, parts, mains, allowed, similar))
    # The pairs found by code or by nested objects are scored in one pass over the matrix.
    unscored = [pair for pair in candidates if pair not in similar]
    scored = vectors.scores([a for a, _ in unscored], [b for _, b in unscored]).tolist()
    similar.update(zip(unscored, scored, strict=True))
    for first, second in candidates:
        a, b = parts[first], parts[second]
        score = similar[(first, second)]
        reasons = []
        shared_main = mains[first] is not None and mains[first] == mains[second]
        if a.action and a.action == b.action and a.object == b.object:
            reasons.append(f"名称显示相同对象「{a.object}」和行为「{a.action}」")
        broader = _nested(a.object, b.object) if a.action and a.action == b.action else None
        if broader:
            narrower = b.object if broader == a.object else a.object
            reasons.append(f"对象「{narrower}」属于「{broader}」，行为同为「{a.action}」")
        main_evidence = shared_main and (score >= MAIN_CODE_FLOOR or _same_head(a, b))
        if main_evidence:
            reasons.append(f"同一主项编码 {mains[first]}")
        if score >= threshold - 1e-9:
            reasons.append(f"名称相似度 {score:.2f}")
        if not (broader or main_evidence or score >= threshold - 1e-9):
            continue
        if not any(r.startswith("名称相似度") for r in reasons):
            reasons.append(f"名称相似度 {score:.2f}")
        one, two = duties[first], duties[second]
        low, high = sorted((one.code, two.code))
        pair = Pair(
            duties=(low, high),
            departments=tuple(sorted({one.department, two.department})),
            score=score,
            reasons=tuple(reasons),
        )
        approval = {is_approval_bureau(department_names.get(d.department, "")) for d in (one, two)}
        same_licence = shared_main or a.object == b.object
        if approval == {True, False} and same_licence and _stage_split(a, b):
            boundary_pairs.append(pair)
        else:
            overlap_pairs.append(pair)
    suspected = [
        SuspectedOverlap(c.duties, c.departments, c.score, c.reasons, c.pairs) for c in cluster_pairs(overlap_pairs)
    ]
    boundaries = [Boundary(c.duties, c.departments, c.score, c.reasons, c.pairs) for c in cluster_pairs(boundary_pairs)]
    return suspected, boundaries


def find_suspected_overlaps(
    document: CatalogDocument,
    overlaps: list[Overlap],
    taxonomy: Taxonomy,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Progress | None = None,
) -> list[SuspectedOverlap]:
    """Suspected overlaps only (clusters), see `find_name_findings`."""
    return find_name_findings(document, overlaps, taxonomy, threshold, progress)[0]


def analyze(
    document: CatalogDocument, threshold: float = DEFAULT_THRESHOLD, progress: Progress | None = None
) -> AnalysisReport:
    """Overlaps, suspected overlaps and gaps of a (validated) catalog document.

    `progress(done, total)` is called while names are compared, for progress bars on big catalogs.
    """
    taxonomy = Taxonomy(document.objects)
    overlaps = find_overlaps(document, taxonomy)
    suspected, boundaries = find_name_findings(document, overlaps, taxonomy, threshold, progress)
    return AnalysisReport(
        region=document.catalog.region,
        version=document.catalog.version,
        overlaps=overlaps,
        suspected_overlaps=suspected,
        gaps=find_gaps(document, taxonomy),
        threshold=threshold,
        boundaries=boundaries,
    )
