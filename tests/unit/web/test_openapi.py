"""The OpenAPI document builds (warnings are errors here) and documents what integrators use."""

from __future__ import annotations

from pathlib import Path

from omniroute.bootstrap import create_app
from omniroute.settings import Settings


def test_openapi_lists_the_agent_customer_and_channel_routes(tmp_path: Path) -> None:
    app = create_app(
        Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/o.db", data_dir=tmp_path, environment="test")
    )
    spec = app.openapi()
    paths = spec["paths"]
    for path in (
        "/api/v1/conversations/{conversation_id}/consults",
        "/api/v1/conversations/{conversation_id}/notes",
        "/api/v1/customers/{customer_id}/merge",
        "/api/v1/agents",
        "/webhooks/{account_id}",
    ):
        assert path in paths, path
    ids = [op["operationId"] for item in paths.values() for op in item.values() if "operationId" in op]
    assert len(ids) == len(set(ids))
