"""Runtime figures for the dashboard: matters at risk by department, completion and on-time rates.

The numbers come from the timers area (`clocks.warnings.open_warnings`) and the runtime's metrics
(`metrics.efficiency_figures`); this module only groups them and puts names on the codes. Rates
come in two scopes, each shown under its own label: 办件（按案件） per department and unit of the
cases' duties, and 环节（按步骤） per department and unit of the posts that handled the steps.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlmodel import Session

from engine.catalog import service as catalog
from engine.clock import Clock
from engine.runtime import metrics
from engine.runtime.clocks import warnings as clock_warnings

UNKNOWN_DEPARTMENT = "（未关联部门）"


def names_of_current_catalog(session: Session) -> dict[str, str]:
    """Code → name for the departments and units of the catalog in force."""
    version = catalog.current_version(session)
    if version is None:
        return {}
    names: dict[str, str] = {}
    for department in catalog.list_departments(session, version.id):
        names[department.code] = department.name
        for unit in department.units:
            names[unit.code] = f"{department.name}{unit.name}"
    return names


def warnings_by_department(session: Session, clock: Clock, names: dict[str, str]) -> list[dict[str, Any]]:
    """Open yellow/red cases grouped by department, departments with red matters first."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for warning in clock_warnings.open_warnings(session, clock):
        groups[warning["department_code"] or ""].append(warning)
    result = [
        {
            "code": code,
            "name": names.get(code, code) if code else UNKNOWN_DEPARTMENT,
            "red": sum(w["state"] == "red" for w in items),
            "yellow": sum(w["state"] == "yellow" for w in items),
            "items": items,
        }
        for code, items in groups.items()
    ]
    return sorted(result, key=lambda g: (-g["red"], -g["yellow"], g["name"]))


def rate_rows(session: Session, clock: Clock, scope: str, by: str, names: dict[str, str]) -> dict[str, Any]:
    """Completion and on-time rates of one scope per department or unit, as percentages for the
    bar charts, with the scope's label and what the reader must know (`notes`)."""
    figures = metrics.efficiency_figures(session, clock, scope, by)
    rows = []
    for row in figures.rows:
        if isinstance(row, metrics.CaseMetricRow):
            detail = f"收件 {row.received} 件，办结 {row.finished} 件，其中按时 {row.on_time} 件、超期 {row.late} 件"
            if row.open_paused:
                detail += f"；暂停计时 {row.open_paused} 件"
        else:
            detail = (f"步骤 {row.total} 个，办结 {row.completed} 个；有环节时限 {row.with_stage_limit} 个，"
                      f"其中按时 {row.on_time} 个、超时 {row.late} 个；无环节时限 {row.without_stage_limit} 个不计按时")
        rows.append({
            "name": names.get(row.group, row.group),
            "completion": _percent(row.completion_rate),
            "on_time": _percent(row.on_time_rate),
            "detail": detail,
            "open_yellow": row.open_yellow,
            "open_red": row.open_red,
        })
    return {
        "scope": figures.scope,
        "label": figures.scope_label,
        "rows": sorted(rows, key=lambda r: r["name"]),
        "untimed_cases": figures.untimed_cases,
        "notes": figures.notes,
    }


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


def dashboard_figures(session: Session, clock: Clock) -> dict[str, Any]:
    names = names_of_current_catalog(session)
    return {
        "warnings": warnings_by_department(session, clock, names),
        "case_departments": rate_rows(session, clock, metrics.CASE, "department", names),
        "case_units": rate_rows(session, clock, metrics.CASE, "unit", names),
        "step_departments": rate_rows(session, clock, metrics.STEP, "department", names),
        "step_units": rate_rows(session, clock, metrics.STEP, "unit", names),
    }
