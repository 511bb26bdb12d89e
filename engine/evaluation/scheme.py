"""The indicator tree as data: nodes, the default scheme of the published 处室/个人绩效管理 scheme,
reading a tree people send, and the weight check.

A weight is the node's share of its parent in basis points (10000 = 100 %), an exact integer; the
weights of the children of every node, and of the top level, sum to exactly 10000, or the tree is
refused with a 422 naming each level and its sum. A leaf is `subjective` (people enter its score)
or `objective` (computed from the record by a formula of engine.evaluation.indicators); an inner
node is a `group`. A node may carry a `quarter` (1-4): its leaves are scored for that quarter.

The default trees (issue 12, "The rules"):

  unit  职能工作 40 % = four quarters × 25 %, each 重点工作 50 % + 常规工作 30 % (objective,
        routine_work) + 其他工作 20 %; 管理工作 30 % = 依法履职 20 % + 高效履职 20 % (objective,
        efficiency) + 廉洁履职 20 % + 其他 40 %; 创新创优 10 % = 成果 60 % + 适时改进 40 %;
        工作满意度 20 % = 局领导班子评议 40 % + 中层以下人员评议 60 %. The formula `self_inspection`
        (自查整改) is in no default leaf (the scheme has none); an office adds it to its tree.
  staff 工作考核 60 % = four quarters × 25 %; 内部管理 20 %; 工作满意度 20 % = 领导班子评价平均分
        40 % + 中层以下人员评价平均分 60 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.errors import InvalidInput
from engine.evaluation.indicators import FORMULAS
from engine.models.evaluation import GROUP, OBJECTIVE, SUBJECT_STAFF, SUBJECT_UNIT, SUBJECTIVE

FULL = 10000  # 100 % in basis points
MAX_NODES = 500
MAX_DEPTH = 6
QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}
SUBJECT_NAMES = {SUBJECT_UNIT: "单位（处室）", SUBJECT_STAFF: "个人"}
KIND_NAMES = {GROUP: "分组", SUBJECTIVE: "主观评分", OBJECTIVE: "客观指标"}


@dataclass(frozen=True)
class Node:
    code: str
    name: str
    weight_bp: int
    kind: str = SUBJECTIVE
    formula: str | None = None
    quarter: int | None = None
    children: tuple[Node, ...] = field(default=())

    @property
    def is_leaf(self) -> bool:
        return not self.children


def percent(weight_bp: int) -> str:
    """Basis points as a percent text: 4000 → "40", 1250 → "12.5"."""
    text = f"{Decimal(weight_bp) / 100:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def walk(nodes: Iterable[Node], path: tuple[Node, ...] = ()) -> Iterator[tuple[Node, tuple[Node, ...]]]:
    """Every node with the path of its ancestors, depth first, in order."""
    for node in nodes:
        yield node, path
        yield from walk(node.children, (*path, node))


def leaves(nodes: Iterable[Node]) -> list[tuple[Node, tuple[Node, ...]]]:
    return [(node, path) for node, path in walk(nodes) if node.is_leaf]


def quarter_of(node: Node, path: Sequence[Node]) -> int | None:
    """The quarter a leaf is scored for: its own, else its nearest ancestor's."""
    for item in (node, *reversed(path)):
        if item.quarter is not None:
            return item.quarter
    return None


def path_name(node: Node, path: Sequence[Node]) -> str:
    return " · ".join([*(p.name for p in path), node.name])


# ---------------------------------------------------------------- the default scheme


def _unit_quarter(q: int) -> Node:
    return Node(f"FUNC.Q{q}", QUARTER_NAMES[q], 2500, GROUP, quarter=q, children=(
        Node(f"FUNC.Q{q}.KEY", "重点工作", 5000),
        Node(f"FUNC.Q{q}.ROUTINE", "常规工作", 3000, OBJECTIVE, formula="routine_work"),
        Node(f"FUNC.Q{q}.OTHER", "其他工作", 2000),
    ))


