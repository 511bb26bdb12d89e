"""自查 / 整改 / 检查 (self_inspection_campaign): which post inspects each unit, one rectification
per problem with its own deadline, the inspector's verdicts (returned twice → accountability),
and the closing summary."""

from __future__ import annotations

from engine.catalog import service as catalog
from engine.errors import InvalidInput, NotFound
from engine.runtime.library.context import catalog_version_id, session
from engine.runtime.library.timing import is_past
from engine.runtime.timer_functions import due_after

RETURNS_BEFORE_ACCOUNTABILITY = 2


def plan_campaign(units) -> dict:
    """{unit code: post that self-inspects it (the unit's head post, else its first post)}.

    `units` is a list of unit codes, a comma-separated text or a dict keyed by unit code."""
    if isinstance(units, str):
        codes = [c.strip() for c in units.replace("，", ",").split(",") if c.strip()]
    elif isinstance(units, dict):
        codes = list(units)
    else:
        codes = [str(c) for c in (units or [])]
    if not codes:
        raise InvalidInput("自查活动必须列出参加的内设机构", ["units: 不能为空"])
    version_id = catalog_version_id()
    plan, problems = {}, []
    for code in codes:
        try:
            plan[code] = catalog.head_posts(session(), version_id, code)[0]
        except (NotFound, IndexError):
            problems.append(f"units: 未知或没有岗位的内设机构 '{code}'")
    if problems:
        raise InvalidInput("自查活动的内设机构有误", problems)
    return plan


def _problem_lines(found) -> list[str]:
    if isinstance(found, str):
        found = found.splitlines()
    return [str(p).strip() for p in (found or []) if str(p).strip()]


def collect_problems(self_reports: dict, unit_posts: dict, limit: str) -> dict:
    """One rectification item per problem reported, keyed "<unit>-<n>", each with its deadline."""
    due = due_after(limit)
    items = {}
    for unit, found in (self_reports or {}).items():
        for number, text in enumerate(_problem_lines(found), start=1):
            items[f"{unit}-{number}"] = {"unit": unit, "post": unit_posts[unit], "problem": text,
                                         "due": due, "returns": 0}
    return items


def apply_checks(open_items: dict, check_results: dict, closed: dict) -> dict:
    """Apply the inspector's verdicts: accepted items close (late when past their due); returned
    ones go back for rectification, and a second return sends the item to accountability."""
    still_open, to_sanction, closed = {}, {}, dict(closed or {})
    for key, item in open_items.items():
        verdict = (check_results or {}).get(key)
        if verdict == "accept":
            closed[key] = dict(item, outcome="fixed", late=is_past(item["due"]))
            continue
        item = dict(item, returns=int(item.get("returns", 0)) + 1)
        if item["returns"] >= RETURNS_BEFORE_ACCOUNTABILITY:
            to_sanction[key] = item
            closed[key] = dict(item, outcome="sanctioned", late=is_past(item["due"]))
        else:
            still_open[key] = item
    return {"open": still_open, "accountability": to_sanction, "closed": closed}


def campaign_summary(closed: dict, total: int) -> dict:
    """Counts for the closing report: problems found, fixed, fixed late, sanctioned."""
    items = list((closed or {}).values())
    return {
        "found": int(total),
        "fixed": sum(1 for i in items if i["outcome"] == "fixed"),
        "late": sum(1 for i in items if i.get("late")),
        "sanctioned": sum(1 for i in items if i["outcome"] == "sanctioned"),
    }
