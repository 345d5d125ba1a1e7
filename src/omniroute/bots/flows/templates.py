"""``{{variable}}`` substitution in the texts and HTTP actions of flows. Pure.

Only variable references, no expressions: a flow author cannot run code. A reference is a dotted
path looked up in the variables the runtime exposes (``card``, ``topic.card``, ``global.plan``,
``customer.name``, ``balance.body.amount``); a missing one renders as an empty string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from omniroute.routing.rules import MISSING, lookup

_REFERENCE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


def as_text(value: Any) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render(text: str, variables: Mapping[str, Any], escape: Callable[[str], str] = lambda s: s) -> str:
    return _REFERENCE.sub(lambda m: escape(as_text(lookup(variables, m.group(1)))), text)


def render_url(url: str, variables: Mapping[str, Any]) -> str:
    """Values are percent-encoded, so a customer's words cannot change the path or add parameters."""
    return render(url, variables, lambda s: quote(s, safe=""))


def render_value(value: Any, variables: Mapping[str, Any]) -> Any:
    """Render every string inside a JSON-like value; ``"{{x}}"`` alone keeps x's own type."""
    if isinstance(value, str):
        whole = _REFERENCE.fullmatch(value.strip())
        if whole is not None:
            found = lookup(variables, whole.group(1))
            return None if found is MISSING else found
        return render(value, variables)
    if isinstance(value, list):
        return [render_value(v, variables) for v in value]
    if isinstance(value, dict):
        return {str(k): render_value(v, variables) for k, v in value.items()}
    return value