def default_unit_tree() -> tuple[Node, ...]:
    return (
        Node("FUNC", "职能工作", 4000, GROUP, children=tuple(_unit_quarter(q) for q in (1, 2, 3, 4))),
        Node("MGMT", "管理工作", 3000, GROUP, children=(
            Node("MGMT.LAW", "依法履职", 2000),
            Node("MGMT.EFFICIENCY", "高效履职", 2000, OBJECTIVE, formula="efficiency"),
            Node("MGMT.INTEGRITY", "廉洁履职", 2000),
            Node("MGMT.OTHER", "其他", 4000),
        )),
        Node("INNOV", "创新创优", 1000, GROUP, children=(
            Node("INNOV.RESULTS", "成果", 6000),
            Node("INNOV.IMPROVE", "适时改进", 4000),
        )),
        Node("SATIS", "工作满意度", 2000, GROUP, children=(
            Node("SATIS.LEADERS", "局领导班子评议", 4000),
            Node("SATIS.STAFF", "中层以下人员评议", 6000),
        )),
    )


def default_staff_tree() -> tuple[Node, ...]:
    return (
        Node("WORK", "工作考核", 6000, GROUP, children=tuple(
            Node(f"WORK.Q{q}", QUARTER_NAMES[q], 2500, quarter=q) for q in (1, 2, 3, 4))),
        Node("INTERNAL", "内部管理", 2000),
        Node("SATIS", "工作满意度", 2000, GROUP, children=(
            Node("SATIS.LEADERS", "领导班子评价平均分", 4000),
            Node("SATIS.STAFF", "中层以下人员评价平均分", 6000),
        )),
    )


def default_tree(subject: str) -> tuple[Node, ...]:
    return default_unit_tree() if subject == SUBJECT_UNIT else default_staff_tree()


# ---------------------------------------------------------------- checking a tree


def validate_tree(nodes: Sequence[Node], subject: str) -> None:
    """Refuse (422) a tree whose weights do not sum to 100 % at each level, or that is malformed;
    every problem is listed with its place."""
    label = SUBJECT_NAMES.get(subject, subject)
    problems: list[str] = []
    sums: list[str] = []
    seen: set[str] = set()
    count = 0

    def check_level(children: Sequence[Node], where: str) -> None:
        total = sum(child.weight_bp for child in children)
        if total != FULL:
            sums.append(f"「{where}」下一级权重合计 {percent(total)}%")
            problems.append(f"{where}：下一级权重合计 {percent(total)}%，应为 100%")

    if not nodes:
        raise InvalidInput(f"{label}指标体系不能为空", [f"{subject}: 至少一个指标"])
    check_level(nodes, f"{label}总分")
    for node, path in walk(nodes):
        count += 1
        place = path_name(node, path) or node.code
        if node.code in seen:
            problems.append(f"{place}：指标编码 {node.code} 重复")
        seen.add(node.code)
        if not node.code.strip() or not node.name.strip():
            problems.append(f"{place}：编码和名称不能为空")
        if not 0 < node.weight_bp <= FULL:
            problems.append(f"{place}：权重 {percent(node.weight_bp)}% 应大于 0 且不超过 100%")
        if len(path) >= MAX_DEPTH:
            problems.append(f"{place}：指标层级超过 {MAX_DEPTH} 层")
        if node.quarter is not None and node.quarter not in QUARTER_NAMES:
            problems.append(f"{place}：季度应为 1–4，而不是 {node.quarter}")
        if node.children:
            if node.kind != GROUP:
                problems.append(f"{place}：有下级指标的节点类型应为 group（分组）")
            check_level(node.children, path_name(node, path))
        elif node.kind == GROUP:
            problems.append(f"{place}：分组没有下级指标")
        elif node.kind == OBJECTIVE:
            if node.formula not in FORMULAS:
                problems.append(f"{place}：客观指标须指定公式（{'、'.join(FORMULAS)} 之一），而不是 {node.formula!r}")
            elif subject != SUBJECT_UNIT:
                problems.append(f"{place}：客观指标只用于单位（处室）考评")
        elif node.kind != SUBJECTIVE:
            problems.append(f"{place}：类型应为 group、subjective 或 objective，而不是 {node.kind!r}")
    if count > MAX_NODES:
        problems.append(f"{label}：指标共 {count} 个，上限 {MAX_NODES}")
    if problems:
        message = f"{label}指标权重之和须为 100%：" + "；".join(sums) if sums else f"{label}指标体系有误"
        raise InvalidInput(message, problems)


