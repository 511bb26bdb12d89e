"""The name vectors as one sparse matrix (issue 11 item 6) hold exactly what the plain dict
vectors hold: the same n-grams cut the same way, the same weights, the rarest-first order."""

from __future__ import annotations

import csv
import math

import pytest

from engine.analysis.similarity import (
    exhaustive_pairs,
    name_vectors,
    ngrams,
    similar_pairs,
    tfidf_vectors,
)

# Names that exercise the cutting: full-width forms and Latin capitals (NFKC, lower case), a
# one-character segment, punctuation and the underscore as separators, a name with a line break
# of its own (the joined normalisation must fall back), digits, an empty name, a character
# outside the BMP, and one n-gram twice in a name (tf = 1 + ln 2).
TRICKY = [
    "企业投资项目备案（技术改造）（市级/县级）",
    "ＡＢＣ许可证核发",
    "水",
    "a_b 水-利",
    "婚姻登记\n补发",
    "第349号令",
    "",
    "𠀀𠀁审批",
    "登记登记",
]


def _rows(path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return [row["事项名称"] for row in csv.DictReader(handle)]


def _as_dicts(names: list[str]) -> list[dict[int, float]]:
    matrix = name_vectors(names).matrix
    return [
        dict(zip(matrix.indices[start:end].tolist(), matrix.data[start:end].tolist(), strict=True))
        for start, end in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True)
    ]


@pytest.mark.parametrize("extra", [[], TRICKY])
def test_matrix_rows_are_the_dict_vectors(research_csv_path, extra):
    names = _rows(research_csv_path) + extra
    vectors = name_vectors(names)
    reference, frequency = tfidf_vectors(names)
    # Columns are n-grams ranked rarest first, ties by text: rebuild that order from the dicts.
    ranked = sorted(frequency, key=lambda gram: (frequency[gram], gram))
    assert vectors.frequency.tolist() == [frequency[gram] for gram in ranked]
    column = {gram: index for index, gram in enumerate(ranked)}
    for row, expected in zip(_as_dicts(names), reference, strict=True):
        assert row.keys() == {column[gram] for gram in expected}
        for gram, weight in expected.items():
            assert math.isclose(row[column[gram]], weight, rel_tol=1e-12, abs_tol=1e-15)


def test_an_n_gram_twice_in_a_name_counts_sublinearly():
    # "登记登记": 登记 twice, 记登, 登记登 and 记登记 once. Three names: idf = ln((3+1)/(df+1)) + 1,
    # so ln(4/3) + 1 for 登记 (also in "婚姻登记", df 2) and ln(4/2) + 1 for the others (df 1);
    # tf(登记) = 1 + ln 2. The row is those weights over their Euclidean norm.
    names = ["登记登记", "婚姻登记", "水利"]
    assert ngrams(names[0]) == {"登记": 2, "记登": 1, "登记登": 1, "记登记": 1}
    idf_shared = math.log(4 / 3) + 1  # 登记: in two of the three names
    idf_own = math.log(4 / 2) + 1  # in one name
    raw = {"登记": (1 + math.log(2)) * idf_shared, "记登": idf_own, "登记登": idf_own, "记登记": idf_own}
    norm = math.sqrt(sum(w * w for w in raw.values()))
    [row] = _as_dicts(names)[:1]
    assert sorted(row.values()) == pytest.approx(sorted(w / norm for w in raw.values()), rel=1e-12)


def test_scores_are_the_cosines_and_pairs_match_all_pairs_on_tricky_names(research_csv_path):
    names = _rows(research_csv_path)[:80] + TRICKY + ["ＡＢＣ许可证核发（变更）", "婚姻登记 补发"]
    groups = [str(index % 5) for index in range(len(names))]
    vectors = name_vectors(names)
    reference, _ = tfidf_vectors(names)
    pairs = [(a, b) for a in range(0, len(names), 7) for b in range(len(names)) if a != b]
    expected = [
        min(sum(reference[a][g] * reference[b][g] for g in reference[a].keys() & reference[b].keys()), 1.0)
        for a, b in pairs
    ]
    assert vectors.scores([a for a, _ in pairs], [b for _, b in pairs]).tolist() == pytest.approx(
        expected, abs=1e-12
    )
    for threshold in (0.3, 0.75):
        fast = {(p.first, p.second): round(p.score, 9) for p in similar_pairs(names, groups, threshold)}
        slow = {(p.first, p.second): round(p.score, 9) for p in exhaustive_pairs(names, groups, threshold)}
        assert fast == slow and fast


def test_no_names_and_names_without_n_grams_give_no_pairs():
    assert similar_pairs([], []) == []
    assert similar_pairs(["", "（）", "—"], ["a", "b", "c"], 0.5) == []
