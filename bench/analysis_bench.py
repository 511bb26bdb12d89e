"""Benchmark of the full catalog analysis on synthetic catalogs with planted overlaps.

    python bench/analysis_bench.py                 # 1k, 10k, 100k duties; sample of 3,000 for all-pairs
    python bench/analysis_bench.py --sizes 1000 --sample 1000
    python bench/analysis_bench.py --templated --sizes 20000 100000 --sample 0 --write /tmp/catalogs
        # also writes each catalog as JSON (/tmp/catalogs/templated-20000.json …) for
        # `/usr/bin/time dutyflow analyze /tmp/catalogs/templated-20000.json --format json`

Each size runs in a fresh child process so its peak memory (max RSS) is its own. Names are built
from the vocabulary of the 311 real rows in tests/data (jieba words + the real trailing actions
and qualifiers), so n-gram statistics look like a real catalog's. Half the duties carry an object
and an action (each leaf/action pair used once, so every structural overlap is a planted one), the
other half only a name, as in most published catalogs. Planted:
- same_object overlaps: a second department's duty on the same object and action;
- taxonomy overlaps: a duty on the parent object with the same action, in another department;
- suspected overlaps: a name-only duty of another department whose name is a variant (辖区…,
  …（县级权限）, 区…) of a name-only duty.
Reported: wall time and peak RSS of `analyze`, time / (n log n), recall of each planted kind,
and, on a sample, whether the blocked search finds exactly the pairs of the exhaustive one.
`other_overlaps` are true overlaps the planting creates between planted duties themselves (two
planted duties on one parent object and action); `suspected` beyond the planted ones are
random names that happen to share most words (the vocabulary is only ~600 words).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

START = time.perf_counter()
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESEARCH_CSV = ROOT / "tests" / "data" / "sichuan_guangan_guanganqu_service_items_sample.csv"
ACTIONS = ["审批", "登记", "备案", "许可", "申领", "查询", "变更", "认定", "核发", "审查", "换发", "注销", "注册",
           "核准", "检查", "处罚", "验收", "确认", "给付", "办理"]
QUALIFIERS = ["（县级）", "（新办）", "（变更）", "（延续）", "（注销）", "（补办）", "（市级/县级）", "（县级权限）"]
VARIANTS = ("辖区{}", "{}（县级权限）", "区{}", "{}（含补办）")
# Templated names, as real catalogs have them: tens of thousands of "对…行为的行政处罚" and
# licences split into 新办/变更/注销/延续 sub-items (issue 11, item 6).
PENALTY_TEMPLATES = ("对{a}{b}违反{c}管理规定行为的行政处罚", "对未按规定{a}{b}行为的行政处罚",
                     "对擅自{a}{b}{c}行为的行政处罚", "对{a}单位未履行{b}{c}义务行为的行政处罚")
LICENCE_TEMPLATES = ("{a}{b}许可证核发（{q}）", "{a}{b}{c}审批（{q}）", "{a}{b}经营许可（{q}）（县级）")
STAGES = ("新办", "变更", "注销", "延续", "补办")


def templated_name(rng: random.Random, words: list[str]) -> str:
    """A name from a template; 70 % penalties, 30 % licence sub-items."""
    a, b, c = rng.sample(words, 3)
    if rng.random() < 0.7:
        return rng.choice(PENALTY_TEMPLATES).format(a=a, b=b, c=c)
    return rng.choice(LICENCE_TEMPLATES).format(a=a, b=b, c=c, q=rng.choice(STAGES))


def vocabulary() -> list[str]:
    """Words of the real names (jieba), minus the trailing actions, as name material."""
    import jieba

    jieba.setLogLevel(60)
    with RESEARCH_CSV.open(encoding="utf-8-sig", newline="") as handle:
        names = [row["事项名称"] for row in csv.DictReader(handle)]
    words = {w for name in names for w in jieba.lcut(name) if len(w) >= 2 and w not in ACTIONS and w.isalnum()}
    return sorted(words)


def build_catalog(size: int, seed: int = 2026, templated: bool = False):
    """A catalog document of `size` duties (plus planted ones) and the planted findings.

    `templated`: the name-only half is built from templates (templated_name) instead of free
    word combinations."""
    from engine.catalog.document import CatalogDocument

    rng = random.Random(seed)
    words = vocabulary()
    departments = [{"code": f"D{i:03d}", "name": f"第{i}局"} for i in range(max(20, size // 100))]
    dept_codes = [d["code"] for d in departments]

    # Taxonomy: roots of one word, leaves of two words under them; enough leaves for half the duties.
    roots = rng.sample(words, min(len(words), max(10, size // 200)))
    leaves_per_root = max(2, size // (2 * len(ACTIONS) * len(roots)) + 2)
    objects, leaves = [], []
    for root in roots:
        objects.append({"name": root})
        for _ in range(leaves_per_root):
            leaf = rng.choice(words) + root
            if all(o["name"] != leaf for o in objects[-leaves_per_root - 1 :]) and leaf not in leaves:
                objects.append({"name": leaf, "parent": root})
                leaves.append((leaf, root))
    slots = [(leaf, root, action) for leaf, root in leaves for action in ACTIONS]
    rng.shuffle(slots)

    duties, structured, names_only = [], [], []
    for i in range(size):
        department = rng.choice(dept_codes)
        if i % 2 == 0 and slots:
            leaf, root, action = slots.pop()
            duty = {"code": f"S{i}", "name": f"{leaf}{action}", "object": leaf, "action": action}
            structured.append((duty, department, root))
        else:
            if templated:
                name = templated_name(rng, words)
            else:
                words_in_name = rng.sample(words, rng.choice((2, 2, 3)))
                qualifier = rng.choice(QUALIFIERS) if rng.random() < 0.2 else ""
                name = "".join(words_in_name) + rng.choice(ACTIONS) + qualifier
            duty = {"code": f"N{i}", "name": name}
            names_only.append((duty, department))
        duties.append({**duty, "department": department, "category": "行政许可"})

    planted = {"same_object": set(), "taxonomy": set(), "suspected": set()}
    by_parent_action: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for duty, department, root in structured:
        by_parent_action.setdefault((root, duty["action"]), []).append((duty["code"], department))
    planted_count = max(5, size // 100)
    for k, (duty, department, root) in enumerate(rng.sample(structured, planted_count)):
        other = rng.choice([c for c in dept_codes if c != department])
        if k % 2 == 0:
            code = f"PO{k}"
            duties.append({"code": code, "name": duty["name"] + "（协同）", "department": other, "category": "行政检查",
                           "object": duty["object"], "action": duty["action"]})
            planted["same_object"].add(tuple(sorted((code, duty["code"]))))
        else:
            code = f"PT{k}"
            duties.append({"code": code, "name": root + duty["action"], "department": other, "category": "行政检查",
                           "object": root, "action": duty["action"]})
            for narrow, narrow_department in by_parent_action[(root, duty["action"])]:
                if narrow_department != other:
                    planted["taxonomy"].add(tuple(sorted((code, narrow))))
    for k, (duty, department) in enumerate(rng.sample(names_only, planted_count)):
        other = rng.choice([c for c in dept_codes if c != department])
        code = f"PS{k}"
        duties.append({"code": code, "name": VARIANTS[k % len(VARIANTS)].format(duty["name"]), "department": other,
                       "category": "行政许可"})
        planted["suspected"].add(tuple(sorted((code, duty["code"]))))

    document = CatalogDocument.model_validate(
        {
            "catalog": {"region": "基准市", "name": f"合成清单{size}", "version": "bench"},
            "departments": departments,
            "objects": objects,
            "duties": duties,
        }
    )
    return document, planted


def measure(size: int, templated: bool = False, write: Path | None = None) -> dict:
    from engine.analysis.report import analyze
    from engine.catalog.io import write_catalog

    document, planted = build_catalog(size, templated=templated)
    if write is not None:
        # The same catalog as a file, to time the CLI end to end (start-up, reading, analysis).
        write.mkdir(parents=True, exist_ok=True)
        (write / f"{'templated' if templated else 'free'}-{size}.json").write_bytes(write_catalog(document, "json"))
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start, cpu_start = time.perf_counter(), time.process_time()
    report = analyze(document)
    elapsed = time.perf_counter() - start
    # CPU time as well: on a shared 2-core machine wall time also counts other processes' work.
    cpu = time.process_time() - cpu_start
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    found_overlaps = {o.duties for o in report.overlaps}
    # Suspected overlaps come as clusters; a planted pair is found when both duties share one.
    cluster_of = {code: index for index, s in enumerate(report.suspected_overlaps) for code in s.duties}
    found_suspected = {
        pair for pair in planted["suspected"]
        if pair[0] in cluster_of and cluster_of[pair[0]] == cluster_of.get(pair[1])
    }
    n = len(document.duties)

    def recall(expected: set, found: set) -> float:
        return len(expected & found) / len(expected) if expected else 1.0

    planted_structural = planted["same_object"] | planted["taxonomy"]
    return {
        "duties": n,
        "templated": templated,
        "seconds": round(elapsed, 2),
        "cpu_seconds": round(cpu, 2),
        "cpu_us_per_nlogn": round(cpu / (n * math.log2(n)) * 1e6, 3),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "rss_before_analysis_mb": round(rss_before / 1024, 1),
        "overlaps": len(report.overlaps),
        "planted_overlaps": len(planted_structural),
        "recall_same_object": round(recall(planted["same_object"], found_overlaps), 3),
        "recall_taxonomy": round(recall(planted["taxonomy"], found_overlaps), 3),
        "other_overlaps": len(found_overlaps - planted_structural),
        "suspected": len(report.suspected_overlaps),
        "suspected_pairs": sum(max(1, len(s.pairs)) for s in report.suspected_overlaps),
        "boundaries": len(report.boundaries),
        "planted_suspected": len(planted["suspected"]),
        "recall_suspected": round(recall(planted["suspected"], found_suspected), 3),
        "gaps": len(report.gaps),
    }


def compare_with_exhaustive(sample: int) -> dict:
    """On `sample` names of the 10k catalog: blocked search vs all pairs, same threshold."""
    from engine.analysis.similarity import DEFAULT_THRESHOLD, exhaustive_pairs, similar_pairs

    document, _ = build_catalog(10_000)
    rng = random.Random(1)
    chosen = rng.sample(document.duties, sample)
    names, groups = [d.name for d in chosen], [d.department for d in chosen]
    results = {}
    for threshold in (0.5, DEFAULT_THRESHOLD, 0.9):
        start = time.perf_counter()
        fast = {(p.first, p.second) for p in similar_pairs(names, groups, threshold)}
        fast_seconds = time.perf_counter() - start
        start = time.perf_counter()
        slow = {(p.first, p.second) for p in exhaustive_pairs(names, groups, threshold)}
        slow_seconds = time.perf_counter() - start
        results[str(threshold)] = {
            "pairs_exhaustive": len(slow),
            "pairs_blocked": len(fast),
            "missed": len(slow - fast),
            "extra": len(fast - slow),
            "blocked_seconds": round(fast_seconds, 2),
            "exhaustive_seconds": round(slow_seconds, 2),
        }
    return {"sample": sample, "thresholds": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000])
    parser.add_argument("--sample", type=int, default=3_000, help="names compared exhaustively (0 = skip)")
    parser.add_argument("--templated", action="store_true", help="name-only duties built from templates")
    parser.add_argument("--write", type=Path, metavar="DIR", help="also write each catalog as JSON into DIR")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--exhaustive-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        result = measure(args.child, args.templated, args.write)
        # The whole child process: interpreter start, imports, building the catalog, analysis.
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["process_cpu_seconds"] = round(usage.ru_utime + usage.ru_stime, 2)
        result["process_seconds"] = round(time.perf_counter() - START, 2)
        print(json.dumps(result))
        return
    if args.exhaustive_child:
        print(json.dumps(compare_with_exhaustive(args.exhaustive_child)))
        return
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    for size in args.sizes:
        command = [sys.executable, __file__, "--child", str(size), *(["--templated"] if args.templated else []),
                   *(["--write", str(args.write)] if args.write else [])]
        started = time.perf_counter()
        out = subprocess.run(command, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - started
        if out.returncode:
            sys.exit(out.stderr)
        print(json.dumps({**json.loads(out.stdout), "child_wall_seconds": round(wall, 2)}, ensure_ascii=False))
    if args.sample:
        out = subprocess.run([sys.executable, __file__, "--exhaustive-child", str(args.sample)], capture_output=True,
                             text=True, env=env)
        if out.returncode:
            sys.exit(out.stderr)
        print(json.dumps(json.loads(out.stdout), ensure_ascii=False))


if __name__ == "__main__":
    main()
