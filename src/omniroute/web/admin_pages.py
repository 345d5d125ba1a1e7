"""The administration pages: queues and members, agents' skills, the routing configuration,
traces (/admin); the desk (/admin/desk); bots (/admin/bots…); knowledge articles
(/admin/knowledge); voice providers (/admin/voice); customer satisfaction (/admin/csat).

Server-rendered shells on templates/admin_base.html; their scripts fill them from the REST API.
The API enforces every rule (supervisors manage people, admins change configuration); the pages
only mirror them.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from omniroute.core.errors import Forbidden
from omniroute.identity.model import Principal, Role
from omniroute.web import i18n
from omniroute.web.security import optional_principal, require

router = APIRouter(include_in_schema=False)


def _templates(request: Request) -> Jinja2Templates:
    value = request.app.state.templates
    assert isinstance(value, Jinja2Templates)
    return value


async def _supervisor_page(
    request: Request,
    who: Principal | None,
    path: str,
    template: str,
    shown: dict[str, Any],
    *,
    refused_template: str | None = None,
) -> Response:
    """A page for supervisors and admins: the signed-out go to the login form (then back to
    ``path``); an agent who follows a link gets a 403 page saying why, not the API's JSON error.

    ``shown`` goes to the page either way; the CSRF token only to those allowed. A page with a
    ``locale`` in ``shown`` answers with that ``Content-Language``.
    """
    if who is None or who.via_token:
        return RedirectResponse(f"/login?next={path}", status_code=303)
    try:
        await require(Role.SUPERVISOR)(who)
    except Forbidden:
        return _templates(request).TemplateResponse(
            request, refused_template or template, {**shown, "forbidden": True}, status_code=403
        )
    response = _templates(request).TemplateResponse(
        request, template, {**shown, "forbidden": False, "csrf_token": who.csrf_token}
    )
    if "locale" in shown:
        response.headers["Content-Language"] = shown["locale"]
    return response


def _localised(request: Request, who: Principal | None, lang: str | None) -> dict[str, Any]:
    """What a translated page shows: the user, the language (``?lang=``, the user's own, the
    cookie) with its catalogues for the template and for the scripts. Empty for the signed-out."""
    if who is None or who.via_token:
        return {}
    locale = i18n.choose_locale(lang, request.cookies.get(i18n.LANG_COOKIE), who.user.locale)
    return {
        "user": who.user,
        "locale": locale,
        "translations": i18n.translations(locale),
        "catalogue": i18n.script_json(i18n.js_catalogue(locale)),
    }


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(
    request: Request,
    who: Annotated[Principal | None, Depends(optional_principal)],
    lang: str | None = None,
) -> Response:
    """Queues, skills, routing (admin.js) and channels (admin-channels.js). Only the Channels
    section is translated so far: it carries its own ``lang``, and the page stays English."""
    shown: dict[str, Any] = (
        {} if who is None else {"user": who.user, "is_admin": who.user.has_role(Role.ADMIN)}
    )
    localised = _localised(request, who, lang)
    if localised:
        shown |= {
            "channels_locale": localised["locale"],
            "translations": localised["translations"],
            "catalogue": localised["catalogue"],
        }
    return await _supervisor_page(request, who, "/admin", "admin.html", shown)


@router.get("/admin/desk", response_class=HTMLResponse)
async def admin_desk_page(
    request: Request,
    who: Annotated[Principal | None, Depends(optional_principal)],
    lang: str | None = None,
) -> Response:
    """Quick replies and disposition codes per queue (supervisors and admins; admin-desk.js)."""
    shown = _localised(request, who, lang)
    return await _supervisor_page(request, who, "/admin/desk", "admin_desk.html", shown)


@router.get("/admin/knowledge", response_class=HTMLResponse)
async def knowledge_page(
    request: Request,
    who: Annotated[Principal | None, Depends(optional_principal)],
    lang: str | None = None,
) -> Response:
    """Knowledge articles for their authors, supervisors and admins (admin-knowledge.js over
    ``/api/v1/knowledge``): list, search, write, preview, publish and archive."""
    shown = _localised(request, who, lang)
    return await _supervisor_page(request, who, "/admin/knowledge", "admin_knowledge.html", shown)


@router.get("/admin/bots", response_class=HTMLResponse)
async def bot_analytics_page(
    request: Request, who: Annotated[Principal | None, Depends(optional_principal)]
) -> Response:
    """Bot analytics for supervisors (bot-analytics.js reads ``/api/v1/bots/analytics``)."""
    shown = {} if who is None else {"user": who.user}
    return await _supervisor_page(
        request, who, "/admin/bots", "bot_analytics.html", shown, refused_template="admin.html"
    )


@router.get("/admin/bots/flows", response_class=HTMLResponse)
async def bot_flows_page(
    request: Request,
    who: Annotated[Principal | None, Depends(optional_principal)],
    lang: str | None = None,
) -> Response:
    """The bots' flow editor (bot-flows.js over ``/api/v1/bots/…/flows``): admins edit, validate,
    create and delete flows; supervisors read them."""
    shown = _localised(request, who, lang)
    if who is not None:
        shown["is_admin"] = who.user.has_role(Role.ADMIN)
    return await _supervisor_page(request, who, "/admin/bots/flows", "bot_flows.html", shown)


@router.get("/admin/csat", response_class=HTMLResponse)
async def csat_page(
    request: Request,
    who: Annotated[Principal | None, Depends(optional_principal)],
    lang: str | None = None,
) -> Response:
    """Post-chat ratings for supervisors and admins (admin-csat.js over
    ``/api/v1/admin/csat/report`` and ``/export``): figures, trend and comments for a period."""
    shown = _localised(request, who, lang)
    return await _supervisor_page(request, who, "/admin/csat", "admin_csat.html", shown)


@router.get("/admin/voice", response_class=HTMLResponse)
async def voice_providers_page(
    request: Request,
    who: Annotated[Principal | None, Depends(optional_principal)],
    lang: str | None = None,
) -> Response:
    """Voice (CCaaS) providers for administrators (admin-voice.js over
    ``/api/v1/admin/voice-providers``); supervisors and agents get a 403 page saying why."""
    if who is None or who.via_token:
        return RedirectResponse("/login?next=/admin/voice", status_code=303)
    shown = _localised(request, who, lang)
    locale = shown["locale"]
    try:
        await require(Role.ADMIN)(who)
    except Forbidden:
        refused = _templates(request).TemplateResponse(
            request, "admin_voice.html", {**shown, "forbidden": True}, status_code=403
        )
        refused.headers["Content-Language"] = locale
        return refused
    response = _templates(request).TemplateResponse(
        request, "admin_voice.html", {**shown, "forbidden": False, "csrf_token": who.csrf_token}
    )
    response.headers["Content-Language"] = locale
    return response
