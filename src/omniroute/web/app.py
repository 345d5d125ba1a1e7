"""Assemble the FastAPI application from a built container (no wiring decisions here)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from fastapi.staticfiles import StaticFiles

from omniroute.core.errors import DomainError, Unauthorized
from omniroute.web import admin_pages, api_admin, api_agent, api_channels, api_webchat, pages, ws
from omniroute.web.api_attachments import agent as attachments_agent
from omniroute.web.api_attachments import customer as attachments_customer
from omniroute.web.api_attachments import public as attachments_public
from omniroute.web.api_bots import router as bots_router
from omniroute.web.api_bots import widget_router as bots_widget_router
from omniroute.web.api_cases import router as cases_router
from omniroute.web.api_customers import router as customers_router
from omniroute.web.api_desk import router as desk_router
from omniroute.web.api_knowledge import public as knowledge_page
from omniroute.web.api_knowledge import router as knowledge_router
from omniroute.web.api_voice import router as voice_router
from omniroute.web.api_whatsapp import admin as whatsapp_admin
from omniroute.web.api_whatsapp import agent as whatsapp_agent
from omniroute.web.api_widget_admin import router as widget_admin_router
from omniroute.web.middleware import SecurityHeaders, WebchatCors
from omniroute.web.pages import STATIC_DIR, make_templates

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
    app.include_router(admin_pages.router)
    app.include_router(api_agent.router)
    app.include_router(customers_router)
    app.include_router(cases_router)
    app.include_router(bots_router)
    app.include_router(bots_widget_router)
    app.include_router(knowledge_router)
    app.include_router(knowledge_page)
    app.include_router(api_webchat.router)
    app.include_router(widget_admin_router)
    app.include_router(api_admin.router)
    app.include_router(api_channels.webhooks)
    app.include_router(api_channels.admin)
    app.include_router(whatsapp_agent)
    app.include_router(whatsapp_admin)
    app.include_router(voice_router)
    app.include_router(desk_router)
    app.include_router(attachments_agent)
    app.include_router(attachments_customer)
    app.include_router(attachments_public)
    app.include_router(ws.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    # FastAPI builds each included route's parameter models on the first request that reaches it;
    # that build swaps the process-wide warning filters (warnings.catch_warnings), which is not
    # thread-safe, so with a server thread beside other threads it could briefly lose a filter.
    # Building them all here, once, in one thread, also takes the cost off the first requests.
    for _ in iter_route_contexts(app.routes):
        pass
    _install_error_handlers(app)
    app.add_middleware(WebchatCors)
    app.add_middleware(SecurityHeaders)
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
