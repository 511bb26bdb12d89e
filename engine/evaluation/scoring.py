"""The scheme's arithmetic and rules as pure functions: no database, no clock.

Exact arithmetic. Scores are `Fraction`s (an entered 92.5 is 185/2; a computed share 2/3 of 100
stays 200/3) and weights integers in basis points, so a total is exact and grades are judged on
the exact value. Only `display` rounds, and it truncates to two decimals (89.996 shows 89.99):
rounding half up would show 90.00 for a total that is 良好, truncation never shows a total on the
other side of a grade boundary (the boundaries are whole numbers).

Grades (by the exact total s): 优秀 s ≥ 90; 良好 80 ≤ s < 90; 达标 70 ≤ s < 80; 诫勉 s < 70.

Downgrades (`Sanctions`, fed from the `evaluation_sanction` table today and by the
accountability ledger later):
- a unit with a member punished for a violation of discipline or law, or with a major accident
  with serious effects, drops one grade for the year (once, however many such facts; 诫勉 stays
  诫勉);
- a unit whose final grade is 诫勉 is a 重点整改单位;
- a person punished for a violation is 诫勉 for the year;
- staff of a 诫勉 unit cannot be 优秀: a person graded 优秀 in such a unit is 良好.

Use of results:
- 先进处室/单位: among units whose final grade is 优秀, at most floor(30 % × n) of all n units
  evaluated (floor(3n/10): 4 units → 1, 10 → 3, 3 → 0). They are taken by exact total,
  highest first; equal totals are ordered by name (Unicode code points), then code — so a tie at
  the cut-off goes to the name that sorts first, and the rule never exceeds the cap.
- 优秀个人 candidates: staff whose final grade is 优秀 and who are in post.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction

from engine.evaluation.scheme import FULL, Node, leaves

EXCELLENT = "优秀"
GOOD = "良好"
PASS = "达标"
WARNING = "诫勉"
GRADES = (EXCELLENT, GOOD, PASS, WARNING)
ADVANCED_SHARE = Fraction(3, 10)


class MissingScores(Exception):
    """Leaves without a score: (leaf code, leaf) pairs."""

    def __init__(self, missing: list[Node]):
        super().__init__(", ".join(node.code for node in missing))
        self.missing = missing


def total(nodes: Sequence[Node], scores: Mapping[str, Fraction]) -> Fraction:
    """Σ weight × value over a level, recursively; weights are basis points of the parent."""
    missing = [leaf for leaf, _ in leaves(nodes) if leaf.code not in scores]
    if missing:
        raise MissingScores(missing)
    return _level(nodes, scores)


def _level(nodes: Sequence[Node], scores: Mapping[str, Fraction]) -> Fraction:
    value = Fraction(0)
    for node in nodes:
        part = Fraction(scores[node.code]) if node.is_leaf else _level(node.children, scores)
        value += Fraction(node.weight_bp, FULL) * part
    return value


def grade_of(score: Fraction) -> str:
    if score >= 90:
        return EXCELLENT
    if score >= 80:
        return GOOD
    if score >= 70:
        return PASS
    return WARNING


def downgrade(grade: str) -> str:
    """One grade lower; 诫勉 is the lowest."""
    return GRADES[min(GRADES.index(grade) + 1, len(GRADES) - 1)]


def display(value: Fraction) -> str:
    """Two decimals, truncated (see the module's docstring)."""
    return str((Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("0.01"), rounding=ROUND_DOWN)) \
        if value.denominator != 1 else f"{value.numerator}.00"


def advanced_cap(unit_count: int) -> int:
    """At most 30 % of all units, rounded down."""
    return unit_count * ADVANCED_SHARE.numerator // ADVANCED_SHARE.denominator


@dataclass(frozen=True)
class Scored:
    """A unit or a person with their exact total."""

    code: str
    name: str
    total: Fraction
    unit_code: str | None = None  # a person's unit
    in_post: bool = True


@dataclass(frozen=True)
class Sanctions:
    """What the downgrade rules read: staff code → reasons punished; unit code → major accidents."""

    punished: Mapping[str, Sequence[str]] = field(default_factory=dict)
    major_accidents: Mapping[str, Sequence[str]] = field(default_factory=dict)


@dataclass
class Outcome:
    code: str
    name: str
    total: Fraction
    grade_by_score: str
    grade: str
    reasons: list[str] = field(default_factory=list)
    key_rectification: bool = False  # units: 重点整改单位
    advanced: bool = False  # units: 先进; staff: 优秀个人 candidate
    rank: int = 0
    unit_code: str | None = None

    @property
    def total_display(self) -> str:
        return display(self.total)


@dataclass
class Decision:
    units: list[Outcome]
    staff: list[Outcome]
    advanced_cap: int


def _ranked(items: Iterable[Scored]) -> list[Scored]:
    return sorted(items, key=lambda s: (-s.total, s.name, s.code))


def decide(units: Sequence[Scored], staff: Sequence[Scored], sanctions: Sanctions | None = None) -> Decision:
    """Grades, downgrades and the use of results for one year (the rules in the module docstring)."""
    sanctions = sanctions or Sanctions()
    unit_names = {u.code: u.name for u in units}
    punished_by_unit: dict[str, list[str]] = {}
    for person in staff:
        if person.code in sanctions.punished and person.unit_code:
            punished_by_unit.setdefault(person.unit_code, []).append(person.name)

    unit_outcomes: dict[str, Outcome] = {}
    for rank, unit in enumerate(_ranked(units), start=1):
        by_score = grade_of(unit.total)
        outcome = Outcome(unit.code, unit.name, unit.total, by_score, by_score, rank=rank)
        causes = []
        if unit.code in punished_by_unit:
            causes.append(f"本单位人员{'、'.join(punished_by_unit[unit.code])}因违纪违法受到处分")
        if unit.code in sanctions.major_accidents:
            causes.append(f"发生造成严重影响的重大事故（{'；'.join(sanctions.major_accidents[unit.code])}）")
        if causes:
            outcome.grade = downgrade(by_score)
            outcome.reasons.append(f"{'，'.join(causes)}：降一个等次（{by_score} → {outcome.grade}）")
        if outcome.grade == WARNING:
            outcome.key_rectification = True
            outcome.reasons.append("考评为诫勉：列为重点整改单位")
        unit_outcomes[unit.code] = outcome

    cap = advanced_cap(len(units))
    excellent = [u for u in unit_outcomes.values() if u.grade == EXCELLENT]  # already in rank order
    for outcome in excellent[:cap]:
        outcome.advanced = True
    for outcome in excellent[cap:]:
        outcome.reasons.append(f"先进名额为单位总数的 30%（{len(units)} 个单位，{cap} 名），按总分排序未进入")

    staff_outcomes = []
    for rank, person in enumerate(_ranked(staff), start=1):
        by_score = grade_of(person.total)
        outcome = Outcome(person.code, person.name, person.total, by_score, by_score, rank=rank,
                          unit_code=person.unit_code)
        home = unit_outcomes.get(person.unit_code or "")
        if person.code in sanctions.punished:
            outcome.grade = WARNING
            outcome.reasons.append(f"因违纪违法受到处分（{'；'.join(sanctions.punished[person.code])}）：当年考评为诫勉")
        elif home is not None and home.grade == WARNING and by_score == EXCELLENT:
            outcome.grade = GOOD
            outcome.reasons.append(f"所在单位{unit_names.get(home.code, home.code)}考评为诫勉，其人员不能评为优秀")
        outcome.advanced = outcome.grade == EXCELLENT and person.in_post
        staff_outcomes.append(outcome)
    return Decision(units=sorted(unit_outcomes.values(), key=lambda o: o.rank), staff=staff_outcomes,
                    advanced_cap=cap)
