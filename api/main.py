"""The FastAPI application: wires the routers of each area over one Database and one Clock."""

from __future__ import annotations

import gc
import secrets
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import messages, offline_docs
from api.input_guard import BodyLimitMiddleware, RefuseNulMiddleware, data_error_answer
from api.pages import web
from api.routes import (
    accountability,
    analysis,
    auth,
    calendar,
    catalog,
    evaluation,
    pages,
    process_diagrams,
    runtime,
    timers,
)
from api.same_origin import SameOriginMiddleware
from api.security import SessionCookieMiddleware, SignInLimiter
from api.security_headers import SecurityHeadersMiddleware
from engine.application import wire
from engine.clock import Clock, SystemClock
from engine.config import Settings, get_settings, require_secret_key
from engine.db import Database
from engine.errors import DutyflowError
from engine.migrate import upgrade

SESSION_COOKIE = "dutyflow_session"
AREAS = (catalog, calendar, runtime, timers, analysis, evaluation, auth, pages)
STATIC_DIR = Path(__file__).resolve().parent / "static"


# The cyclic garbage collector of a server process. After start-up a worker holds ~300,000
# objects that live as long as it does (modules, routes and models, parsed specs, the catalog's
# caches), and every full pass of the collector walked them all again: ~250 ms on this 2-core
# machine, paid by whichever request happened to trigger it (a full pass every few hundred cases).
# Frozen once start-up is done, they are never walked again (a full pass then walks the ~70,000
# objects of the cached workflows and the requests: 50–75 ms); and young objects are collected
# every 10,000 allocations instead of 700 (a step allocates tens of thousands, nearly all freed by
# their reference counts before a pass could look at them), which makes full passes rarer too.
# Measured in-process over 600 cases after 20 (bench/http_load.py's requests): the collector's CPU
# 0.65 → 0.2–0.3 ms a step. Only for a served app (`settings is None`, uvicorn's factory): tests
# build hundreds of apps in one process, and what a freeze holds is never freed.
GEN0_THRESHOLD = 10_000


def settle_collector() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(GEN0_THRESHOLD, *gc.get_threshold()[1:])


# Every area's routes, included once per process and shared by each app built in it (create_app
# adds these inclusions to the app's own list). FastAPI builds an included route's handler — its
# dependencies, the validators of its parameters and of its answer — on the first request that
# reaches it, once per inclusion: included into each app, every app paid it again, ~0.1 s of CPU
# on its first requests, in each of the ~1,500 apps the test suite builds (a fifth of the suite's
# CPU). A served process builds one app: nothing changes for it. What an inclusion into the app
# itself would add and this does not: the app's `dependency_overrides`, which dutyflow never sets.
AREA_ROUTES = APIRouter()
AREA_ROUTES.include_router(catalog.router, prefix="/api", tags=["catalog 权责清单"])
AREA_ROUTES.include_router(calendar.router, prefix="/api", tags=["calendar 工作日历"])
AREA_ROUTES.include_router(runtime.router, prefix="/api", tags=["runtime 流程与任务"])
AREA_ROUTES.include_router(timers.router, prefix="/api", tags=["timers 计时与预警"])
AREA_ROUTES.include_router(process_diagrams.router, prefix="/api", tags=["processes 流程图"])
AREA_ROUTES.include_router(analysis.router, prefix="/api", tags=["analysis 交叉与空缺"])
AREA_ROUTES.include_router(evaluation.router, prefix="/api", tags=["evaluation 绩效考评"])
AREA_ROUTES.include_router(accountability.router, prefix="/api")
AREA_ROUTES.include_router(auth.router, tags=["auth 登录"])
AREA_ROUTES.include_router(pages.router, include_in_schema=False)


async def favicon() -> FileResponse:
    # Asked for by browsers (and tools) that never read the page's <link rel="icon">. A module
    # function, not one per app: api/offline_docs.py's `install` says why.
    return FileResponse(STATIC_DIR / "favicon.ico", media_type="image/vnd.microsoft.icon")


