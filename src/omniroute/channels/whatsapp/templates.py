"""WhatsApp message templates: the only messages a business may send outside the 24-hour
customer-service window. Pure: parsing the account's settings, Meta's template list, checking an
agent's parameters, the transcript text and the Cloud API ``template`` object.

An account keeps its templates in its settings (``settings["templates"]``, JSON, validated with the
account) in this shape::

    {"name": "order_update", "language": "en_US", "category": "UTILITY",
     "body": "Hi {{1}}, your order {{2}} has shipped.",
     "header": "Order update", "footer": "Acme", "buttons": ["Track it", "Talk to us"]}

Only what Omniroute can fill is kept: positional ``{{1}}``…``{{n}}`` placeholders in the body, a
plain-text header and footer, and buttons that need no parameter (quick replies, fixed links and
phone numbers). Templates with media headers, header parameters, named parameters or buttons that
need a parameter (dynamic links, copy-code, one-time passwords, flows) are skipped by the sync with
the reason, and refused when typed in by hand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from omniroute.channels.whatsapp.window import CUSTOMER_SERVICE_WINDOW

SETTING = "templates"
WABA_SETTING = "waba_id"
CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION")
#: Meta's rule for template names: lower-case letters, digits and underscores.
NAME = re.compile(r"[a-z0-9_]{1,512}")
#: Meta's language codes: ``en``, ``en_US``, ``es_ES``, ``pt_BR``, ``zh_CN``, ``es_LA``…
LANGUAGE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2,4})?")
WABA_ID = re.compile(r"\d{1,32}")
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
#: Meta's documented limits for a template's parts.
BODY_LIMIT = 1024
HEADER_LIMIT = 60
FOOTER_LIMIT = 60
BUTTON_TEXT_LIMIT = 25
MAX_BUTTONS = 10
MAX_TEMPLATES = 500
#: Meta refuses a parameter with a line break or tab, or more than four spaces in a row (132018).
PARAMETER_LIMIT = 1024
BAD_SPACING = re.compile(r"[\n\r\t]| {5,}")
#: Buttons whose text and target are fixed when the template is approved (no send-time parameter).
STATIC_BUTTONS = frozenset({"QUICK_REPLY", "PHONE_NUMBER", "URL"})


class TemplateRefused(ValueError):
    """The template or its parameters cannot be sent; ``reason`` is for the agent (422)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TemplateListFailed(Exception):
    """Meta's template list could not be read (network, token, unknown WABA id): the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Template:
    name: str
    language: str
    category: str
    body: str
    header: str | None = None
    footer: str | None = None
    buttons: tuple[str, ...] = ()

    @property
    def parameter_count(self) -> int:
        return len(_positions(self.body))

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.language)

    def as_setting(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "language": self.language,
            "category": self.category,
            "body": self.body,
        }
        if self.header:
            out["header"] = self.header
        if self.footer:
            out["footer"] = self.footer
        if self.buttons:
            out["buttons"] = list(self.buttons)
        return out


def _positions(text: str) -> list[str]:
    return PLACEHOLDER.findall(text)


def _optional_text(data: Mapping[str, Any], key: str, limit: int, where: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.strip():
        msg = f"{where}: {key} must be text"
        raise TemplateRefused(msg)
    if len(value) > limit:
        msg = f"{where}: the {key} has {len(value)} characters; WhatsApp allows {limit}"
        raise TemplateRefused(msg)
    if _positions(value):
        msg = f"{where}: a {key} with a parameter is not supported (only the body takes parameters)"
        raise TemplateRefused(msg)
    return value


def check_body(body: str, where: str) -> None:
    """Placeholders must be ``{{1}}``…``{{n}}``, each number at least once (as Meta requires)."""
    found = _positions(body)
    if any(not p.isdigit() for p in found):
        msg = f"{where}: named parameters are not supported; use {{{{1}}}}, {{{{2}}}}…"
        raise TemplateRefused(msg)
    numbers = {int(p) for p in found}
    if numbers and numbers != set(range(1, max(numbers) + 1)):
        last = max(numbers)
        msg = f"{where}: the body's parameters must be numbered {{{{1}}}} to {{{{{last}}}}} without gaps"
        raise TemplateRefused(msg)


def parse(data: Any, index: int = 0) -> Template:
    """One template as stored in (or sent for) the account's settings; TemplateRefused says why not."""
    where = f"template {index + 1}"
    if not isinstance(data, Mapping):
        msg = f"{where}: must be an object with name, language, category and body"
        raise TemplateRefused(msg)
    unknown = sorted(set(data) - {"name", "language", "category", "body", "header", "footer", "buttons"})
    if unknown:
        msg = f"{where}: unknown field {', '.join(unknown)}"
        raise TemplateRefused(msg)
    name, language = data.get("name"), data.get("language")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        msg = f"{where}: the name must be lower-case letters, digits and underscores (as approved by Meta)"
        raise TemplateRefused(msg)
    where = f"template {name!r}"
    if not isinstance(language, str) or not LANGUAGE.fullmatch(language):
        msg = f"{where}: the language must be a WhatsApp language code such as en_US or es_ES"
        raise TemplateRefused(msg)
    category = str(data.get("category") or "UTILITY").upper()
    if category not in CATEGORIES:
        msg = f"{where}: the category must be one of {', '.join(CATEGORIES)}"
        raise TemplateRefused(msg)
    body = data.get("body")
    if not isinstance(body, str) or not body.strip():
        msg = f"{where}: the body text is required"
        raise TemplateRefused(msg)
    if len(body) > BODY_LIMIT:
        msg = f"{where}: the body has {len(body)} characters; WhatsApp allows {BODY_LIMIT}"
        raise TemplateRefused(msg)
    check_body(body, where)
    buttons = data.get("buttons") or []
    if not isinstance(buttons, list) or len(buttons) > MAX_BUTTONS:
        msg = f"{where}: buttons must be a list of at most {MAX_BUTTONS} titles"
        raise TemplateRefused(msg)
    for title in buttons:
        if not isinstance(title, str) or not 0 < len(title) <= BUTTON_TEXT_LIMIT:
            msg = f"{where}: a button title must be 1-{BUTTON_TEXT_LIMIT} characters"
            raise TemplateRefused(msg)
    return Template(
        name=name,
        language=language,
        category=category,
        body=body,
        header=_optional_text(data, "header", HEADER_LIMIT, where),
        footer=_optional_text(data, "footer", FOOTER_LIMIT, where),
        buttons=tuple(buttons),
    )


