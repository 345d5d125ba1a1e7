"""The administration page: queues and members, agents' skills, the routing configuration, traces.

One server-rendered shell; admin.js fills it from the admin REST API. The API enforces every
rule (supervisors manage people, admins change configuration); the page only mirrors them.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from omniroute.core.errors import Forbidden
from omniroute.identity.model import Principal, Role
from omniroute.web.security import optional_principal, require

router = APIRouter(include_in_schema=False)


def _templates(request: Request) -> Jinja2Templates:
    value = request.app.state.templates
    assert isinstance(value, Jinja2Templates)
    return value


@router.get("/admin", response_class=HTMLResponse)
async def admin_page(
    request: Request, who: Annotated[Principal | None, Depends(optional_principal)]
) -> Response:
    if who is None or who.via_token:
        return RedirectResponse("/login?next=/admin", status_code=303)
    try:
        await require(Role.SUPERVISOR)(who)
    except Forbidden:
        # A page, not the API's JSON error: agents who follow a link should learn why.
        return _templates(request).TemplateResponse(
            request, "admin.html", {"user": who.user, "forbidden": True}, status_code=403
        )
    return _templates(request).TemplateResponse(
        request,
        "admin.html",
        {
            "user": who.user,
            "forbidden": False,
            "csrf_token": who.csrf_token,
            "is_admin": who.user.has_role(Role.ADMIN),
        },
    )
