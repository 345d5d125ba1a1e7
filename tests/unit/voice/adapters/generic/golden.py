"""The generic adapter's golden payloads in ./fixtures (Omniroute's normalised JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "whsec_5b1f9c3e7a2d4086b1e3c5a7d9f0b2c4"
URL = "https://voice.example.com/voice/providers/sim/events"


def body(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def document(name: str) -> Any:
    return json.loads(body(name))
