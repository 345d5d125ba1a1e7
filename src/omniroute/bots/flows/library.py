"""The flows shipped with Omniroute (``bots/default_flows``): the demo bank's assistant, EN and ES.

``*.bot.yaml`` is a bot's settings; every other ``*.yaml`` is one flow. They are loaded into the
store by ``BotService.install`` (the demo does it), then edited like any other flow.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from omniroute.bots.flows.bot import BotSettings
from omniroute.bots.flows.loader import parse_flow

PACKAGE = "omniroute.bots.default_flows"
DEMO_BOT_ID = "banking"


def default_bot() -> tuple[BotSettings, dict[str, str]]:
    """The demo bot's settings and its flows' YAML by flow id (each one already validated)."""
    folder = resources.files(PACKAGE)
    settings: BotSettings | None = None
    flows: dict[str, str] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        source = entry.read_text(encoding="utf-8")
        if entry.name.endswith(".bot.yaml"):
            data: Any = yaml.safe_load(source)
            settings = BotSettings.model_validate(data)
        else:
            flows[parse_flow(source).flow.id] = source
    if settings is None:
        msg = f"{PACKAGE} has no *.bot.yaml"
        raise RuntimeError(msg)
    return settings, flows
