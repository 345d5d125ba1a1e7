"""Helpers shared by the channel end-to-end tests."""

from __future__ import annotations

from tests.e2e.conftest import Agent, Socket


async def send_agent_file(
    agent: Agent,
    agent_ws: Socket,
    conversation_id: str,
    text: str,
    file: tuple[str, bytes, str],
) -> str:
    """The agent uploads ``file`` (name, bytes, content type) and sends it with ``text``; returns
    the attachment's id once the message's delivery is ``sent`` (the adapter accepted it)."""
    up = await agent.http.post(
        f"/api/v1/conversations/{conversation_id}/attachments",
        files={"file": file},
        headers=agent.headers(),
    )
    assert up.status_code == 201, up.text
    attachment_id: str = up.json()["id"]
    r = await agent.post(
        f"/api/v1/conversations/{conversation_id}/messages", text=text, attachment_ids=[attachment_id]
    )
    assert r.status_code == 201, r.text
    await agent_ws.next("message.delivery_changed", message_id=r.json()["id"], status="sent")
    return attachment_id
