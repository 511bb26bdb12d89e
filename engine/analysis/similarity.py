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

The search runs on the whole catalog at once (numpy, scipy.sparse): the vectors are one sparse
matrix, probing is a product of a block of probes with the index. The same pairs as walking
the posting lists name by name, which cost over half of the analysis at 100,000 names in
Python (issue 11 item 6); `exhaustive_pairs` and `tfidf_vectors` stay as the plain reference.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

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
    """Unit-length TF-IDF vectors (sublinear tf) as dicts, and the document frequency of each
    n-gram: the plain reference `exhaustive_pairs` checks the blocked search against."""
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


@dataclass(frozen=True)
class NameVectors:
    """The TF-IDF vectors of many names as one sparse matrix (a row per name, unit length).

    Columns are n-grams in rank order, rarest first (ties by text), so each row's entries come
    in the order the blocked search walks them; `frequency[c]` is the number of names holding
    the n-gram of column c. The same weights as `tfidf_vectors`, computed with numpy over all
    names at once instead of one dict per name (issue 11 item 6: at 100,000 names the dicts and
    the per-pair Python loop were most of the analysis)."""

    matrix: sparse.csr_matrix
    frequency: np.ndarray

    def __len__(self) -> int:
        return int(self.matrix.shape[0])

    def scores(self, first: Sequence[int] | np.ndarray, second: Sequence[int] | np.ndarray) -> np.ndarray:
        """Cosine of each pair (first[k], second[k]), capped at 1."""
        first, second = np.asarray(first, dtype=np.int64), np.asarray(second, dtype=np.int64)
        if not len(first):
            return np.zeros(0)
        products = self.matrix[first].multiply(self.matrix[second])
        return np.minimum(np.asarray(products.sum(axis=1)).ravel(), 1.0)


# A code point fits in 21 bits: an n-gram of up to three characters is one int64 (a trigram's
# first character is never 0, so trigrams, bigrams and single characters never collide).
_BITS = 21
_CHAR = (1 << _BITS) - 1


def _normalised(names: Sequence[str]) -> list[str]:
    """Each name as `segments` sees it (NFKC, lower case), normalised in one call when possible."""
    texts = unicodedata.normalize("NFKC", "\n".join(names)).lower().split("\n")
    if len(texts) != len(names):  # a name with a line break of its own
        texts = [unicodedata.normalize("NFKC", name).lower() for name in names]
    return texts


