"""Pairs grouped into clusters: one finding per connected group."""

from __future__ import annotations

from engine.analysis.clusters import Pair, cluster_pairs


def pair(a, b, score, *reasons):
    return Pair(duties=tuple(sorted((a, b))), departments=tuple(sorted({a[0], b[0]})), score=score, reasons=reasons)


def test_one_item_against_five_sub_items_is_one_cluster():
    # W-1 (卫健 校验) paired with each of S-1..S-5 (审批局 sub-items of the same licence).
    pairs = [pair("W-1", f"S-{k}", 0.5 + k / 10, "同一主项编码 511A00137") for k in range(1, 6)]
    clusters = cluster_pairs(pairs)
    assert len(clusters) == 1
    cluster = clusters[0]
    assert cluster.duties == ("S-1", "S-2", "S-3", "S-4", "S-5", "W-1")
    assert cluster.departments == ("S", "W")
    assert len(cluster.pairs) == 5
    assert cluster.score == 1.0  # the highest pair: 0.5 + 5/10
    assert cluster.reasons == ("同一主项编码 511A00137", "名称相似度 1.00")


def test_unconnected_pairs_stay_apart_and_chains_join():
    clusters = cluster_pairs([pair("A-1", "B-1", 0.8), pair("C-1", "D-1", 0.9), pair("B-1", "E-1", 0.76)])
    assert [c.duties for c in clusters] == [("A-1", "B-1", "E-1"), ("C-1", "D-1")]
    assert [c.score for c in clusters] == [0.8, 0.9]
    assert cluster_pairs([]) == []
