"""限时办结 (time_limited_case): opening a case from the catalog, and the one-time notice rule."""

from __future__ import annotations

from engine.errors import InvalidInput
from engine.runtime.library.catalog_lookup import duty_info, head_post
from engine.runtime.library.context import catalog_version_id, session


def open_case(duty_code: str, limit: str | None = None) -> dict:
    """The case's routing and limit from the catalog in force.

    handler_post: the duty's A post (the B post when there is no A); unit_head: the head post of
    the duty's first unit (or department); limit: the given one, else the committed, else the
    statutory limit. A duty without any limit cannot run as a time-limited case.
    """
    if not duty_code:
        raise InvalidInput("缺少事项编码", ["duty_code: 必须给出要办理的权责事项编码"])
    version_id = catalog_version_id()
    info = duty_info(session(), version_id, str(duty_code))
    effective = limit or info["limit"]
    if not effective:
        raise InvalidInput(f"事项 '{duty_code}' 没有时限", [
            f"limit: 事项 '{duty_code}'（{info['name']}）在清单中没有承诺或法定时限，请在启动数据中给出 limit"])
    unit = info["units"][0] if info["units"] else None
    handler = (info["a_posts"] or info["b_posts"])[0]
    return {
        "duty_code": info["code"],
        "duty_name": info["name"],
        "department": info["department"],
        "handler_post": handler,
        "backup_post": info["b_posts"][0] if info["b_posts"] else None,
        "unit_head": head_post(session(), version_id, info["department"], unit),
        "limit": effective,
        "phone": info["phone"],
    }


def one_time_notice(notice_count: int, missing_materials: str | None) -> int:
    """Record the one-time notice (一次性告知): all missing materials at once, once per case.

    A second notice for the same case is itself a violation of the rule, so it is refused and the
    handler must decide (accept or refuse) on the corrected application.
    """
    if int(notice_count or 0) >= 1:
        raise InvalidInput("本案已一次性告知过补正材料，不得再次告知", [
            "decision: 同一案件只能一次性告知一次；补正后的申请应予受理或不予受理"])
    if not (missing_materials or "").strip():
        raise InvalidInput("一次性告知必须列明需补正的全部材料", ["missing_materials: 不能为空"])
    return int(notice_count or 0) + 1
