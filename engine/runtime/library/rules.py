"""Form rules that depend on another field (a form field is either required or not; "the reason
is required when the answer is reject" needs a check when the task completes)."""

from __future__ import annotations

from engine.errors import InvalidInput


def require_reason(answer: str, reason: str | None, field: str = "review_comment",
                   when: str = "reject") -> str:
    """The reason, stripped; refused when `answer` is `when` and no reason is given."""
    text = (reason or "").strip()
    if answer == when and not text:
        raise InvalidInput("退回或否定的结论必须说明理由", [f"{field}: 结论为 {when} 时不能为空"])
    return text