def _gram_codes(names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(row, code) of every n-gram occurrence, as `ngrams` cuts them, computed on code points.

    Names are joined with a separator after each; a character is a separator when
    `_SEPARATORS` matches it (decided once per distinct character)."""
    texts = _normalised(names)
    joined = "\n".join(texts) + "\n"
    points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    rows = np.repeat(np.arange(len(texts), dtype=np.int64), np.fromiter(map(len, texts), dtype=np.int64) + 1)
    # The characters present, by counting rather than sorting; each is classified once.
    distinct = np.flatnonzero(np.bincount(points))
    separator = np.zeros(int(distinct[-1]) + 1, dtype=bool)
    separator[distinct] = np.fromiter((_SEPARATORS.fullmatch(chr(c)) is not None for c in distinct.tolist()), dtype=bool)
    word = ~separator[points]
    # The joined text ends with a separator, so p + 1 and p + 2 stay inside once p is a word
    # character followed by one.
    after = np.append(word[1:], False)
    before = np.insert(word[:-1], 0, False)
    two = word & after
    three = two & np.append(after[1:], False)
    single = word & ~after & ~before
    at_two, at_three = np.flatnonzero(two), np.flatnonzero(three)
    at_single = np.flatnonzero(single)
    codes = np.concatenate(
        (
            points[at_single],
            (points[at_two] << _BITS) | points[at_two + 1],
            (points[at_three] << 2 * _BITS) | (points[at_three + 1] << _BITS) | points[at_three + 2],
        )
    )
    return np.concatenate((rows[at_single], rows[at_two], rows[at_three])), codes


def _text_key(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Characters 1..3 of each n-gram code (-1 past its end): sorting on them sorts by text."""
    trigram, bigram = codes >= 1 << 2 * _BITS, codes >= 1 << _BITS
    first = np.where(trigram, codes >> 2 * _BITS, np.where(bigram, codes >> _BITS, codes))
    second = np.where(trigram, (codes >> _BITS) & _CHAR, np.where(bigram, codes & _CHAR, -1))
    third = np.where(trigram, codes & _CHAR, -1)
    return first, second, third


def name_vectors(names: Sequence[str]) -> NameVectors:
    """`NameVectors` of the names (n-grams as `ngrams`, weights as `tfidf_vectors`)."""
    total = len(names)
    rows, codes = _gram_codes(names)
    vocabulary, columns = np.unique(codes, return_inverse=True)
    shape = (total, len(vocabulary))
    # Duplicates (an n-gram twice in one name) are summed: the matrix holds the counts.
    counts = sparse.csr_matrix((np.ones(len(codes)), (rows, columns.ravel())), shape=shape)
    counts.sum_duplicates()
    frequency = np.bincount(counts.indices, minlength=len(vocabulary))
    # Rank: rarest first, ties by text (code points, as Python compares str).
    first, second, third = _text_key(vocabulary)
    order = np.lexsort((third, second, first, frequency))
    rank = np.empty(len(vocabulary), dtype=np.int64)
    rank[order] = np.arange(len(vocabulary))
    idf = np.log((total + 1) / (frequency + 1.0)) + 1.0
    tf = np.where(counts.data == 1, 1.0, 1.0 + np.log(counts.data))
    weights = tf * idf[counts.indices]
    per_row = np.diff(counts.indptr)
    norms = np.sqrt(np.bincount(np.repeat(np.arange(total), per_row), weights=weights * weights, minlength=total))
    norms[norms == 0] = 1.0
    matrix = sparse.csr_matrix((weights / np.repeat(norms, per_row), rank[counts.indices], counts.indptr), shape=shape)
    matrix.sort_indices()
    return NameVectors(matrix, frequency[order])


def frequent_bound(total: int) -> int:
    """Names an n-gram may be found in and still be indexed (see the module doc)."""
    return max(MIN_FREQUENT, total // 50)


# Names probed per matrix product: bounds the memory of one block's candidate pairs.
BLOCK = 4096


def similar_pairs(
    names: Sequence[str],
    groups: Sequence[str],
    threshold: float = DEFAULT_THRESHOLD,
    skip: Callable[[int, int], bool] | None = None,
    progress: Progress | None = None,
    prepared: NameVectors | None = None,
    max_df: int | None = None,
    open_names: Sequence[bool] | None = None,
) -> list[SimilarPair]:
    """Every pair of names from different groups (departments) with cosine >= threshold.

    `skip(i, j)` drops pairs the caller has already decided (asked only for pairs that reach
    the threshold). `prepared` = `name_vectors(names)` when the caller needs the vectors too.
    `open_names`: when given, a pair needs at least one name marked True (the analysis compares
    names only where the overlap rule could not decide).
    Pairs come sorted by (first, second).

    The blocked search of the module doc, as sparse matrix products over blocks of names. Each
    earlier name i is indexed under its prefix P_i (rarest n-grams until the rest of its weight,
    of norm rest_i, cannot reach the threshold on its own; n-grams above the frequency bound are
    never indexed). A later name j admits i while the weight j has not yet walked can still reach
    the threshold (Bayardo et al.'s probe-side bound), i.e. when one of j's admitting n-grams is in
    P_i; an admitted i is scored over all of P_i, and the exact cosine is computed only when that
    score plus rest_i can reach the threshold.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError("相似度阈值必须在 0 到 1 之间（不含 0）")
    vectors = prepared or name_vectors(names)
    total = len(vectors)
    if total == 0:
        return []
    bound = frequent_bound(total) if max_df is None else max_df
    floor = threshold - 1e-9
    # A small margin below the threshold keeps rounding errors from dropping a pair at the edge.
    admit_bound = (threshold - _MARGIN) ** 2
    matrix = vectors.matrix
    indptr, columns, weights = matrix.indptr, matrix.indices, matrix.data
    per_row = np.diff(indptr)
    row_of = np.repeat(np.arange(total), per_row)
    squares = weights * weights
    running = np.cumsum(squares)
    row_start = np.concatenate(([0.0], running))[indptr[:-1]]
    before = running - squares - np.repeat(row_start, per_row)  # weight² walked before each entry
    row_total = np.bincount(row_of, weights=squares, minlength=total)
    # Index side: the prefix is every entry whose row still had weight² ≥ the bound left.
    in_prefix = np.repeat(row_total, per_row) - before >= admit_bound
    rest = np.sqrt(np.maximum(row_total - np.bincount(row_of[in_prefix], weights=squares[in_prefix], minlength=total), 0))
    indexed = in_prefix & (vectors.frequency[columns] <= bound)
    # Probe side: the entries a probe walks while its unwalked weight (from 1) can still admit.
    admitting = 1.0 - before >= admit_bound
    prefix = sparse.csr_matrix((np.where(indexed, weights, 0.0), columns.copy(), indptr.copy()), shape=matrix.shape)
    prefix.eliminate_zeros()
    admit = sparse.csr_matrix((admitting.astype(np.float64), columns.copy(), indptr.copy()), shape=matrix.shape)
    admit.eliminate_zeros()
    index = prefix.T.tocsr()
    _, group_ids = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
    opened = np.ones(total, dtype=bool) if open_names is None else np.asarray(open_names, dtype=bool)
    firsts, seconds, scores = [], [], []
    for start in range(0, total, BLOCK):
        stop = min(total, start + BLOCK)
        met = (admit[start:stop] @ index).tocoo()
        later, earlier = met.row.astype(np.int64) + start, met.col.astype(np.int64)
        keep = (earlier < later) & (opened[earlier] | opened[later]) & (group_ids[earlier] != group_ids[later])
        earlier, later = earlier[keep], later[keep]
        partial = np.asarray(prefix[earlier].multiply(matrix[later]).sum(axis=1)).ravel()
        keep = partial + rest[earlier] + _MARGIN >= floor
        earlier, later = earlier[keep], later[keep]
        score = vectors.scores(earlier, later)
        keep = score >= floor
        firsts.append(earlier[keep])
        seconds.append(later[keep])
        scores.append(score[keep])
        if progress is not None:
            progress(stop, total)
    first, second, score = np.concatenate(firsts), np.concatenate(seconds), np.concatenate(scores)
    order = np.lexsort((second, first))
    found = [
        SimilarPair(a, b, s)
        for a, b, s in zip(first[order].tolist(), second[order].tolist(), score[order].tolist(), strict=True)
    ]
    if skip is not None:
        found = [p for p in found if not skip(p.first, p.second)]
    return found


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
