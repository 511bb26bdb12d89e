"""Runtime figures for the dashboard: matters at risk by department, completion and on-time rates.

The numbers come from the timers area (`clocks.warnings.open_warnings`) and the runtime's metrics
(`metrics.efficiency_metrics`); this module only groups them and puts names on the codes.
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


def rate_rows(session: Session, clock: Clock, by: str, names: dict[str, str]) -> list[dict[str, Any]]:
    """Completion and on-time rates per department or unit, as percentages for the bar charts."""
    rows = []
    for row in metrics.efficiency_metrics(session, clock, by=by):
        rows.append({
            "name": names.get(row.group, row.group),
            "total": row.total,
            "completed": row.completed,
            "completion": None if row.completion_rate is None else round(row.completion_rate * 100),
            "on_time": None if row.on_time_rate is None else round(row.on_time_rate * 100),
            "with_deadline": row.with_deadline,
            "open_yellow": row.open_yellow,
            "open_red": row.open_red,
        })
    return sorted(rows, key=lambda r: r["name"])


def dashboard_figures(session: Session, clock: Clock) -> dict[str, Any]:
    names = names_of_current_catalog(session)
    return {
        "warnings": warnings_by_department(session, clock, names),
        "departments": rate_rows(session, clock, "department", names),
        "units": rate_rows(session, clock, "unit", names),
    }
