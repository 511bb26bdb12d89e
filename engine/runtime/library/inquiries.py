"""首问负责 (first_inquiry): registering the inquiry, proposing the responsible posts from the
published catalog, and the transfer rules (a refusal needs a reason; a second one escalates)."""

from __future__ import annotations

from engine.errors import InvalidInput
from engine.runtime.library.catalog_lookup import check_post, match_duties, post_carries
from engine.runtime.library.context import catalog_version_id, session, starter_post


def register_inquiry(matter: str | None, first_post: str | None = None) -> dict:
    """The first-asked post (given, or the starter's own), and the catalog's proposal: duties whose
    object or name matches the matter, with their posts; `own_duty` when the first post carries one."""
    matter = matter or ""
    if not matter.strip():
        raise InvalidInput("首问登记必须写明事项", ["matter: 不能为空"])
    version_id = catalog_version_id()
    post = starter_post(first_post, "first_post")
    proposals = [m.as_dict() for m in match_duties(session(), version_id, matter)]
    return {
        "first_post": post,
        "proposals": proposals,
        "own_duty": post_carries(session(), version_id, post, matter),
    }


def transfer_target(to_post: str | None, proposals: list | None, first_post: str) -> str:
    """Where a transfer goes: the chosen post, else the catalog's best proposal. Never the first
    post itself (that would be handling it, not transferring)."""
    version_id = catalog_version_id()
    if to_post:
        target = check_post(session(), version_id, str(to_post), "to_post")
    elif proposals:
        target = proposals[0]["post"]
    else:
        raise InvalidInput("清单中没有找到承办岗位，请指定转办岗位", ["to_post: 必须给出转办岗位编码"])
    if target == first_post:
        raise InvalidInput("不能转办给首问岗位自己", [f"to_post: '{target}' 就是首问岗位，应直接办理"])
    return target


def record_receipt(receipt: str, refusal_reason: str | None, refusals: int) -> int:
    """Count refusals; a refusal without a reason is not accepted (推诿 must be explained)."""
    if receipt != "refuse":
        return int(refusals or 0)
    if not (refusal_reason or "").strip():
        raise InvalidInput("退回必须说明理由", ["refusal_reason: 退回时不能为空（非本单位职能 / 不属本辖区 / 职责不清 …）"])
    return int(refusals or 0) + 1
