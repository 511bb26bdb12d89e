"""The full analysis of one catalog and its report (spec: "Analysis report")."""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.analysis.gaps import Gap, find_gaps
from engine.analysis.overlaps import Overlap, canonical_action, find_overlaps, is_arranged
from engine.analysis.similarity import DEFAULT_THRESHOLD, Progress, similar_pairs
from engine.analysis.taxonomy import Taxonomy
from engine.catalog.document import CatalogDocument, Duty


@dataclass(frozen=True)
class SuspectedOverlap:
    duties: tuple[str, str]  # sorted duty codes
    departments: tuple[str, ...]
    score: float

    def to_json_dict(self) -> dict:
        return {"duties": list(self.duties), "departments": list(self.departments), "score": round(self.score, 2)}


@dataclass
class AnalysisReport:
    region: str
    version: str
    overlaps: list[Overlap] = field(default_factory=list)
    suspected_overlaps: list[SuspectedOverlap] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    threshold: float = DEFAULT_THRESHOLD

    def to_json_dict(self) -> dict:
        """Exactly the spec's JSON report; every list sorted for stable output."""
        return {
            "catalog": {"region": self.region, "version": self.version},
            "overlaps": [o.to_json_dict() for o in self.overlaps],
            "suspected_overlaps": [s.to_json_dict() for s in self.suspected_overlaps],
            "gaps": [g.to_json_dict() for g in self.gaps],
        }


def _undecidable(duty: Duty, document: CatalogDocument, taxonomy: Taxonomy) -> bool:
    """The overlap rule cannot judge this duty: no object, no action, or an object outside the taxonomy."""
    return (
        canonical_action(duty.action, document.action_synonyms) is None
        or duty.object is None
        or taxonomy.canonical(duty.object) is None
    )


def find_suspected_overlaps(
    document: CatalogDocument,
    overlaps: list[Overlap],
    taxonomy: Taxonomy,
    threshold: float = DEFAULT_THRESHOLD,
    progress: Progress | None = None,
) -> list[SuspectedOverlap]:
    """Similar names in different departments that the overlap rule could not decide."""
    duties = document.duties
    undecidable = [_undecidable(duty, document, taxonomy) for duty in duties]
    reported = {o.duties for o in overlaps}

    def skip(first: int, second: int) -> bool:
        a, b = duties[first], duties[second]
        return (
            not (undecidable[first] or undecidable[second])
            or tuple(sorted((a.code, b.code))) in reported
            or is_arranged(a, b)
        )

    pairs = similar_pairs(
        [d.name for d in duties], [d.department for d in duties], threshold, skip=skip, progress=progress
    )
    suspected = [
        SuspectedOverlap(
            duties=tuple(sorted((duties[p.first].code, duties[p.second].code))),
            departments=tuple(sorted({duties[p.first].department, duties[p.second].department})),
            score=p.score,
        )
        for p in pairs
    ]
    return sorted(suspected, key=lambda s: s.duties)


def analyze(
    document: CatalogDocument, threshold: float = DEFAULT_THRESHOLD, progress: Progress | None = None
) -> AnalysisReport:
    """Overlaps, suspected overlaps and gaps of a (validated) catalog document.

    `progress(done, total)` is called while names are compared, for progress bars on big catalogs.
    """
    taxonomy = Taxonomy(document.objects)
    overlaps = find_overlaps(document, taxonomy)
    return AnalysisReport(
        region=document.catalog.region,
        version=document.catalog.version,
        overlaps=overlaps,
        suspected_overlaps=find_suspected_overlaps(document, overlaps, taxonomy, threshold, progress),
        gaps=find_gaps(document, taxonomy),
        threshold=threshold,
    )
