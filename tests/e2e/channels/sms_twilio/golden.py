"""The golden Twilio payloads in ./fixtures, as the end-to-end and the unit tests read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

FIXTURES = Path(__file__).parent / "fixtures"
ACCOUNT_SID = "AC3b6d8f0a2c4e6a8b0d2f4a6c8e0b2d4f"
TWILIO_NUMBER = "+15017250604"
CUSTOMER = "+15558675310"


def body(name: str) -> str:
    return (FIXTURES / name).read_text().strip()


def form(name: str) -> list[tuple[str, str]]:
    return parse_qsl(body(name), keep_blank_values=True)


def document(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())
