"""The FastAPI application: wires the routers of each area over one Database and one Clock."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from api.routes import analysis, auth, calendar, catalog, pages, process_diagrams, runtime, timers
from api.same_origin import SameOriginMiddleware
from engine.clock import Clock, SystemClock
from engine.config import Settings, get_settings
from engine.db import Database
from engine.errors import DutyflowError

SESSION_COOKIE = "dutyflow_session"
AREAS = (catalog, calendar, runtime, timers, analysis, auth, pages)
STATIC_DIR = __import__("pathlib").Path(__file__).resolve().parent / "static"


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    clock: Clock | None = None,
    migrate: bool = True,
) -> FastAPI:
    settings = settings or get_settings()
    database = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if migrate:
            database.upgrade()
        for area in AREAS:
            area.on_startup(app)
        yield
        for area in reversed(AREAS):
            area.on_shutdown(app)

    app = FastAPI(
        title="dutyflow 权责清单与效能工作流",
        description="权责清单（三定）管理、效能制度 BPMN 流程、职责交叉与空缺分析。",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock or SystemClock()

    @app.exception_handler(DutyflowError)
    async def dutyflow_error(_request: Request, exc: DutyflowError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content={"detail": exc.message, "problems": exc.problems})

    # Added last, runs first: a cross-site post is refused before the session is even read.
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key, session_cookie=SESSION_COOKIE,
                       same_site="lax", https_only=False, max_age=12 * 3600)
    app.add_middleware(SameOriginMiddleware, cookie_name=SESSION_COOKIE, trusted_origins=settings.trusted_origins)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(catalog.router, prefix="/api", tags=["catalog 权责清单"])
    app.include_router(calendar.router, prefix="/api", tags=["calendar 工作日历"])
    app.include_router(runtime.router, prefix="/api", tags=["runtime 流程与任务"])
    app.include_router(timers.router, prefix="/api", tags=["timers 计时与预警"])
    app.include_router(process_diagrams.router, prefix="/api", tags=["processes 流程图"])
    app.include_router(analysis.router, prefix="/api", tags=["analysis 交叉与空缺"])
    app.include_router(auth.router, tags=["auth 登录"])
    app.include_router(pages.router, include_in_schema=False)
    return app
