"""Script functions the processes in `processes/` call, registered with the restricted script
engine when this package is imported (`engine.runtime.library.register_library()` is idempotent).

Each function takes plain task data and returns JSON-ready values; the session, clock, actor and
catalog version come from core's script context of the running engine step.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.runtime.library import (
    campaigns,
    cases,
    complaints,
    disputes,
    inquiries,
    publication,
    rules,
    timing,
)
from engine.runtime.library.context import starter_post
from engine.runtime.library.options import option
from engine.runtime.scripting import register_script_function

FUNCTIONS: dict[str, Callable[..., Any]] = {
    "option": option,
    "starter_post": starter_post,
    "require_reason": rules.require_reason,
    # time
    "not_yet": timing.not_yet,
    "is_past": timing.is_past,
    "now_iso": timing.now_iso,
    # time_limited_case
    "open_case": cases.open_case,
    "one_time_notice": cases.one_time_notice,
    "decide_extension": cases.decide_extension,
    # first_inquiry
    "register_inquiry": inquiries.register_inquiry,
    "transfer_target": inquiries.transfer_target,
    "record_receipt": inquiries.record_receipt,
    # self_inspection_campaign
    "plan_campaign": campaigns.plan_campaign,
    "collect_problems": campaigns.collect_problems,
    "apply_checks": campaigns.apply_checks,
    "campaign_summary": campaigns.campaign_summary,
    # efficiency_complaint
    "register_complaint": complaints.register_complaint,
    "assign_complaint": complaints.assign_complaint,
    # duty_dispute
    "open_dispute": disputes.open_dispute,
    "tally_confirmations": disputes.tally_confirmations,
    "draft_revision": disputes.draft_revision,
    # catalog_publication
    "check_draft": publication.check_draft,
    "publish_catalog": publication.publish_catalog,
}


def register_library() -> None:
    for name, fn in FUNCTIONS.items():
        register_script_function(name, fn)


register_library()
