"""The workspace page's plumbing: the route table it hands its scripts, the import map and the CSP
hash that lets exactly that import map run."""

from __future__ import annotations

import base64
import hashlib
import json

from fastapi import APIRouter, FastAPI

from omniroute.web.pages import (
    api_endpoints,
    frame_sources,
    script_hash,
    static_url,
    workspace_import_map,
)


def test_api_endpoints_lists_included_routes_with_their_full_paths() -> None:
    router = APIRouter(prefix="/api/v1")

    @router.get("/conversations/{conversation_id}/notes")
    @router.post("/conversations/{conversation_id}/notes")
    async def notes() -> None: ...

    @router.delete("/conversations/{conversation_id}/consults/{agent_id}")
    async def end_consult() -> None: ...

    app = FastAPI()
    app.include_router(router)
    app.include_router(APIRouter(prefix="/api/webchat/v1"))  # not the agents' API: left out

    assert api_endpoints(app) == [
        "delete /api/v1/conversations/{conversation_id}/consults/{agent_id}",
        "get /api/v1/conversations/{conversation_id}/notes",
        "post /api/v1/conversations/{conversation_id}/notes",
    ]


def test_import_map_versions_every_workspace_module() -> None:
    imports = json.loads(workspace_import_map())["imports"]
    assert imports["/static/js/omniroute-client.js"] == static_url("js/omniroute-client.js")
    assert imports["/static/js/workspace/conversation.js"].startswith(
        "/static/js/workspace/conversation.js?v="
    )
    assert "/static/js/workspace.js" in imports
    assert imports["/static/js/cif-host.js"] == static_url("js/cif-host.js")  # the voice panel


def test_script_hash_is_the_csp_sha256_of_the_exact_text() -> None:
    text = '{"imports":{}}'
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    assert script_hash(text) == f"'sha256-{digest}'"


def test_the_workspace_frames_only_the_softphones_origins() -> None:
    urls = [
        "https://phone.example.com/softphone?tenant=1",
        "https://phone.example.com:443/other",
        "http://127.0.0.1:8090/softphone",
    ]
    assert frame_sources(urls) == "http://127.0.0.1:8090 https://phone.example.com"
    assert frame_sources([]) == "'none'"