# ---------------------------------------------------------------- trees as JSON and as rows


def parse_weight(value: Any, where: str) -> int:
    """A percent with at most two decimals ("40", 12.5) → basis points."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidInput("权重应为百分数（如 40 或 12.5）", [f"{where}.weight：{value!r}"]) from None
    if not number.is_finite() or number != number.quantize(Decimal("0.01")) or isinstance(value, bool):
        raise InvalidInput("权重应为百分数，最多两位小数", [f"{where}.weight：{value!r}"])
    return int(number * 100)


def tree_from_json(items: Any, where: str = "tree") -> tuple[Node, ...]:
    """Nodes from [{code, name, weight (percent), kind, formula, quarter, children}, …]."""
    if not isinstance(items, list):
        raise InvalidInput("指标体系应为列表", [f"{where}：应为 [{{code, name, weight, …}}, …]"])
    nodes = []
    for i, item in enumerate(items):
        place = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise InvalidInput("指标应为对象", [f"{place}：{item!r}"])
        children = tree_from_json(item.get("children") or [], f"{place}.children")
        kind = item.get("kind") or (GROUP if children else SUBJECTIVE)
        quarter = item.get("quarter")
        if quarter is not None and (not isinstance(quarter, int) or isinstance(quarter, bool)):
            raise InvalidInput("季度应为 1–4 的整数", [f"{place}.quarter：{quarter!r}"])
        code, name = item.get("code"), item.get("name")
        if not isinstance(code, str) or not isinstance(name, str) or len(code) > 100 or len(name) > 200:
            raise InvalidInput("指标须有编码（≤100 字）和名称（≤200 字）", [f"{place}：code、name 为文字"])
        formula = item.get("formula")
        nodes.append(Node(code=code.strip(), name=name.strip(), weight_bp=parse_weight(item.get("weight"), place),
                          kind=str(kind), formula=str(formula) if formula is not None else None,
                          quarter=quarter, children=children))
    return tuple(nodes)


def tree_to_json(nodes: Iterable[Node]) -> list[dict[str, Any]]:
    return [{
        "code": n.code, "name": n.name, "weight": percent(n.weight_bp), "kind": n.kind,
        "kind_name": KIND_NAMES.get(n.kind, n.kind), "formula": n.formula,
        "formula_name": FORMULAS.get(n.formula or "", None), "quarter": n.quarter,
        "children": tree_to_json(n.children),
    } for n in nodes]


def tree_from_rows(rows: Iterable[Any]) -> tuple[Node, ...]:
    """Nodes from stored rows (code, name, parent_code, weight_bp, kind, formula, quarter, position)."""
    by_parent: dict[str | None, list[Any]] = {}
    for row in sorted(rows, key=lambda r: r.position):
        by_parent.setdefault(row.parent_code, []).append(row)

    def build(parent: str | None) -> tuple[Node, ...]:
        return tuple(Node(r.code, r.name, r.weight_bp, r.kind, r.formula, r.quarter, build(r.code))
                     for r in by_parent.get(parent, []))

    return build(None)


def tree_rows(nodes: Sequence[Node]) -> list[dict[str, Any]]:
    """Flat rows (depth first, with parent codes) to store a tree."""
    return [{"code": node.code, "name": node.name, "parent_code": path[-1].code if path else None,
             "weight_bp": node.weight_bp, "kind": node.kind, "formula": node.formula,
             "quarter": quarter_of(node, path) if node.is_leaf else node.quarter, "position": i}
            for i, (node, path) in enumerate(walk(nodes))]
