"""The object taxonomy (对象分类) as a networkx DAG: edges run parent -> child.

Aliases resolve to the object itself (石膏矿山 is 石膏矿). Names that are not in the taxonomy are
"free text" objects: the overlap rules can only compare them for equality.

Part of the catalog because the catalog's validator refuses a taxonomy with a cycle
(`find_taxonomy_cycles`); the analysis, above the catalog, walks the same graph (`Taxonomy`).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cached_property

import networkx as nx

from engine.catalog.document import TaxonomyObject


def build_graph(objects: Iterable[TaxonomyObject]) -> nx.DiGraph:
    """Every object is a node; an edge parent -> child for each `parent` given."""
    graph = nx.DiGraph()
    for item in objects:
        graph.add_node(item.name)
    for item in objects:
        if item.parent:
            graph.add_edge(item.parent, item.name)
    return graph


def find_taxonomy_cycles(objects: Iterable[TaxonomyObject]) -> list[list[str]]:
    """Every cycle of `parent` links, each as the list of object names around it (sorted for stable output).

    Used by the catalog validator: any cycle makes a catalog invalid.
    """
    graph = build_graph(list(objects))
    cycles = []
    for cycle in nx.simple_cycles(graph):
        # Rotate so the smallest name comes first: the same cycle always prints the same way.
        start = cycle.index(min(cycle))
        cycles.append(cycle[start:] + cycle[:start])
    return sorted(cycles)


class Taxonomy:
    """Look-ups over a cycle-free taxonomy: canonical names, ancestors, descendants."""

    def __init__(self, objects: Iterable[TaxonomyObject]):
        objects = list(objects)
        self.graph = build_graph(objects)
        if not nx.is_directed_acyclic_graph(self.graph):
            cycles = find_taxonomy_cycles(objects)
            raise ValueError(f"对象分类存在循环：{' → '.join(cycles[0])}")
        self._canonical: dict[str, str] = {name: name for name in self.graph.nodes}
        for item in objects:
            for alias in item.aliases:
                self._canonical.setdefault(alias, item.name)

    def canonical(self, name: str | None) -> str | None:
        """The taxonomy name for `name` (aliases resolved), or None when it is not in the taxonomy."""
        if name is None:
            return None
        return self._canonical.get(name.strip())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.strip() in self._canonical

    @cached_property
    def _ancestors(self) -> dict[str, tuple[str, ...]]:
        # Ancestors nearest first; computed once because overlap and gap rules ask for every duty.
        result: dict[str, tuple[str, ...]] = {}
        for node in nx.topological_sort(self.graph):
            parents = list(self.graph.predecessors(node))
            chain: list[str] = []
            for parent in parents:
                for name in (parent, *result[parent]):
                    if name not in chain:
                        chain.append(name)
            result[node] = tuple(chain)
        return result

    def ancestors(self, name: str) -> tuple[str, ...]:
        """Canonical ancestors of `name`, nearest first; empty for roots and free-text names."""
        canonical = self.canonical(name)
        return self._ancestors.get(canonical, ()) if canonical else ()

    def descendants(self, name: str) -> set[str]:
        canonical = self.canonical(name)
        return set(nx.descendants(self.graph, canonical)) if canonical else set()

    def is_ancestor(self, ancestor: str, name: str) -> bool:
        """True when `ancestor` lies strictly above `name`."""
        canonical = self.canonical(ancestor)
        return canonical is not None and canonical in self.ancestors(name)

    def path_between(self, ancestor: str | None, name: str) -> list[str]:
        """Objects from `name` up to, but not including, `ancestor` (for excludes checks)."""
        top = self.canonical(ancestor)
        start = self.canonical(name)
        if top is None or start is None:
            return []
        return [node for node in (start, *self.ancestors(start)) if node != top and top in self.ancestors(node)]
