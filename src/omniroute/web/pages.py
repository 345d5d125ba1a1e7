"""Server-rendered pages: sign-in, the agent workspace, and the demo customer site."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from omniroute.core.errors import Unauthorized
from omniroute.identity.model import Principal, Role
from omniroute.web.security import ContainerDep, optional_principal, principal, require

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
LOGIN_CSRF_COOKIE = "omniroute_login_csrf"

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=256)
def _static_hash(path: str) -> str:
    target = STATIC_DIR / path
    return hashlib.sha256(target.read_bytes()).hexdigest()[:12] if target.is_file() else "0"


def static_url(path: str) -> str:
    """A versioned URL, so browsers can cache static files and still get new releases."""
    return f"/static/{path}?v={_static_hash(path)}"


def make_templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape is on for .html
    templates.env.globals["static_url"] = static_url
    return templates


def _templates(request: Request) -> Jinja2Templates:
    value = request.app.state.templates
    assert isinstance(value, Jinja2Templates)
    return value


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would turn our login page into a phishing aid."""
    if not target:
        return "/workspace"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/workspace"
    return target


@router.get("/")
async def index(who: Annotated[Principal | None, Depends(optional_principal)]) -> Response:
    return RedirectResponse("/workspace" if who else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next: str | None = None, error: str | None = None) -> Response:
    token = secrets.token_urlsafe(24)
    response = _templates(request).TemplateResponse(
        request, "login.html", {"login_csrf": token, "next": _safe_next(next), "error": error}
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.app.state.container.settings.cookie_secure,
        max_age=3600,
    )
    return response


@router.post("/login")
async def login(
    request: Request,
    c: ContainerDep,
    email: Annotated[str, Form(max_length=254)],
    password: Annotated[str, Form(max_length=1024)],
    csrf_token: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/workspace",
) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, csrf_token):
        return _templates(request).TemplateResponse(
            request,
            "login.html",
            {
                "login_csrf": cookie,
                "next": _safe_next(next),
                "error": "Your sign-in form expired. Please try again.",
            },
            status_code=403,
        )
    try:
        signed = await c.identity.sign_in(email, password)
    except Unauthorized:
        return _templates(request).TemplateResponse(
            request,
            "login.html",
            {"login_csrf": cookie, "next": _safe_next(next), "error": "Wrong email or password."},
            status_code=401,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        c.settings.session_cookie_name,
        signed.session_token,
        httponly=True,
        samesite="lax",
        secure=c.settings.cookie_secure,
        max_age=c.settings.session_ttl_hours * 3600,
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(
    request: Request, c: ContainerDep, who: Annotated[Principal, Depends(principal)]
) -> Response:
    cookie = request.cookies.get(c.settings.session_cookie_name)
    if cookie:
        await c.identity.sign_out(cookie)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(c.settings.session_cookie_name, path="/")
    return response


@router.get("/workspace", response_class=HTMLResponse)
async def workspace(
    request: Request,
    c: ContainerDep,
    who: Annotated[Principal | None, Depends(optional_principal)],
) -> Response:
    if who is None or who.via_token:
        return RedirectResponse("/login?next=/workspace", status_code=303)
    await require(Role.AGENT)(who)
    return _templates(request).TemplateResponse(
        request,
        "workspace.html",
        {
            "user": who.user,
            "csrf_token": who.csrf_token,
            "offer_timeout": c.settings.offer_timeout_seconds,
        },
    )


@router.get("/demo", response_class=HTMLResponse)
async def demo_site(request: Request, c: ContainerDep) -> Response:
    """A stand-in for a customer's own website, with the widget embedded by one script tag."""
    widgets = await c.webchat.list_widgets()
    key = widgets[0].public_key if widgets else None
    return _templates(request).TemplateResponse(request, "demo.html", {"widget_key": key})
