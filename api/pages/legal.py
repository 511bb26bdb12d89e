"""The legal office's page (法制办): import a draft catalog and see every validation problem, start
the `catalog_publication` process for a draft (once: a draft under review shows its case instead),
see the diff against the version in force, download any version (xlsx / yaml / json)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import Response
from sqlmodel import Session

from api import messages
from api.deps import DB_INT_MAX, get_clock
from api.labels import person_label
from api.pages import catalog_diff_view
from api.pages.task_view import post_choices
from api.pages.web import PageRoute, flash, page_session, redirect, render, require_page_action
from api.uploads import UPLOAD_TOO_LARGE, UploadRoute, declares_too_much
from engine.analysis import alerts
from engine.auth import policy
from engine.auth.roles import Actor
from engine.auth.service import user_names
from engine.catalog import io as catalog_io
from engine.catalog import service as catalog
from engine.catalog.io import READ_FORMATS
from engine.catalog.limits import MAX_UPLOAD_BYTES, mb
from engine.clock import Clock
from engine.errors import DutyflowError, InvalidInput
from engine.runtime import service as runtime
from engine.runtime.library.publication import publications_under_way


class UploadPageRoute(PageRoute, UploadRoute):
    """The upload page's route: UploadRoute's capped body inside PageRoute's error pages.

    A form post declares its length, so a file over the limit is answered at once with a 413
    page naming the limit, before a byte is read. A body sent without a length (no browser form
    does that) is cut off as it arrives; PageRoute then sends the browser back to the form with
    the same message, as for every refused post.
    """

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def upload_page_handler(request: Request) -> Response:
            if declares_too_much(request):
                return render(request, "error.html", {"status": 413, "message": UPLOAD_TOO_LARGE, "problems": [
                    f"所选文件超过 {mb(MAX_UPLOAD_BYTES)}：请拆分清单或改用 xlsx（压缩后更小）后重新导入"]},
                    status_code=413)
            return await handler(request)

        return upload_page_handler


router = APIRouter(route_class=PageRoute)
upload_router = APIRouter(route_class=UploadPageRoute)
legal_office = require_page_action(policy.Action.IMPORT_CATALOG)

PUBLICATION_PROCESS = "catalog_publication"
STATUS_LABELS = {"draft": "草稿", "published": "已发布"}
REASONS = {"new": "新编清单", "basis_change": "法律依据变化修订"}
EXPORT_FORMATS = (("Excel", "xlsx"), ("YAML", "yaml"), ("JSON", "json"))


def export_links(version_id: int) -> list[tuple[str, str]]:
    """(label, URL) of the signed-in export API for one version, draft or published; the file keeps
    the posts' holders (the public download leaves them out)."""
    return [(label, "/api/export?" + urlencode({"version": version_id, "format": fmt}))
            for label, fmt in EXPORT_FORMATS]


# The preview lists this many findings of each side; the counts are always the true ones.
PREVIEW_LIST = 50


def page_context(session: Session, actor: Actor, diff_id: int | None, base_id: int | None = None) -> dict[str, Any]:
    """Versions newest first, running publication processes, and for the version asked for: the
    diff against its region's version in force (or `base_id`, of the same region), its same-name
    warnings, and — when it is not in force — the preview of what publishing it would do to its
    region's alerts (computed, written nowhere)."""
    versions = sorted(catalog.list_versions(session), key=lambda v: v.id, reverse=True)
    in_force = {v.region: v for v in catalog.in_force_versions(session)}
    diff = preview = warnings = chosen = base = None
    if diff_id is not None:
        chosen = catalog.get_version(session, diff_id)
        base = catalog.get_version(session, base_id) if base_id is not None else in_force.get(chosen.region)
        if base is not None and base.id != chosen.id:
            # Versions of two regions → InvalidInput (422) naming both regions.
            diff = catalog_diff_view.diff_of(session, base.id, chosen.id)
        document = catalog.load_document(session, chosen.id)
        warnings = catalog.same_name_warnings(document)
        current = in_force.get(chosen.region)
        if current is None or current.id != chosen.id:
            preview = alerts.preview(session, document, chosen.id)
    processes = runtime.list_instances(session, process_id=PUBLICATION_PROCESS, actor=actor, limit=50)
    # Draft id → the publication case reviewing it: no second start button for it.
    under_review = publications_under_way(session, [v.id for v in versions if not v.is_published])
    # Who imported and published, by name (an account's username otherwise means nothing to a reader).
    people = user_names(session, [v.created_by for v in versions] + [v.published_by for v in versions]
                        + [p.started_by for p in processes])
    return {
        "person": lambda username: person_label(username, people),
        "title": "清单管理", "versions": versions, "in_force": in_force, "diff": diff, "diff_id": diff_id,
        "chosen": chosen, "base": base, "preview": preview, "preview_list": PREVIEW_LIST,
        "warnings": warnings,
        "status_labels": STATUS_LABELS, "reasons": REASONS, "processes": processes,
        "under_review": under_review, "export_links": export_links,
        "post_groups": post_choices(session),
        "formats": "、".join(READ_FORMATS), "accept": ",".join(READ_FORMATS), "value_text": catalog_diff_view.value_text,
    }