def parse_all(values: Any) -> list[Template]:
    """The whole ``templates`` setting: a list, each (name, language) once."""
    if values is None:
        return []
    if not isinstance(values, list):
        msg = "templates must be a list"
        raise TemplateRefused(msg)
    if len(values) > MAX_TEMPLATES:
        msg = f"at most {MAX_TEMPLATES} templates per account"
        raise TemplateRefused(msg)
    found = [parse(value, i) for i, value in enumerate(values)]
    seen: set[tuple[str, str]] = set()
    for template in found:
        if template.key in seen:
            msg = f"template {template.name!r} in {template.language} is listed twice"
            raise TemplateRefused(msg)
        seen.add(template.key)
    return found


def of_settings(settings: Mapping[str, Any]) -> list[Template]:
    """The account's templates (validated when the settings were saved)."""
    return parse_all(settings.get(SETTING))


def validate_settings(settings: Mapping[str, Any], secrets: Mapping[str, str]) -> list[str]:
    """The WhatsApp channel's account check: the optional ``waba_id`` and ``templates``."""
    problems = []
    waba = settings.get(WABA_SETTING)
    if waba not in (None, "") and not (isinstance(waba, str) and WABA_ID.fullmatch(waba)):
        problems.append("waba_id must be the WhatsApp Business Account ID (digits)")
    try:
        parse_all(settings.get(SETTING))
    except TemplateRefused as exc:
        problems.append(exc.reason)
    return problems


def find(templates: Iterable[Template], name: str, language: str) -> Template:
    for template in templates:
        if template.key == (name, language):
            return template
    others = sorted(t.language for t in templates if t.name == name)
    if others:
        msg = f"template {name!r} has no {language} version (it has {', '.join(others)})"
    else:
        msg = f"no template {name!r} on this WhatsApp account; an administrator adds or syncs it"
    raise TemplateRefused(msg)


def check_parameters(template: Template, parameters: Sequence[str]) -> tuple[str, ...]:
    """The parameters as they will be sent, or TemplateRefused with what is wrong."""
    expected = template.parameter_count
    if len(parameters) != expected:
        msg = f"template {template.name!r} takes {expected} parameter(s), {len(parameters)} given"
        raise TemplateRefused(msg)
    out = []
    for number, value in enumerate(parameters, start=1):
        text = value.strip()
        if not text:
            msg = f"parameter {{{{{number}}}}} is empty"
            raise TemplateRefused(msg)
        if len(text) > PARAMETER_LIMIT:
            msg = f"parameter {{{{{number}}}}} is longer than {PARAMETER_LIMIT} characters"
            raise TemplateRefused(msg)
        if BAD_SPACING.search(text):
            msg = (
                f"parameter {{{{{number}}}}} has a line break, a tab or more than four spaces in a row, "
                "which WhatsApp refuses"
            )
            raise TemplateRefused(msg)
        out.append(text)
    return tuple(out)


