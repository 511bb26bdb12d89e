"""The API's interactive description at /docs (Swagger UI), served wholly by this app.

FastAPI's own /docs and /redoc load their bundles from jsDelivr (and ReDoc its fonts from Google):
on an intranet with no way out they stay blank. Here every byte comes from this server:

- the Swagger UI bundle and stylesheet are the ones the `fastapi-offline` package ships (it is
  kept in step with Swagger UI 5 and ReDoc 2 releases), served from its directory at
  /docs/assets/; `swagger-ui-bundle` on PyPI was the other candidate, but it is frozen at Swagger
  UI 4.15 and has no ReDoc;
- the page starts Swagger UI from /static/docs.js, not from an inline script, so its policy
  (api.security_headers) allows scripts from this site only; docs.js also turns off Swagger UI's
  online validator badge, which would otherwise be fetched from validator.swagger.io;
- the favicon is the app's own (/static/favicon.svg).

/redoc is not served, though fastapi-offline ships ReDoc: ReDoc 2 draws the Redocly logo in its
menu from https://cdn.redoc.ly/ on every page, with no option to turn it off — the very request
to another host an intranet page must not make. Swagger UI shows the same description (and can
try calls); /redoc answers with a permanent redirect to /docs, so old bookmarks still land.
"""

from __future__ import annotations

from html import escape
from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
REDOC_URL = "/redoc"
ASSETS_DIR = files("fastapi_offline") / "static"

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · 接口文档</title>
<link rel="icon" href="{root}/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="{root}{assets}/swagger-ui.css">
<link rel="stylesheet" href="{root}/static/docs.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{root}{assets}/swagger-ui-bundle.js"></script>
<script src="{root}/static/docs.js"></script>
</body>
</html>
"""


async def swagger_ui(request: Request) -> HTMLResponse:
    # Behind a proxy that mounts the app under a prefix, every address carries it (as FastAPI's do).
    root = escape(request.scope.get("root_path", "").rstrip("/"))
    app = request.app
    return HTMLResponse(PAGE.format(title=escape(app.title), root=root, assets=ASSETS_URL,
                                    openapi_url=root + escape(app.openapi_url or "")))


async def redoc(request: Request) -> RedirectResponse:
    return RedirectResponse(request.scope.get("root_path", "").rstrip("/") + DOCS_URL, status_code=308)


def install(app: FastAPI) -> None:
    """Serve /docs and its assets on `app`, which must be built with docs_url=None and redoc_url=None.

    The endpoints are module functions, not closures over `app`: FastAPI classifies each endpoint
    in process-wide caches keyed by the function (4,096 entries each), so a closure made per app
    kept every app built in the process alive (the test suite builds ~1,500)."""
    app.mount(ASSETS_URL, StaticFiles(directory=str(ASSETS_DIR)), name="docs-assets")
    app.add_api_route(DOCS_URL, swagger_ui, methods=["GET"], include_in_schema=False)
    app.add_api_route(REDOC_URL, redoc, methods=["GET"], include_in_schema=False)