@router.get("/legal")
def legal_page(
    request: Request,
    diff: int | None = Query(None, ge=0, le=DB_INT_MAX),
    base: int | None = Query(None, ge=0, le=DB_INT_MAX, description="对比的基准版本（同一区划）；默认该区划的现行版本"),
    session: Session = Depends(page_session),
    actor: Actor = Depends(legal_office),
) -> Response:
    return render(request, "legal.html", page_context(session, actor, diff, base), actor=actor)


def _read_upload(upload: UploadFile) -> tuple[bytes, str]:
    filename = upload.filename or ""
    if not filename:
        raise InvalidInput("请选择要导入的清单文件", ["file: 未选择文件"])
    # The body was already capped at MAX_UPLOAD_BYTES; this holds the file itself to it as well.
    content = upload.file.read(MAX_UPLOAD_BYTES + 1)
    if len(content) > MAX_UPLOAD_BYTES:
        raise InvalidInput("文件过大", [f"{filename}: 超过 {mb(MAX_UPLOAD_BYTES)} 上限"])
    if not content:
        raise InvalidInput("文件是空的", [f"{filename}: 没有内容"])
    return content, filename


@upload_router.post("/legal/import")
def import_draft(
    request: Request,
    file: UploadFile = File(...),
    version: str = Form(""),
    region: str = Form("", max_length=200),
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(legal_office),
) -> Response:
    """Import as a draft. Problems are shown on the page itself (all of them, not a shortened flash)."""
    filename = file.filename or ""
    # A plain `def` (run in the thread pool) that ends the sign-in check's transaction before
    # parsing: a large file is parsed while other requests go on (see api.routes.catalog.import_file).
    session.commit()
    try:
        content, filename = _read_upload(file)
        document = catalog_io.read_catalog(content, filename, overrides={"version": version.strip() or None,
                                                                                  "region": region.strip() or None})
        imported = catalog.import_catalog(session, document, actor.username, clock.now(), source=filename,
                                          checked=True)
    except DutyflowError as exc:
        session.rollback()
        context = page_context(session, actor, None)
        context["import_error"] = {"filename": filename, "message": exc.message,
                                   "problems": [messages.readable_problem(messages.catalog_problem(p))
                                                for p in exc.problems]}
        return render(request, "legal.html", context, actor=actor, status_code=exc.status_code)
    flash(request, f"已导入草稿版本 {imported.version}（{imported.region}，{len(document.duties)} 项事项，来自 {filename}），"
                   "请核对下方与该区划现行版本的差异、同名提醒和预警预览（草稿不产生预警）")
    return redirect(f"/legal?diff={imported.id}#diff")


@router.post("/legal/versions/{version_id}/publication")
def start_publication(
    request: Request,
    version_id: int = Path(ge=0, le=DB_INT_MAX),
    reason: str = Form("new"),
    public_notice_days: int = Form(5, ge=0, le=DB_INT_MAX),
    drafter_post: str = Form(""),
    session: Session = Depends(page_session),
    clock: Clock = Depends(get_clock),
    actor: Actor = Depends(legal_office),
) -> Response:
    version = catalog.get_version(session, version_id)
    catalog.ensure_draft(version)
    if reason not in REASONS:
        raise InvalidInput("发布原因无效", [f"reason: 应为 {'、'.join(REASONS)} 之一"])
    data: dict[str, Any] = {"version_id": version.id, "reason": reason, "public_notice_days": public_notice_days,
                            "subject": f"{version.name} {version.version} 发布"}
    if drafter_post.strip():
        data["drafter_post"] = drafter_post.strip()  # else the process uses the starter's own post
    with messages.fields_by_their_labels():
        instance = runtime.start_instance(session, clock, PUBLICATION_PROCESS, data, actor)
    if instance.status == "failed":
        raise InvalidInput("清单发布流程未能启动", [instance.error or "流程出错"])
    flash(request, f"已启动清单发布流程（办件 #{instance.id}）：{version.name} {version.version}，"
                   "依次经起草、编办审核、法制办审查、公示后发布")
    return redirect("/legal")


router.include_router(upload_router)