def fill(text: str, parameters: Sequence[str]) -> str:
    def value(match: re.Match[str]) -> str:
        index = int(match.group(1)) - 1
        return parameters[index] if 0 <= index < len(parameters) else match.group(0)

    return PLACEHOLDER.sub(value, text)


def render(template: Template, parameters: Sequence[str]) -> str:
    """What the customer sees, as the transcript's text: header, body, footer, buttons."""
    parts = [template.header, fill(template.body, parameters), template.footer]
    text = "\n\n".join(p for p in parts if p)
    if template.buttons:
        text += "\n\n" + " ".join(f"[{title}]" for title in template.buttons)
    return text


def reference(template: Template, parameters: Sequence[str]) -> dict[str, Any]:
    """What the outbox keeps for the adapter (channel-neutral JSON)."""
    return {"name": template.name, "language": template.language, "parameters": list(parameters)}


def cloud_api_template(reference: Mapping[str, Any]) -> dict[str, Any]:
    """The Cloud API message's ``type: template`` part, from :func:`reference`'s JSON."""
    name, language = reference.get("name"), reference.get("language")
    parameters = reference.get("parameters") or []
    if not isinstance(name, str) or not isinstance(language, str) or not isinstance(parameters, list):
        msg = "the outbox holds an unreadable template reference"
        raise TemplateRefused(msg)
    template: dict[str, Any] = {"name": name, "language": {"code": language}}
    if parameters:
        template["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": str(p)} for p in parameters]}
        ]
    return {"type": "template", "template": template}


# -- Meta's template list ------------------------------------------------------------------------


@dataclass(frozen=True)
class Skipped:
    """A template from Meta that is not kept, and why."""

    name: str
    language: str
    status: str
    reason: str


def from_graph(item: Mapping[str, Any]) -> Template | Skipped:
    """One entry of ``GET /{waba-id}/message_templates``' ``data[]``: a template we can send, or
    why not (not approved, or a part Omniroute cannot fill)."""
    name, language = str(item.get("name") or ""), str(item.get("language") or "")
    status = str(item.get("status") or "")

    def skip(reason: str) -> Skipped:
        return Skipped(name, language, status, reason)

    if status != "APPROVED":
        return skip(f"status {status or 'unknown'}: only approved templates can be sent")
    if str(item.get("parameter_format") or "POSITIONAL").upper() == "NAMED":
        return skip("named parameters are not supported")
    data: dict[str, Any] = {"name": name, "language": language, "category": item.get("category")}
    problem = _read_components(item.get("components") or [], data)
    if problem:
        return skip(problem)
    try:
        return parse(data)
    except TemplateRefused as exc:
        return skip(exc.reason.removeprefix(f"template {name!r}: "))


def _read_components(components: Iterable[Any], data: dict[str, Any]) -> str | None:
    """Fill ``data`` (our setting's shape) from Meta's components; the reason one cannot be kept."""
    for component in components:
        if not isinstance(component, Mapping):
            continue
        kind = str(component.get("type") or "").upper()
        if kind == "HEADER":
            if str(component.get("format") or "TEXT").upper() != "TEXT":
                return f"{str(component.get('format')).lower()} headers are not supported"
            data["header"] = component.get("text")
        elif kind in ("BODY", "FOOTER"):
            data[kind.lower()] = component.get("text")
        elif kind == "BUTTONS":
            titles = []
            for button in component.get("buttons") or []:
                button_kind = str(button.get("type") or "").upper() if isinstance(button, Mapping) else ""
                if button_kind not in STATIC_BUTTONS or PLACEHOLDER.search(str(button.get("url") or "")):
                    name = button_kind.lower() or "unknown"
                    return f"a button of type {name} needs a parameter (not supported)"
                titles.append(str(button.get("text") or ""))
            data["buttons"] = titles
        else:
            return f"{kind.lower() or 'unknown'} components are not supported"
    return None


# -- the window ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Where a conversation stands with the 24-hour window (None: the customer never wrote)."""

    last_customer_message_at: datetime | None
    closes_at: datetime | None
    open: bool


def window_at(last_customer_message_at: datetime | None, now: datetime) -> Window:
    if last_customer_message_at is None:
        return Window(None, None, False)
    closes = last_customer_message_at + CUSTOMER_SERVICE_WINDOW
    return Window(last_customer_message_at, closes, now - last_customer_message_at <= CUSTOMER_SERVICE_WINDOW)
