"""Server-rendered pages: sign-in, the agent workspace, and the demo customer site."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import fastapi.routing
from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from omniroute.core.errors import Unauthorized
from omniroute.identity.model import Principal, Role
from omniroute.routing.engine.model import MAX_OPEN_ITEMS
from omniroute.voice.providers import origin_of
from omniroute.web import i18n
from omniroute.web.middleware import HTML_POLICY
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
    i18n.install(templates.env)
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


#: The workspace's ES modules import each other by relative URL; the import map turns those URLs
#: into versioned ones, so a release never mixes fresh and cached modules.
WORKSPACE_MODULES = ("js/omniroute-client.js", "js/cif-host.js", "js/workspace.js", "js/workspace/")
#: More open conversations than this and an agent stops keeping track (issue #5); routing never
#: gives an agent more work items than this at once.
MAX_SESSIONS = MAX_OPEN_ITEMS
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600


def workspace_import_map() -> str:
    imports: dict[str, str] = {}
    for entry in WORKSPACE_MODULES:
        paths = sorted((STATIC_DIR / entry).glob("*.js")) if entry.endswith("/") else [STATIC_DIR / entry]
        for path in paths:
            rel = path.relative_to(STATIC_DIR).as_posix()
            imports[f"/static/{rel}"] = static_url(rel)
    return json.dumps({"imports": imports}, separators=(",", ":"), sort_keys=True)


def api_endpoints(app: FastAPI) -> list[str]:
    """``"post /api/v1/conversations/{conversation_id}/notes"``, …: what this server answers, so the
    page shows only the controls it can back (endpoints land in different releases)."""
    # Recent FastAPI includes routers lazily; its iterator yields every route with its full path.
    contexts: Any = getattr(fastapi.routing, "iter_route_contexts", None)
    routes: Iterable[Any] = contexts(app.routes) if contexts else app.routes
    found = set()
    for route in routes:
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if isinstance(path, str) and path.startswith("/api/v1/") and methods:
            found |= {f"{method.lower()} {path}" for method in methods}
    return sorted(found)


def frame_sources(softphone_urls: Iterable[str]) -> str:
    """The CSP ``frame-src`` of the workspace: the origins of the enabled voice providers'
    softphones (cif-host.js frames them), and nothing else."""
    origins = sorted({origin_of(url) for url in softphone_urls})
    return " ".join(origins) if origins else "'none'"


def script_hash(source: str) -> str:
    """A CSP hash source: the import map is an inline script, and the policy allows only this one."""
    digest = hashlib.sha256(source.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


@router.get("/workspace", response_class=HTMLResponse)
async def workspace(
    request: Request,
    c: ContainerDep,
    who: Annotated[Principal | None, Depends(optional_principal)],
    lang: str | None = None,
) -> Response:
    if who is None or who.via_token:
        return RedirectResponse("/login?next=/workspace", status_code=303)
    await require(Role.AGENT)(who)
    locale = i18n.choose_locale(lang, request.cookies.get(i18n.LANG_COOKIE), who.user.locale)
    config = (await c.routing_configs.active()).config
    queues = await c.routing.queues()
    providers = await c.voice.providers(enabled_only=True)
    preferences = await c.identity.preferences(who.user.id)
    import_map = workspace_import_map()
    data = {
        "userId": who.user.id,
        "displayName": who.user.display_name,
        "email": who.user.email,
        "role": who.user.role.value,
        "locale": locale,
        "userLocale": who.user.locale,
        "offerTimeout": c.settings.offer_timeout_seconds,
        "maxSessions": MAX_SESSIONS,
        # The settings on the user record (GET /api/v1/me/preferences); null until first saved.
        "preferences": preferences.as_dict() if preferences else None,
        "endpoints": api_endpoints(request.app),
        "queues": [
            {
                "id": q.id,
                "name": q.name,
                "serviceLevelSeconds": config.settings_for(q.name).service_level_seconds,
            }
            for q in queues
        ],
    }
    response = _templates(request).TemplateResponse(
        request,
        "workspace.html",
        {
            "user": who.user,
            "csrf_token": who.csrf_token,
            "offer_timeout": c.settings.offer_timeout_seconds,
            "locale": locale,
            "translations": i18n.translations(locale),
            "languages": i18n.LANGUAGE_NAMES,
            "custom_presences": config.custom_presences,
            "import_map": Markup(import_map),  # noqa: S704 - our own JSON of static paths
            "workspace_data": i18n.script_json(data),
            "catalogue": i18n.script_json(i18n.js_catalogue(locale)),
        },
    )
    response.headers["Content-Security-Policy"] = (
        f"{HTML_POLICY}; script-src 'self' {script_hash(import_map)}; "
        f"frame-src {frame_sources(p.softphone_url for p in providers)}"
    )
    response.headers["Content-Language"] = locale
    if i18n.normalise(lang):
        response.set_cookie(
            i18n.LANG_COOKIE,
            locale,
            max_age=LANG_COOKIE_MAX_AGE,
            httponly=True,
            samesite="lax",
            secure=c.settings.cookie_secure,
            path="/",
        )
    return response


@router.get("/demo", response_class=HTMLResponse)
async def demo_site(request: Request, c: ContainerDep) -> Response:
    """A stand-in for a customer's own website, with the widget embedded by one script tag."""
    widgets = await c.webchat.list_widgets()
    key = widgets[0].public_key if widgets else None
    # (title, URL) of the demo channels' customer pages: set only by ``omniroute demo``.
    channel_pages = getattr(request.app.state, "demo_channel_pages", ())
    return _templates(request).TemplateResponse(
        request, "demo.html", {"widget_key": key, "channel_pages": channel_pages}
    )
