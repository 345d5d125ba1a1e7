"""Shared set-up for the voice browser tests (this module holds no tests of its own).

``voice_stack`` runs, on 127.0.0.1 ports, a real Omniroute (demo data), the reference CCaaS
configured as a provider, and a small "provider pages" server that serves a page with nothing
but the SDK (for testing the SDK's contract) on two ports, so that one of them is a stranger's
origin. The agent's page is a minimal workspace served by the Omniroute app itself at
``/test/voice-host``: it mounts ``cif-host.js`` with the agent's session exactly as the workspace
will, and forwards the agent socket's presence events. Every server stops when the module's tests
are done.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from playwright.sync_api import Frame, Page, expect

from omniroute.bootstrap import build_container, create_app
from omniroute.core.migrations import upgrade
from omniroute.demo import DEMO_PASSWORD, load_demo
from omniroute.settings import Settings
from omniroute.voice.ccaas_sim.app import SimConfig, create_sim_app
from omniroute.voice.ccaas_sim.register import register_provider
from tests.browser.conftest import STARTUP_TIMEOUT, _free_port

CALLER = "+15558675310"
ALL_FEATURES = ["click_to_dial", "screen_pop", "transcripts"]
WAIT = 15.0  # a hang guard for polling the servers, never a speed assertion


#: Provider A's custom parameters (the registry's field), which getEnvironment hands its softphone.
CUSTOM_PARAMETERS: dict[str, Any] = {
    "region": "eu-west-1",
    "skills": ["billing", "support"],
    "dialer": {"prefix": "9"},
}


@dataclass(frozen=True)
class VoiceStack:
    base_url: str  # Omniroute
    sim_url: str  # the reference CCaaS
    pages_url: str  # provider pages with only the SDK
    stranger_url: str  # the same pages on another origin
    sim_provider: str
    provider_a: str  # the SDK page, every feature
    provider_b: str  # the SDK page served from a stranger's origin (trusted origin: pages_url)
    provider_c: str  # the SDK page, no features enabled


class Served:
    """An ASGI app served by uvicorn in a thread on 127.0.0.1."""

    def __init__(self, app: Any, port: int, name: str) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", loop="asyncio", http="h11",
            ws="websockets-sansio", lifespan="on",
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=name, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.server.should_exit = True
                pytest.fail(f"{self.thread.name} did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=STARTUP_TIMEOUT)


HOST_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Minimal workspace</title>
  <link rel="stylesheet" href="/static/css/omniroute.css">
  <script type="module" src="/test/voice-host.js"></script>
</head>
<body style="display:flex;margin:0;min-height:100vh">
  <main style="flex:1;padding:1rem">
    <h1>Minimal workspace</h1>
    <p><a href="tel:+15558675310" data-testid="tel-link" data-customer-id="cust-1">+1 555 867 5310</a></p>
  </main>
  <aside id="voice" style="display:flex"></aside>
</body>
</html>"""

# What the lead wires into workspace.js, in the smallest form: the agent's providers, the
# session's API client, the signed-in agent, and presence events from the agent socket.
HOST_SCRIPT = """
import { ApiClient, LiveSocket, socketUrl } from '/static/js/omniroute-client.js';
import { mountVoicePanel } from '/static/js/cif-host.js';

const params = new URLSearchParams(location.search);
const session = await (await fetch('/api/v1/session')).json();
const api = new ApiClient({ csrfToken: session.csrf_token });
const only = (params.get('only') || '').split(',').filter(Boolean);
const all = await api.get('/api/v1/voice/providers');
const providers = only.length ? all.filter((p) => only.includes(p.id)) : all;
const me = await api.get('/api/v1/me');
window.hostLog = [];
const sessions = params.has('sessions')
  ? {
      create: (input) => { window.hostLog.push(['createSession', input]); return 'session-1'; },
      getAll: () => ['session-1'],
      focus: (input) => { window.hostLog.push(['focusSession', input.sessionId]); return true; },
    }
  : undefined;
window.voice = mountVoicePanel(document.getElementById('voice'), {
  providers, api, sessions, locale: 'en',
  agent: { id: me.id, name: me.display_name, email: me.email },
});
new LiveSocket(socketUrl('/ws/agent'), {
  hello: () => ({ type: 'hello', cursors: {} }),
  onFrame: (f) => { if (f.type === 'presence.changed') window.voice.presenceChanged(f); },
  onStatus: (status) => { document.body.dataset.socket = status; },
}).start();
document.body.dataset.ready = 'true';
"""

SDK_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Provider page</title>
<script src="{sdk}"></script></head>
<body><p>A provider's page with only the SDK.</p></body></html>"""


