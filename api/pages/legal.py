"""The legal office's page (法制办): import a draft catalog and see every validation problem, start
the `catalog_publication` process for a draft, see the diff against the version in force."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from api.deps import get_clock
from api.pages import catalog_diff_view
from api.pages.task_view import post_choices
from api.pages.web import PageRoute, flash, page_session, redirect, render, require_page_roles
from engine.auth.roles import LEGAL_OFFICE, Actor
from engine.catalog import service as catalog
from engine.catalog.io import READ_FORMATS, read_catalog
from engine.catalog.models import CatalogVersion
from engine.clock import Clock
from engine.errors import DutyflowError, InvalidInput, NotFound
from engine.runtime import service as runtime

router = APIRouter(route_class=PageRoute)
legal_office = require_page_roles(LEGAL_OFFICE)

PUBLICATION_PROCESS = "catalog_publication"
# A workbook of a large province runs to a few MB; refuse what cannot be a catalog before parsing it.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024
STATUS_LABELS = {"draft": "草稿", "published": "已发布"}
REASONS = {"new": "新编清单", "basis_change": "法律依据变化修订"}


def _published(session: Session) -> CatalogVersion | None:
    try:
        return catalog.find_version(session, "published")
    except NotFound:
        return None


def page_context(session: Session, actor: Actor, diff_id: int | None) -> dict[str, Any]:
    """Versions newest first, running publication processes, and the diff asked for."""
    versions = sorted(catalog.list_versions(session), key=lambda v: v.id, reverse=True)
    published = _published(session)
    diff = None
    if diff_id is not None and published is not None and diff_id != published.id:
        diff = catalog_diff_view.diff_of(session, published.id, catalog.get_version(session, diff_id).id)
    processes = runtime.list_instances(session, process_id=PUBLICATION_PROCESS, actor=actor, limit=50)
    return {
        "title": "清单管理", "versions": versions, "published": published, "diff": diff, "diff_id": diff_id,
        "status_labels": STATUS_LABELS, "reasons": REASONS, "processes": processes,
        "post_groups": post_choices(session),
        "formats": "、".join(READ_FORMATS), "accept": ",".join(READ_FORMATS), "value_text": catalog_diff_view.value_text,
    }


@router.get("/legal")
def legal_page(
    request: Request,
    diff: int | None = None,
    session: Session = Depends(page_session),
    actor: Actor = Depends(legal_office),
) -> Response:
    return render(request, "legal.html", page_context(session, actor, diff), actor=actor)


async def _read_upload(upload: UploadFile) -> tuple[bytes, str]:
    filename = upload.filename or ""
    if not filename:
        raise InvalidInput("请选择要导入的清单文件", ["file: 未选择文件"])
    content = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise InvalidInput("文件过大", [f"{filename}: 超过 {MAX_UPLOAD_BYTES // (1024 * 1024)} MB"])
    if not content:
        raise InvalidInput("文件是空的", [f"{filename}: 没有内容"])
    return content, filename


@router.post("/legal/import")
async def import_draft(
    request: Request,
    file: UploadFile = File(...),
    version: str = Form(""),
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(legal_office),
) -> Response:
    """Import as a draft. Problems are shown on the page itself (all of them, not a shortened flash)."""
    filename = file.filename or ""
    try:
        content, filename = await _read_upload(file)
        document = read_catalog(content, filename, overrides={"version": version.strip() or None})
        imported = catalog.import_catalog(session, document, actor.username, clock.now(), source=filename)
    except DutyflowError as exc:
        session.rollback()
        context = page_context(session, actor, None)
        context["import_error"] = {"filename": filename, "message": exc.message, "problems": exc.problems}
        return render(request, "legal.html", context, actor=actor, status_code=exc.status_code)
    flash(request, f"已导入草稿版本 {imported.version}（{len(document.duties)} 项事项，来自 {filename}），"
                   "请核对下方与现行版本的差异")
    return redirect(f"/legal?diff={imported.id}#diff")


@router.post("/legal/versions/{version_id}/publication")
def start_publication(
    request: Request,
    version_id: int,
    reason: str = Form("new"),
    notice_days: int = Form(5),
    drafter_post: str = Form(""),
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(legal_office),
) -> Response:
    version = catalog.get_version(session, version_id)
    catalog.ensure_draft(version)
    if reason not in REASONS:
        raise InvalidInput("发布原因无效", [f"reason: 应为 {'、'.join(REASONS)} 之一"])
    data: dict[str, Any] = {"version_id": version.id, "reason": reason, "notice_days": notice_days,
                            "subject": f"{version.name} {version.version} 发布"}
    if drafter_post.strip():
        data["drafter_post"] = drafter_post.strip()  # else the process uses the starter's own post
    instance = runtime.start_instance(session, clock, PUBLICATION_PROCESS, data, actor)
    if instance.status == "failed":
        raise InvalidInput("清单发布流程未能启动", [instance.error or "流程出错"])
    flash(request, f"已启动清单发布流程（办件 #{instance.id}）：{version.name} {version.version}，"
                   "依次经起草、编办审核、法制办审查、公示后发布")
    return redirect("/legal")