def create_app(
    settings: Settings | None = None,
    database: Database | None = None,
    clock: Clock | None = None,
    migrate: bool = True,
) -> FastAPI:
    # The engine's hooks connected before anything can publish a catalog or enter a calendar year.
    wire()
    served = settings is None
    if settings is None:
        # A served app (`dutyflow serve`, uvicorn --factory): no key, no start (SettingsError).
        settings = get_settings()
        require_secret_key(settings)
    elif not settings.secret_key:
        # An app built in-process with explicit settings and no key (tests, tools) signs with a
        # random key of its own: still no known key, and nothing it signed outlives the process.
        settings = settings.model_copy(update={"secret_key": secrets.token_urlsafe(32)})
    database = database or Database(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Migrations and every area's start-up work (demo catalog and accounts, processes/) run
        # under one cross-process lock: uvicorn's workers and a second `serve` started at the same
        # moment would otherwise race to create the same tables and rows (engine.db.startup_lock).
        with database.startup_lock():
            if migrate:
                upgrade(database)
            for area in AREAS:
                area.on_startup(app)
        if served:
            settle_collector()
        yield
        for area in reversed(AREAS):
            area.on_shutdown(app)

    app = FastAPI(
        title="dutyflow 权责清单与效能工作流",
        description="权责清单（三定）管理、效能制度 BPMN 流程、职责交叉与空缺分析。",
        version="0.1.0",
        # FastAPI's own pages load Swagger UI and ReDoc from a CDN: api.offline_docs serves /docs instead.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.database = database
    app.state.clock = clock or SystemClock()
    # Sign-in sessions expire in real time whatever the business clock says (api.security.auth_clock).
    app.state.auth_clock = SystemClock()
    app.state.sign_in_limiter = SignInLimiter(settings)

    @app.exception_handler(DutyflowError)
    async def dutyflow_error(_request: Request, exc: DutyflowError) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code,
                            content={"detail": exc.message, "problems": messages.readable_problems(exc.problems),
                                     "code": messages.error_code(exc)})

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # pydantic's English (`Field required` …) becomes Chinese naming the field (api.messages).
        return JSONResponse(status_code=422, content={"detail": messages.VALIDATION_MESSAGE, "code": "invalid_input",
                                                      "problems": messages.validation_problems(exc.errors())})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # The framework's own refusals (a path no route serves, a method a route does not take)
        # in Chinese like every other: a page to a browser, JSON with a code to a client.
        message, code = messages.http_message(exc.status_code, exc.detail)
        wants_page = not request.url.path.startswith("/api") and "text/html" in request.headers.get("accept", "")
        if wants_page and request.method == "GET":
            response = await web.error_page(request, exc.status_code, message, [])
        else:
            response = JSONResponse(status_code=exc.status_code, content={"detail": message, "code": code})
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    # Bad input any text parameter can carry, answered 422 rather than 500 (api.input_guard).
    app.add_exception_handler(DataError, data_error_answer)
    app.add_middleware(RefuseNulMiddleware)
    app.add_middleware(BodyLimitMiddleware)

    # Added last, runs first: a cross-site post is refused before the session is even read.
    app.add_middleware(SessionCookieMiddleware, secret_key=settings.secret_key, session_cookie=SESSION_COOKIE,
                       max_age=settings.session_hours * 3600, https_only=settings.cookie_secure)
    app.add_middleware(SameOriginMiddleware, cookie_name=SESSION_COOKIE, trusted_origins=settings.trusted_origins)
    app.add_middleware(SecurityHeadersMiddleware)  # CSP, no framing, nosniff on every answer, refusals included
    if settings.forwarded_allow_ips:
        # Outermost: X-Forwarded-Proto/For are believed only from the configured proxies, before
        # anything reads the scheme (Secure cookie) or the client address (sign-in rate limits).
        # `dutyflow serve` turns uvicorn's own copy of this off, so this is the only one.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.forwarded_allow_ips))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    offline_docs.install(app)

    app.add_api_route("/favicon.ico", favicon, methods=["GET"], include_in_schema=False)
    app.router.routes.extend(AREA_ROUTES.routes)
    return app
