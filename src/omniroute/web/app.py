"""Assemble the FastAPI application from a built container (no wiring decisions here)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from omniroute.channels.webchat.model import check_origin
from omniroute.core.errors import DomainError, Unauthorized
from omniroute.web import api_agent, api_webchat, pages, ws
from omniroute.web.pages import STATIC_DIR, make_templates

WEBCHAT_PATH = re.compile(r"^/api/webchat/v1/widgets/([^/]+)/")

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def build_app(lifespan: Lifespan, version: str) -> FastAPI:
    app = FastAPI(
        title="Omniroute API",
        version=version,
        description="Omnichannel contact centre: web chat, routing, agent workspace. "
        "Authenticate with the session cookie (browser, plus the X-CSRF-Token header on writes) "
        "or with `Authorization: Bearer <API token>`.",
        lifespan=lifespan,
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/api/openapi.json",
    )
    app.state.templates = make_templates()
    app.include_router(pages.router)
    app.include_router(api_agent.router)
    app.include_router(api_webchat.router)
    app.include_router(ws.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _install_error_handlers(app)
    app.middleware("http")(_webchat_cors)
    app.middleware("http")(_security_headers)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
        return JSONResponse({"detail": exc.reason}, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        reasons = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
            reasons.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
        return JSONResponse(
            {"detail": "; ".join(reasons) or "invalid request", "errors": jsonable(exc.errors())},
            status_code=422,
        )


def jsonable(errors: object) -> object:
    return jsonable_encoder(errors, custom_encoder={Exception: str})


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.headers.get("content-type", "").startswith("text/html"):
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
            "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'",
        )
    return response


async def _webchat_cors(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """CORS per widget: only the widget's allowed origins may call its routes from a browser."""
    match = WEBCHAT_PATH.match(request.url.path)
    origin = request.headers.get("origin")
    if match is None or origin is None:
        return await call_next(request)
    container = request.app.state.container
    try:
        widget = await container.webchat.widget(match.group(1))
        check_origin(widget, origin)
    except DomainError as exc:
        return JSONResponse({"detail": exc.reason}, status_code=exc.status)
    cors = {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": "Authorization, Content-Type",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=cors)
    response = await call_next(request)
    response.headers.update(cors)
    return response
