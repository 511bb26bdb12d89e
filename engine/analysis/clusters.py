"""Pairs of duties grouped into clusters: one finding per connected group, not one per pair.

A licence split into five sub-items at one department and held whole by another gives five
pairs; a coordinator reads them as one question ("who issues this licence?"). The pairs of one
kind are the edges of a graph (networkx); each connected component is one cluster, carrying
every pair that formed it with its score and reasons.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

SIMILARITY_REASON = "名称相似度"


@dataclass(frozen=True)
class Pair:
    """Two duties (sorted codes) of different departments and why they were paired."""

    duties: tuple[str, str]
    departments: tuple[str, ...]
    score: float  # name similarity of the two (0..1)
    reasons: tuple[str, ...]

    def to_json_dict(self) -> dict:
        return {"duties": list(self.duties), "score": round(self.score, 2), "reasons": list(self.reasons)}


@dataclass(frozen=True)
class Cluster:
    duties: tuple[str, ...]  # sorted
    departments: tuple[str, ...]  # sorted
    pairs: tuple[Pair, ...]  # sorted by duty codes

    @property
    def score(self) -> float:
        return max(p.score for p in self.pairs)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Every distinct reason of its pairs in the order first seen, the name similarity once
        (its highest score); each pair keeps its own reasons."""
        found = dict.fromkeys(r for p in self.pairs for r in p.reasons if not r.startswith(SIMILARITY_REASON))
        return (*found, f"{SIMILARITY_REASON} {self.score:.2f}")


def cluster_pairs(pairs: Iterable[Pair]) -> list[Cluster]:
    """Connected components of the pairs, sorted by their first duty code."""
    graph = nx.Graph()
    for pair in pairs:
        graph.add_edge(*pair.duties, pair=pair)
    clusters = []
    for component in nx.connected_components(graph):
        members = graph.subgraph(component)
        found = sorted((data["pair"] for _, _, data in members.edges(data=True)), key=lambda p: p.duties)
        clusters.append(
            Cluster(
                duties=tuple(sorted(component)),
                departments=tuple(sorted({d for p in found for d in p.departments})),
                pairs=tuple(found),
            )
        )
    return sorted(clusters, key=lambda c: c.duties)
