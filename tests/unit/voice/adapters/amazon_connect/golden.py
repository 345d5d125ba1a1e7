"""The golden Amazon Connect contact events in ./fixtures (EventBridge events, as delivered)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "4d9a1c7e0b3f5a8d2c6e9b1f4a7d0c3e"
INSTANCE = "arn:aws:connect:us-east-1:123456789012:instance/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
AGENT = f"{INSTANCE}/agent/8a7b6c5d-4e3f-2a1b-0c9d-8e7f6a5b4c3d"
QUEUE = f"{INSTANCE}/queue/3c2b1a0f-9e8d-7c6b-5a4f-3e2d1c0b9a8f"
INBOUND = "5c0b8e2a-7d1f-4e6b-9a3c-2f8d1e0b7a64"
TRANSFERRED = "9e1d3b5f-2a4c-4e6a-8b0d-1f3e5a7c9b2d"
OUTBOUND = "2d4f6b8a-1c3e-4a5b-9c7d-0e2f4a6b8c1d"
CUSTOMER = "+15558675310"
SYSTEM = "+18005550199"
URL = "https://voice.example.com/voice/providers/connect-main/events"
INBOUND_CALL = [
    "initiated_inbound.json",
    "connected_to_system_inbound.json",
    "queued.json",
    "connected_to_agent.json",
    "contact_data_updated.json",
    "disconnected.json",
    "completed.json",
]


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def document(name: str) -> Any:
    return json.loads(body(name))