def add_host_page(app: FastAPI, frame_origins: list[str]) -> None:
    policy = (
        "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; "
        f"style-src 'self' 'unsafe-inline'; frame-src {' '.join(frame_origins)}; frame-ancestors 'none'"
    )

    async def page() -> Response:
        return HTMLResponse(HOST_PAGE, headers={"Content-Security-Policy": policy})

    async def script() -> Response:
        return Response(HOST_SCRIPT, media_type="text/javascript")

    app.add_api_route("/test/voice-host", page, include_in_schema=False)
    app.add_api_route("/test/voice-host.js", script, include_in_schema=False)


def provider_pages(base_url: str) -> FastAPI:
    pages = FastAPI()

    async def blank() -> Response:
        html = SDK_PAGE.format(sdk=f"{base_url}/static/js/omniroute-cif.js")
        return HTMLResponse(html, headers={"Content-Security-Policy": f"frame-ancestors {base_url}"})

    pages.add_api_route("/blank", blank)
    return pages


async def _configure(settings: Settings, base: str, sim: str, pages: str, stranger: str) -> dict[str, str]:
    container = build_container(settings)
    try:
        await load_demo(container, [base])
        registered = await register_provider(container.voice, sim)

        async def make(
            name: str, url: str, features: list[str], origin: str | None = None, custom: Any = None
        ) -> str:
            made = await container.voice.create_provider(
                name=name, kind="generic", softphone_url=url, trusted_origin=origin, features=features,
                agents_by_user_id=True, sort_order=10, custom_parameters=custom,
            )  # fmt: skip
            return made.provider.id

        return {
            "sim": registered.provider_id,
            "secret": registered.secret,
            "a": await make("SDK page", f"{pages}/blank?p=a", ALL_FEATURES, custom=CUSTOM_PARAMETERS),
            "b": await make("Stranger", f"{stranger}/blank?p=b", ALL_FEATURES, origin=pages),
            "c": await make("No features", f"{pages}/blank?p=c", []),
        }
    finally:
        await container.db.dispose()


@pytest.fixture(name="voice_stack", scope="module")
def voice_stack_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VoiceStack]:
    ports = [_free_port() for _ in range(4)]
    base, sim, pages, stranger = (f"http://127.0.0.1:{p}" for p in ports)
    settings = Settings(
        environment="test",
        data_dir=tmp_path_factory.mktemp("voice"),
        port=ports[0],
        argon2_time_cost=1,
        argon2_memory_cost_kib=8,
    )
    upgrade(settings.effective_database_url)
    ids = asyncio.run(_configure(settings, base, sim, pages, stranger))
    app = create_app(settings)
    add_host_page(app, [sim, pages, stranger])
    sim_app = create_sim_app(
        SimConfig(omniroute_url=base, provider_id=ids["sim"], secret=ids["secret"], ring_seconds=60)
    )
    with (
        Served(app, ports[0], "omniroute"),
        Served(sim_app, ports[1], "ccaas-sim"),
        Served(provider_pages(base), ports[2], "provider-pages"),
        Served(provider_pages(base), ports[3], "stranger-pages"),
    ):
        yield VoiceStack(base, sim, pages, stranger, ids["sim"], ids["a"], ids["b"], ids["c"])


def sign_in_to_host(page: Page, stack: VoiceStack, email: str, query: str = "") -> None:
    target = f"/test/voice-host{query}"
    page.goto(f"{stack.base_url}/login?next={quote(target, safe='/')}")
    page.locator("#login-email").fill(email)
    page.locator("#login-password").fill(DEMO_PASSWORD)
    page.locator("#login-submit").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(stack.base_url)}/test/voice-host"))
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("body")).to_have_attribute("data-socket", "live")


def provider_frame(page: Page, provider_id: str) -> Frame:
    element = page.locator(f'iframe[data-provider-id="{provider_id}"]').element_handle()
    frame = element.content_frame() if element else None
    assert frame is not None
    frame.wait_for_load_state()
    frame.wait_for_function("() => window.OmnirouteCIF !== undefined")
    return frame


def sdk(frame: Frame, script: str, arg: Any = None) -> Any:
    """Run ``script`` (the body of an async function with ``CIF`` and ``arg`` in scope) in the
    provider's page; a rejected call comes back as ``{"error": code, "message": …}``."""
    return frame.evaluate(
        f"""async (arg) => {{
            const CIF = window.OmnirouteCIF;
            try {{ {script} }}
            catch (e) {{ return {{ error: e.code || e.name, message: e.message }}; }}
        }}""",
        arg,
    )


def wait_for(check: Callable[[], Any], what: str) -> Any:
    """Poll a server until ``check`` returns something truthy (with a hang guard)."""
    deadline = time.monotonic() + WAIT
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)
