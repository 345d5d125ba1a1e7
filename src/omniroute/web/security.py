"""Who is calling, what they may do, and CSRF: FastAPI dependencies used by every route."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request

from omniroute.core.errors import Forbidden, Unauthorized
from omniroute.identity.model import Principal, Role, Scope
from omniroute.web.container import Container

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FORM_FIELD = "csrf_token"


def container(request: Request) -> Container:
    value = request.app.state.container
    assert isinstance(value, Container)
    return value


async def optional_principal(request: Request) -> Principal | None:
    """A bearer API token, else the session cookie. Cached on the request."""
    if hasattr(request.state, "principal"):
        cached = request.state.principal
        return cached if isinstance(cached, Principal) else None
    c = container(request)
    principal: Principal | None = None
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        principal = await c.identity.principal_for_api_token(auth[7:].strip())
        if principal is None:
            raise Unauthorized("invalid API token")
    else:
        cookie = request.cookies.get(c.settings.session_cookie_name)
        if cookie:
            principal = await c.identity.principal_for_session(cookie)
    request.state.principal = principal
    return principal


async def principal(
    request: Request, found: Annotated[Principal | None, Depends(optional_principal)]
) -> Principal:
    if found is None:
        raise Unauthorized("sign in first")
    if request.method not in SAFE_METHODS and not found.via_token:
        await check_csrf(request, found)
    return found


async def check_csrf(request: Request, found: Principal) -> None:
    """Cookie-authenticated writes must echo the session's CSRF token (header or form field)."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FORM_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not found.csrf_token or not hmac.compare_digest(sent, found.csrf_token):
        raise Forbidden("missing or wrong CSRF token")


def require(role: Role, scope: Scope | None = None) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that admits principals with at least ``role`` (and ``scope`` for tokens)."""

    async def dependency(who: Annotated[Principal, Depends(principal)]) -> Principal:
        if not who.user.has_role(role):
            msg = f"this needs the {role.value} role"
            raise Forbidden(msg)
        if scope is not None and not who.allows(scope):
            msg = f"this API token lacks the {scope.value} scope"
            raise Forbidden(msg)
        return who

    dependency.__name__ = f"require_{role.value}"
    return dependency


AgentRead = Annotated[Principal, Depends(require(Role.AGENT, Scope.CONVERSATIONS_READ))]
AgentWrite = Annotated[Principal, Depends(require(Role.AGENT, Scope.CONVERSATIONS_WRITE))]
PresenceWrite = Annotated[Principal, Depends(require(Role.AGENT, Scope.PRESENCE_WRITE))]
ContainerDep = Annotated[Container, Depends(container)]
