"""Chinese name similarity (事项名称) for suspected overlaps, without comparing all pairs.

Names are cut into character bigrams and trigrams (Chinese has no spaces; n-grams need no
dictionary and survive the abbreviations and qualifiers of real catalogs). Each n-gram is weighted
TF-IDF style, so 审批/登记/管理, found in thousands of names, count for little and 水利工程 counts for
much; the score of two names is the cosine of their unit vectors, in 0..1.

Blocking is exact, not heuristic (the prefix filter of Bayardo et al., "Scaling up all pairs
similarity search", WWW 2007): order n-grams rarest first; index each name only under its first
n-grams, up to the point where the weight left over has a norm below the threshold. Two names
that share none of those n-grams cannot reach the threshold (Cauchy–Schwarz), so probing the
index finds every pair above it. Rare n-grams have short posting lists, so the work grows with
the catalog roughly as n log n rather than n².

Templated catalogs break that last assumption: when tens of thousands of names share
"…行为的行政处罚", the template's n-grams reach the prefix of every name whose own words are short,
and their posting lists make the work grow with the square of the template's share. An n-gram
found in more than `max_df` names (`frequent_bound`: at least 1,000, or 2 % of the catalog) is
therefore never indexed: a pair whose only shared prefix n-grams are such template n-grams is
not found. Such pairs share the template, not the matter, and the analysis compares derived
objects (engine/analysis/names.py) where the template is already gone; below the bound (every
catalog up to 1,000 names) the search stays exact.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Default threshold: on the 311 real rows of tests/data, pairs at 0.75 and above are the same
# service under another department's name; below ~0.7 they are only the same kind of act
# ("…补贴申领" vs "…补助申领"). See docs/benchmarks.md and tests/test_analysis_similarity.py.
DEFAULT_THRESHOLD = 0.75
NGRAM_SIZES = (2, 3)

Progress = Callable[[int, int], None]
_MARGIN = 1e-6
MIN_FREQUENT = 1_000

_SEPARATORS = re.compile(r"[^\w]+|_")


@dataclass(frozen=True)
class SimilarPair:
    first: int  # index of the earlier name
    second: int
    score: float


def segments(name: str) -> list[str]:
    """Full-width forms folded (NFKC), punctuation and brackets become separators."""
    text = unicodedata.normalize("NFKC", name).lower()
    return [part for part in _SEPARATORS.split(text) if part]


def ngrams(name: str, sizes: Sequence[int] = NGRAM_SIZES) -> Counter[str]:
    """Character n-grams inside each segment; a segment shorter than every size counts whole."""
    found: list[str] = []
    smallest = min(sizes)
    for part in segments(name):
        if len(part) < smallest:
            found.append(part)
            continue
        found.extend([part[start : start + size] for size in sizes for start in range(len(part) - size + 1)])
    # One Counter built from the whole list counts in C: several times faster than += per n-gram.
    return Counter(found)


def tfidf_vectors(names: Sequence[str]) -> tuple[list[dict[str, float]], dict[str, int]]:
    """Unit-length TF-IDF vectors (sublinear tf) and the document frequency of each n-gram."""
    grams = [ngrams(name) for name in names]
    frequency: Counter[str] = Counter()
    for counts in grams:
        frequency.update(counts.keys())
    total = len(names)
    # One logarithm per distinct n-gram, not one per occurrence.
    idf = {gram: math.log((total + 1) / (df + 1)) + 1.0 for gram, df in frequency.items()}
    vectors = []
    for counts in grams:
        weights = {
            gram: idf[gram] if count == 1 else (1.0 + math.log(count)) * idf[gram] for gram, count in counts.items()
        }
        norm = math.sqrt(sum([w * w for w in weights.values()])) or 1.0
        vectors.append({gram: w / norm for gram, w in weights.items()})
    return vectors, dict(frequency)


def cosine(first: dict[str, float], second: dict[str, float]) -> float:
    # Set intersection of the keys runs in C: about twice as fast as probing one dict per key.
    return sum([first[gram] * second[gram] for gram in first.keys() & second.keys()])


def _prefix(ordered: list[str], vector: dict[str, float], threshold: float) -> tuple[list[str], float]:
    """The n-grams to index a name under (`ordered` rarest first, until the rest cannot reach
    the threshold on its own) and the norm of that unindexed rest."""
    left = sum([w * w for w in vector.values()])
    # A small margin below the threshold keeps rounding errors from dropping a pair at the edge.
    bound = (threshold - _MARGIN) ** 2
    prefix = []
    for gram in ordered:
        if left < bound:
            break
        prefix.append(gram)
        left -= vector[gram] * vector[gram]
    return prefix, math.sqrt(max(left, 0.0))


def frequent_bound(total: int) -> int:
    """Names an n-gram may be found in and still be indexed (see the module doc)."""
    return max(MIN_FREQUENT, total // 50)


def similar_pairs(
    names: Sequence[str],
    groups: Sequence[str],
    threshold: float = DEFAULT_THRESHOLD,
    skip: Callable[[int, int], bool] | None = None,
    progress: Progress | None = None,
    prepared: tuple[list[dict[str, float]], dict[str, int]] | None = None,
    max_df: int | None = None,
    open_names: Sequence[bool] | None = None,
) -> list[SimilarPair]:
    """Every pair of names from different groups (departments) with cosine >= threshold.

    `skip(i, j)` drops pairs the caller has already decided (cheaper than scoring them).
    `prepared` = the result of `tfidf_vectors(names)` when the caller needs the vectors too.
    `open_names`: when given, a pair needs at least one name marked True (the analysis compares
    names only where the overlap rule could not decide); a closed name then probes only the
    index of open names, so a catalog mostly decided by its objects costs little here.
    Pairs come sorted by (first, second).
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("相似度阈值必须在 0 到 1 之间（不含 0）")
    vectors, frequency = prepared or tfidf_vectors(names)
    bound = frequent_bound(len(names)) if max_df is None else max_df
    postings: dict[str, dict[int, float]] = defaultdict(dict)
    open_postings: dict[str, dict[int, float]] = defaultdict(dict) if open_names is not None else postings
    rest: list[float] = []
    found: list[SimilarPair] = []
    total = len(names)
    step = max(1, total // 100)
    floor = threshold - 1e-9
    admit_bound = (threshold - _MARGIN) ** 2
    # Rarest first, ties by text: one global rank, so each name's sort is a C-level key lookup.
    rank = {gram: position for position, gram in enumerate(sorted(frequency, key=lambda g: (frequency[g], g)))}
    for index, vector in enumerate(vectors):
        # Dot product over the indexed n-grams of each earlier name; what its unindexed rest can
        # add is at most rest[other] (both vectors have unit length), which prunes most candidates.
        # The probe goes rarest first too: once the weight it has left cannot reach the threshold
        # on its own, a name not met so far cannot be a match (Bayardo et al.'s probe-side bound),
        # so only names already met are updated — by looking them up, not by walking the list.
        ordered = sorted(vector, key=rank.__getitem__)
        partial: dict[int, float] = {}
        left = 1.0
        is_open = open_names is None or open_names[index]
        index_probed = postings if is_open else open_postings
        for gram in ordered:
            weight = vector[gram]
            posting = index_probed.get(gram)
            if posting:
                if left >= admit_bound:
                    for other, other_weight in posting.items():
                        partial[other] = partial.get(other, 0.0) + weight * other_weight
                elif len(partial) < len(posting):
                    for other in partial:
                        met_weight = posting.get(other)
                        if met_weight is not None:
                            partial[other] += weight * met_weight
                else:
                    for other, other_weight in posting.items():
                        if other in partial:
                            partial[other] += weight * other_weight
            left -= weight * weight
        group = groups[index]
        for other, score in partial.items():
            if score + rest[other] + _MARGIN < floor or groups[other] == group:
                continue
            if skip is not None and skip(other, index):
                continue
            score = cosine(vectors[other], vector)
            if score >= floor:
                found.append(SimilarPair(other, index, min(score, 1.0)))
        prefix, left = _prefix(ordered, vector, threshold)
        for gram in prefix:
            if frequency[gram] <= bound:
                postings[gram][index] = vector[gram]
                if open_names is not None and is_open:
                    open_postings[gram][index] = vector[gram]
        rest.append(left)
        if progress is not None and (index % step == 0 or index == total - 1):
            progress(index + 1, total)
    return sorted(found, key=lambda p: (p.first, p.second))


def exhaustive_pairs(
    names: Sequence[str], groups: Sequence[str], threshold: float = DEFAULT_THRESHOLD
) -> list[SimilarPair]:
    """The same answer by comparing every pair: O(n²), only for benchmarks and tests."""
    vectors, _ = tfidf_vectors(names)
    found = []
    for first in range(len(vectors)):
        for second in range(first + 1, len(vectors)):
            if groups[first] == groups[second]:
                continue
            score = cosine(vectors[first], vectors[second])
            if score >= threshold - 1e-9:
                found.append(SimilarPair(first, second, min(score, 1.0)))
    return found
